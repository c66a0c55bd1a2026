"""GeoParquet 1.1 done properly: metadata, covering, Hilbert order, row groups, round trips."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import pytest
import shapely

from stopsearch.outputs.extracts.columns import (
    AREA_COLUMNS,
    SEARCH_COLUMNS,
    WIDE_METRICS,
    arrow_schema,
)
from stopsearch.outputs.extracts.geoparquet import geo_metadata, write_parquet
from stopsearch.outputs.extracts.tables import AREA_LAYERS
from tests.extracts_fixtures import (  # noqa: F401
    AREA_STEMS,
    demo_export,
    warehouse,
)
from tests.extracts_fixtures import (
    geo_metadata as read_geo,
)

GEO_FILES = ("searches", *AREA_STEMS)
BOX = "{'min_x': ?, 'min_y': ?, 'max_x': ?, 'max_y': ?}::BOX_2D"


def _path(demo_export, stem):  # noqa: F811
    return demo_export.folder / f"{stem}.parquet"


@pytest.mark.parametrize("stem", GEO_FILES)
def test_geo_metadata(demo_export, stem):  # noqa: F811
    path = _path(demo_export, stem)
    geo = read_geo(path)
    assert geo["version"] == "1.1.0"
    assert geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB"
    # No crs: GeoParquet's default, OGC:CRS84 (EPSG:4326 with longitude first), as readers see.
    assert "crs" not in column
    crs = gpd.read_parquet(path, columns=["geometry"]).crs
    assert crs.equals(pyproj.CRS("OGC:CRS84"))
    assert crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True)
    assert [a.direction for a in crs.axis_info] == ["east", "north"]
    # Geometry types and bbox are those of the data.
    frame = gpd.read_parquet(path)
    located = frame.geometry.dropna()
    types = sorted(set(located.geom_type))
    assert column["geometry_types"] == types
    if stem == "searches":
        assert types == ["Point"]
    else:
        assert set(types) <= {"Polygon", "MultiPolygon"}
    assert column["bbox"] == list(located.total_bounds)
    # The covering: a top-level struct of doubles, declared in the metadata.
    assert column["covering"] == {
        "bbox": {
            "xmin": ["bbox", "xmin"],
            "ymin": ["bbox", "ymin"],
            "xmax": ["bbox", "xmax"],
            "ymax": ["bbox", "ymax"],
        }
    }
    bbox_type = pq.read_schema(path).field("bbox").type
    assert pa.types.is_struct(bbox_type)
    assert [(f.name, f.type) for f in bbox_type] == [
        (n, pa.float64()) for n in ("xmin", "ymin", "xmax", "ymax")
    ]


@pytest.mark.parametrize("stem", GEO_FILES)
def test_bbox_column_is_each_geometrys_bounds(demo_export, stem):  # noqa: F811
    table = pq.read_table(_path(demo_export, stem), columns=["geometry", "bbox"])
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    boxes = table.column("bbox").to_pylist()
    for geom, box in zip(geoms, boxes, strict=True):
        if geom is None:
            assert box is None
        else:
            assert tuple(box.values()) == tuple(shapely.bounds(geom))


@pytest.mark.parametrize("stem", GEO_FILES)
def test_rows_in_hilbert_order(demo_export, warehouse, stem):  # noqa: F811
    path = _path(demo_export, stem)
    bounds = read_geo(path)["columns"]["geometry"]["bbox"]
    key = "search_id" if stem == "searches" else "code"
    rows = warehouse.execute(
        f"SELECT ST_Hilbert(geometry, {BOX}) AS h, {key} AS k "
        "FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
        [*bounds, str(path)],
    ).fetchall()
    located = [(h, k) for h, k in rows if h is not None]
    assert located == sorted(located)  # Hilbert value, then the stable tie-break
    assert len(located) > 1
    tail = [k for h, k in rows[len(located) :]]
    assert all(h is None for h, _ in rows[len(located) :])  # unlocated rows last, by key
    assert tail == sorted(tail)


@pytest.mark.parametrize("stem", ("searches", "metrics", *AREA_STEMS))
def test_zstd_row_groups_and_declared_schema(demo_export, stem):  # noqa: F811
    path = demo_export.folder / f"{stem}.parquet"
    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == meta.num_rows and all(0 < s <= 100_000 for s in sizes)
    assert all(s == 100_000 for s in sizes[:-1])
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        assert {group.column(j).compression for j in range(group.num_columns)} == {"ZSTD"}
    declared = {"searches": SEARCH_COLUMNS}.get(stem, AREA_COLUMNS)
    if stem != "metrics":
        assert pq.read_schema(path).remove_metadata() == arrow_schema(declared)


def test_row_groups_of_100000_rows(tmp_path):
    n = 250_001
    x = np.linspace(0, 1, n)
    zero = np.zeros(n)
    table = pa.table(
        {
            "geometry": pa.array(shapely.to_wkb(shapely.points(x, zero)), pa.binary()),
            "bbox": pa.StructArray.from_arrays(
                [x, zero, x, zero], names=["xmin", "ymin", "xmax", "ymax"]
            ),
        }
    )
    path = tmp_path / "big.parquet"
    write_parquet(table, path, geo=geo_metadata(["Point"], (0.0, 0.0, 1.0, 0.0)))
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        100_000,
        100_000,
        50_001,
    ]
    part = gpd.read_parquet(path, bbox=(0.25, -1, 0.5, 1))
    assert len(part) == int(((x >= 0.25) & (x <= 0.5)).sum())


def _expected_records(warehouse):  # noqa: F811
    """The records as the warehouse holds them, independently of the exporter's query."""
    return warehouse.execute(
        """
        SELECT s.search_id, s.force, s.month, s.source_line, s.datetime_published, s.datetime,
               s.type::VARCHAR AS type, s.is_person_search, s.part_of_operation,
               s.operation_name, s.latitude, s.longitude,
               s.location_issue::VARCHAR AS location_issue, s.street_id, s.street_name,
               s.gender::VARCHAR AS gender, s.age_range::VARCHAR AS age_range,
               s.self_defined_ethnicity_raw,
               s.self_defined_ethnicity::VARCHAR AS self_defined_ethnicity,
               s.self_defined_group::VARCHAR AS self_defined_group,
               s.officer_defined_ethnicity,
               s.officer_defined_group::VARCHAR AS officer_defined_group,
               s.legislation, s.object_of_search, s.object_group::VARCHAR AS object_group,
               s.outcome_raw, s.outcome_class::VARCHAR AS outcome_class, s.is_positive,
               s.outcome_linked, s.removal_more_than_outer, s.involved_person,
               s.latitude IS NULL AS no_location, a.outside_area, a.near_boundary,
               a.ward_code, a.ward_layer_id, a.neighbourhood_code, a.small_area_code,
               a.la_code, p.priority_code, p.layer_id AS priority_layer_id,
               ST_AsWKB(ST_Point(s.longitude, s.latitude)) AS wkb
        FROM searches AS s
        LEFT JOIN search_areas AS a USING (search_id)
        LEFT JOIN search_priority_areas AS p USING (search_id)
        ORDER BY s.search_id
        """
    ).df()


