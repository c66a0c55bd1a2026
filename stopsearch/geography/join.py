"""Assign located searches to ward, neighbourhood, small area and priority areas (DuckDB spatial).

Rules, also written at the top of join.sql:

* A search is joined to the areas in force on its date: its Europe/London calendar date (the
  published timestamps are UTC) must lie within [valid_from, valid_to], both inclusive. A search
  dated the day a new vintage starts therefore uses the new one. The date of the search, not its
  reporting month, is used: late-submitted rows and months in which wards change are placed in
  the geography in force when the search happened.
* A point belongs to every area that covers it (interior or boundary, as `ST_Covers`). Where
  several areas of one kind cover it (a point on a shared edge, a vertex shared by three wards,
  overlapping areas), the smallest code wins: deterministic and independent of load order.
* A located search covered by no ward in force is `outside_area`; its distance is to the nearest
  ward in force when one lies within 1 km. Searches without coordinates get no row: count them
  per force-month from `searches` (view `location_summary`).
* Distances are in metres through a linear map of lon/lat to EPSG:27700 fitted at each area's
  centre (within about 0.1% of the projected distance for ward-sized areas).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from stopsearch.errors import GeographyError
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.geography", "join.sql")
NEAR_BOUNDARY_M = 50.0
SHARED_BELOW = 0.5  # share keys when distinct keys (approx.) are under this share of searches


@dataclass(frozen=True)
class AssignReport:
    """Counts of one assignment run (scope: all, one force or one force-month)."""

    force: str | None
    month: date | None
    located: int
    in_ward: int
    outside_area: int
    tie_broken: int
    near_boundary: int
    no_location: int
    seconds: float  # in all
    join_seconds: float  # spatial join, tie-break and distances (temporary tables)
    write_seconds: float  # delete-then-insert of the scope's rows


def _month(month: date | str | None) -> date | None:
    if month is None or isinstance(month, date):
        return month.replace(day=1) if month else None
    try:
        return date.fromisoformat(f"{month}-01" if len(month) == 7 else month).replace(day=1)
    except ValueError:
        raise GeographyError(f"month must be YYYY-MM, got {month!r}") from None


def _key_form(con: duckdb.DuckDBPyConnection, scope: dict) -> str:
    """'shared' when searches share points (police snap points), else 'own' (one key each)."""
    row = SQL.execute(con, "sharing", scope).fetchone()
    records, distinct = (int(row[0]), int(row[1])) if row else (0, 0)
    return "shared" if distinct < SHARED_BELOW * records else "own"


def _flag(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = SQL.execute(con, name).fetchone()
    return bool(row and row[0])


def _prepare(con: duckdb.DuckDBPyConnection, scope: dict) -> str:
    """Fill the temporary tables: areas, searches in scope, keys, assignments; the key form."""
    for name in ("areas", "shapes", "breaks", "box"):
        SQL.execute(con, name)
    form = _key_form(con, scope)
    records = SQL["records"]
    if form == "own":
        records += "\n" + SQL["hilbert_order"]
    con.execute(records, scope)
    for name in (f"keys_{form}", "assigned"):
        SQL.execute(con, name)
    SQL.execute(con, "priority_hits" if _flag(con, "has_priority") else "no_priority")
    SQL.execute(con, "no_outside" if _flag(con, "all_in_ward") else "outside_distance")
    return form


def unjoined_force_months(con: duckdb.DuckDBPyConnection) -> list[tuple[str, date]]:
    """(force, month) of located searches not yet assigned to areas (none while no areas)."""
    return [(force, month) for force, month in SQL.execute(con, "unjoined").fetchall()]


def assign_areas(
    con: duckdb.DuckDBPyConnection,
    force: str | None = None,
    month: date | str | None = None,
    *,
    near_m: float = NEAR_BOUNDARY_M,
) -> AssignReport:
    """Recompute search_areas and search_priority_areas for all searches, a force or a force-month.

    The scope's old rows are deleted and the new ones inserted in one transaction.
    """
    if month is not None and force is None:
        raise GeographyError("assign_areas: give force together with month")
    started = time.perf_counter()
    scope: dict[str, Any] = {"force": force, "month": _month(month)}
    try:
        form = _prepare(con, scope)
        joined = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        try:
            SQL.execute(con, "delete_areas", scope)
            SQL.execute(con, "delete_priority", scope)
            SQL.execute(con, f"insert_areas_{form}", {"near_m": near_m})
            SQL.execute(con, f"insert_priority_{form}")
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        written = time.perf_counter()
        counts = SQL.execute(con, "summary", scope).fetchone()
        no_location = SQL.execute(con, "no_location", scope).fetchone()
    except duckdb.Error as exc:
        raise GeographyError(f"assigning areas failed: {exc}") from exc
    finally:
        SQL.execute(con, "drop_temp")
    assert counts is not None and no_location is not None
    located, in_ward, outside_area, tie_broken, near_boundary = map(int, counts)
    return AssignReport(
        force,
        scope["month"],
        located,
        in_ward,
        outside_area,
        tie_broken,
        near_boundary,
        int(no_location[0]),
        round(time.perf_counter() - started, 3),
        round(joined - started, 3),
        round(written - joined, 3),
    )
