"""GeoParquet 1.1 done properly: metadata, covering, Hilbert order, row groups, round trips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
    month_files,
    warehouse,
)
from tests.extracts_fixtures import (
    geo_metadata as read_geo,
)

GEO_FILES = ("searches", *AREA_STEMS)
BOX = "{'min_x': ?, 'min_y': ?, 'max_x': ?, 'max_y': ?}::BOX_2D"


def _path(demo_export, stem):  # noqa: F811
    return demo_export.folder / f"{stem}.parquet"


def _paths(demo_export, stem):  # noqa: F811
    """The Parquet files of a stem: the records have one per month (24 in the demo), the
    metrics one per period (each holding only its period's rows)."""
    if stem == "metrics":
        paths = sorted((demo_export.folder / "metrics").glob("*.parquet"))
        assert len(paths) > 24  # every month, and the years and latest 12 months
        for path in paths:
            periods = pq.read_table(path, columns=["period"]).column("period").unique()
            assert periods.to_pylist() == [path.stem], path
        return paths
    if stem != "searches":
        return [_path(demo_export, stem)]
    paths = month_files(demo_export.folder)
    assert len(paths) == 24
    return paths


@pytest.mark.parametrize("stem", GEO_FILES)
def test_geo_metadata(demo_export, stem):  # noqa: F811
    for path in _paths(demo_export, stem):  # each month's file is GeoParquet on its own
        _geo_metadata_valid(path, stem)


def _geo_metadata_valid(path, stem):
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
    tables = [pq.read_table(p, columns=["geometry", "bbox"]) for p in _paths(demo_export, stem)]
    table = pa.concat_tables(tables)
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    boxes = table.column("bbox").to_pylist()
    for geom, box in zip(geoms, boxes, strict=True):
        if geom is None:
            assert box is None
        else:
            assert tuple(box.values()) == tuple(shapely.bounds(geom))


@pytest.mark.parametrize("stem", GEO_FILES)
def test_rows_in_hilbert_order(demo_export, warehouse, stem):  # noqa: F811
    for path in _paths(demo_export, stem):  # a month's file: within that month's own extent
        _hilbert_ordered(warehouse, path, stem)


def _hilbert_ordered(warehouse, path, stem):  # noqa: F811
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
    for path in _paths(demo_export, stem):
        _zstd_and_declared(path, stem)


def _zstd_and_declared(path, stem):
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


def _raw_records(demo_dir: Path) -> pd.DataFrame:
    """Every row of the demo's monthly CSV files, read as published (pandas, all text): the
    source of each record's provenance, text fields and coordinates."""
    parts = []
    for path in sorted((demo_dir / "records").rglob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["source_file"] = path.name  # YYYY-MM-<force>-stop-and-search.csv
        frame["source_line"] = np.arange(2, len(frame) + 2)  # line 1 is the header
        frame["month"] = pd.Timestamp(path.name[:7] + "-01")
        frame["force"] = path.name[8:].removesuffix("-stop-and-search.csv")
        parts.append(frame)
    raw = pd.concat(parts, ignore_index=True)

    def text(column: str) -> pd.Series:
        return raw[column].replace("", None)

    def flag(column: str) -> pd.Series:
        return raw[column].map({"True": True, "False": False, "": None})

    def number(column: str) -> pd.Series:
        return pd.to_numeric(raw[column].replace("", None))

    return pd.DataFrame(
        {
            "force": raw["force"],
            "month": raw["month"],
            "source_file": raw["source_file"],
            "source_line": raw["source_line"],
            "datetime_published": raw["Date"],
            "datetime": pd.to_datetime(raw["Date"], utc=True).dt.tz_localize(None),
            "type": raw["Type"],
            "part_of_operation": flag("Part of a policing operation"),
            "operation_name": text("Policing operation"),
            "latitude": number("Latitude"),
            "longitude": number("Longitude"),
            "gender": text("Gender"),
            "age_range": text("Age range"),
            "self_defined_ethnicity_raw": text("Self-defined ethnicity"),
            "officer_defined_ethnicity": text("Officer-defined ethnicity"),
            "legislation": text("Legislation"),
            "object_of_search": text("Object of search"),
            "outcome_raw": text("Outcome"),
            "outcome_linked": flag("Outcome linked to object of search"),
            "removal_more_than_outer": flag("Removal of more than just outer clothing"),
            "no_location": (raw["Latitude"] == "") | (raw["Longitude"] == ""),
        }
    )


# What the warehouse derived per record (ingest's readings of the labels): carried unchanged.
DERIVED = (
    "search_id",
    "is_person_search",
    "location_issue",
    "street_id",
    "street_name",
    "self_defined_ethnicity",
    "self_defined_group",
    "officer_defined_group",
    "object_group",
    "outcome_class",
    "is_positive",
    "involved_person",
)
AREAS = (
    "outside_area",
    "near_boundary",
    "ward_code",
    "ward_layer_id",
    "neighbourhood_code",
    "small_area_code",
    "la_code",
)


def _table(warehouse, name: str) -> pd.DataFrame:  # noqa: F811
    """A warehouse table as stored (no join, no expression), enums as plain text."""
    frame = warehouse.execute(f"SELECT * FROM {name}").df()
    return frame.astype({c: object for c in frame.columns if frame[c].dtype == "category"})


def _expected_records(demo_dir: Path, warehouse) -> pd.DataFrame:  # noqa: F811
    """The records the export should hold, built with pandas and shapely, not the exporter's
    query: the raw CSV rows, matched by file and line to the warehouse's derived fields, its
    area assignments (one row per record) and its priority areas (codes joined with ';')."""
    raw = _raw_records(demo_dir)
    searches = _table(warehouse, "searches")
    searches["source_file"] = searches["source_file"].map(lambda p: Path(p).name)
    derived = searches[["source_file", "source_line", *DERIVED]]
    records = raw.merge(derived, on=["source_file", "source_line"], how="left", validate="1:1")
    assert records["search_id"].notna().all(), "a raw row is missing from the warehouse"
    areas = _table(warehouse, "search_areas")[["search_id", *AREAS]]
    priority = (
        _table(warehouse, "search_priority_areas")
        .groupby("search_id")
        .agg(
            priority_code=("priority_code", lambda codes: ";".join(sorted(codes))),
            priority_layer_id=("layer_id", lambda ids: ";".join(sorted(set(ids)))),
        )
        .reset_index()
    )
    records = records.merge(areas, on="search_id", how="left", validate="1:1")
    records = records.merge(priority, on="search_id", how="left", validate="1:1")
    councils = gpd.read_file(demo_dir / "boundaries" / "local-authorities.geojson")
    names = dict(zip(councils["LAD23CD"], councils["LAD23NM"], strict=True))
    records["la_name"] = records["la_code"].map(names)
    located = ~records["no_location"]
    records["wkb"] = None
    records.loc[located, "wkb"] = shapely.to_wkb(
        shapely.points(records.loc[located, "longitude"], records.loc[located, "latitude"])
    )
    return records.sort_values("search_id").reset_index(drop=True)


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
def expected_records(demo_dir, warehouse):  # noqa: F811
    return _expected_records(demo_dir, warehouse)


def test_geopandas_read_equals_warehouse(demo_export, expected_records):  # noqa: F811
    # The month folders read as one GeoDataFrame (month from the files, not the folder names).
    frame = gpd.read_parquet(demo_export.folder / "searches", partitioning=None)
    assert frame.crs == pyproj.CRS("OGC:CRS84")
    assert len(frame) == len(expected_records)
    assert set(frame.columns) - {"geometry"} == set(expected_records.columns) - {"wkb"}
    frame = frame.sort_values("search_id").reset_index(drop=True)
    _same(frame, expected_records)
    located = ~expected_records.no_location
    assert frame.geometry.isna().tolist() == (~located).tolist()
    assert shapely.to_wkb(frame.geometry[located].to_numpy()).tolist() == (
        expected_records.wkb[located].tolist()
    )
    assert (frame.geometry[located].x == expected_records.longitude[located]).all()
    assert (frame.geometry[located].y == expected_records.latitude[located]).all()


def test_geopandas_bbox_read_equals_warehouse(demo_export, warehouse):  # noqa: F811
    path = demo_export.folder / "searches"  # every month at once
    boxes = np.array([read_geo(p)["columns"]["geometry"]["bbox"] for p in month_files(path.parent)])
    xmin, ymin = boxes[:, :2].min(axis=0)
    xmax, ymax = boxes[:, 2:].max(axis=0)
    box = (xmin, ymin, xmin + (xmax - xmin) / 4, ymin + (ymax - ymin) / 4)
    part = gpd.read_parquet(path, bbox=box, partitioning=None)
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
    full = gpd.read_parquet(path, partitioning=None).sort_values("search_id")
    inside = full[full.search_id.isin(expected.search_id)].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        part.drop(columns="geometry"), inside.drop(columns="geometry"), check_dtype=False
    )


@pytest.mark.parametrize("stem", GEO_FILES)
def test_duckdb_pyarrow_and_geopandas_reads_agree(demo_export, warehouse, stem):  # noqa: F811
    for path in _paths(demo_export, stem):
        _reads_agree(warehouse, path)


def _reads_agree(warehouse, path):  # noqa: F811
    table = pq.read_table(path)
    # hive_partitioning = false: DuckDB would take month from a month file's folder name.
    duck = warehouse.execute(
        "SELECT * EXCLUDE (geometry, file_row_number), ST_AsWKB(geometry) AS geometry"
        " FROM read_parquet(?, file_row_number = true, hive_partitioning = false)"
        " ORDER BY file_row_number",
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


def test_month_files_read_as_one_dataset(demo_export, warehouse):  # noqa: F811
    """DuckDB (Hive partitions), pyarrow.dataset and geopandas read the month folders as one
    table holding every record once; each file's month column is its folder's month."""
    import pyarrow.dataset as ds

    folder = demo_export.folder
    expected = warehouse.execute(
        "SELECT search_id, strftime(month, '%Y-%m') FROM searches ORDER BY 1"
    ).fetchall()
    assert len(expected) > 10_000
    duck = warehouse.execute(
        "SELECT search_id, month FROM read_parquet(?, hive_partitioning = true) ORDER BY 1",
        [str(folder / "searches" / "*" / "*.parquet")],
    ).fetchall()
    assert duck == expected  # month here is the folder's text, YYYY-MM
    csv = warehouse.execute(
        "SELECT search_id, month FROM read_csv(?, hive_partitioning = true) ORDER BY 1",
        [str(folder / "searches-csv" / "*" / "*.csv")],
    ).fetchall()
    assert csv == expected
    table = ds.dataset(folder / "searches", format="parquet").to_table(["search_id", "month"])
    table = table.sort_by("search_id")
    months = [f"{m:%Y-%m}" for m in table.column("month").to_pylist()]
    assert list(zip(table.column("search_id").to_pylist(), months, strict=True)) == expected
    frame = gpd.read_parquet(folder / "searches", partitioning=None)
    frame = frame.sort_values("search_id")
    assert frame.crs == pyproj.CRS("OGC:CRS84")
    assert list(zip(frame.search_id, frame.month.map(lambda m: f"{m:%Y-%m}"), strict=True)) == (
        expected
    )
    for path in month_files(folder):
        values = pq.read_table(path, columns=["month"]).column("month").unique().to_pylist()
        assert [f"month={m:%Y-%m}" for m in values] == [path.parent.name]
