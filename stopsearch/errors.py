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
