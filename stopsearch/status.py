"""What the warehouse holds: force-months with their rows, rejects, warnings and unmapped labels.

Also what the operator must see without reading logs, kept by the publish job in
`pipeline_state`: quarantined re-supplies, the last run's tripped sanity gates and self-heals.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import duckdb

from stopsearch.sqlfiles import SqlFile

QUARANTINE_KEY = "quarantined_resupplies"  # list: the re-supplies held back now
GATES_KEY = "sanity_gates"  # {"checked_at", "trips"}: the last run that checked them
HEALS_KEY = "self_heals"  # list, newest first: live releases found missing or damaged
HEALS_KEPT = 20
SQL = SqlFile("stopsearch", "status.sql")


@dataclass(frozen=True)
class MonthStatus:
    """One loaded force-month."""

    force: str
    month: date
    source: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    warnings: int
    unmapped_rows: int
    no_location: int

    def as_json(self) -> dict:
        out = asdict(self)
        out["month"] = self.month.strftime("%Y-%m")
        return out


def warehouse_status(con: duckdb.DuckDBPyConnection) -> list[MonthStatus]:
    """One row per loaded force-month, in force and month order."""
    return [MonthStatus(*row) for row in SQL.execute(con, "warehouse_status").fetchall()]


def refused_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source file, reason) for every file refused whole."""
    return SQL.execute(con, "refused_files").fetchall()


def unmapped_summary(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(field, label, rows) for every unmapped label across the warehouse."""
    return SQL.execute(con, "unmapped_summary").fetchall()


INTEGRITY_CHECKS = {
    "a load's rows_loaded differs from its searches": "loads_rows_loaded",
    "a load's rows_read is not rows_loaded + rows_rejected": "loads_rows_read",
    "a load's rows_rejected differs from its rejected rows": "loads_rows_rejected",
    "searches without a current load": "orphan_searches",
    "duplicate search ids": "duplicate_search_ids",
    "area assignments of searches that no longer exist": "orphan_assignments",
    "duplicate area assignments": "duplicate_assignments",
}


def integrity_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Invariants of the warehouse; an empty list means it is consistent."""
    problems = []
    for description, query in INTEGRITY_CHECKS.items():
        found = SQL.scalar(con, query)
        if found:
            problems.append(f"{description}: {found}")
    return problems


def get_state(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """A value of the pipeline's key/value memory (`pipeline_state`), or None."""
    row = SQL.execute(con, "get_state", {"key": key}).fetchone()
    return row[0] if row else None


def set_state(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Store a value in `pipeline_state` (replacing the old one)."""
    SQL.execute(con, "set_state", {"key": key, "value": value})


def get_json(con: duckdb.DuckDBPyConnection, key: str, default: Any) -> Any:
    """A JSON value of `pipeline_state` (default when absent or unreadable)."""
    text = get_state(con, key)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def set_json(con: duckdb.DuckDBPyConnection, key: str, value: Any) -> None:
    set_state(con, key, json.dumps(value, sort_keys=True))


def add_heal(con: duckdb.DuckDBPyConnection, heal: dict[str, Any]) -> None:
    """Remember one self-heal (newest first, the last HEALS_KEPT)."""
    set_json(con, HEALS_KEY, [heal, *get_json(con, HEALS_KEY, [])][:HEALS_KEPT])


def operator_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Quarantined re-supplies, the last sanity-gate check and the self-heals, as JSON."""
    return {
        "quarantined": get_json(con, QUARANTINE_KEY, []),
        "sanity_gates": get_json(con, GATES_KEY, None),
        "self_heals": get_json(con, HEALS_KEY, []),
    }


def quarantine_line(q: dict[str, Any]) -> str:
    """One quarantined re-supply in plain words, with how to accept it."""
    kept = f"; kept at {q['kept_at']}" if q.get("kept_at") else ""
    since = f" (since {q['since']})" if q.get("since") else ""
    return (
        f"quarantined{since}: {q['force']} {q['month']}: {q['source']} has {q['rows_after']}"
        f" loadable rows where the loaded month has {q['rows_before']} (loses"
        f" {q['loss_percent']}%); not applied{kept}; accept with --accept-resupply"
        f" {q['force']}-{q['month']}"
    )


def operator_lines(status: dict[str, Any]) -> list[str]:
    """The same in plain lines for the terminal."""
    lines = [quarantine_line(q) for q in status["quarantined"]]
    gates = status["sanity_gates"]
    for trip in (gates or {}).get("trips", []):
        verb = "overridden" if trip["overridden"] else "tripped"
        lines.append(
            f"sanity gate {trip['gate']} {verb} ({gates['checked_at']}): {trip['reason']};"
            f" threshold {trip['threshold_key']}, override {trip['override']}"
        )
    for heal in status["self_heals"]:
        lines.append(f"self-heal ({heal['at']}): {heal['problem']}; {heal['outcome']}")
    return lines
