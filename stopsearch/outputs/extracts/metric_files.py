"""The published metrics in long form, one Parquet and one CSV file per period.

    metrics/2016.parquet, metrics/latest-12.parquet, metrics/2017-06.parquet, ...
    metrics-csv/2016.csv, ...                     the CSV twins (formula-safe text)

A nightly run adds one month: it changes the latest-12 period, the year in progress and the new
month; every other period's rows are the same. One file holding every period (40 MB of CSV at
1M records) was rewritten, hashed and stored again in every release; per period, a run writes
(and hashes, once) only the periods whose *fingerprint* changed and hard-links the others from
the verified release it started from (as records.py does for months). A period's fingerprint
covers its published rows themselves (row count and two order-free sums of a hash of every row,
every column; see metric_files.sql), the columns, the file format and the code and writer
versions: it changes whenever the bytes written for the period would.

DuckDB reads every period at once: `SELECT * FROM read_parquet('metrics/*.parquet')`; pandas
and pyarrow read the folder as one table (`pd.read_parquet("metrics")`). The files are named by
the period id, not Hive-style, so that no reader turns the folder names into a second `period`
column.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from stopsearch import __version__
from stopsearch.disk import atomic_path
from stopsearch.metrics.contract import MEASURES
from stopsearch.outputs.extracts.columns import METRIC_COLUMNS, arrow_schema, csv_columns
from stopsearch.outputs.extracts.formats import csv_table, write_csv
from stopsearch.outputs.extracts.geoparquet import write_parquet
from stopsearch.outputs.extracts.records import (
    MonthFile,
    MonthPart,
    RecordExtractError,
    Reuse,
    link_or_write,
)
from stopsearch.outputs.extracts.schema import SCHEMA_VERSION
from stopsearch.outputs.extracts.tables import conform
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.outputs.extracts", "metric_files.sql")
PARQUET_DIR = "metrics"
CSV_DIR = "metrics-csv"
# Raise when the bytes written for the same rows change (layout, order, writer options).
FILE_FORMAT = 1
# The one-line query the README, data package and downloads page give: every period at once.
METRICS_QUERY = "SELECT * FROM read_parquet('metrics/*.parquet');"
_PERIOD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def parquet_name(period: str) -> str:
    """metrics/<period>.parquet (relative to the downloads folder)."""
    return f"{PARQUET_DIR}/{period}.parquet"


def csv_name(period: str) -> str:
    """metrics-csv/<period>.csv (relative to the downloads folder)."""
    return f"{CSV_DIR}/{period}.csv"


def _units() -> pa.Table:
    return pa.table(
        {
            "measure": [m.name for m in MEASURES.values()],
            "unit": [m.unit for m in MEASURES.values()],
        }
    )


def period_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int]]:
    """{period: (fingerprint, rows)} of every period with published rows."""
    common = hashlib.sha256()
    for part in (
        f"format {FILE_FORMAT} schema {SCHEMA_VERSION} stopsearch {__version__}",
        f"pyarrow {pa.__version__} duckdb {duckdb.__version__}",
        arrow_schema(METRIC_COLUMNS).to_string(),
        repr(_units().to_pylist()),
    ):
        common.update(part.encode() + b"\0")
    out = {}
    for period, rows, xor, total in SQL.execute(con, "period_fingerprints").fetchall():
        if not _PERIOD.fullmatch(str(period)):
            raise RecordExtractError(f"metrics: period id {period!r} cannot name a file")
        digest = common.copy()
        digest.update(repr((period, rows, xor, total)).encode())
        out[str(period)] = (digest.hexdigest(), int(rows))
    return out


def _write(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    periods: list[str],
    fingerprints: dict[str, tuple[str, int]],
    hasher: Callable[[Path], str],
) -> list[MonthPart]:
    """Write the two files of each period in `periods`; hashed once each, from disk."""
    if not periods:
        return []
    con.register("_x_units", _units())
    try:
        table = SQL.execute(con, "period_rows", {"periods": periods}).to_arrow_table()
    finally:
        con.unregister("_x_units")
    table = conform(table, METRIC_COLUMNS)
    columns = csv_columns(METRIC_COLUMNS, wkt=False)
    values = table.column("period").to_pylist()
    parts = []
    start = 0
    for period in sorted(periods):  # the rows come sorted by period
        stop = start
        while stop < len(values) and values[stop] == period:
            stop += 1
        rows = table.slice(start, stop - start)
        start = stop
        files = []
        for name, writer in (
            (parquet_name(period), lambda t, p: write_parquet(t, p)),
            (csv_name(period), lambda t, p: write_csv(csv_table(t, columns), p)),
        ):
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                writer(rows, tmp)
            files.append(MonthFile(name, path.stat().st_size, hasher(path)))
        parts.append(MonthPart(period, fingerprints[period][0], rows.num_rows, files[0], files[1]))
    return parts


def write_periods(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    reuse: Reuse | None,
    hasher: Callable[[Path], str],
) -> list[MonthPart]:
    """Every period's files in `folder` (the downloads folder), in period order.

    A period `reuse` holds with the same fingerprint is hard-linked from it (its recorded digests
    reused); every other period is written and hashed once. Files of periods that no longer have
    rows, and the single metrics.parquet/.csv of the layout before, are removed. (The parts are
    MonthParts whose `month` is the period id.)
    """
    fingerprints = period_fingerprints(con)
    parts = link_or_write(
        folder,
        fingerprints,
        reuse,
        lambda periods: _write(con, folder, periods, fingerprints, hasher),
    )
    if set(parts) != set(fingerprints):
        raise RecordExtractError(f"metrics: no files for {sorted(set(fingerprints) - set(parts))}")
    remove_stale(folder, keep=set(parts))
    return [parts[p] for p in sorted(parts)]


def remove_stale(folder: Path, keep: set[str] | frozenset[str] = frozenset()) -> None:
    """Remove period files not in `keep` (and the single files of the layout before)."""
    for name in ("metrics.parquet", "metrics.csv"):
        (folder / name).unlink(missing_ok=True)
    for top, suffix in ((PARQUET_DIR, ".parquet"), (CSV_DIR, ".csv")):
        root = folder / top
        if not root.is_dir():
            continue
        if not keep:
            shutil.rmtree(root)
            continue
        for child in root.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            elif not (child.name.endswith(suffix) and child.name[: -len(suffix)] in keep):
                child.unlink()
