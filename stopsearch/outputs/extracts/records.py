"""The record-level extract, one month per file, Hive-style; unchanged months linked, not written.

    searches/month=2017-06/part-0.parquet       GeoParquet 1.1 (its own `geo` metadata and bbox)
    searches-csv/month=2017-06/part-0.csv       the CSV twin (no geometry, no bbox)

Each file keeps the `month` column too, so a file read on its own still says its month; DuckDB
(`read_parquet('searches/*/*.parquet', hive_partitioning = true)`), pyarrow.dataset and geopandas
read a folder as one table. Within a file rows are in Hilbert order of the month's own extent, so
a month's bytes depend on that month's records only.

A nightly run adds one month to many: `write_months` writes (and hashes, once) only the months
whose *fingerprint* changed, and hard-links the others from `Reuse`, the downloads folder of the
previous release, which must be one that passed verification (the publish job gives the release
it verified at the start of the run), taking the digests recorded there. A month's fingerprint
hashes everything its rows are made from: its loads (force, checksum, load id, file name, rows,
crosswalk version), the boundary layers and manifest (the join), the column schema, the format
of these files and the versions of the code and of the writers.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from stopsearch import __version__
from stopsearch.crosswalks import crosswalk_version
from stopsearch.disk import link_over, sha256_file, temp_sibling
from stopsearch.errors import StopsearchError
from stopsearch.outputs.csvsafe import safe_table
from stopsearch.outputs.extracts.columns import SEARCH_COLUMNS, arrow_schema, csv_columns
from stopsearch.outputs.extracts.formats import csv_table
from stopsearch.outputs.extracts.geoparquet import (
    COMPRESSION,
    COMPRESSION_LEVEL,
    ROW_GROUP_SIZE,
    Bounds,
    geo_metadata,
)
from stopsearch.outputs.extracts.schema import SCHEMA_VERSION
from stopsearch.outputs.extracts.tables import conform
from stopsearch.pipeline import BOUNDARY_KEY
from stopsearch.sqlfiles import SqlFile
from stopsearch.status import get_state

_EPOCH = date(1970, 1, 1)

SQL = SqlFile("stopsearch.outputs.extracts", "records.sql")
PARQUET_DIR = "searches"
CSV_DIR = "searches-csv"
PARTITION = "month"
# Raise when the bytes written for the same rows change (layout, order, writer options).
FILE_FORMAT = 1
# The one-line query the README, data package and downloads page give: every month at once.
DUCKDB_QUERY = (
    "SELECT count(*) FROM read_parquet('searches/*/*.parquet', hive_partitioning = true);"
)


class RecordExtractError(StopsearchError, RuntimeError):
    """The month files do not hold every month with records."""


def parquet_name(month: str) -> str:
    """searches/month=YYYY-MM/part-0.parquet (relative to the downloads folder)."""
    return f"{PARQUET_DIR}/{PARTITION}={month}/part-0.parquet"


def csv_name(month: str) -> str:
    """searches-csv/month=YYYY-MM/part-0.csv (relative to the downloads folder)."""
    return f"{CSV_DIR}/{PARTITION}={month}/part-0.csv"


@dataclass(frozen=True)
class MonthFile:
    """One written (or linked) file of a month."""

    name: str  # relative to the downloads folder
    bytes: int
    sha256: str


@dataclass(frozen=True)
class MonthPart:
    """The two files of one month, what they were made from and whether they were linked."""

    month: str  # YYYY-MM
    fingerprint: str
    rows: int
    parquet: MonthFile
    csv: MonthFile
    linked: bool = False

    def as_json(self) -> dict:
        """The record kept in a release's manifest.json, read back by `MonthPart.from_json`."""
        out = asdict(self)
        del out["linked"]
        return out

    @classmethod
    def from_json(cls, data: Mapping) -> MonthPart:
        """A month recorded by `as_json` (KeyError/TypeError when malformed)."""
        return cls(
            str(data["month"]),
            str(data["fingerprint"]),
            int(data["rows"]),
            MonthFile(**data["parquet"]),
            MonthFile(**data["csv"]),
        )


@dataclass(frozen=True)
class Reuse:
    """Month files of a verified earlier release that unchanged months link to.

    `digests` are that release's verified SHA256SUMS entries relative to `downloads`; a recorded
    month is reused only when its digests agree with them.
    """

    downloads: Path
    parts: Mapping[str, MonthPart]
    digests: Mapping[str, str]

    def usable(self, month: str, fingerprint: str, rows: int) -> MonthPart | None:
        """The recorded part of `month` when it was made from the same inputs, else None."""
        part = self.parts.get(month)
        if part is None or part.fingerprint != fingerprint or part.rows != rows:
            return None
        for file in (part.parquet, part.csv):
            path = self.downloads / file.name
            if self.digests.get(file.name) != file.sha256:
                return None
            try:
                if path.stat().st_size != file.bytes:
                    return None
            except OSError:
                return None
        return part


