"""data.police.uk stop-and-search files: how they are named and the 15-column CSV header.

One home for the naming every stage shares (sources write these names, ingest reads them, the
demo imitates them); it imports nothing of the pipeline, so any layer may import it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from stopsearch.errors import IngestError

Kind = Literal["csv", "api-json"]

# The header of every monthly CSV, in order (archive zips and the download page).
CSV_HEADER = (
    "Type",
    "Date",
    "Part of a policing operation",
    "Policing operation",
    "Latitude",
    "Longitude",
    "Gender",
    "Age range",
    "Self-defined ethnicity",
    "Officer-defined ethnicity",
    "Legislation",
    "Object of search",
    "Outcome",
    "Outcome linked to object of search",
    "Removal of more than just outer clothing",
)

FILE_NAME = re.compile(
    r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<force>[a-z0-9]+(?:-[a-z0-9]+)*)"
    r"-stop-and-search\.(?P<ext>csv|json)$"
)
EXAMPLE_NAME = "2023-01-west-midlands-stop-and-search.csv"
KINDS: dict[str, Kind] = {"csv": "csv", "json": "api-json"}
_EXTENSIONS: dict[Kind, str] = {kind: ext for ext, kind in KINDS.items()}


def month_text(month: date) -> str:
    """`YYYY-MM`: how data.police.uk writes a month in names and queries."""
    return f"{month.year:04d}-{month.month:02d}"


def file_name(force: str, month: date, kind: Kind = "csv") -> str:
    """`YYYY-MM-<force>-stop-and-search.csv` (or `.json` for a saved API response)."""
    return f"{month_text(month)}-{force}-stop-and-search.{_EXTENSIONS[kind]}"


def archive_member(force: str, month: date) -> str:
    """`YYYY-MM/YYYY-MM-<force>-stop-and-search.csv`: a force-month's path in an archive zip."""
    return f"{month_text(month)}/{file_name(force, month)}"


def is_file_name(name: str) -> bool:
    """True when `name` (a base name, no folder) looks like a stop-and-search file's name."""
    return FILE_NAME.match(name) is not None


def parse_file_name(name: str, shown_as: str | None = None) -> tuple[str, date, Kind]:
    """(force, month, kind) from a data.police.uk file name; IngestError when it is not one."""
    match = FILE_NAME.match(name)
    if not match:
        raise IngestError(
            f"{shown_as or name}: not a stop-and-search file name (expected e.g. {EXAMPLE_NAME}"
            " or the same with .json for API responses)"
        )
    month_number = int(match["month"])
    if not 1 <= month_number <= 12:
        raise IngestError(f"{shown_as or name}: month {match['month']} is not 01-12")
    if int(match["year"]) < 1:
        raise IngestError(f"{shown_as or name}: year {match['year']} is not a calendar year")
    return match["force"], date(int(match["year"]), month_number, 1), KINDS[match["ext"]]
