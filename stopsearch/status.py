"""What the warehouse holds: force-months with their rows, rejects, warnings and unmapped labels."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import duckdb


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
    rows = con.execute(
        """
        SELECT l.force, l.month, l.source, l.rows_read, l.rows_loaded, l.rows_rejected,
               (SELECT count(*) FROM warnings w WHERE w.load_id = l.load_id),
               (SELECT coalesce(sum(u.rows), 0) FROM unmapped_labels u WHERE u.load_id = l.load_id),
               (SELECT count(*) FROM searches s
                 WHERE s.load_id = l.load_id AND s.latitude IS NULL)
        FROM loads l ORDER BY l.force, l.month
        """
    ).fetchall()
    return [MonthStatus(*row) for row in rows]


def refused_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source file, reason) for every file refused whole."""
    return con.execute(
        "SELECT source_file, reason FROM rejected WHERE load_id IS NULL ORDER BY source_file"
    ).fetchall()


def unmapped_summary(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(field, label, rows) for every unmapped label across the warehouse."""
    return con.execute(
        "SELECT field, label, sum(rows)::INTEGER FROM unmapped_labels "
        "GROUP BY field, label ORDER BY field, label"
    ).fetchall()


def integrity_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Invariants of the warehouse; an empty list means it is consistent."""
    checks = {
        "a load's rows_loaded differs from its searches": """
            SELECT count(*) FROM loads l
            WHERE rows_loaded <> (SELECT count(*) FROM searches s WHERE s.load_id = l.load_id)""",
        "a load's rows_read is not rows_loaded + rows_rejected": """
            SELECT count(*) FROM loads WHERE rows_read <> rows_loaded + rows_rejected""",
        "a load's rows_rejected differs from its rejected rows": """
            SELECT count(*) FROM loads l WHERE rows_rejected <>
                (SELECT count(*) FROM rejected r WHERE r.load_id = l.load_id)""",
        "searches without a current load": """
            SELECT count(*) FROM searches s
            WHERE NOT EXISTS (SELECT 1 FROM loads l WHERE l.load_id = s.load_id)""",
        "duplicate search ids": """
            SELECT count(*) - count(DISTINCT search_id) FROM searches""",
        "area assignments of searches that no longer exist": """
            SELECT count(*) FROM search_areas a
            WHERE NOT EXISTS (SELECT 1 FROM searches s WHERE s.search_id = a.search_id)""",
        "duplicate area assignments": """
            SELECT count(*) - count(DISTINCT search_id) FROM search_areas""",
    }
    problems = []
    for description, query in checks.items():
        found = con.execute(query).fetchone()[0]
        if found:
            problems.append(f"{description}: {found}")
    return problems
