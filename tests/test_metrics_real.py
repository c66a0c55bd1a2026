"""Force and local-authority figures for the real months equal an independent computation.

The independent side reads the raw CSVs with pandas, places points in wards with geopandas and
sums the LSOA census table itself; it shares no code with the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from stopsearch.pipeline import prepare
from stopsearch.warehouse import connect
from tests.independent import independent_group

pytestmark = pytest.mark.realdata
MANIFEST = Path(__file__).resolve().parents[1] / "boundaries" / "west-midlands-2013.toml"
GROUPS = ["Asian", "Black", "Mixed", "White", "Other"]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    from tests.conftest import REAL_STOPS, SHARED_DATA

    if not REAL_STOPS.is_dir():
        pytest.skip("real data absent")
    con = connect(":memory:")
    prepare(con, [REAL_STOPS], MANIFEST)
    frames = [
        pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(REAL_STOPS.glob("*.csv"))
    ]
    raw = pd.concat(frames, ignore_index=True)
    raw["group"] = raw["Self-defined ethnicity"].map(independent_group)
    raw["person"] = raw["Type"].isin(["Person search", "Person and Vehicle search"])
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
    months = 10
    persons = placed[placed.person]
    counts = persons.groupby("group").size()
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
    assert residents.sum() == 2_736_460


def test_local_authority_counts_and_rates_equal_an_independent_computation(real):
    con, placed, pop = real
    persons = placed[placed.person & placed.LAD13CD.notna()]
    counts = persons.groupby(["LAD13CD", "group"]).size()
    names = placed.dropna(subset=["LAD13CD"]).groupby("LAD13CD")["LAD13NM"].first()
    residents = pop.groupby("LAD13NM")[GROUPS].sum()
    got = _published(con, "local_authority", "searches")
    rates = _published(con, "local_authority", "search_rate", "metrics")
    assert set(got.area_code) == set(names.index) and len(names) == 7
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
        expected = 1000 * n / (residents.loc[names[row.area_code], row.grp] * 10 / 12)
        assert row.value == pytest.approx(expected, rel=1e-9)
        checked += 1
    assert checked > 50


def test_report_force_ratios_and_positive_rates(real, capsys):
    """Not an assertion of values: prints the figures the closing note reports."""
    con, _, _ = real
    ratios = _published(con, "force", "disproportionality_ratio")
    positive = _published(con, "force", "positive_outcome_rate")
    with capsys.disabled():
        print("\nforce ratios vs White (latest-12):")
        print(ratios.to_string(index=False))
        print("positive-outcome rate by group:")
        print(positive.to_string(index=False))
    assert set(ratios.grp) == {"Asian", "Black", "Mixed", "Other"}
    assert np.all(ratios.ci_low < ratios.value) and np.all(ratios.value < ratios.ci_high)
