"""The per-area CSV downloads: downloads/areas/<kind>/<code>.csv and <code>-<year>.csv.

Each file holds an area's published rows (see `area_csv_parts` for which rows go in which file).
The lines are made in the warehouse (area_files.sql), and each file has a *fingerprint*: its
row count and two order-free sums of a hash of every row, every column, with the format and
code versions, as the metrics period extracts have (extracts/metric_files.py). A file whose
fingerprint the last release recorded is hard-linked from that release (`Keep`) and never made
again: a closed year's files are the same night after night, so a new month costs the files it
changes, not every file of every year of history.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources

import duckdb
import pyarrow as pa

from stopsearch import __version__
from stopsearch.metrics.contract import PUBLISHED_COLUMNS, public_name
from stopsearch.metrics.periods import WINDOW_KIND
from stopsearch.outputs.csvsafe import safe_text
from stopsearch.outputs.site import text
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.outputs.site", "area_files.sql")
CSV_COLUMNS = tuple(public_name(c) for c in PUBLISHED_COLUMNS)  # grp -> ethnic_group
# Raise when the bytes written for the same rows change (layout, order, number formatting).
FILE_FORMAT = 1
# Periods filed by the calendar year they end in: a year, its quarters, the trend windows
# ending in it. (Months stay in <code>.csv: an area's months are those of the latest 12.)
YEAR_FILED = ("year", "quarter", WINDOW_KIND)
_KIND = PUBLISHED_COLUMNS.index("period_kind")
_END = PUBLISHED_COLUMNS.index("period_end")
_CURRENT = -1  # the `y` of <code>.csv in area_files.sql

# keep(relative path, fingerprint) -> the file's size when the last release's file made from
# the same fingerprint was linked into the new release, else None (then it is written).
Keep = Callable[[str, str], int | None]


@dataclass(frozen=True)
class AreaFile:
    """One per-area CSV: the area, its year (None: <code>.csv), rows and fingerprint."""

    kind: str
    code: str
    year: int | None
    rows: int
    fingerprint: str

    @property
    def rel(self) -> str:
        """Its path inside the site."""
        suffix = "" if self.year is None else f"-{self.year}"
        return f"downloads/areas/{self.kind}/{text.slug(self.code)}{suffix}.csv"


def csv_value(value: object) -> str:
    """One cell as the per-area CSVs write it (formula-safe text, plain numbers)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return safe_text(str(value)) if isinstance(value, str) else str(value)


def area_csv(rows: Sequence[tuple]) -> bytes:
    """The published rows of one area (withheld figures blank, with their reason). A row may
    carry its CSV line, made by the warehouse, after its columns; without one (or with None) it
    is written here, cell by cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    width = len(CSV_COLUMNS)
    for row in rows:
        if len(row) > width and row[width] is not None:
            buffer.write(row[width])
            buffer.write("\n")
        else:
            writer.writerow([csv_value(v) for v in row[:width]])
    return buffer.getvalue().encode("utf-8")


HEADER = area_csv([])


def file_year(period_kind: str, period_end: object, latest_year: int | None) -> int | None:
    """The file a row goes in (None: <code>.csv); the csv_file_year macro of area_files.sql."""
    if period_kind not in YEAR_FILED or not isinstance(period_end, date) or latest_year is None:
        return None
    return period_end.year if period_end.year < latest_year else None


def area_csv_parts(rows: list[tuple], latest_year: int | None) -> dict[int | None, list[tuple]]:
    """An area's published rows by file: None for <code>.csv (the latest 12 months, the months
    and the year of the latest month with its quarters and trend windows: what a new month
    changes), each earlier calendar year for <code>-<year>.csv: that year, its quarters and the
    trend windows ending in it (closed: the same bytes every night, so releases share the file;
    with 100 months the windows and quarters in <code>.csv made it ~0.7 MB per ward, rewritten
    every night). A closed year's last quarter keeps its change on a year earlier until the next
    quarter is complete: that year's file changes once more then."""
    parts: dict[int | None, list[tuple]] = {None: []}
    for row in rows:
        parts.setdefault(file_year(row[_KIND], row[_END], latest_year), []).append(row)
    return parts