def month_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int]]:
    """{YYYY-MM: (fingerprint, records)} of every month with records."""
    common = hashlib.sha256()
    for part in (
        f"format {FILE_FORMAT} schema {SCHEMA_VERSION} stopsearch {__version__}",
        f"pyarrow {pa.__version__} duckdb {duckdb.__version__}",
        f"crosswalks {crosswalk_version()}",
        f"manifest {get_state(con, BOUNDARY_KEY)}",
        repr(SQL.execute(con, "boundary_state").fetchall()),
        arrow_schema(SEARCH_COLUMNS).to_string(),
    ):
        common.update(part.encode() + b"\0")
    loads: dict[str, list[tuple]] = {}
    for month, *load in SQL.execute(con, "month_loads").fetchall():
        loads.setdefault(month, []).append(tuple(load))
    out = {}
    for month, rows in SQL.execute(con, "month_counts").fetchall():
        digest = common.copy()
        digest.update(repr((month, rows, loads.get(month, []))).encode())
        out[month] = (digest.hexdigest(), rows)
    return out


def _link(source: Path, target: Path) -> None:
    """Hard-link `source` as `target` (replacing it); OSError where links are impossible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    link_over(source, target)


def _linked(folder: Path, part: MonthPart, reuse: Reuse) -> MonthPart | None:
    """`part`'s files linked from `reuse` into `folder`; None when linking fails."""
    try:
        for file in (part.parquet, part.csv):
            _link(reuse.downloads / file.name, folder / file.name)
    except OSError:
        return None
    return MonthPart(part.month, part.fingerprint, part.rows, part.parquet, part.csv, linked=True)


def link_or_write(
    folder: Path,
    fingerprints: Mapping[str, tuple[str, int]],
    reuse: Reuse | None,
    write: Callable[[list[str]], Iterable[MonthPart]],
) -> dict[str, MonthPart]:
    """{key: part} for every key of `fingerprints` (months, or metric periods): hard-linked from
    `reuse` when it recorded the same fingerprint and row count (its digests reused), else made
    by `write`, which gets the keys to write in order and yields their parts."""
    parts: dict[str, MonthPart] = {}
    to_write = []
    for key, (fingerprint, rows) in fingerprints.items():
        recorded = reuse.usable(key, fingerprint, rows) if reuse is not None else None
        linked = _linked(folder, recorded, reuse) if recorded and reuse else None
        if linked is None:
            to_write.append(key)
        else:
            parts[key] = linked
    for part in write(to_write):
        parts[part.month] = part
    return parts


def _month_tables(reader: pa.RecordBatchReader, rows: int) -> Iterator[tuple[str, pa.Table]]:
    """(YYYY-MM, table) in order: each month's rows in tables of exactly `rows` rows (its last
    one shorter). The reader's rows come sorted by month."""
    pending: list[pa.Table] = []
    current: str | None = None

    def take(final: bool) -> Iterator[pa.Table]:
        nonlocal pending
        if not pending:
            return
        table = pa.concat_tables(pending).combine_chunks()
        while table.num_rows >= rows:
            yield conform(table.slice(0, rows), SEARCH_COLUMNS)
            table = table.slice(rows)
        if final and table.num_rows:
            yield conform(table, SEARCH_COLUMNS)
            table = table.slice(0, 0)
        pending = [table] if table.num_rows else []

    for batch in reader:
        days = batch.column("month").cast(pa.int32()).to_numpy(zero_copy_only=False)
        cuts = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(days)]
        for start, stop in itertools.pairwise(cuts):
            if start == stop:
                continue
            month = f"{_EPOCH + timedelta(days=int(days[start])):%Y-%m}"
            if current is not None and month != current:
                yield from ((current, t) for t in take(final=True))
            current = month
            pending.append(pa.Table.from_batches([batch.slice(start, stop - start)]))
            if sum(t.num_rows for t in pending) >= rows:
                yield from ((current, t) for t in take(final=False))
    if current is not None:
        yield from ((current, t) for t in take(final=True))


class _MonthWriter:
    """The Parquet and CSV files of one month, written to temporary siblings, then renamed."""

    def __init__(self, folder: Path, month: str, bounds: Bounds | None) -> None:
        self.folder, self.month, self.rows = folder, month, 0
        geo = geo_metadata(("Point",) if bounds else (), bounds)
        schema = arrow_schema(SEARCH_COLUMNS)
        self.schema = schema.with_metadata(
            {b"geo": json.dumps(geo, separators=(",", ":")).encode()}
        )
        self.columns = csv_columns(SEARCH_COLUMNS, wkt=False)
        self.paths = (folder / parquet_name(month), folder / csv_name(month))
        for path in self.paths:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.tmps = tuple(temp_sibling(p) for p in self.paths)
        self.parquet = pq.ParquetWriter(
            self.tmps[0],
            self.schema,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            write_statistics=True,
        )
        self.csv = pacsv.CSVWriter(
            self.tmps[1],
            csv_table(self.schema.empty_table(), self.columns).schema,
            write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"),
        )

    def write(self, table: pa.Table) -> None:
        self.parquet.write_table(
            table.replace_schema_metadata(self.schema.metadata), row_group_size=ROW_GROUP_SIZE
        )
        self.csv.write_table(safe_table(csv_table(table, self.columns)))
        self.rows += table.num_rows

    def close(self, fingerprint: str, hasher: Callable[[Path], str]) -> MonthPart:
        """Finish both files, rename them into place and hash each once (read back from disk)."""
        self.parquet.close()
        self.csv.close()
        files = []
        for tmp, path in zip(self.tmps, self.paths, strict=True):
            os.replace(tmp, path)
            files.append(
                MonthFile(
                    path.relative_to(self.folder).as_posix(),
                    path.stat().st_size,
                    hasher(path),
                )
            )
        return MonthPart(self.month, fingerprint, self.rows, files[0], files[1])

    def discard(self) -> None:
        for closer in (self.parquet.close, self.csv.close):
            with contextlib.suppress(OSError, pa.ArrowException):
                closer()
        for tmp in self.tmps:
            tmp.unlink(missing_ok=True)


