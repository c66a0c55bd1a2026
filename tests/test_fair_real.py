"""Fair comparison on the real West Midlands months: the dispersion figures and the funnels.

Run with ``-s`` to print phi_t, phi_b and tau^2 per area kind and measure, and how many wards lie
outside the 95% and 99.8% funnel limits by chance alone and once adjusted (the figures of the
issue's closing note). Skipped when STOPSEARCH_SHARED_DATA is absent.
"""

from __future__ import annotations

import pandas as pd
import pytest

from stopsearch.warehouse import connect

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def tables(real_warehouse_path):
    with connect(real_warehouse_path, read_only=True) as con:
        return (
            con.sql("SELECT * FROM metrics_dispersion WHERE period = 'latest-12'").df(),
            con.sql("SELECT * FROM metrics_funnel WHERE period = 'latest-12'").df(),
        )


def outside_counts(funnel: pd.DataFrame) -> pd.DataFrame:
    """Areas beyond the 95% and 99.8% limits, by chance alone and adjusted, per kind/measure."""
    out = funnel.assign(
        outside95=funnel.band.abs() >= 1,
        outside998=funnel.band.abs() == 2,
        outside95_adj=funnel.band_adjusted.abs() >= 1,
        outside998_adj=funnel.band_adjusted.abs() == 2,
    )
    return (
        out.groupby(["area_kind", "measure", "grp"])[
            ["area_code", "outside95", "outside998", "outside95_adj", "outside998_adj"]
        ]
        .agg({"area_code": "count", "outside95": "sum", "outside998": "sum",
              "outside95_adj": "sum", "outside998_adj": "sum"})
        .rename(columns={"area_code": "areas"})
    )


def test_real_dispersion_and_funnels(tables):
    dispersion, funnel = tables
    with pd.option_context("display.width", 200, "display.max_rows", 200):
        within = dispersion[dispersion.scope == "within_time"]
        print("\nphi_t (within areas, over the months of latest-12):")
        print(
            within[["area_kind", "measure", "grp", "n_areas", "chi_square", "df", "phi_raw", "phi"]]
            .sort_values(["area_kind", "measure", "grp"])
            .to_string(index=False, float_format=lambda v: f"{v:.3f}")
        )
        between = dispersion[dispersion.scope == "between_areas"]
        print("\nphi_b and tau^2 (between areas, about the force figure):")
        print(
            between[["area_kind", "measure", "grp", "n_areas", "target", "phi", "tau2"]]
            .sort_values(["area_kind", "measure", "grp"])
            .to_string(index=False, float_format=lambda v: f"{v:.4g}")
        )
        counts = outside_counts(funnel)
        print("\nAreas outside the funnel limits (chance alone -> adjusted):")
        print(counts.to_string())
    wards = within[(within.area_kind == "ward") & (within.measure == "searches")]
    assert len(wards) == 1 and wards.phi.iloc[0] > 1.0  # repeat searches: more than Poisson
    ward_rates = counts.loc[("ward", "search_rate", "All")]
    assert ward_rates.areas == len(funnel[(funnel.area_kind == "ward")
                                          & (funnel.measure == "search_rate")])
    # allowing for the between-area spread can only bring areas inside the limits
    for column in ("outside95", "outside998"):
        assert (counts[f"{column}_adj"] <= counts[column]).all()
    assert ward_rates.outside998_adj < ward_rates.outside998
