"""The fictional demo dataset: every record's areas agree with the generator's snap-point truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from stopsearch.geography import assign_areas, load_boundaries, load_manifest, load_population
from stopsearch.warehouse import connect
from tests.geo_factories import write_search_rows


@pytest.fixture(scope="module")
def assigned(demo_dir):
    """The session's demo, its boundaries and population loaded, its records assigned."""
    summary = SimpleNamespace(
        manifest=demo_dir / "boundaries" / "manifest.toml",
        record_files=sorted((demo_dir / "records").glob("*/*.csv")),
        snap_points=demo_dir / "snap_points.csv",
    )
    manifest = load_manifest(summary.manifest)
    con = connect(":memory:")
    load_boundaries(con, manifest)
    population = load_population(con, manifest)
    parts = []
    for path in summary.record_files:
        frame = pd.read_csv(
            path, usecols=["Date", "Latitude", "Longitude"], dtype=str, keep_default_na=False
        )
        frame["month"] = pd.Timestamp(path.name[:7] + "-01")
        parts.append(frame)
    records = pd.concat(parts, ignore_index=True)
    records["datetime"] = pd.to_datetime(records["Date"].str.replace("+00:00", "", regex=False))
    for column in ("Latitude", "Longitude"):  # (DuckDB names are case-insensitive)
        records[f"{column}_n"] = pd.to_numeric(records[column].replace("", None))
    records["search_id"] = write_search_rows(
        con,
        pd.DataFrame(
            {
                "force": "demoshire",
                "month": records["month"],
                "line": records.groupby("month").cumcount() + 2,
                "published": records["Date"],
                "datetime": records["datetime"],
                "lat": records["Latitude_n"],
                "lon": records["Longitude_n"],
            }
        ),
    )
    report = assign_areas(con)
    yield con, summary, records, report, population
    con.close()


def _expected(summary, records: pd.DataFrame, got: pd.DataFrame) -> pd.DataFrame:
    snap = pd.read_csv(summary.snap_points, dtype=str, keep_default_na=False)
    merged = records.merge(
        snap, left_on=["Latitude", "Longitude"], right_on=["latitude", "longitude"], how="inner"
    )
    return merged.merge(got, on="search_id", suffixes=("_truth", ""))


def test_every_located_record_is_in_a_ward_and_no_location_is_counted(assigned):
    con, _, records, report, _ = assigned
    located = (records["Latitude"] != "").sum()
    assert report.located == located and report.in_ward == located
    assert report.no_location == len(records) - located


def test_areas_agree_with_the_snap_point_truth(assigned):
    con, summary, records, _, _ = assigned
    got = con.execute(
        "SELECT search_id, on_date, ward_code, ward_layer_id, neighbourhood_code,"
        " small_area_code FROM search_areas"
    ).df()
    rows = _expected(summary, records, got)
    assert len(rows) == len(got)  # every located record sits on a published snap point
    assert (rows["small_area_code"] == rows["small_area_code_truth"]).all()
    assert (rows["neighbourhood_code"] == rows["neighbourhood_code_truth"]).all()
    vintage_2023 = pd.to_datetime(rows["on_date"]) <= pd.Timestamp("2023-12-31")
    truth = np.where(vintage_2023, rows["ward_code_2023"], rows["ward_code_2024"])
    interior = rows["on_edge"] == "false"
    assert (rows.loc[interior, "ward_code"] == truth[interior.to_numpy()]).all()


def test_on_edge_points_take_the_smallest_covering_ward(assigned):
    """The demo's truth gives an on-edge point the ward of its lowest-code small area; the
    rule here is the smallest covering ward code (both deterministic): check ours."""
    con, summary, records, _, _ = assigned
    got = con.execute("SELECT search_id, ward_code, ward_layer_id FROM search_areas").df()
    rows = _expected(summary, records, got)
    rows = rows[rows["on_edge"] == "true"]
    assert len(rows) > 0
    folder = Path(summary.manifest).parent
    for layer_id, group in rows.groupby("ward_layer_id"):
        label = layer_id.rsplit("-", 1)[1]
        wards = gpd.read_file(folder / f"wards-{label}.geojson")
        code = [c for c in wards.columns if c.startswith("WD") and c.endswith("CD")][0]
        points = gpd.points_from_xy(
            group["longitude"].astype(float), group["latitude"].astype(float)
        )
        for point, ward in zip(points, group["ward_code"], strict=True):
            covering = sorted(wards.loc[wards.geometry.covers(point), code])
            assert ward == covering[0]


def test_priority_areas_follow_designation_dates(assigned):
    """Interior points: the truth's priority areas in force that day. On-edge points: every
    priority area whose polygon covers the point (boundary included), in force that day."""
    con, summary, records, _, _ = assigned
    got = con.execute(
        "SELECT a.search_id, a.on_date, coalesce(string_agg(p.priority_code, ';'"
        " ORDER BY p.priority_code), '') AS codes FROM search_areas a"
        " LEFT JOIN search_priority_areas p USING (search_id) GROUP BY ALL"
    ).df()
    rows = _expected(summary, records, got)
    areas = con.execute(
        "SELECT code, valid_from, valid_to, ST_AsWKB(geom) FROM areas"
        " WHERE kind = 'priority_area' ORDER BY code"
    ).fetchall()
    dates = {code: (start, end) for code, start, end, _ in areas}
    shapes = {code: shapely.from_wkb(bytes(wkb)) for code, _, _, wkb in areas}

    def in_force(codes: list[str], day: date) -> str:
        return ";".join(
            c
            for c in sorted(codes)
            if dates[c][0] <= day and (dates[c][1] is None or day <= dates[c][1])
        )

    for row in rows.itertuples():
        day = pd.Timestamp(row.on_date).date()
        if row.on_edge == "true":
            point = shapely.Point(float(row.longitude), float(row.latitude))
            codes = [c for c, shape in shapes.items() if shape.covers(point)]
        else:
            codes = [c for c in row.priority_codes.split(";") if c]
        assert row.codes == in_force(codes, day), row


def test_population_reaches_every_layer(assigned):
    con, _, _, _, population = assigned
    methods = {m["layer_id"]: m["method"] for m in population.methods}
    # Area-weighted by default; the small areas nest in every layer, so the sums are exact.
    assert methods["demo-wards-2023"] == methods["demo-wards-2024"] == "area_weighted"
    assert methods["demo-neighbourhoods"] == methods["demo-local-authorities"] == "area_weighted"
    assert methods["demo-priority-areas"] == "nested"
    totals = dict(
        con.execute("SELECT layer_id, sum(persons) FROM population GROUP BY 1").fetchall()
    )
    small = totals["demo-small-areas"]
    for layer in ("demo-wards-2023", "demo-wards-2024", "demo-neighbourhoods"):
        assert totals[layer] == small  # exactly: every small area lies whole in one area
