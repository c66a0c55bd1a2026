"""Load force-month files into the warehouse: one transaction per file, idempotent by checksum."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from stopsearch.crosswalks import crosswalk_version
from stopsearch.errors import IngestError
from stopsearch.ingest.api_json import parse_api_json
from stopsearch.ingest.csv_rows import parse_csv
from stopsearch.ingest.discover import Inputs, SourceFile, find_inputs
from stopsearch.ingest.labels import lean_records
from stopsearch.ingest.normalise import normalise
from stopsearch.ingest.parse import REJECTS_IN_FULL, ParsedFile
from stopsearch.ingest.read import read_text
from stopsearch.ingest.resupply import ResupplyGuard
from stopsearch.police_files import EXAMPLE_NAME
from stopsearch.sqlfiles import fetch_one, run_sql
from stopsearch.thresholds import DEFAULT_LIMITS, Limits

MAX_LINES_PER_FILE = 10_000_000  # search_id = load_id * 10,000,000 + line
# Tables whose rows belong to a force-month load and go when the month is replaced.
_DERIVED_BY_SEARCH_ID = ("search_areas", "search_priority_areas")


@dataclass(frozen=True)
class UnmappedLabel:
    """A label the crosswalks do not know, loaded as Unknown."""

    field: str
    label: str
    rows: int
    first_line: int


@dataclass(frozen=True)
class FileResult:
    """What happened to one file: new, resupplied, unchanged or refused."""

    source: str
    force: str
    month: date
    action: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    unmapped: tuple[UnmappedLabel, ...] = ()
    error: str | None = None
    lines_counted: int | None = None  # physical data lines by the independent count (CSV)

    @property
    def lines_disagree(self) -> bool:
        """Rows read differ from the file's physical data lines: a row may have been lost."""
        return self.lines_counted is not None and self.lines_counted != self.rows_read


@dataclass
class IngestReport:
    """Results of one ingest call, in the order the files were processed."""

    files: list[FileResult] = field(default_factory=list)
    inputs: Inputs = field(default_factory=Inputs)  # what the walk left out, for the report

    def count(self, action: str) -> int:
        return sum(1 for f in self.files if f.action == action)

    @property
    def needs_attention(self) -> bool:
        """Something was rejected, refused, quarantined or left unread: the run exits 3."""
        return bool(
            self.rows_rejected
            or self.count("refused")
            or self.count("quarantined")
            or self.inputs.refused
            or self.inputs.empty
            or any(f.lines_disagree for f in self.files)
        )

    def notes(self, most: int = 20) -> list[str]:
        """One line per thing left out or flagged, for the run report."""
        found = self.inputs
        lines = [
            f"line count: {f.source}: read {f.rows_read} rows but the file has"
            f" {f.lines_counted} physical data lines"
            for f in self.files
            if f.lines_disagree
        ]
        lines += [f"refused: {r.reason}" for r in found.refused]
        lines += [f"skipped: {s.path}: {s.reason}" for s in found.skipped]
        reported = {entry.path for entry in found.refused + found.skipped}
        for top in found.empty:
            if top in reported:  # a file named on the command line: its line says why
                continue
            ignored = found.ignored.get(top, [])
            lines.append(
                f"no stop-and-search file in {top} (names must look like {EXAMPLE_NAME});"
                f" {len(ignored)} other file(s) ignored" + (":" if ignored else "")
            )
            lines += [f"    ignored: {name}" for name in ignored[:most]]
            if len(ignored) > most:
                lines.append(f"    ... and {len(ignored) - most} more")
        return lines

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def changed(self) -> list[FileResult]:
        return [f for f in self.files if f.action in ("new", "resupplied")]


_Prepared = tuple[str, ParsedFile | IngestError | None]
_TEXT = pa.string()
# Arrow types of the rows written to `rejected`, `warnings` and `unmapped_labels`, in table order.
_WARNINGS = (pa.int32(), _TEXT, pa.date32(), _TEXT, pa.int32(), _TEXT, _TEXT, _TEXT)
_REJECTED = (*_WARNINGS, pa.int32())  # ... and `omitted`
_UNMAPPED = (pa.int32(), _TEXT, pa.date32(), _TEXT, _TEXT, pa.int32(), pa.int32())


