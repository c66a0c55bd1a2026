"""Queries: the warehouse -> Arrow tables of each extract, in deterministic Hilbert order.

Figures come only from `published_metrics` (never from `metrics`); records only carry fields
that data.police.uk already publishes plus our area codes, flags and provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from stopsearch.metrics.contract import LATEST_12, MEASURES
from stopsearch.metrics.suppression import NO_DATA
from stopsearch.outputs.extracts.columns import (
    AREA_COLUMNS,
    METRIC_COLUMNS,
    WIDE_METRICS,
    Column,
    arrow_schema,
)
from stopsearch.outputs.extracts.geoparquet import Bounds
from stopsearch.sqlfiles import SqlFile

# Area kind -> file stem of its layer.
AREA_LAYERS = {
    "ward": "wards",
    "neighbourhood": "neighbourhoods",
    "priority_area": "priority_areas",
    "local_authority": "local_authorities",
}
WKT = "geometry_wkt"  # helper column: the CSV twin's geometry
_GEOMETRY_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
SQL = SqlFile("stopsearch.outputs.extracts", "tables.sql")


@dataclass
class GeoTable:
    """An extract's rows with what its `geo` metadata needs."""

    table: pa.Table
    bounds: Bounds | None = None
    geometry_types: tuple[str, ...] = ()


def conform(table: pa.Table, columns: tuple[Column, ...], extra: tuple[str, ...] = ()) -> pa.Table:
    """Select the declared columns in order, cast to their declared types (plus `extra`)."""
    schema = arrow_schema(columns)
    for name in extra:
        schema = schema.append(table.schema.field(name))
    table = table.select(schema.names)
    return table.cast(schema)


def _bounds(row: tuple | None) -> Bounds | None:
    """(min x, min y, max x, max y) of a bounds query; None when there is nothing to bound."""
    if row is None or row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _box(bounds: Bounds | None) -> dict[str, object]:
    """The parameters of a Hilbert order within `bounds` (off when there are none)."""
    values = bounds or (0.0, 0.0, 0.0, 0.0)
    return {
        "has_bounds": bounds is not None,
        **dict(zip(("min_x", "min_y", "max_x", "max_y"), values, strict=True)),
    }


# -- published metrics, long form ---------------------------------------------------------------


def metrics_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """metrics.parquet: every row of published_metrics, with the unit of its measure."""
    units = pa.table(
        {
            "measure": [m.name for m in MEASURES.values()],
            "unit": [m.unit for m in MEASURES.values()],
        }
    )
    con.register("_x_units", units)
    try:
        table = SQL.execute(con, "metrics").to_arrow_table()
    finally:
        con.unregister("_x_units")
    return conform(table, METRIC_COLUMNS)


# -- area layers --------------------------------------------------------------------------------


def latest_period(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """First and last month of the latest-12 period, if the metrics have one."""
    row = SQL.execute(con, "latest_period", {"period": LATEST_12}).fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])


_WIDE = pa.table(
    {
        "idx": pa.array(range(len(WIDE_METRICS)), pa.int32()),
        "basis": [m.basis for m in WIDE_METRICS],
        "grp": [m.grp for m in WIDE_METRICS],
        "breakdown": [m.breakdown for m in WIDE_METRICS],
        "category": [m.category for m in WIDE_METRICS],
        "measure": [m.measure for m in WIDE_METRICS],
        "is_integer": [m.integer for m in WIDE_METRICS],
    }
)


def _wide_columns(
    con: duckdb.DuckDBPyConnection, kind: str, codes: list[str]
) -> dict[str, pa.Array]:
    """Each wide metric's value (CI) and reason column, aligned with `codes`.

    Per area and metric: the value of the published row that the metric picks; its reason when
    withheld (no_data when the row has none), no_data when the area has no such row.
    """
    con.register("_x_wide", _WIDE)
    try:
        rows = SQL.execute(
            con, "layer_figures", {"kind": kind, "period": LATEST_12}
        ).fetchall()
    finally:
        con.unregister("_x_wide")
    at = {code: i for i, code in enumerate(codes)}
    n = len(codes)
    values: list[list] = [[None] * n for _ in WIDE_METRICS]
    lows: list[list] = [[None] * n for _ in WIDE_METRICS]
    highs: list[list] = [[None] * n for _ in WIDE_METRICS]
    reasons: list[list] = [[NO_DATA] * n for _ in WIDE_METRICS]
    seen: set[tuple[int, int]] = set()
    for code, idx, value, low, high, reason in rows:
        i = at.get(code)
        if i is None or (i, idx) in seen:
            continue  # the first row of an area and metric counts (the key is unique)
        seen.add((i, idx))
        values[idx][i], lows[idx][i], highs[idx][i] = value, low, high
        reasons[idx][i] = reason if value is not None else (reason or NO_DATA)
    out: dict[str, pa.Array] = {}
    for idx, m in enumerate(WIDE_METRICS):
        kind_type = pa.int64() if m.integer else pa.float64()
        column = values[idx]
        if m.integer:
            column = [None if v is None else int(v) for v in column]
        out[m.name] = pa.array(column, kind_type)
        if m.with_ci:
            out[f"{m.name}_ci_low"] = pa.array(lows[idx], pa.float64())
            out[f"{m.name}_ci_high"] = pa.array(highs[idx], pa.float64())
        out[f"{m.name}_reason"] = pa.array(reasons[idx], pa.string())
    return out


def area_table(
    con: duckdb.DuckDBPyConnection, kind: str, period: tuple[date, date] | None
) -> GeoTable | None:
    """One area layer: newest polygon of every code in force during the latest 12 months,
    with that period's published metrics in wide form.

    None when the warehouse has no polygons of the kind (its figures stay in the metrics files).
    """
    if not SQL.scalar(con, "has_areas", {"kind": kind}):
        return None
    params = {
        "kind": kind,
        "period": LATEST_12,
        "has_period": period is not None,
        "first": period[0] if period else None,
        "last": period[1] if period else None,
    }
    try:
        SQL.execute(con, "layer_polygons", params)
        bounds = _bounds(SQL.execute(con, "polygon_bounds").fetchone())
        types = tuple(
            sorted(
                _GEOMETRY_TYPES.get(name.upper(), name)
                for (name,) in SQL.execute(con, "polygon_types").fetchall()
            )
        )
        table = SQL.execute(con, "layer_rows", {**params, **_box(bounds)}).to_arrow_table()
    finally:
        SQL.execute(con, "drop_polygons")
    codes = table.column("code").to_pylist()
    for name, column in _wide_columns(con, kind, codes).items():
        table = table.append_column(name, column)
    return GeoTable(conform(table, AREA_COLUMNS, extra=(WKT,)), bounds, types)
