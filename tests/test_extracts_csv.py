"""CSV twins (and GeoJSON layers) hold exactly what the Parquet files hold."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import shapely

from stopsearch.outputs.extracts.columns import (
    AREA_COLUMNS,
    METRIC_COLUMNS,
    SEARCH_COLUMNS,
    csv_columns,
)
from tests.extracts_fixtures import (  # noqa: F401
    AREA_STEMS,
    demo_export,
    month_files,
    warehouse,
)

TWINS = {
    "searches": csv_columns(SEARCH_COLUMNS, wkt=False),
    "metrics": csv_columns(METRIC_COLUMNS, wkt=False),
    **{stem: csv_columns(AREA_COLUMNS, wkt=True) for stem in AREA_STEMS},
}


def read_csv(path, columns) -> pa.Table:
    """Read a CSV twin with its declared types: empty = null, quoted "" = empty string.

    Text cells written formula-safe (a ' before = + - @ tab CR) get their published text back.
    """
    types = {c.name: c.arrow for c in columns}
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            timestamp_parsers=["%Y-%m-%dT%H:%M:%S"],
        ),
    )
    for index, field in enumerate(table.schema):
        if pa.types.is_string(field.type):
            published = pc.replace_substring_regex(
                table.column(index), pattern="^'([=+\\-@\t\r])", replacement="\\1"
            )
            table = table.set_column(index, field, published)
    return table


def _twin_paths(folder, stem):
    """(CSV, Parquet) pairs of a stem; the records: one pair per month."""
    if stem == "searches":
        pairs = list(zip(month_files(folder, "csv"), month_files(folder), strict=True))
        assert len(pairs) == 24
        assert all(c.parent.name == p.parent.name for c, p in pairs)
        return pairs
    if stem == "metrics":  # one pair per period
        csvs, parquets = sorted((folder / "metrics-csv").iterdir()), sorted(
            (folder / "metrics").iterdir()
        )
        assert [c.stem for c in csvs] == [p.stem for p in parquets] and "latest-12" in {
            c.stem for c in csvs
        }
        return list(zip(csvs, parquets, strict=True))
    return [(folder / f"{stem}.csv", folder / f"{stem}.parquet")]


@pytest.mark.parametrize("stem", list(TWINS))
def test_csv_twin_equals_parquet(demo_export, stem):  # noqa: F811
    for csv_path, parquet_path in _twin_paths(demo_export.folder, stem):
        _twin_equals_parquet(csv_path, parquet_path, stem)


def _twin_equals_parquet(csv_path, parquet_path, stem):
    columns = TWINS[stem]
    csv = read_csv(csv_path, columns)
    parquet = pq.read_table(parquet_path)
    assert csv.column_names == [c.name for c in columns]
    assert csv.num_rows == parquet.num_rows
    plain = [c.name for c in columns if c.name != "geometry" or stem in ("searches", "metrics")]
    assert csv.select(plain).equals(parquet.select(plain).cast(csv.select(plain).schema))
    if stem in AREA_STEMS:  # WKT in the CSV, WKB in Parquet: the same coordinates exactly
        wkt = shapely.from_wkt(csv.column("geometry").to_pylist())
        wkb = shapely.from_wkb(parquet.column("geometry").to_pylist())
        assert all(shapely.equals_exact(wkt, wkb, tolerance=0))
        assert shapely.to_wkb(wkt).tolist() == parquet.column("geometry").to_pylist()


def test_record_counts_equal_warehouse(demo_export, warehouse):  # noqa: F811
    records = warehouse.execute("SELECT count(*) FROM searches").fetchone()[0]
    metrics = warehouse.execute("SELECT count(*) FROM published_metrics").fetchone()[0]
    folder = demo_export.folder
    per_month = dict(
        warehouse.execute(
            "SELECT strftime(month, 'month=%Y-%m'), count(*) FROM searches GROUP BY ALL"
        ).fetchall()
    )
    parquets, csvs = month_files(folder), month_files(folder, "csv")
    assert [p.parent.name for p in parquets] == sorted(per_month)
    assert [p.parent.name for p in csvs] == sorted(per_month)
    for path in parquets:
        rows = per_month[path.parent.name]
        assert pq.ParquetFile(path).metadata.num_rows == rows
        assert demo_export.report.file(path.relative_to(folder).as_posix()).rows == rows
    for path in csvs:
        rows = per_month[path.parent.name]
        with path.open(encoding="utf-8") as handle:
            assert sum(1 for _ in handle) == rows + 1  # no newline inside any published field
        assert demo_export.report.file(path.relative_to(folder).as_posix()).rows == rows
    assert sum(per_month.values()) == records
    # Metrics: one Parquet and one CSV file per period, each with that period's rows.
    periods = {p.month: p.rows for p in demo_export.report.periods}
    assert sum(periods.values()) == metrics and "latest-12" in periods
    for period, rows in periods.items():
        assert pq.ParquetFile(folder / "metrics" / f"{period}.parquet").metadata.num_rows == rows
        assert demo_export.report.file(f"metrics-csv/{period}.csv").rows == rows
        with (folder / "metrics-csv" / f"{period}.csv").open(encoding="utf-8") as handle:
            assert sum(1 for _ in handle) == rows + 1
    assert sorted(p.stem for p in (folder / "metrics").iterdir()) == sorted(periods)


@pytest.mark.parametrize("stem", AREA_STEMS)
def test_geojson_equals_parquet(demo_export, stem):  # noqa: F811
    collection = json.loads((demo_export.folder / f"{stem}.geojson").read_text(encoding="utf-8"))
    table = pq.read_table(demo_export.folder / f"{stem}.parquet")
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    features = collection["features"]
    assert len(features) == table.num_rows
    rows = table.drop_columns(["geometry", "bbox"]).to_pylist()
    wkb = shapely.from_wkb(table.column("geometry").to_pylist())
    for feature, row, geom in zip(features, rows, wkb, strict=True):
        expected = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
        assert feature["properties"] == expected
        shape = shapely.geometry.shape(feature["geometry"])
        assert shapely.equals_exact(shapely.normalize(shape), shapely.normalize(geom), 0)
        for polygon in getattr(shape, "geoms", [shape]):  # RFC 7946: exterior counter-clockwise
            assert polygon.exterior.is_ccw
