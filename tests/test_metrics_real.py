"""Force and local-authority figures for the real months equal an independent computation.

The independent side reads the raw CSVs with pandas, places points in wards with geopandas and
sums the LSOA census table itself; it shares no code with the pipeline.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from stopsearch.warehouse import connect
from tests.golden import golden
from tests.independent import independent_group
from tests.shared import REAL_STOPS, SHARED_DATA

pytestmark = pytest.mark.realdata
GROUPS = ["Asian", "Black", "Mixed", "White", "Other"]
Z95 = norm.ppf(0.975)
# PROVENANCE.md section 1: the outcome labels of these months, read with REFERENCE.md's sets.
NO_FURTHER_ACTION = {"Nothing found - no further action"}
POSITIVE = {
    "Suspect arrested",
    "Offender given drugs possession warning",
    "Article found - Detailed outcome unavailable",
    "Offender given penalty notice",
    "Offender cautioned",
    "Local resolution",
    "Suspect summonsed to court",
}


@pytest.fixture(scope="module")
def real(real_warehouse_path):
    con = connect(real_warehouse_path, read_only=True)
    frames = [
        pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(REAL_STOPS.glob("*.csv"))
    ]
    raw = pd.concat(frames, ignore_index=True)
    raw["group"] = raw["Self-defined ethnicity"].map(independent_group)
    raw["person"] = raw["Type"].isin(["Person search", "Person and Vehicle search"])
    assert set(raw["Outcome"]) <= NO_FURTHER_ACTION | POSITIVE, "an outcome the test does not know"
    raw["positive"] = raw["Outcome"].isin(POSITIVE)
    wards = gpd.read_file(SHARED_DATA / "boundaries" / "west-midlands-wards-2013.geojson")
    points = gpd.GeoDataFrame(
        raw,
        geometry=gpd.points_from_xy(raw["Longitude"].astype(float), raw["Latitude"].astype(float)),
        crs="EPSG:4326",
    )
    placed = gpd.sjoin(
        points, wards[["LAD13CD", "LAD13NM", "geometry"]], how="left", predicate="intersects"
    )
    assert not placed.index.duplicated().any()
    lsoa = pd.read_csv(
        SHARED_DATA / "population" / "census2011-ethnic-group-lsoa-west-midlands.csv"
    )
    fourteen = [
        "WhiteBrit",
        "Irish",
        "OtherWhite",
        "Mixed",
        "Indian",
        "Pakistani",
        "Bangladeshi",
        "Chinese",
        "OtherAsian",
        "BlkAfrican",
        "BlkCaribbean",
        "OtherBlk",
        "Arab",
        "Other",
    ]
    pop = pd.DataFrame(
        {
            "LAD13NM": lsoa["LAD"],
            "White": lsoa[["WhiteBrit", "Irish", "OtherWhite"]].sum(axis=1)
            + lsoa["Persons"]
            - lsoa[fourteen].sum(axis=1),
            "Mixed": lsoa["Mixed"],
            "Asian": lsoa[["Indian", "Pakistani", "Bangladeshi", "Chinese", "OtherAsian"]].sum(
                axis=1
            ),
            "Black": lsoa[["BlkAfrican", "BlkCaribbean", "OtherBlk"]].sum(axis=1),
            "Other": lsoa[["Arab", "Other"]].sum(axis=1),
        }
    )
    yield con, placed, pop
    con.close()


def _published(con, kind: str, measure: str, table: str = "published_metrics") -> pd.DataFrame:
    """Latest-12 self-defined figures; `metrics` holds them all before suppression."""
    return con.execute(
        f"SELECT area_code, grp, value, ci_low, ci_high FROM {table} WHERE area_kind = ?"
        " AND measure = ? AND basis = 'self_defined' AND period = 'latest-12'",
        [kind, measure],
    ).df()


def test_force_counts_and_rates_equal_an_independent_computation(real):
    con, placed, pop = real
    months = golden("months")
    persons = placed[placed.person]
    counts = persons.groupby("group").size()
    assert counts.to_dict() == golden("person_searches_by_group")
    got = _published(con, "force", "searches").set_index("grp")["value"]
    for group in [*GROUPS, "Not stated", "Unknown"]:
        assert got[group] == counts.get(group, 0), group
    residents = pop[GROUPS].sum()
    rates = _published(con, "force", "search_rate", "metrics").set_index("grp")["value"]
    shown = _published(con, "force", "search_rate").set_index("grp")["value"]
    for group in GROUPS:
        expected = 1000 * counts[group] / (residents[group] * months / 12)
        assert rates[group] == pytest.approx(expected, rel=1e-9), group
        # Published unless suppressed (Other: 9 searches, under the threshold of 10).
        assert np.isnan(shown[group]) == (counts[group] < 10)
    assert residents.sum() == golden("residents")


def test_local_authority_counts_and_rates_equal_an_independent_computation(real):
    con, placed, pop = real
    persons = placed[placed.person & placed.LAD13CD.notna()]
    counts = persons.groupby(["LAD13CD", "group"]).size()
    names = placed.dropna(subset=["LAD13CD"]).groupby("LAD13CD")["LAD13NM"].first()
    residents = pop.groupby("LAD13NM")[GROUPS].sum()
    got = _published(con, "local_authority", "searches")
    rates = _published(con, "local_authority", "search_rate", "metrics")
    assert set(got.area_code) == set(names.index) and len(names) == golden("authorities")
    checked = 0
    for row in got.itertuples():
        if row.grp == "All" or pd.isna(row.value):
            continue
        assert row.value == counts.get((row.area_code, row.grp), 0), row
        checked += 1
    for row in rates.itertuples():
        if row.grp == "All" or pd.isna(row.value):
            continue
        n = counts.get((row.area_code, row.grp), 0)
        months = golden("months")
        expected = 1000 * n / (residents.loc[names[row.area_code], row.grp] * months / 12)
        assert row.value == pytest.approx(expected, rel=1e-9)
        checked += 1
    assert checked > 50


def test_force_ratios_equal_an_independent_computation(real):
    """Rate ratios vs White from raw counts and census sums, with the log-scale Wald interval
    exp(ln DR +- z sqrt(1/N_g + 1/N_W)) of REFERENCE.md; and the golden published figures."""
    con, placed, pop = real
    counts = placed[placed.person].groupby("group").size()
    residents = pop[GROUPS].sum()
    ratios = _published(con, "force", "disproportionality_ratio").set_index("grp")
    assert set(ratios.index) == {"Asian", "Black", "Mixed", "Other"}
    white = counts["White"] / residents["White"]
    for group, (value, low, high) in golden("force_disproportionality_ratio").items():
        expected = (counts[group] / residents[group]) / white
        spread = np.exp(Z95 * np.sqrt(1 / counts[group] + 1 / counts["White"]))
        got = ratios.loc[group]
        assert got.value == pytest.approx(expected, rel=1e-9), group
        assert got.ci_low == pytest.approx(expected / spread, rel=1e-9), group
        assert got.ci_high == pytest.approx(expected * spread, rel=1e-9), group
        assert (got.value, got.ci_low, got.ci_high) == pytest.approx((value, low, high), abs=1e-6)


def _wilson(k: int, n: int) -> tuple[float, float, float]:
    p, z2 = k / n, Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return p, centre - half, centre + half


def test_force_positive_outcome_rates_equal_an_independent_computation(real):
    """Positive outcomes (anything but no further action) over person searches with a known
    outcome (all of them in these months), Wilson interval; a group of 9 searches withheld."""
    con, placed, _ = real
    persons = placed[placed.person]
    groups = {group: rows for group, rows in persons.groupby("group")}
    groups["All"] = persons
    rates = _published(con, "force", "positive_outcome_rate").set_index("grp")
    assert set(rates.index) == set(groups)
    expected_golden = golden("force_positive_outcome_rate")
    for group, rows in groups.items():
        got = rates.loc[group]
        if len(rows) < 10:  # Other: 9 searches, too few for a published share
            assert group not in expected_golden and np.isnan(got.value), group
            continue
        expected = _wilson(int(rows.positive.sum()), len(rows))
        assert (got.value, got.ci_low, got.ci_high) == pytest.approx(expected, rel=1e-9), group
        assert (got.value, got.ci_low, got.ci_high) == pytest.approx(
            tuple(expected_golden[group]), abs=1e-6
        ), group
    assert set(expected_golden) == {g for g, rows in groups.items() if len(rows) >= 10}