# Months written at once: each is its own query and pair of writers (pyarrow's Parquet and CSV
# writers and the hashing release the GIL), so a cold export of many months uses the cores, and
# memory holds at most this many months' sorts (one month's query never reads another's rows).
MONTH_WORKERS = max(1, min(4, os.cpu_count() or 1))


def _write(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    months: list[str],
    fingerprints: Mapping[str, tuple[str, int]],
    hasher: Callable[[Path], str],
) -> list[MonthPart]:
    """Write the files of `months`, each from its own query on its own cursor, up to
    MONTH_WORKERS at a time; their parts in the order of `months`."""
    if not months:
        return []
    wanted = [date.fromisoformat(f"{m}-01") for m in months]
    bounds: dict[str, Bounds] = {
        m: (float(x0), float(y0), float(x1), float(y1))
        for m, x0, y0, x1, y1 in SQL.execute(con, "month_bounds", {"months": wanted}).fetchall()
    }

    def one(month: str) -> MonthPart:
        with con.cursor() as cursor:
            return _write_month(cursor, folder, month, bounds.get(month), fingerprints, hasher)

    if MONTH_WORKERS == 1 or len(months) == 1:
        return [one(month) for month in months]
    with ThreadPoolExecutor(MONTH_WORKERS) as pool:
        futures = [pool.submit(one, month) for month in months]
    return [future.result() for future in futures]  # the first failure, if any, is raised


def _write_month(
    cursor: duckdb.DuckDBPyConnection,
    folder: Path,
    month: str,
    bounds: Bounds | None,
    fingerprints: Mapping[str, tuple[str, int]],
    hasher: Callable[[Path], str],
) -> MonthPart:
    """The Parquet and CSV files of one month (memory bounded by one row group)."""
    wanted = [date.fromisoformat(f"{month}-01")]
    reader = SQL.execute(cursor, "month_records", {"months": wanted}).to_arrow_reader(
        ROW_GROUP_SIZE
    )
    writer = _MonthWriter(folder, month, bounds)
    try:
        for found, table in _month_tables(reader, ROW_GROUP_SIZE):
            if found != month:
                raise RecordExtractError(f"record-level extract: {found} rows in {month}'s query")
            writer.write(table)
        part = writer.close(fingerprints[month][0], hasher)
    except BaseException:
        writer.discard()
        raise
    if part.rows != fingerprints[month][1]:
        raise RecordExtractError(
            f"record-level extract: {month} wrote {part.rows} rows of {fingerprints[month][1]}"
        )
    return part


def write_months(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    reuse: Reuse | None = None,
    hasher: Callable[[Path], str] = sha256_file,
) -> list[MonthPart]:
    """Every month's files in `folder` (the downloads folder), in month order.

    A month `reuse` holds with the same fingerprint is hard-linked from it (no bytes written, its
    recorded digests reused); every other month is written and hashed once (by `hasher`, which
    reads the file back from disk: the publish job's digest book). Month folders of
    months that no longer have records are removed.
    """
    fingerprints = month_fingerprints(con)
    parts = link_or_write(
        folder,
        fingerprints,
        reuse,
        lambda months: _write(con, folder, months, fingerprints, hasher),
    )
    missing = set(fingerprints) - set(parts)
    if missing:
        raise RecordExtractError(f"record-level extract: no rows written for {sorted(missing)}")
    remove_stale(folder, keep=set(parts))
    return [parts[m] for m in sorted(parts)]


def remove_stale(folder: Path, keep: Set[str] = frozenset()) -> None:
    """Remove month folders (and the single files of the layout before months) not in `keep`."""
    for name in ("searches.parquet", "searches.csv"):  # the layout before months
        (folder / name).unlink(missing_ok=True)
    for top in (PARQUET_DIR, CSV_DIR):
        root = folder / top
        if not root.is_dir():
            continue
        if not keep:
            shutil.rmtree(root)
            continue
        for child in root.iterdir():
            month = child.name.removeprefix(f"{PARTITION}=")
            if month not in keep:
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