def _insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, types: tuple[pa.DataType, ...], rows: list[tuple]
) -> None:
    """Append `rows` (tuples in the table's column order) to `table` in one statement.

    Through Arrow, not `executemany`: DuckDB takes about half a millisecond a row that way, so a
    10 MB file of one-byte junk lines (5 million rejected rows) would hold the night for hours.
    """
    transposed = zip(*rows, strict=True)
    columns = [pa.array(list(column), kind) for column, kind in zip(transposed, types, strict=True)]
    arrow = pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])
    con.register("_ingest_rows", arrow)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _ingest_rows")
    finally:
        con.unregister("_ingest_rows")


def _prepare(
    source: SourceFile, limits: Limits, skip: Callable[[SourceFile, str], bool]
) -> _Prepared:
    """Read, parse and normalise one file: (checksum, rows), or the reason it is refused.

    Every fault of one file ends here as an IngestError for that file, so the run goes on.
    """
    digest = ""
    try:
        raw = read_text(source.open, source.name, limits, csv=source.kind == "csv")
        digest = raw.digest
        if skip(source, digest):
            return digest, None
        if source.kind == "csv":
            parsed = parse_csv(raw, source.name, limits)
        elif source.kind == "api-json":
            parsed = parse_api_json(raw, source.name, limits)
        else:
            raise IngestError(f"{source.name}: unknown file kind {source.kind!r}")
        parsed.normalised = normalise(parsed.table)  # off the main thread: overlaps inserts
    except IngestError as exc:
        return digest, exc
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError) as exc:
        return digest, IngestError(f"{source.name}: cannot be read ({exc})")
    except Exception as exc:  # a bug must refuse one file, never stop the night's other files
        return digest, IngestError(
            f"{source.name}: refused after an internal error ({type(exc).__name__}:"
            f" {str(exc)[:300]}); please report it"
        )
    return digest, parsed


def _prefetched(
    sources: list[SourceFile],
    skip: Callable[[SourceFile, str], bool],
    workers: int,
    limits: Limits,
) -> Iterator[tuple[SourceFile, str, ParsedFile | IngestError | None]]:
    """Parse and normalise files on a small thread pool, in order (at most `workers` ahead).

    pyarrow and DuckDB release the GIL, so the next files are parsed while one is inserted.
    """
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: list[tuple[SourceFile, Future[_Prepared]]] = []
        queue = iter(sources)
        for source in queue:
            pending.append((source, pool.submit(_prepare, source, limits, skip)))
            if len(pending) >= workers:
                break
        while pending:
            source, future = pending.pop(0)
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_prepare, nxt, limits, skip)))
            digest, parsed = future.result()
            yield source, digest, parsed


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _refuse(con: duckdb.DuckDBPyConnection, source: SourceFile, message: str) -> FileResult:
    """Record a refused file (the force-month's earlier data, if any, stays as it was)."""
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM rejected WHERE load_id IS NULL AND source_file = ?", [source.name])
    con.execute(
        "INSERT INTO rejected VALUES (NULL, ?, ?, ?, NULL, NULL, ?, NULL, NULL)",
        [source.force, source.month, source.name, message],
    )
    con.execute("COMMIT")
    return FileResult(source.name, source.force, source.month, "refused", error=message)


