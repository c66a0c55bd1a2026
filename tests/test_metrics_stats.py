"""Hand-computed checks of every published formula, its edge cases, and the ratio CI coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.optimize import brentq

from stopsearch.metrics import (
    DEFAULT_RATIO_METHOD,
    Z95,
    concentration_share,
    proportion,
    rate_per_1000,
    rate_ratio,
    ratio_ci_coverage,
    unknown_bounds,
    wilson_interval,
)


def sig4(x: float) -> float:
    """Round to 4 significant figures."""
    return float(f"{x:.4g}")


# ---------------------------------------------------------------- rates per 1,000


def test_rate_per_1000_period_and_annualised() -> None:
    """30 searches, 10,000 residents: 1000*30/10000 = 3.0; over 6 months 3.0*12/6 = 6.0."""
    assert rate_per_1000(30, 10_000) == pytest.approx(3.0)
    assert rate_per_1000(30, 10_000, months=6) == pytest.approx(6.0)
    # 7 searches, 2,345 residents, 11 months present: 1000*7/(2345*11/12) = 3.2564...
    assert sig4(rate_per_1000(7, 2345, months=11)) == 3.256
    assert rate_per_1000(30, 10_000, months=12) == pytest.approx(rate_per_1000(30, 10_000))


def test_rate_edge_cases_are_nan_not_zero_or_inf() -> None:
    """Zero count is 0; zero/negative/NaN population, zero months or NaN count are NaN."""
    out = rate_per_1000([0, 5, 5, 5, np.nan], [100, 0, -3, np.nan, 100])
    assert out[0] == 0.0 and np.isnan(out[1:]).all()
    months = rate_per_1000([5, 5, 5], [100, 100, 100], months=[0, np.nan, 12])
    assert np.isnan(months[:2]).all() and months[2] == pytest.approx(50.0)
    assert not np.isinf(rate_per_1000(5, 0))
    with pytest.raises(ValueError):
        rate_per_1000(-1, 100)
    with pytest.raises(ValueError):
        rate_per_1000(1, 100, months=-1)


def test_rates_are_vectorised_and_scalars_stay_scalars() -> None:
    """Arrays broadcast; a scalar call returns a 0-d numpy scalar, not a 1-element array."""
    out = rate_per_1000(np.array([[10], [20]]), np.array([1000, 2000]))
    assert out.shape == (2, 2)
    assert out.tolist() == [[10.0, 5.0], [20.0, 10.0]]
    assert np.ndim(rate_per_1000(1, 10)) == 0


# ---------------------------------------------------------------- proportions


def test_wilson_12_of_40() -> None:
    """Hand: p=0.3, z^2=3.841459, z^2/n=0.0960365, denominator 1.0960365,
    centre=(0.3+0.0480182)/1.0960365=0.317525,
    half=1.959964*sqrt(0.21/40+3.841459/6400)/1.0960365=1.959964*0.0764868/1.0960365=0.136776,
    so (0.1807, 0.4543)."""
    low, high = wilson_interval(12, 40)
    assert (sig4(low), sig4(high)) == (0.1807, 0.4543)
    est = proportion(12, 40)
    assert est.estimate == pytest.approx(0.3)
    assert (sig4(est.low), sig4(est.high)) == (0.1807, 0.4543)


def test_wilson_zero_and_all_successes() -> None:
    """k=0: low 0, high z^2/(n+z^2) = 3.841459/13.841459 = 0.2775; k=n mirrors it."""
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and sig4(high) == 0.2775
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and sig4(low) == sig4(1 - 0.2775327998628892)


def test_wilson_empty_denominator_and_bad_input() -> None:
    """n=0 (e.g. all outcomes unknown) is NaN; k>n or negatives raise."""
    assert all(np.isnan(v) for v in wilson_interval(0, 0))
    assert all(np.isnan(v) for v in proportion(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
    with pytest.raises(ValueError):
        wilson_interval(-1, 4)


def test_wilson_matches_scipy_and_other_levels() -> None:
    """Against scipy's binomtest Wilson interval, vectorised, and at a 90% z."""
    ks, ns = np.array([1, 7, 33, 250]), np.array([9, 20, 100, 251])
    low, high = wilson_interval(ks, ns)
    for k, n, lo, hi in zip(ks, ns, low, high, strict=True):
        ci = stats.binomtest(int(k), int(n)).proportion_ci(method="wilson")
        assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-12)
    ci90 = stats.binomtest(12, 40).proportion_ci(0.9, method="wilson")
    assert wilson_interval(12, 40, z=stats.norm.ppf(0.95)) == pytest.approx((ci90.low, ci90.high))


