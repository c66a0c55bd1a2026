"""Label crosswalks as data: every published label mapped to a canonical value and group.

The CSV files beside this module are the single source of truth; `VERSION` changes whenever any of
them does, and each load records the version it used.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


@cache
def crosswalk_version() -> str:
    """The version string of the shipped crosswalks."""
    return resources.files(__name__).joinpath("VERSION").read_text(encoding="utf-8").strip()


@cache
def read_crosswalk(name: str) -> tuple[dict[str, str], ...]:
    """Rows of one crosswalk CSV (e.g. "outcome.csv") as dicts, in file order."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines()))


def enum_values(field: str) -> tuple[str, ...]:
    """The allowed values of a simple enumerated field: type, gender or age_range."""
    return tuple(r["label"] for r in read_crosswalk("simple_enums.csv") if r["field"] == field)