def _same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    for column in expected.columns:
        if column == "wkb":
            continue
        left, right = actual[column].tolist(), expected[column].tolist()
        norm = [None if pd.isna(v) else v for v in left], [None if pd.isna(v) else v for v in right]
        if column in ("month",):
            norm = (
                [None if v is None else pd.Timestamp(v) for v in norm[0]],
                [None if v is None else pd.Timestamp(v) for v in norm[1]],
            )
        assert norm[0] == norm[1], column


@pytest.fixture
def expected_records(warehouse):  # noqa: F811
    return _expected_records(warehouse)


def test_geopandas_read_equals_warehouse(demo_export, expected_records):  # noqa: F811
    frame = gpd.read_parquet(_path(demo_export, "searches"))
    assert frame.crs == pyproj.CRS("OGC:CRS84")
    assert len(frame) == len(expected_records)
    frame = frame.sort_values("search_id").reset_index(drop=True)
    _same(frame, expected_records)
    located = ~expected_records.no_location
    assert frame.geometry.isna().tolist() == (~located).tolist()
    assert shapely.to_wkb(frame.geometry[located].to_numpy()).tolist() == [
        bytes(b) for b in expected_records.wkb[located]
    ]
    assert (frame.geometry[located].x == expected_records.longitude[located]).all()
    assert (frame.geometry[located].y == expected_records.latitude[located]).all()


def test_geopandas_bbox_read_equals_warehouse(demo_export, warehouse):  # noqa: F811
    path = _path(demo_export, "searches")
    xmin, ymin, xmax, ymax = read_geo(path)["columns"]["geometry"]["bbox"]
    box = (xmin, ymin, xmin + (xmax - xmin) / 4, ymin + (ymax - ymin) / 4)
    part = gpd.read_parquet(path, bbox=box)
    expected = warehouse.execute(
        "SELECT search_id, longitude, latitude FROM searches WHERE longitude BETWEEN ? AND ?"
        " AND latitude BETWEEN ? AND ? ORDER BY search_id",
        [box[0], box[2], box[1], box[3]],
    ).df()
    assert 0 < len(part) < len(expected) * 100
    part = part.sort_values("search_id").reset_index(drop=True)
    assert part.search_id.tolist() == expected.search_id.tolist()
    assert (part.geometry.x == expected.longitude).all()
    assert (part.geometry.y == expected.latitude).all()
    full = gpd.read_parquet(path).sort_values("search_id")
    inside = full[full.search_id.isin(expected.search_id)].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        part.drop(columns="geometry"), inside.drop(columns="geometry"), check_dtype=False
    )