def _write(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    digest: str,
    parsed: ParsedFile,
    previous: tuple[int, str] | None,
) -> FileResult:
    """Replace the force-month with this file's rows, all in one transaction."""
    if len(parsed.table) and parsed.table.column("line")[-1].as_py() >= MAX_LINES_PER_FILE:
        return _refuse(con, source, f"{source.name}: more than {MAX_LINES_PER_FILE:,} lines")
    con.execute("BEGIN TRANSACTION")
    try:
        load_id = fetch_one(con.execute("SELECT nextval('load_id_seq')"), "nextval")[0]
        if previous is not None:
            _delete_load(con, previous[0])
        con.execute("DELETE FROM rejected WHERE load_id IS NULL AND source_file = ?", [source.name])
        normalised = parsed.normalised or normalise(parsed.table)
        write_records(con, load_id, normalised.records)
        rejects: list[tuple[int, str | None, str, str | None]] = [
            (r.line, r.field, r.reason, r.raw_line) for r in parsed.rejects
        ]
        rejects += [(r.line, r.field, r.detail, None) for r in normalised.rejects]
        rejects.sort(key=lambda r: r[0])
        rows_rejected = len(rejects) + len(parsed.omitted)
        stored = _stored_rejects(source.name, rejects, parsed.omitted)
        if stored:
            rows = []
            of_file = (load_id, source.force, source.month, source.name)
            for ln, fld, why, text, n in stored:
                if text is None and n is None:  # a record the normaliser rejected
                    text = parsed.raw_line(ln)
                rows.append((*of_file, ln, fld, why, text, n))
            _insert_rows(con, "rejected", _REJECTED, rows)
        warnings = [(w.line, w.field, w.code, w.detail) for w in parsed.warnings]
        warnings += [(w.line, w.field, w.code, w.detail) for w in normalised.warnings]
        if parsed.data_lines is not None and parsed.data_lines != parsed.rows_read:
            detail = (
                f"read {parsed.rows_read} rows but the file has {parsed.data_lines} physical"
                " data lines"
            )
            warnings.append((None, "(file)", "line_count", detail))
        if warnings:
            _insert_rows(
                con,
                "warnings",
                _WARNINGS,
                [(load_id, source.force, source.month, source.name, *w) for w in warnings],
            )
        unmapped = tuple(
            UnmappedLabel(u.field, u.label, u.rows, u.first_line)
            for u in sorted(normalised.unmapped, key=lambda u: (u.field, u.label))
        )
        if unmapped:
            _insert_rows(
                con,
                "unmapped_labels",
                _UNMAPPED,
                [
                    (load_id, source.force, source.month, u.field, u.label, u.rows, u.first_line)
                    for u in unmapped
                ],
            )
        loaded = normalised.records.num_rows
        n_warnings = len(warnings)
        if parsed.rows_read != loaded + rows_rejected:
            raise IngestError(
                f"{source.name}: internal check failed: read {parsed.rows_read} rows but loaded"
                f" {loaded} and rejected {rows_rejected}"
            )
        action = "new" if previous is None else "resupplied"
        kind = source.kind
        con.execute(
            "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?)",
            [
                load_id,
                source.force,
                source.month,
                source.name,
                kind,
                digest,
                parsed.rows_read,
                loaded,
                rows_rejected,
                crosswalk_version(),
            ],
        )
        con.execute(
            "INSERT INTO load_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
            [
                load_id,
                source.force,
                source.month,
                source.name,
                digest,
                action,
                previous[1] if previous else None,
                parsed.rows_read,
                loaded,
                rows_rejected,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return FileResult(
        source.name,
        source.force,
        source.month,
        action,
        parsed.rows_read,
        loaded,
        rows_rejected,
        n_warnings,
        unmapped,
        lines_counted=parsed.data_lines,
    )


def write_records(con: duckdb.DuckDBPyConnection, load_id: int, records: pa.Table) -> None:
    """Append one load's normalised records to `search_rows` (in the caller's transaction)."""
    con.register("records", lean_records(con, records))
    try:
        run_sql(con, "stopsearch.ingest", "write.sql", {"load_id": load_id})
    finally:
        con.unregister("records")


_Stored = tuple[int, str | None, str, str | None, int | None]


def _stored_rejects(
    name: str, rejects: list[tuple[int, str | None, str, str | None]], omitted: np.ndarray
) -> list[_Stored]:
    """The `rejected` rows of one file: (line, field, reason, text, omitted).

    The first REJECTS_IN_FULL rejects by line (`rejects` sorted; every line in `omitted` comes
    after them) are stored in full (text None: the caller reads the line); past that, one row
    counts the rest, naming the file and the count, with `omitted` the lines it stands for.
    """
    total = len(rejects) + len(omitted)
    if total <= REJECTS_IN_FULL:
        return [(*r, None) for r in rejects]
    rest = [r[0] for r in rejects[REJECTS_IN_FULL : REJECTS_IN_FULL + 1]]
    first = min(rest + [int(line) for line in omitted[:1]])
    count = total - REJECTS_IN_FULL
    reason = (
        f"{name}: {count:,} more rejected lines, from line {first:,} on, are counted here and"
        f" not stored one by one (a file keeps its first {REJECTS_IN_FULL:,} rejects in full;"
        f" this one has {total:,})"
    )
    summary: _Stored = (first, None, reason, None, count)
    return [(*r, None) for r in rejects[:REJECTS_IN_FULL]] + [summary]


def _delete_load(con: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Remove every row that came from one load (inside the caller's transaction)."""
    low, high = load_id * MAX_LINES_PER_FILE, (load_id + 1) * MAX_LINES_PER_FILE
    tables = _existing_tables(con)
    for table in _DERIVED_BY_SEARCH_ID:
        if table in tables:
            con.execute(f"DELETE FROM {table} WHERE search_id >= ? AND search_id < ?", [low, high])
    for table in ("search_rows", "rejected", "warnings", "unmapped_labels"):
        con.execute(f"DELETE FROM {table} WHERE load_id = ?", [load_id])
    con.execute("DELETE FROM loads WHERE load_id = ?", [load_id])


def _supplied_twice(sources: list[SourceFile]) -> dict[SourceFile, str]:
    """The sources of force-months given more than once in one run, each with the reason."""
    by_month: dict[tuple[str, date], list[SourceFile]] = {}
    for source in sources:
        by_month.setdefault((source.force, source.month), []).append(source)
    reasons: dict[SourceFile, str] = {}
    for (force, month), group in by_month.items():
        if len(group) > 1:
            names = " and ".join(s.name for s in group)
            reason = (
                f"{force} {month:%Y-%m} is supplied {len(group)} times in this run ({names});"
                " none of them was loaded: remove all but one"
            )
            reasons.update((s, f"{s.name}: {reason}") for s in group)
    return reasons


def ingest_sources(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    *,
    workers: int = 2,
    limits: Limits = DEFAULT_LIMITS,
    on_file: Callable[[FileResult], None] | None = None,
    guard: ResupplyGuard | None = None,
) -> IngestReport:
    """Load each source; unchanged checksums are skipped, changed force-months replaced whole.

    A force-month supplied twice is ambiguous: every copy is refused and the month stays as it
    was. A file that cannot be loaded is refused alone; the other files still load. A `guard`
    may hold back a re-supply before it replaces a month (action "quarantined").
    """
    current = {
        (force, month): (load_id, sha)
        for load_id, force, month, sha in con.execute(
            "SELECT load_id, force, month, sha256 FROM loads"
        ).fetchall()
    }

    def unchanged(source: SourceFile, digest: str) -> bool:
        previous = current.get((source.force, source.month))
        return previous is not None and previous[1] == digest

    report = IngestReport()
    twice = _supplied_twice(sources)
    for source in sources:
        if source in twice:
            report.files.append(_refuse(con, source, twice[source]))
            if on_file is not None:
                on_file(report.files[-1])
    once = [s for s in sources if s not in twice]
    for source, digest, parsed in _prefetched(once, unchanged, workers, limits):
        key = (source.force, source.month)
        previous = current.get(key)
        if previous is not None and previous[1] == digest:
            result = FileResult(source.name, source.force, source.month, "unchanged")
        elif isinstance(parsed, IngestError):
            result = _refuse(con, source, str(parsed))
        elif parsed is None:  # same checksum as a file loaded earlier in this very call
            result = FileResult(source.name, source.force, source.month, "unchanged")
        elif guard and previous and (held := guard.hold(con, source, digest, parsed, previous[0])):
            result = FileResult(
                source.name, source.force, source.month, "quarantined", parsed.rows_read, error=held
            )
        else:
            try:
                result = _write(con, source, digest, parsed, previous)
            except IngestError as exc:
                result = _refuse(con, source, str(exc))
            else:
                query = "SELECT load_id FROM loads WHERE force = ? AND month = ?"
                load_id = fetch_one(con.execute(query, list(key)), "the load just written")[0]
                current[key] = (load_id, digest)
        report.files.append(result)
        if on_file is not None:
            on_file(result)
    return report


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    *,
    limits: Limits = DEFAULT_LIMITS,
    **options,
) -> IngestReport:
    """Discover stop-and-search files under `paths` (files, folders, zips) and load them.

    The report also lists what the walk left out: skipped entries, refused names, and inputs
    where nothing matched the file-name pattern (with the names it ignored there).
    """
    inputs = find_inputs(paths, limits)
    report = ingest_sources(con, inputs.sources, limits=limits, **options)
    report.inputs = inputs
    return report