# ---------------------------------------------------------------- rate ratio


def test_log_wald_ratio_hand_computed() -> None:
    """N_g=30, P_g=10,000, N_W=100, P_W=100,000: DR = 3.0/1.0 = 3.
    se = sqrt(1/30 + 1/100) = 0.2081666; z*se = 0.4080000;
    3*exp(-0.408) = 3*0.664987 = 1.995; 3*exp(0.408) = 3*1.503806 = 4.511."""
    rr = rate_ratio(30, 10_000, 100, 100_000, method="wald")
    assert rr.ratio == pytest.approx(3.0)
    assert (sig4(rr.low), sig4(rr.high)) == (1.995, 4.511)
    assert rr.method == "wald"


def test_default_method_is_the_documented_one() -> None:
    """The default is log-Wald (see the coverage table in stopsearch.metrics.stats)."""
    assert DEFAULT_RATIO_METHOD == "wald"
    assert rate_ratio(30, 10_000, 100, 100_000).method == "wald"


def test_exact_conditional_ratio_matches_clopper_pearson() -> None:
    """Same data: N_g | N_g+N_W=130 is Binomial(130, pi); Clopper-Pearson on 30/130 from scipy,
    pi -> pi/(1-pi) * P_W/P_g: 0.161438/0.838562*10 = 1.925, 0.312761/0.687239*10 = 4.551."""
    rr = rate_ratio(30, 10_000, 100, 100_000, method="exact")
    ci = stats.binomtest(30, 130).proportion_ci(method="exact")
    assert rr.low == pytest.approx(ci.low / (1 - ci.low) * 10, rel=1e-10)
    assert rr.high == pytest.approx(ci.high / (1 - ci.high) * 10, rel=1e-10)
    assert (sig4(rr.low), sig4(rr.high)) == (1.925, 4.551)


def test_exact_and_midp_with_zero_in_the_group() -> None:
    """N_g=0, N_W=5, equal populations: ratio 0, lower limit 0. Upper limits by hand:
    exact: (1-pi)^5 = 0.025 -> pi = 1-0.025^0.2 = 0.521824, ratio = pi/(1-pi) = 1.091;
    mid-p: (1-pi)^5/2 = 0.025 -> pi = 1-0.05^0.2 = 0.450720, ratio 0.8206.
    Log-Wald is undefined (log 0): NaN."""
    exact = rate_ratio(0, 100, 5, 100, method="exact")
    midp = rate_ratio(0, 100, 5, 100, method="midp")
    assert exact.ratio == 0.0 and exact.low == 0.0 and sig4(exact.high) == 1.091
    assert midp.low == 0.0 and sig4(midp.high) == 0.8206
    wald = rate_ratio(0, 100, 5, 100, method="wald")
    assert wald.ratio == 0.0 and np.isnan(wald.low) and np.isnan(wald.high)


def test_midp_solves_its_defining_equations() -> None:
    """Mid-p limits pi_L, pi_U for 30/130 solve P(X>k)+P(X=k)/2 = 0.025 (and = 0.975)."""

    def tail(pi: float) -> float:
        return stats.binom.sf(30, 130, pi) + 0.5 * stats.binom.pmf(30, 130, pi)

    pi_low = brentq(lambda p: tail(p) - 0.025, 1e-9, 1 - 1e-9, xtol=1e-15)
    pi_high = brentq(lambda p: tail(p) - 0.975, 1e-9, 1 - 1e-9, xtol=1e-15)
    rr = rate_ratio(30, 10_000, 100, 100_000, method="midp")
    assert rr.low == pytest.approx(pi_low / (1 - pi_low) * 10, rel=1e-9)
    assert rr.high == pytest.approx(pi_high / (1 - pi_high) * 10, rel=1e-9)
    exact = rate_ratio(30, 10_000, 100, 100_000, method="exact")
    assert exact.low < rr.low < 3.0 < rr.high < exact.high