@pytest.mark.parametrize("stem", GEO_FILES)
def test_duckdb_pyarrow_and_geopandas_reads_agree(demo_export, warehouse, stem):  # noqa: F811
    path = _path(demo_export, stem)
    table = pq.read_table(path)
    duck = warehouse.execute(
        "SELECT * EXCLUDE (geometry, file_row_number), ST_AsWKB(geometry) AS geometry"
        " FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
        [str(path)],
    ).to_arrow_table()
    duck = duck.select(table.column_names).cast(table.schema.remove_metadata())
    assert duck.equals(table.replace_schema_metadata(None))
    frame = gpd.read_parquet(path)  # geopandas drops the bbox covering column on read
    assert frame.columns.tolist() == [c for c in table.column_names if c != "bbox"]
    plain = table.drop_columns(["geometry", "bbox"]).to_pandas()
    pd.testing.assert_frame_equal(
        pd.DataFrame(frame.drop(columns="geometry")), plain, check_dtype=False
    )
    wkb = table.column("geometry").to_pylist()
    assert [None if g is None else shapely.to_wkb(g) for g in frame.geometry] == wkb


@pytest.mark.parametrize("stem", AREA_STEMS)
def test_area_polygons_equal_warehouse(demo_export, warehouse, stem):  # noqa: F811
    frame = gpd.read_parquet(_path(demo_export, stem))
    expected = dict(
        warehouse.execute("SELECT layer_id || '|' || code, ST_AsWKB(geom) FROM areas").fetchall()
    )
    assert frame.code.is_unique
    for layer_id, code, geom in zip(frame.layer_id, frame.code, frame.geometry, strict=True):
        assert shapely.to_wkb(geom) == bytes(expected[f"{layer_id}|{code}"])
    # Areas are those of the kind with the newest vintage of every code in force.
    kind = {stem_: kind_ for kind_, stem_ in AREA_LAYERS.items()}[stem]
    newest = warehouse.execute(
        "SELECT code, arg_max(layer_id, valid_from) FROM areas WHERE kind = ? GROUP BY code",
        [kind],
    ).fetchall()
    by_code = dict(zip(frame.code, frame.layer_id, strict=True))
    for code, layer_id in newest:
        if code in by_code:
            assert by_code[code] == layer_id


def test_ward_layer_bbox_read(demo_export):  # noqa: F811
    path = _path(demo_export, "wards")
    full = gpd.read_parquet(path)
    xmin, ymin, xmax, ymax = full.total_bounds
    box = (xmin, ymin, (xmin + xmax) / 2, (ymin + ymax) / 2)
    part = gpd.read_parquet(path, bbox=box)
    b = full.geometry.bounds
    hit = (b.minx <= box[2]) & (b.maxx >= box[0]) & (b.miny <= box[3]) & (b.maxy >= box[1])
    assert 0 < len(part) < len(full)
    assert sorted(part.code) == sorted(full.code[hit])


def test_area_metrics_equal_published(demo_export, warehouse):  # noqa: F811
    wards = pq.read_table(_path(demo_export, "wards")).to_pylist()
    rows = warehouse.execute(
        "SELECT area_code, basis, grp, breakdown, category, measure, value, ci_low, ci_high,"
        " reason, period_start, period_end FROM published_metrics"
        " WHERE area_kind = 'ward' AND period = 'latest-12'"
    ).fetchall()
    published = {r[:6]: r[6:] for r in rows}
    assert {r[0] for r in rows} <= {w["code"] for w in wards}
    checked = 0
    for ward in wards:
        assert ward["period"] == "latest-12"
        assert ward["period_start"] == dt.date(2024, 1, 1)
        for m in WIDE_METRICS:
            key = (ward["code"], m.basis, m.grp, m.breakdown, m.category, m.measure)
            if key not in published:
                assert ward[m.name] is None and ward[f"{m.name}_reason"] == "no_data"
                continue
            value, low, high, reason, *_ = published[key]
            assert ward[m.name] == (value if value is None or not m.integer else round(value))
            assert ward[f"{m.name}_reason"] == (
                reason or (None if value is not None else "no_data")
            )
            if m.with_ci:
                assert (ward[f"{m.name}_ci_low"], ward[f"{m.name}_ci_high"]) == (low, high)
            checked += 1
    assert checked > 1000
