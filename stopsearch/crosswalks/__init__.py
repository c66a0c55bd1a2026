"""Label crosswalks as data: every published label mapped to a canonical value and group.

The CSV files beside this module are the single source of truth; `VERSION` changes whenever any of
them does, and each load records the version it used.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import duckdb

TABLES = {
    "xw_self_defined": "self_defined_ethnicity.csv",
    "xw_officer_defined": "officer_defined_ethnicity.csv",
    "xw_outcome": "outcome.csv",
    "xw_object": "object_of_search.csv",
    "xw_enum": "simple_enums.csv",
}


@cache
def crosswalk_version() -> str:
    """The version string of the shipped crosswalks."""
    return resources.files(__name__).joinpath("VERSION").read_text(encoding="utf-8").strip()


def register_crosswalks(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) temporary crosswalk tables on this connection from the package CSVs."""
    for table, filename in TABLES.items():
        path = resources.files(__name__).joinpath(filename)
        with resources.as_file(path) as real_path:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS "
                "SELECT * FROM read_csv(?, header = true, all_varchar = true)",
                [str(real_path)],
            )


@cache
def read_crosswalk(name: str) -> tuple[dict[str, str], ...]:
    """Rows of one crosswalk CSV (e.g. "outcome.csv") as dicts, in file order."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines()))


def enum_values(field: str) -> tuple[str, ...]:
    """The allowed values of a simple enumerated field: type, gender or age_range."""
    return tuple(r["label"] for r in read_crosswalk("simple_enums.csv") if r["field"] == field)
