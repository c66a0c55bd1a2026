"""Load force-month files into the warehouse: one transaction per file, idempotent by checksum."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from stopsearch.crosswalks import crosswalk_version
from stopsearch.errors import IngestError
from stopsearch.ingest.discover import SourceFile, discover
from stopsearch.ingest.normalise import normalise
from stopsearch.ingest.parse import ParsedFile, parse
from stopsearch.ingest.resupply import ResupplyGuard
from stopsearch.sqlfiles import run_sql

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


@dataclass
class IngestReport:
    """Results of one ingest call, in the order the files were processed."""

    files: list[FileResult] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for f in self.files if f.action == action)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def changed(self) -> list[FileResult]:
        return [f for f in self.files if f.action in ("new", "resupplied")]


def _prefetched(
    sources: list[SourceFile], skip: Callable[[SourceFile, str], bool], workers: int
) -> Iterator[tuple[SourceFile, str, ParsedFile | IngestError | None]]:
    """Parse and normalise files on a small thread pool, in order (at most `workers` ahead).

    pyarrow and DuckDB release the GIL, so the next files are parsed while one is inserted.
    """

    def job(source: SourceFile) -> tuple[str, ParsedFile | IngestError | None]:
        data = source.read()
        digest = hashlib.sha256(data).hexdigest()
        if skip(source, digest):
            return digest, None
        try:
            parsed = parse(data, source.name, source.kind)
        except IngestError as exc:
            return digest, exc
        parsed.normalised = normalise(parsed.table)  # off the main thread: overlaps inserts
        return digest, parsed

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: list[tuple[SourceFile, Future]] = []
        queue = iter(sources)
        for source in queue:
            pending.append((source, pool.submit(job, source)))
            if len(pending) >= workers:
                break
        while pending:
            source, future = pending.pop(0)
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(job, nxt)))
            digest, parsed = future.result()
            yield source, digest, parsed


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _refuse(con: duckdb.DuckDBPyConnection, source: SourceFile, message: str) -> FileResult:
    """Record a refused file (the force-month's earlier data, if any, stays as it was)."""
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM rejected WHERE load_id IS NULL AND source_file = ?", [source.name])
    con.execute(
        "INSERT INTO rejected VALUES (NULL, ?, ?, ?, NULL, NULL, ?, NULL)",
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
    params = {
        "force": source.force,
        "month": source.month,
        "source_file": source.name,
    }
    con.execute("BEGIN TRANSACTION")
    try:
        load_id = con.execute("SELECT nextval('load_id_seq')").fetchone()[0]
        params["load_id"] = load_id
        if previous is not None:
            _delete_load(con, previous[0])
        con.execute("DELETE FROM rejected WHERE load_id IS NULL AND source_file = ?", [source.name])
        normalised = parsed.normalised or normalise(parsed.table)
        con.register("records", normalised.records)
        run_sql(con, "stopsearch.ingest", "write.sql", params)
        con.unregister("records")
        rejects = [(r.line, r.field, r.reason, r.raw_line) for r in parsed.rejects]
        rejects += [
            (r.line, r.field, r.detail, parsed.raw_line(r.line)) for r in normalised.rejects
        ]
        if rejects:
            con.executemany(
                "INSERT INTO rejected VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (load_id, source.force, source.month, source.name, ln, fld, why, raw)
                    for ln, fld, why, raw in sorted(rejects, key=lambda r: r[0])
                ],
            )
        warnings = [(w.line, w.field, w.code, w.detail) for w in parsed.warnings]
        warnings += [(w.line, w.field, w.code, w.detail) for w in normalised.warnings]
        if warnings:
            con.executemany(
                "INSERT INTO warnings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(load_id, source.force, source.month, source.name, *w) for w in warnings],
            )
        unmapped = tuple(
            UnmappedLabel(u.field, u.label, u.rows, u.first_line)
            for u in sorted(normalised.unmapped, key=lambda u: (u.field, u.label))
        )
        if unmapped:
            con.executemany(
                "INSERT INTO unmapped_labels VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (load_id, source.force, source.month, u.field, u.label, u.rows, u.first_line)
                    for u in unmapped
                ],
            )
        loaded = normalised.records.num_rows
        n_warnings = len(warnings)
        rows_rejected = len(rejects)
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
    )


def _delete_load(con: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Remove every row that came from one load (inside the caller's transaction)."""
    low, high = load_id * MAX_LINES_PER_FILE, (load_id + 1) * MAX_LINES_PER_FILE
    tables = _existing_tables(con)
    for table in _DERIVED_BY_SEARCH_ID:
        if table in tables:
            con.execute(f"DELETE FROM {table} WHERE search_id >= ? AND search_id < ?", [low, high])
    for table in ("searches", "rejected", "warnings", "unmapped_labels"):
        con.execute(f"DELETE FROM {table} WHERE load_id = ?", [load_id])
    con.execute("DELETE FROM loads WHERE load_id = ?", [load_id])


def ingest_sources(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    *,
    workers: int = 2,
    on_file: Callable[[FileResult], None] | None = None,
    guard: ResupplyGuard | None = None,
) -> IngestReport:
    """Load each source; unchanged checksums are skipped, changed force-months replaced whole.

    A `guard` may hold back a re-supply before it replaces a month (action "quarantined").
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
    for source, digest, parsed in _prefetched(sources, unchanged, workers):
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
            result = _write(con, source, digest, parsed, previous)
            load_id = con.execute(
                "SELECT load_id FROM loads WHERE force = ? AND month = ?", list(key)
            ).fetchone()[0]
            current[key] = (load_id, digest)
        report.files.append(result)
        if on_file is not None:
            on_file(result)
    return report


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    **options,
) -> IngestReport:
    """Discover stop-and-search files under `paths` (files, folders, zips) and load them."""
    return ingest_sources(con, discover(paths), **options)
