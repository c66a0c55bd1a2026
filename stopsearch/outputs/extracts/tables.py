"""Queries: the warehouse -> Arrow tables of each extract, in deterministic Hilbert order.

Figures come only from `published_metrics` (never from `metrics`); records only carry fields
that data.police.uk already publishes plus our area codes, flags and provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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


def _wide_select() -> str:
    """Conditional aggregates picking each wide metric out of the long rows of one area."""
    parts = []
    for m in WIDE_METRICS:
        cond = (
            f"basis = {_literal(m.basis)} AND grp = {_literal(m.grp)} AND breakdown ="
            f" {_literal(m.breakdown)} AND category = {_literal(m.category)} AND measure ="
            f" {_literal(m.measure)}"
        )
        value = f"first(value) FILTER (WHERE {cond})"
        if m.integer:
            value = f"CAST(round({value}) AS BIGINT)"
        parts.append(f'{value} AS "{m.name}"')
        if m.with_ci:
            parts.append(f'first(ci_low) FILTER (WHERE {cond}) AS "{m.name}_ci_low"')
            parts.append(f'first(ci_high) FILTER (WHERE {cond}) AS "{m.name}_ci_high"')
        parts.append(
            f"CASE WHEN count(*) FILTER (WHERE {cond}) = 0 THEN '{NO_DATA}'"
            f" WHEN first(value) FILTER (WHERE {cond}) IS NULL"
            f" THEN coalesce(first(reason) FILTER (WHERE {cond}), '{NO_DATA}')"
            f' ELSE first(reason) FILTER (WHERE {cond}) END AS "{m.name}_reason"'
        )
    return ",\n".join(parts)


def area_table(
    con: duckdb.DuckDBPyConnection, kind: str, period: tuple[date, date] | None
) -> GeoTable | None:
    """One area layer: newest polygon of every code in force during the latest 12 months,
    with that period's published metrics in wide form.

    None when the warehouse has no polygons of the kind (its figures stay in metrics.parquet).
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
        cursor = SQL.execute(
            con, "layer_rows", {**params, **_box(bounds)}, slots={"wide_metrics": _wide_select()}
        )
        table = cursor.to_arrow_table()
    finally:
        SQL.execute(con, "drop_polygons")
    table = _fill_missing_reasons(table)
    return GeoTable(conform(table, AREA_COLUMNS, extra=(WKT,)), bounds, types)


def _fill_missing_reasons(table: pa.Table) -> pa.Table:
    """Areas with polygons but no metric row at all: every metric null with reason no_data."""
    for m in WIDE_METRICS:
        name = f"{m.name}_reason"
        index = table.schema.get_field_index(name)
        reason = table.column(index).cast(pa.string())
        missing = pc.and_(pc.is_null(table.column(m.name)), pc.is_null(reason))
        table = table.set_column(index, name, pc.if_else(missing, NO_DATA, reason))
    return table
