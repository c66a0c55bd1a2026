"""Golden real-data figures (tests/golden/real_data.toml), each kept with the reason it holds."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

REAL_DATA = Path(__file__).with_name("real_data.toml")


@cache
def _entries() -> dict[str, dict[str, Any]]:
    entries = tomllib.loads(REAL_DATA.read_text(encoding="utf-8"))
    for name, entry in entries.items():
        if not str(entry.get("reason", "")).strip():
            raise ValueError(f"{REAL_DATA}: [{name}] has no reason")
        if ("value" in entry) == ("values" in entry):
            raise ValueError(f"{REAL_DATA}: [{name}] needs exactly one of value, values")
    return entries


def golden(name: str) -> Any:
    """The figure (or table of figures) `name` of the real West Midlands data."""
    entry = _entries()[name]
    return entry["value"] if "value" in entry else dict(entry["values"])
