"""Queries: the warehouse -> Arrow tables of each extract, in deterministic Hilbert order.

Figures come only from `published_metrics` (never from `metrics`); records only carry fields
that data.police.uk already publishes plus our area codes, flags and provenance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from stopsearch.metrics.contract import LATEST_12, MEASURES
from stopsearch.metrics.suppression import NO_DATA
from stopsearch.outputs.extracts.columns import (
    AREA_COLUMNS,
    BBOX,
    GEOMETRY,
    METRIC_COLUMNS,
    SEARCH_COLUMNS,
    WIDE_METRICS,
    Column,
    arrow_schema,
)
from stopsearch.outputs.extracts.geoparquet import Bounds

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
_BOX = "{'min_x': ?, 'min_y': ?, 'max_x': ?, 'max_y': ?}::BOX_2D"


@dataclass
class GeoTable:
    """An extract's rows with what its `geo` metadata needs."""

    table: pa.Table
    bounds: Bounds | None = None
    geometry_types: tuple[str, ...] = ()


def _arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pa.Table:
    return con.execute(sql, params or []).to_arrow_table()


def _conform(table: pa.Table, columns: tuple[Column, ...], extra: tuple[str, ...] = ()) -> pa.Table:
    """Select the declared columns in order, cast to their declared types (plus `extra`)."""
    schema = arrow_schema(columns)
    for name in extra:
        schema = schema.append(table.schema.field(name))
    table = table.select(schema.names)
    return table.cast(schema)


def basename(sql: str) -> str:
    """SQL for the last component of a path (never publish the operator's folders)."""
    return f"regexp_extract({sql}, '[^/\\\\]*$')"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _geometry_types(con: duckdb.DuckDBPyConnection, sql_from: str, params: list) -> tuple:
    rows = con.execute(
        f"SELECT DISTINCT ST_GeometryType(geom)::VARCHAR FROM {sql_from} WHERE geom IS NOT NULL",
        params,
    ).fetchall()
    return tuple(sorted(_GEOMETRY_TYPES.get(r[0].upper(), r[0]) for r in rows))


# -- records ------------------------------------------------------------------------------------