def _common() -> hashlib._Hash:
    digest = hashlib.sha256()
    for part in (
        f"format {FILE_FORMAT} stopsearch {__version__} duckdb {duckdb.__version__}",
        ",".join(CSV_COLUMNS),
        resources.files("stopsearch.outputs.site").joinpath("area_files.sql").read_text("utf-8"),
    ):
        digest.update(part.encode() + b"\0")
    return digest


def fingerprints(
    con: duckdb.DuckDBPyConnection, kinds: Sequence[str], latest_year: int | None
) -> list[AreaFile]:
    """Every per-area file of the areas of `kinds` with its fingerprint, in a fixed order.

    Every area with a published row has its <code>.csv, even with no row for it (header only:
    an area that no longer exists keeps only closed years)."""
    if not kinds:
        return []
    SQL.execute(con, "csv_macros")
    common = _common()
    found = SQL.execute(
        con, "file_fingerprints", {"kinds": list(kinds), "latest_year": latest_year}
    ).fetchall()
    files = []
    for kind, code, year, rows, xor, total in found:
        digest = common.copy()
        digest.update(repr((kind, code, year, rows, xor, total)).encode())
        files.append(AreaFile(kind, code, year, int(rows), digest.hexdigest()))
    current = {(f.kind, f.code) for f in files if f.year is None}
    for kind, code in sorted({(f.kind, f.code) for f in files} - current):
        digest = common.copy()
        digest.update(repr((kind, code, None, 0)).encode())
        files.append(AreaFile(kind, code, None, 0, digest.hexdigest()))
    return sorted(files, key=lambda f: (f.kind, f.code, -1 if f.year is None else f.year))


def lines(
    con: duckdb.DuckDBPyConnection, files: Sequence[AreaFile], latest_year: int | None
) -> Iterator[tuple[AreaFile, list[str | None]]]:
    """(file, its lines) of each of `files`, the lines made in the warehouse (None where
    Python must write one: see area_files.sql 'file_lines')."""
    empty = [f for f in files if f.rows == 0]
    by_key = {(f.kind, f.code, _CURRENT if f.year is None else f.year): f for f in files}
    for file in empty:
        del by_key[(file.kind, file.code, _CURRENT)]
        yield file, []
    if not by_key:
        return
    SQL.execute(con, "csv_macros")
    wanted = pa.table(
        {
            "area_kind": [k for k, _, _ in by_key],
            "area_code": [c for _, c, _ in by_key],
            "y": pa.array([y for _, _, y in by_key], pa.int64()),
        }
    )
    con.register("_wanted", wanted)
    try:
        found = SQL.execute(con, "file_lines", {"latest_year": latest_year}).fetchall()
    finally:
        con.unregister("_wanted")
    start = 0
    while start < len(found):
        key = found[start][:3]
        end = start
        while end < len(found) and found[end][:3] == key:
            end += 1
        yield by_key.pop(key), [row[3] for row in found[start:end]]
        start = end
    if by_key:  # fingerprints counted rows that the lines query did not find
        raise RuntimeError(f"no lines for {sorted(f.rel for f in by_key.values())}")


def contents(
    con: duckdb.DuckDBPyConnection, files: Sequence[AreaFile], latest_year: int | None
) -> Iterator[tuple[AreaFile, bytes]]:
    """(file, bytes) of each of `files`."""
    for file, made in lines(con, files, latest_year):
        if len(made) != file.rows:
            raise RuntimeError(f"{file.rel}: {file.rows} rows but {len(made)} lines")
        yield file, _content(con, file, made, latest_year)


def _content(
    con: duckdb.DuckDBPyConnection, file: AreaFile, made: list[str | None], latest_year: int | None
) -> bytes:
    """The file's bytes; the rare lines the warehouse leaves to Python are written here."""
    if None not in made:
        body = "".join(f"{line}\n" for line in made)
        return HEADER + body.encode("utf-8")
    rows = SQL.execute(con, "area_rows", {"kind": file.kind, "code": file.code}).fetchall()
    mine = area_csv_parts(rows, latest_year).get(file.year, [])
    if len(mine) != len(made):
        raise RuntimeError(f"{file.rel}: {len(mine)} rows but {len(made)} lines")
    return area_csv([(*row, line) for row, line in zip(mine, made, strict=True)])
