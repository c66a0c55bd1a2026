"""Real data (../shared/data): West Midlands searches in 2013 wards, ward populations from LSOAs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from stopsearch.geography import (
    assign_areas,
    join,
    load_boundaries,
    load_manifest,
    load_population,
    totals_by_parent,
)
from stopsearch.warehouse import connect
from tests.geo_factories import write_search_rows
from tests.golden import golden
from tests.shared import require_shared_data

pytestmark = pytest.mark.realdata



def _searches(shared: Path) -> pd.DataFrame:
    """Every row of the 10 monthly files, with its reporting month; ids 1..n."""
    parts = []
    for path in sorted((shared / "police/stop-and-search/west-midlands").glob("*.csv")):
        frame = pd.read_csv(path, usecols=["Date", "Latitude", "Longitude"])
        frame["month"] = pd.Timestamp(path.name[:7] + "-01")
        parts.append(frame)
    frame = pd.concat(parts, ignore_index=True)
    frame["datetime"] = pd.to_datetime(frame["Date"].str.replace("+00:00", "", regex=False))
    return frame


@pytest.fixture(scope="module")
def warehouse(real_manifest):
    """The real layers, populations and 10 months of searches, assigned once for the module."""
    shared = require_shared_data()
    manifest = load_manifest(real_manifest)
    con = connect(":memory:")
    load_boundaries(con, manifest)
    load_population(con, manifest)
    searches = _searches(shared)
    searches["search_id"] = write_search_rows(
        con,
        pd.DataFrame(
            {
                "force": "west-midlands",
                "month": searches["month"],
                "line": searches.groupby("month").cumcount() + 2,
                "published": searches["Date"],
                "datetime": searches["datetime"],
                "lat": searches["Latitude"],
                "lon": searches["Longitude"],
            }
        ),
    )
    report = assign_areas(con)
    yield con, searches, report, shared
    con.close()


def test_every_located_record_is_in_exactly_one_ward_or_outside(warehouse):
    con, searches, report, _ = warehouse
    placement = golden("placement")
    assert (report.located, report.in_ward, report.outside_area, report.no_location) == (
        placement["located"],
        placement["in_ward"],
        placement["outside_area"],
        placement["no_location"],
    )
    rows, distinct, both = con.execute(
        "SELECT count(*), count(DISTINCT search_id),"
        " count(*) FILTER (WHERE outside_area = (ward_code IS NOT NULL)) FROM search_areas"
    ).fetchone()
    assert rows == distinct == len(searches) and both == 0
    assert report.tie_broken == placement["on_two_wards"]
    by_la = dict(
        con.execute(
            "SELECT la_code, count(*) FROM search_areas WHERE NOT outside_area GROUP BY 1"
        ).fetchall()
    )
    assert by_la == golden("located_by_authority")
    summary = con.execute(
        "SELECT sum(records), sum(no_location), sum(in_ward), sum(outside_area), sum(unassigned)"
        " FROM location_summary"
    ).fetchone()
    assert summary == (
        placement["located"] + placement["no_location"],
        placement["no_location"],
        placement["in_ward"],
        placement["outside_area"],
        0,
    )


def test_both_key_forms_give_the_same_rows(warehouse, monkeypatch):
    con = warehouse[0]
    query = "SELECT * FROM search_areas ORDER BY search_id"
    shared = con.execute(query).fetchall()
    monkeypatch.setattr(join, "SHARED_BELOW", 0.0)  # each search its own key
    assign_areas(con)
    assert con.execute(query).fetchall() == shared


def test_independent_geopandas_assignment_agrees_on_every_record(warehouse):
    con, searches, _, shared = warehouse
    wards = gpd.read_file(shared / "boundaries/west-midlands-wards-2013.geojson")[
        ["WD13CD", "geometry"]
    ]
    points = gpd.GeoDataFrame(
        searches[["search_id"]],
        geometry=gpd.points_from_xy(searches["Longitude"], searches["Latitude"]),
        crs="EPSG:4326",
    )
    joined = gpd.sjoin(points, wards, how="left", predicate="covered_by")
    expected = joined.groupby("search_id")["WD13CD"].min()  # smallest code on a tie
    got = pd.Series(
        dict(con.execute("SELECT search_id, ward_code FROM search_areas").fetchall())
    ).reindex(expected.index)
    mismatched = (got.fillna("-") != expected.fillna("-")).sum()
    assert mismatched == 0
    assert got.value_counts().to_dict() == expected.value_counts().to_dict()
    assert expected.isna().sum() == golden("placement")["outside_area"]


def test_boundary_distances_match_british_national_grid(warehouse):
    con, searches, _, shared = warehouse
    wards = gpd.read_file(shared / "boundaries/west-midlands-wards-2013.geojson").to_crs(
        "EPSG:27700"
    )
    edges = dict(zip(wards["WD13CD"], wards.geometry.boundary, strict=True))
    got = con.execute(
        "SELECT search_id, ward_code, boundary_distance_m, near_boundary FROM search_areas"
        " WHERE NOT outside_area ORDER BY search_id"
    ).df()
    located = searches.set_index("search_id").loc[got["search_id"]]
    points = gpd.GeoSeries(
        gpd.points_from_xy(located["Longitude"], located["Latitude"]), crs="EPSG:4326"
    ).to_crs("EPSG:27700")
    expected = np.array(
        [edges[c].distance(p) for c, p in zip(got["ward_code"], points, strict=True)]
    )
    error = np.abs(got["boundary_distance_m"].to_numpy() - expected)
    assert (error <= np.maximum(0.5, 0.002 * expected)).all(), error.max()
    near_expected = expected < 50
    assert (got["near_boundary"].to_numpy() == near_expected).mean() > 0.999
    share = con.execute(
        "SELECT sum(near_boundary) / sum(records) FROM ward_boundary_uncertainty"
    ).fetchone()[0]
    assert 0.05 < share < 0.5


def test_ward_populations_sum_to_local_authority_totals(warehouse):
    con, _, _, shared = warehouse
    la = pd.read_csv(shared / "population/la-ethnic-groups.csv")
    la = la[la["geography code"].isin(golden("located_by_authority"))]
    assert len(la) == golden("authorities")
    total = la["Ethnic Group: All categories: Ethnic group; measures: Value"].sum()
    assert total == golden("residents")
    expected = {
        (row["geography code"], broad): row[f"Ethnic Group: {broad}; measures: Value"]
        for _, row in la.iterrows()
        for broad in ("White", "Mixed", "Asian", "Black", "Other")
    }
    wards = totals_by_parent(con, "census2011-lsoa", "wm-wards-2013")
    got = {(r.parent_code, r.broad_group): r.persons for r in wards.itertuples()}
    # Area-weighted from LSOAs that straddle council edges (generalised boundaries): each
    # council's residents by group stay within 0.5% of the census, and 756 residents in all
    # (0.03%) fall outside every ward and are reported as not placed.
    assert set(got) == set(expected)
    assert all(abs(got[k] / expected[k] - 1) < 0.005 for k in expected), got
    assert sum(expected.values()) - sum(got.values()) == pytest.approx(756, abs=5)
    direct = dict(
        con.execute(
            "SELECT area_code || '|' || broad_group, sum(persons) FROM population"
            " WHERE population_id = 'census2011-la' GROUP BY 1"
        ).fetchall()
    )
    assert all(direct[f"{code}|{broad}"] == n for (code, broad), n in expected.items())
    method = con.execute(
        "SELECT population_method FROM boundary_layers WHERE layer_id = 'wm-wards-2013'"
    ).fetchone()
    assert method == ("area_weighted",)
    extremes = con.execute(  # the best-fit lookup is still loaded, for comparison
        "SELECT min(total), max(total) FROM (SELECT k.to_code, sum(p.persons) AS total"
        " FROM population AS p JOIN area_lookups AS k ON k.from_code = p.area_code"
        " WHERE p.layer_id = 'wm-lsoa-2011' GROUP BY 1)"
    ).fetchone()
    wards_range = golden("ward_population_range")
    assert extremes == (wards_range["min"], wards_range["max"])