def records_query(con: duckdb.DuckDBPyConnection) -> tuple[str, list, Bounds | None]:
    """SQL for searches.parquet rows in Hilbert order (unlocated last), its params and bounds."""
    found = con.execute(
        "SELECT min(longitude), min(latitude), max(longitude), max(latitude) FROM searches "
        "WHERE latitude IS NOT NULL AND longitude IS NOT NULL"
    ).fetchone()
    bounds = None if found is None or found[0] is None else tuple(float(v) for v in found)
    hilbert = (
        f"CASE WHEN NOT b.no_location THEN ST_Hilbert(ST_Point(b.longitude, b.latitude), {_BOX})"
        " END"
        if bounds
        else "NULL::UINTEGER"
    )
    # DuckDB sorts (spilling to disk when it must) and the rows stream out in batches, so the
    # export's memory does not grow with the number of records. Unlocated records (no Hilbert
    # value) come last: 2**32 is above every UINTEGER Hilbert value; search_id breaks ties.
    sql = f"""
        WITH prio AS (
            SELECT search_id,
                   array_to_string(list_sort(list(priority_code)), ';') AS priority_code,
                   array_to_string(list_sort(list_distinct(list(layer_id))), ';')
                       AS priority_layer_id
            FROM search_priority_areas GROUP BY search_id
        ), b AS (
            SELECT s.*,
                   (s.latitude IS NULL OR s.longitude IS NULL) AS no_location,
                   a.outside_area, a.near_boundary, a.ward_code, a.ward_layer_id,
                   a.neighbourhood_code, a.small_area_code, a.la_code,
                   p.priority_code, p.priority_layer_id
            FROM searches AS s
            LEFT JOIN search_areas AS a USING (search_id)
            LEFT JOIN prio AS p USING (search_id)
        )
        SELECT
            b.search_id, b.force, b.month,
            {basename("b.source_file")} AS source_file,
            b.source_line, b.datetime_published, b.datetime,
            b.type::VARCHAR AS type, b.is_person_search, b.part_of_operation, b.operation_name,
            b.latitude, b.longitude, b.location_issue::VARCHAR AS location_issue,
            b.street_id, b.street_name,
            b.gender::VARCHAR AS gender, b.age_range::VARCHAR AS age_range,
            b.self_defined_ethnicity_raw,
            b.self_defined_ethnicity::VARCHAR AS self_defined_ethnicity,
            b.self_defined_group::VARCHAR AS self_defined_group,
            b.officer_defined_ethnicity,
            b.officer_defined_group::VARCHAR AS officer_defined_group,
            b.legislation, b.object_of_search,
            b.object_group::VARCHAR AS object_group,
            b.outcome_raw, b.outcome_class::VARCHAR AS outcome_class,
            b.is_positive, b.outcome_linked, b.removal_more_than_outer, b.involved_person,
            b.no_location, b.outside_area, b.near_boundary,
            b.ward_code, b.ward_layer_id, b.neighbourhood_code, b.small_area_code, b.la_code,
            b.priority_code, b.priority_layer_id,
            CASE WHEN NOT b.no_location THEN ST_AsWKB(ST_Point(b.longitude, b.latitude)) END
                AS {GEOMETRY},
            CASE WHEN NOT b.no_location THEN {{'xmin': b.longitude, 'ymin': b.latitude,
                'xmax': b.longitude, 'ymax': b.latitude}} END AS {BBOX},
            {hilbert} AS _hilbert
        FROM b
    """
    ordered = f"""
        SELECT * EXCLUDE (_hilbert) FROM ({sql})
        ORDER BY coalesce(_hilbert::UBIGINT, 4294967296), search_id
    """
    return ordered, list(bounds) if bounds else [], bounds


def record_batches(
    con: duckdb.DuckDBPyConnection, rows: int
) -> tuple[Iterator[pa.Table], Bounds | None]:
    """searches.parquet rows as tables of exactly `rows` rows (the last may be shorter)."""
    sql, params, bounds = records_query(con)
    reader = con.execute(sql, params).to_arrow_reader(rows)

    def tables() -> Iterator[pa.Table]:
        pending: list[pa.RecordBatch] = []
        held = 0
        for batch in reader:
            pending.append(batch)
            held += batch.num_rows
            while held >= rows:
                table = pa.Table.from_batches(pending).combine_chunks()
                yield _conform(table.slice(0, rows), SEARCH_COLUMNS)
                rest = table.slice(rows)
                pending, held = rest.to_batches(), rest.num_rows
        if held:
            yield _conform(pa.Table.from_batches(pending), SEARCH_COLUMNS)

    return tables(), bounds


# -- published metrics, long form ---------------------------------------------------------------


def metrics_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """metrics.parquet: every row of published_metrics, with the unit of its measure."""
    units = " ".join(f"WHEN {_literal(m.name)} THEN {_literal(m.unit)}" for m in MEASURES.values())
    table = _arrow(
        con,
        f"""
        SELECT area_kind, area_code, area_name, period, period_kind, period_start, period_end,
               months_present, basis, grp AS ethnic_group, breakdown, category, measure,
               CASE measure {units} END AS unit,
               value, ci_low, ci_high, numerator, denominator, reason, display
        FROM published_metrics
        ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure
        """,
    )
    return _conform(table, METRIC_COLUMNS)


# -- area layers --------------------------------------------------------------------------------


