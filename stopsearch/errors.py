"""Exceptions of the library; each subclasses a builtin so callers need not import ours."""


class StopsearchError(Exception):
    """Base of every error the library raises on purpose."""


class IngestError(StopsearchError, ValueError):
    """An input file cannot be loaded (wrong name, wrong header, unreadable)."""


class WarehouseError(StopsearchError, RuntimeError):
    """The warehouse file is unusable (newer schema, failed migration, integrity check)."""


class GeographyError(StopsearchError, ValueError):
    """A boundary layer, manifest or population table is invalid."""


class ConfigError(StopsearchError, ValueError):
    """A configuration value is missing or invalid."""


def error_text(exc: BaseException) -> str:
    """One line for an error, adding the first error of its chain when a later one hid it.

    E.g. a failed ROLLBACK after "No space left on device": both are shown, the cause last.
    """
    chain = [exc]
    while len(chain) < 20:
        last = chain[-1]
        nxt = last.__cause__ or (None if last.__suppress_context__ else last.__context__)
        if nxt is None:
            break
        chain.append(nxt)

    def text(error: BaseException) -> str:
        if isinstance(error, OSError) and error.strerror:
            return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
        lines = str(error).strip().splitlines()
        return lines[0] if lines else type(error).__name__

    first, root = text(exc), chain[-1]
    core = root.strerror if isinstance(root, OSError) and root.strerror else text(root)
    return first if core in first else f"{first}; caused by: {text(root)}"