def test_ratio_undefined_cases_are_nan_never_inf() -> None:
    """N_W = 0, zero or negative population: NaN ratio and limits, for every method."""
    for method in ("wald", "exact", "midp"):
        rr = rate_ratio(
            [5, 5, 5, 0], [100, 0, 100, 100], [0, 5, 5, 0], [100, 100, -1, 100], method=method
        )
        assert np.isnan(rr.ratio).all() and np.isnan(rr.low).all() and np.isnan(rr.high).all()
        assert not np.isinf(rr.high).any()


def test_ratio_input_checks_and_levels() -> None:
    """Negative counts, fractional counts for exact methods, bad method or level raise."""
    with pytest.raises(ValueError):
        rate_ratio(-1, 100, 5, 100)
    with pytest.raises(ValueError):
        rate_ratio(2.5, 100, 5, 100, method="exact")
    with pytest.raises(ValueError):
        rate_ratio(2, 100, 5, 100, method="bayes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rate_ratio(2, 100, 5, 100, level=1.0)
    # 90% log-Wald: z = 1.644854; 3*exp(-+1.644854*0.2081666) = 2.130, 4.225
    rr = rate_ratio(30, 10_000, 100, 100_000, level=0.9)
    assert (sig4(rr.low), sig4(rr.high)) == (2.130, 4.225)
    assert abs(Z95 - stats.norm.ppf(0.975)) < 1e-12


def test_ratio_is_vectorised() -> None:
    """Arrays in, arrays out, each element equal to its scalar computation."""
    ng, nw = np.array([5, 30, 400]), np.array([50, 100, 2000])
    for method in ("wald", "exact", "midp"):
        rr = rate_ratio(ng, 1000, nw, 20_000, method=method)
        for i in range(3):
            one = rate_ratio(int(ng[i]), 1000, int(nw[i]), 20_000, method=method)
            assert (rr.ratio[i], rr.low[i], rr.high[i]) == pytest.approx(
                (one.ratio, one.low, one.high)
            )


# ---------------------------------------------------------------- coverage


def test_default_ratio_ci_covers_93_to_97_percent() -> None:
    """Seeded simulation, 4,000 draws at realistic counts (N_g ~ 5-40, N_W ~ 50-2000,
    true ratios 1-6): the default interval covers the true ratio 93-97% of the time."""
    result = ratio_ci_coverage(DEFAULT_RATIO_METHOD, draws=4000, seed=7)
    assert result.draws == 4000
    assert 0.93 <= result.coverage <= 0.97
    assert 0.93 <= result.coverage_publishable <= 0.97


def test_exact_interval_is_conservative() -> None:
    """The documented reason it is not the default: it over-covers."""
    exact = ratio_ci_coverage("exact", draws=4000, seed=7)
    wald = ratio_ci_coverage("wald", draws=4000, seed=7)
    assert exact.coverage >= 0.95 and exact.coverage > wald.coverage


# ---------------------------------------------------------------- unknown-ethnicity bounds


def test_unknown_bounds_hand_computed() -> None:
    """N_g=30, P_g=10,000, N_W=100, P_W=100,000, U=20:
    low = (30/10000)/(120/100000) = 0.003/0.0012 = 2.5;
    high = (50/10000)/(100/100000) = 0.005/0.001 = 5.0."""
    low, high = unknown_bounds(30, 10_000, 100, 100_000, 20)
    assert (sig4(low), sig4(high)) == (2.5, 5.0)
    assert low <= rate_ratio(30, 10_000, 100, 100_000).ratio <= high


def test_unknown_bounds_edge_cases() -> None:
    """U=0 collapses to the ratio; all unknown: low 0, high NaN (unbounded); N_W=0: high NaN."""
    low, high = unknown_bounds(30, 10_000, 100, 100_000, 0)
    assert low == pytest.approx(3.0) and high == pytest.approx(3.0)
    low, high = unknown_bounds(0, 10_000, 0, 100_000, 25)
    assert low == 0.0 and np.isnan(high)
    low, high = unknown_bounds(0, 10_000, 0, 100_000, 0)
    assert np.isnan(low) and np.isnan(high)
    low, high = unknown_bounds(5, 0, 5, 100, 5)
    assert np.isnan(low) and np.isnan(high)
    with pytest.raises(ValueError):
        unknown_bounds(5, 100, 5, 100, -1)


# ---------------------------------------------------------------- concentration


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([10, 5, 3, 2, 0], 1 / 5),  # total 20, half 10: the top area alone holds 10
        ([3, 3, 3, 3], 2 / 4),  # ties: two of four hold exactly half (>= counts)
        ([1, 1, 1], 2 / 3),  # half of 3 is 1.5: one area (1) is short, two (2) suffice
        ([0, 0, 0, 9, 0, 0, 0, 0, 0, 1], 1 / 10),  # zero-search areas stay in the denominator
        ([7], 1.0),
        ([6, 5, 5, 4], 2 / 4),  # 6 < 10, 6+5 = 11 >= 10
    ],
)
def test_concentration_share(counts: list[int], expected: float) -> None:
    """Smallest share of areas holding at least half of all searches."""
    assert concentration_share(counts) == pytest.approx(expected)
    assert concentration_share(list(reversed(counts))) == pytest.approx(expected)