def latest_period(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """First and last month of the latest-12 period, if the metrics have one."""
    row = con.execute(
        "SELECT min(period_start), max(period_end) FROM published_metrics WHERE period = ?",
        [LATEST_12],
    ).fetchone()
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
    if not con.execute("SELECT count(*) FROM areas WHERE kind = ?", [kind]).fetchone()[0]:
        return None
    if period is None:
        overlap, overlap_params = "TRUE", []
    else:
        overlap = (
            "(valid_from IS NULL OR valid_from <= last_day(?::DATE))"
            " AND (valid_to IS NULL OR valid_to >= ?::DATE)"
        )
        overlap_params = [period[1], period[0]]
    polys = f"""
        SELECT code, name, parent_code, layer_id, valid_from, valid_to, area_m2, geom
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY code ORDER BY valid_from DESC NULLS LAST, layer_id DESC) AS pick
            FROM areas WHERE kind = ?
        )
        WHERE pick = 1
          AND code IN (SELECT code FROM areas WHERE kind = ? AND {overlap})
    """
    polys_params = [kind, kind, *overlap_params]
    found = con.execute(
        f"SELECT min(ST_XMin(geom)), min(ST_YMin(geom)), max(ST_XMax(geom)), max(ST_YMax(geom))"
        f" FROM ({polys})",
        polys_params,
    ).fetchone()
    bounds = None if found is None or found[0] is None else tuple(float(v) for v in found)
    types = _geometry_types(con, f"({polys})", polys_params)
    order = f"ST_Hilbert(p.geom, {_BOX}) NULLS LAST, c.code" if bounds else "c.code"
    sql = f"""
        WITH p AS ({polys}),
        w AS (
            SELECT area_code,
                   any_value(area_name) AS area_name,
                   min(period_start) AS period_start,
                   max(period_end) AS period_end,
                   coalesce(
                       first(months_present) FILTER (
                           WHERE basis = 'none' AND grp = 'All' AND breakdown = 'total'
                           AND measure = 'searches'),
                       max(months_present)) AS months_present,
                   {_wide_select()}
            FROM published_metrics
            WHERE area_kind = ? AND period = ?
            GROUP BY area_code
        ),
        c AS (SELECT code FROM p UNION SELECT area_code FROM w)
        SELECT c.code, coalesce(p.name, w.area_name) AS name, p.parent_code, p.layer_id,
               p.valid_from, p.valid_to, p.area_m2 / 1e6 AS area_km2,
               CASE WHEN ? THEN '{LATEST_12}' END AS period,
               ?::DATE AS period_start, ?::DATE AS period_end,
               CASE WHEN w.area_code IS NULL AND ? THEN 0 ELSE w.months_present END
                   AS months_present,
               w.* EXCLUDE (area_code, area_name, period_start, period_end, months_present),
               ST_AsWKB(p.geom) AS {GEOMETRY},
               CASE WHEN p.geom IS NOT NULL THEN {{'xmin': ST_XMin(p.geom),
                   'ymin': ST_YMin(p.geom), 'xmax': ST_XMax(p.geom), 'ymax': ST_YMax(p.geom)}}
               END AS {BBOX},
               ST_AsText(p.geom) AS {WKT}
        FROM c LEFT JOIN p ON p.code = c.code LEFT JOIN w ON w.area_code = c.code
        ORDER BY {order}
    """
    has_period = period is not None
    params = [
        *polys_params,
        kind,
        LATEST_12,
        has_period,
        period[0] if period else None,
        period[1] if period else None,
        has_period,
        *(bounds or ()),
    ]
    table = _arrow(con, sql, params)
    table = _fill_missing_reasons(table)
    return GeoTable(_conform(table, AREA_COLUMNS, extra=(WKT,)), bounds, types)


def _fill_missing_reasons(table: pa.Table) -> pa.Table:
    """Areas with polygons but no metric row at all: every metric null with reason no_data."""
    for m in WIDE_METRICS:
        name = f"{m.name}_reason"
        index = table.schema.get_field_index(name)
        reason = table.column(index).cast(pa.string())
        missing = pc.and_(pc.is_null(table.column(m.name)), pc.is_null(reason))
        table = table.set_column(index, name, pc.if_else(missing, NO_DATA, reason))
    return table
