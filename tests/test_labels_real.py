"""Labels and denominators on the real West Midlands build (skipped when the data is absent).

Checked as a Home Office statistician would: the ten months are labelled as ten, the Home
Office comparable All rate equals an independent count (all person searches over all residents,
annualised by the months present), and the apportioned ward populations equal a geopandas
overlay recomputed here. Nothing derived from the data is written into the repository.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from stopsearch.warehouse import connect
from tests.independent import independent_group
from tests.site_support import shared_real_site

pytestmark = pytest.mark.realdata
TEN_MONTHS = "Latest 10 months (Sep 2016 to Jun 2017)"
NOISE = 1e-6  # the documented boundary-noise share of the apportionment


@pytest.fixture(scope="module")
def real(real_warehouse_path, tmp_path_factory):
    """The shared real warehouse (read-only) and the shared real site built from it."""
    from tests.shared import REAL_STOPS, SHARED_DATA

    site, _ = shared_real_site(real_warehouse_path, tmp_path_factory)
    with connect(real_warehouse_path, read_only=True) as con:
        yield con, SHARED_DATA, REAL_STOPS, site


def _force(con, measure: str, period: str = "latest-12", basis: str = "self_defined"):
    return con.execute(
        "SELECT value, period_label, months_present, months_with_data FROM published_metrics"
        " WHERE area_kind = 'force' AND measure = ? AND basis = ? AND grp = 'All'"
        " AND breakdown = 'total' AND period = ?",
        [measure, basis, period],
    ).fetchone()


def test_ten_months_are_labelled_as_ten_everywhere(real):
    con, _, _, site = real
    labels = dict(
        con.execute(
            "SELECT DISTINCT period, period_label FROM published_metrics WHERE area_kind = 'force'"
            " AND period_kind NOT IN ('month', 'window')"  # windows: each month, under 13
        ).fetchall()
    )
    assert labels == {
        "latest-12": TEN_MONTHS,
        "2016": "2016 (Sep to Dec, 4 months)",
        "2017": "2017 (Jan to Jun, 6 months)",
        "2016-Q3": "Q3 2016 (Sep, 1 month)",  # the one month of the quarter with data
        "2016-Q4": "Q4 2016",
        "2017-Q1": "Q1 2017",
        "2017-Q2": "Q2 2017",
    }
    _, _, months, text = _force(con, "searches", basis="none")
    assert (months, text) == (10, "2016-09/2017-06")
    overview = (site / "index.html").read_text(encoding="utf-8")
    assert f"Headline figures: {TEN_MONTHS}" in overview
    assert "Latest 12 months" not in overview
    assert "year ending 31 March 2024" in overview  # England and Wales, its own period
    ward = next((site / "areas" / "ward").glob("*.html")).read_text(encoding="utf-8")
    assert TEN_MONTHS in ward and "Latest 12 months" not in ward
    readme = (site / "downloads" / "README.txt").read_text(encoding="utf-8")
    assert TEN_MONTHS in readme and "10 months with data" in readme
    package = json.loads((site / "downloads" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["period"]["latest_12_label"] == TEN_MONTHS
    with (site / "downloads" / "metrics-csv" / "latest-12.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    latest = {r["period_label"] for r in rows if r["period"] == "latest-12"}
    assert TEN_MONTHS in latest and not any("12 months" in label for label in latest)


def test_home_office_comparable_rate_equals_an_independent_count(real):
    con, shared, stops, _ = real
    raw = pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(stops.glob("*.csv"))],
        ignore_index=True,
    )
    persons = int(raw["Type"].isin(["Person search", "Person and Vehicle search"]).sum())
    la = pd.read_csv(shared / "population" / "la-ethnic-groups.csv")
    wm = la[la["geography code"].isin([f"E080000{n}" for n in range(25, 32)])]
    residents = int(wm["Ethnic Group: All categories: Ethnic group; measures: Value"].sum())
    months = raw["Date"].str[:7].nunique()
    assert (months, residents) == (10, 2_736_460)
    expected = 1000 * persons / (residents * months / 12)
    value, label, present, _ = _force(con, "search_rate_all_persons")
    assert value == pytest.approx(expected, rel=1e-12)
    assert (label, present) == (TEN_MONTHS, 10)
    person = raw["Type"].isin(["Person search", "Person and Vehicle search"])
    group = raw["Self-defined ethnicity"].map(independent_group)
    stated_persons = int((person & group.isin(["Asian", "Black", "Mixed", "White", "Other"])).sum())
    all_rate = _force(con, "search_rate")[0]
    assert all_rate == pytest.approx(1000 * stated_persons / (residents * months / 12), rel=1e-12)
    assert all_rate < value
    reference = dict(
        con.execute(
            "SELECT grp, rate_per_1000 FROM reference_figures WHERE broad_group IS NOT NULL"
        ).fetchall()
    )
    assert reference["All"] == 8.9 and reference["Unknown"] is None
    print(
        f"\nforce All rate (stated ethnicity only) {all_rate:.4f} per 1,000; Home Office"
        f" comparable {value:.4f} ({persons} person searches, {residents} residents, {months}"
        f" months); England and Wales (year ending March 2024) {reference['All']}"
    )


def _overlay_ward_populations(shared: Path) -> pd.Series:
    """Ward residents recomputed with geopandas: LSOA persons x share of LSOA area in the ward."""
    lsoa = gpd.read_file(shared / "boundaries" / "west-midlands-lsoa-2011.geojson")
    wards = gpd.read_file(shared / "boundaries" / "west-midlands-wards-2013.geojson")
    for frame in (lsoa, wards):
        frame["geometry"] = shapely.make_valid(frame.geometry.values)
    lsoa = lsoa.to_crs("EPSG:27700")
    wards = wards.to_crs("EPSG:27700")
    lsoa["lsoa_area"] = lsoa.area
    pieces = gpd.overlay(
        lsoa[["LSOA11CD", "lsoa_area", "geometry"]],
        wards[["WD13CD", "geometry"]],
        how="intersection",
        keep_geom_type=True,
    )
    pieces["share"] = pieces.area / pieces["lsoa_area"]
    pieces = pieces[pieces["share"] >= NOISE]
    persons = pd.read_csv(
        shared / "population" / "census2011-ethnic-group-lsoa-west-midlands.csv"
    ).set_index("LSOA")["Persons"]
    pieces["persons"] = pieces["LSOA11CD"].map(persons) * pieces["share"].clip(upper=1.0)
    return pieces.groupby("WD13CD")["persons"].sum()


def _lookup_ward_populations(shared: Path) -> pd.Series:
    lookup = pd.read_csv(
        shared
        / "boundaries"
        / "Lower_Layer_Super_Output_Area_2011_to_Ward_2016_Lookup_in_England_and_Wales"
        "-west-midlands.csv"
    )
    persons = pd.read_csv(
        shared / "population" / "census2011-ethnic-group-lsoa-west-midlands.csv"
    ).set_index("LSOA")["Persons"]
    lookup["persons"] = lookup["LSOA11CD"].map(persons)
    return lookup.groupby("WD16CD")["persons"].sum()


def test_apportioned_ward_populations_equal_a_geopandas_overlay(real):
    con, shared, _, site = real
    got = (
        con.execute(
            "SELECT area_code, sum(persons) AS persons FROM population"
            " WHERE layer_id = 'wm-wards-2013' GROUP BY 1"
        )
        .df()
        .set_index("area_code")["persons"]
    )
    expected = _overlay_ward_populations(shared)
    assert set(got.index) == set(expected.index) and len(got) == 163
    relative = (got / expected.reindex(got.index) - 1).abs()
    assert relative.max() < 2e-4, relative.sort_values().tail()
    print(f"\nward populations vs a geopandas overlay: largest difference {relative.max():.2e}")
    assert got.sum() == pytest.approx(expected.sum(), rel=1e-5)
    assert 2_736_460 - got.sum() == pytest.approx(756, abs=5)  # outside every ward: reported
    method = con.execute(
        "SELECT method, persons_unplaced FROM population_methods WHERE layer_id = 'wm-wards-2013'"
    ).fetchone()
    assert method[0] == "area_weighted" and method[1] == pytest.approx(2_736_460 - got.sum())
    names = dict(
        con.execute(
            "SELECT DISTINCT area_code, area_name FROM published_metrics"
            " WHERE area_kind = 'local_authority'"
        ).fetchall()
    )
    assert names["E08000025"] == "Birmingham" and len(set(names.values())) == 7
    with (site / "downloads" / "wards.csv").open(encoding="utf-8") as handle:
        wards = list(csv.DictReader(handle))
    assert len(wards) == 163
    assert {(w["parent_code"], w["parent_name"]) for w in wards} == set(names.items())


def test_report_largest_ward_population_changes(real, capsys):
    """Prints the ten largest changes from the best-fit lookup (for the closing note)."""
    con, shared, _, _ = real
    got = (
        con.execute(
            "SELECT p.area_code, any_value(a.name) AS name, sum(p.persons) AS persons"
            " FROM population AS p JOIN areas AS a"
            " ON a.layer_id = p.layer_id AND a.code = p.area_code"
            " WHERE p.layer_id = 'wm-wards-2013' GROUP BY 1"
        )
        .df()
        .set_index("area_code")
    )
    before = _lookup_ward_populations(shared)
    table = got.assign(lookup=before.reindex(got.index))
    table["change"] = table["persons"] - table["lookup"]
    table["percent"] = 100 * table["change"] / table["lookup"]
    top = table.reindex(table["percent"].abs().sort_values(ascending=False).index).head(10)
    over = int((table["percent"].abs() > 10).sum())
    buffer = io.StringIO()
    top.round({"persons": 0, "change": 0, "percent": 1}).to_string(buffer)
    with capsys.disabled():
        print(f"\nwards moved by more than 10%: {over} of {len(table)}")
        print(buffer.getvalue())
    assert before.sum() == 2_736_460 and over > 0