def test_concentration_edge_cases() -> None:
    """No searches or no areas: NaN; NaN or negative counts raise; share is adjustable."""
    assert math.isnan(concentration_share([0, 0, 0]))
    assert math.isnan(concentration_share([]))
    with pytest.raises(ValueError):
        concentration_share([1, np.nan])
    with pytest.raises(ValueError):
        concentration_share([1, -1])
    with pytest.raises(ValueError):
        concentration_share([[1, 2]])
    assert concentration_share([10, 5, 3, 2, 0], share=0.8) == pytest.approx(3 / 5)


# ---------------------------------------------------------------- properties


counts = st.integers(0, 3000)
populations = st.floats(1.0, 1e6, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(counts, populations, counts, populations, counts)
def test_intervals_and_bounds_bracket_the_estimate(
    n_g: int, p_g: float, n_w: int, p_w: float, u: int
) -> None:
    """Every CI contains its ratio, the unknown bounds bracket it, nothing is infinite."""
    for method in ("wald", "exact", "midp"):
        rr = rate_ratio(n_g, p_g, n_w, p_w, method=method)
        if n_w == 0:
            assert np.isnan(rr.ratio) and np.isnan(rr.low) and np.isnan(rr.high)
            continue
        assert np.isfinite(rr.ratio)
        if method == "wald" and n_g == 0:
            assert np.isnan(rr.low) and np.isnan(rr.high)
            continue
        assert 0.0 <= rr.low <= rr.ratio * (1 + 1e-9) + 1e-12
        assert rr.ratio <= rr.high * (1 + 1e-9) and np.isfinite(rr.high)
    low, high = unknown_bounds(n_g, p_g, n_w, p_w, u)
    if n_w > 0:
        ratio = rate_ratio(n_g, p_g, n_w, p_w).ratio
        assert low <= ratio * (1 + 1e-12) and ratio <= high * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_proportion(kn: tuple[int, int]) -> None:
    """0 <= low <= k/n <= high <= 1 whenever n > 0."""
    k, n = kn
    est, low, high = proportion(k, n)
    if n == 0:
        assert np.isnan(est) and np.isnan(low) and np.isnan(high)
    else:
        assert 0.0 <= low <= est + 1e-12 and est <= high + 1e-12 and high <= 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.randoms())
def test_concentration_share_definition(values: list[int], rnd) -> None:
    """Order-free; the top k areas hold >= half, the top k-1 do not."""
    share = concentration_share(values)
    if sum(values) == 0:
        assert math.isnan(share)
        return
    shuffled = values[:]
    rnd.shuffle(shuffled)
    assert concentration_share(shuffled) == share
    k = round(share * len(values))
    top = sorted(values, reverse=True)
    assert 2 * sum(top[:k]) >= sum(values) > 2 * sum(top[: k - 1])
