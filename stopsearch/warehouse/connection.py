"""Open the warehouse, apply pending migrations, and load DuckDB spatial from its PyPI package."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

from stopsearch.errors import WarehouseError
from stopsearch.sqlfiles import SqlFile

DEFAULT_DB = Path("stopsearch.duckdb")
SQL = SqlFile("stopsearch.warehouse", "connection.sql")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@cache
def _migrations() -> tuple[tuple[int, str, str], ...]:
    """(version, name, sql) for every migration shipped in the package, in order."""
    found = []
    for entry in resources.files("stopsearch.warehouse").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise WarehouseError(f"migrations are not numbered 1..n without gaps: {versions}")
    return tuple(found)


SCHEMA_VERSION = len(_migrations())


@cache
def spatial_extension_path() -> Path:
    """The spatial extension file inside the duckdb-extension-spatial wheel (no network)."""
    import duckdb_extension_spatial

    root = Path(duckdb_extension_spatial.__file__).parent
    wanted = root / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if wanted.exists():
        return wanted
    found = sorted(root.glob("extensions/*/spatial.duckdb_extension"))
    if not found:
        raise WarehouseError(f"no spatial.duckdb_extension inside {root}")
    return found[-1]


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB spatial from the installed wheel's file path (never downloads)."""
    con.execute(f"LOAD '{spatial_extension_path()}'")


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    SQL.execute(con, "create_migrations")
    row = SQL.execute(con, "current_version").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the file's version, each in its own transaction."""
    current = _current_version(con)
    if current > SCHEMA_VERSION:
        raise WarehouseError(
            f"warehouse schema version {current} is newer than this stopsearch ({SCHEMA_VERSION});"
            " upgrade stopsearch"
        )
    for version, name, sql in _migrations():
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            SQL.execute(con, "record_migration", {"version": version, "name": name})
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {name} failed: {exc}") from exc
    return SCHEMA_VERSION


def connect(
    path: str | Path = DEFAULT_DB, *, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse at `path`, migrated to the current schema.

    `":memory:"` gives a throwaway warehouse, handy in tests. `memory_limit` (e.g. "3GB") caps
    DuckDB's memory; beyond it DuckDB spills to disk instead of growing.
    """
    target = str(path)
    if target != ":memory:" and not read_only:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open warehouse {target}: {exc}") from exc
    load_spatial(con)
    if memory_limit is not None:
        try:
            con.execute("SET memory_limit = ?", [memory_limit])  # bound: never spliced into SQL
        except duckdb.Error as exc:
            raise WarehouseError(f"memory_limit {memory_limit!r}: {exc}; e.g. 3GB") from exc
    if not read_only:
        migrate(con)
    return con
