"""Funnel limits against hand-computed values, and the between-area dispersion by hand.

The expected limits are worked out here from the formula of the reference (Spiegelhalter 2005:
theta_0 +/- z sqrt(s^2 + tau^2), s^2 = 1000 theta_0 / E for a rate per 1,000 person-years; on the
log scale for a ratio, s^2 = 1 / x) with `math` alone, and also written out as literals, so a
change to either the code or the arithmetic is caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stopsearch.metrics import dispersion, funnel

Z95 = 1.959963984540054  # Phi^-1(0.975)
Z998 = 3.090232306167813  # Phi^-1(0.999)
EXPOSURES = (2_000.0, 20_000.0, 200_000.0)  # person-years
TARGET = 3.0  # searches per 1,000 residents per year
TAU2 = 0.25
# (lo95, hi95, lo998, hi998, lo998 adjusted, hi998 adjusted) at each exposure, by hand.
RATE_GOLDEN = {
    2_000.0: (0.599544, 5.400456, 0.0, 6.784746, 0.0, 7.087993),
    20_000.0: (2.240909, 3.759091, 1.803158, 4.196842, 1.045565, 4.954435),
    200_000.0: (2.759954, 3.240046, 2.621525, 3.378475, 1.409206, 4.590794),
}
PRECISIONS = (10.0, 50.0, 400.0)
RATIO_TARGET = 2.0
RATIO_TAU2 = 0.1
RATIO_GOLDEN = {
    10.0: (1.076109, 3.717094, 0.752714, 5.314104, 0.502155, 7.96567),
    50.0: (1.515835, 2.63881, 1.291911, 3.096189, 0.685682, 5.833604),
    400.0: (1.813301, 2.205922, 1.713667, 2.334176, 0.743631, 5.37901),
}


def _hand_rate(exposure: float, z: float, tau2: float) -> tuple[float, float]:
    half = z * math.sqrt(1000.0 * TARGET / exposure + tau2)
    return max(TARGET - half, 0.0), TARGET + half


def _hand_ratio(precision: float, z: float, tau2: float) -> tuple[float, float]:
    half = z * math.sqrt(1.0 / precision + tau2)
    return RATIO_TARGET * math.exp(-half), RATIO_TARGET * math.exp(half)


def test_z_values_are_the_two_sided_95_and_99_8_quantiles():
    assert funnel.LEVELS["95"] == pytest.approx(Z95, abs=1e-12)
    assert funnel.LEVELS["99.8"] == pytest.approx(Z998, abs=1e-12)


@pytest.mark.parametrize("exposure", EXPOSURES)
def test_rate_limits_match_hand_computed_values(exposure):
    hand = (
        *_hand_rate(exposure, Z95, 0.0),
        *_hand_rate(exposure, Z998, 0.0),
        *_hand_rate(exposure, Z998, TAU2),
    )
    assert hand == pytest.approx(RATE_GOLDEN[exposure], abs=1e-6)
    inner = funnel.rate_limits(TARGET, exposure, funnel.LEVELS["95"])
    outer = funnel.rate_limits(TARGET, exposure, funnel.LEVELS["99.8"])
    adjusted = funnel.rate_limits(TARGET, exposure, funnel.LEVELS["99.8"], TAU2)
    got = (inner.low, inner.high, outer.low, outer.high, adjusted.low, adjusted.high)
    assert [float(v) for v in got] == pytest.approx(RATE_GOLDEN[exposure], abs=1e-6)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_ratio_limits_match_hand_computed_values(precision):
    hand = (
        *_hand_ratio(precision, Z95, 0.0),
        *_hand_ratio(precision, Z998, 0.0),
        *_hand_ratio(precision, Z998, RATIO_TAU2),
    )
    assert hand == pytest.approx(RATIO_GOLDEN[precision], abs=1e-6)
    inner = funnel.ratio_limits(RATIO_TARGET, precision, funnel.LEVELS["95"])
    outer = funnel.ratio_limits(RATIO_TARGET, precision, funnel.LEVELS["99.8"])
    adjusted = funnel.ratio_limits(RATIO_TARGET, precision, funnel.LEVELS["99.8"], RATIO_TAU2)
    got = (inner.low, inner.high, outer.low, outer.high, adjusted.low, adjusted.high)
    assert [float(v) for v in got] == pytest.approx(RATIO_GOLDEN[precision], abs=1e-6)


def test_limits_are_vectorised_over_exposures():
    limits = funnel.rate_limits(TARGET, np.array(EXPOSURES), Z95)
    assert limits.high == pytest.approx([RATE_GOLDEN[e][1] for e in EXPOSURES], abs=1e-6)


def test_ratio_precision_is_the_binomial_information_at_the_target():
    # T = 30 + 70 = 100 searches; pi_0 = 2 x 1000 / (2 x 1000 + 4000) = 1/3; x = 100 x 1/3 x 2/3
    x = funnel.ratio_precision(30, 70, 1_000, 4_000, 2.0)
    assert float(x) == pytest.approx(200.0 / 9.0)
    assert np.isnan(funnel.ratio_precision(0, 0, 1_000, 4_000, 2.0))


def test_bands_split_at_each_limit_and_a_point_on_a_limit_is_within():
    inner = funnel.rate_limits(TARGET, 20_000.0, Z95)
    outer = funnel.rate_limits(TARGET, 20_000.0, Z998)
    values = [1.0, 2.0, 3.0, 3.7, 3.8, 4.3, float(inner.high), float(outer.low)]
    assert funnel.band(values, inner, outer).tolist() == [-2, -1, 0, 0, 1, 2, 0, -1]


def test_winsorising_sets_the_extreme_tenth_to_the_10th_and_90th_percentile_values():
    z = np.arange(20, dtype=float)  # 0..19: two at each end move in
    out = dispersion.winsorise(z[::-1])
    assert out.tolist() == [2, 2, 2, *range(3, 17), 17, 17, 17]
    assert dispersion.winsorise([5.0, -1.0]).tolist() == [-1.0, 5.0]  # 10% of 2 rounds to 0


def test_between_area_phi_and_dersimonian_laird_tau2_by_hand():
    # Ten areas, target 0, standard errors 1 and 2 alternating, residuals chosen by hand.
    se = np.array([1.0, 2.0] * 5)
    z = np.array([-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0])
    values = z * se
    result = dispersion.between_areas(values, 0.0, se)
    # Winsorised (one at each end): -2, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 3
    wz = [-2.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 3.0]
    phi = sum(v * v for v in wz) / 10  # 32.5 / 10 = 3.25
    w = [1.0 / s**2 for s in se]
    tau2 = (10 * phi - 9) / (sum(w) - sum(v * v for v in w) / sum(w))
    assert phi == pytest.approx(3.25)
    assert result.phi == pytest.approx(phi)
    assert result.tau2 == pytest.approx(tau2)
    assert result.tau2 == pytest.approx(23.5 / (6.25 - 5.3125 / 6.25))
    assert (result.n_areas, result.df, result.chi_square) == (10, 9, pytest.approx(32.5))


def test_no_tau2_when_areas_vary_no_more_than_chance():
    se = np.ones(10)
    values = np.array([-1.0, 1.0] * 5) * 0.5  # z = +/- 0.5: phi_b = 0.25
    result = dispersion.between_areas(values, 0.0, se)
    assert result.phi == pytest.approx(0.25)
    assert result.tau2 == 0.0
    empty = dispersion.between_areas([np.nan], 0.0, [1.0])
    assert empty.n_areas == 0 and math.isnan(empty.phi) and empty.tau2 == 0.0
