"""Named SQL statements kept in .sql files beside the code that runs them."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^-- name: ([a-z0-9_]+)\s*$", re.MULTILINE)


@cache
def statements(filename: str) -> dict[str, str]:
    """The `-- name: x` sections of `stopsearch/geography/<filename>`, keyed by name."""
    text = resources.files("stopsearch.geography").joinpath(filename).read_text(encoding="utf-8")
    parts = _NAME.split(text)
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        found[name] = body.strip().rstrip(";")
    return found


def statement(filename: str, name: str) -> str:
    """One named statement of a .sql file."""
    try:
        return statements(filename)[name]
    except KeyError:
        raise KeyError(f"no statement '-- name: {name}' in {filename}") from None
