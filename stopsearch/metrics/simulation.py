"""Seeded coverage simulation of the rate-ratio intervals, so the documented choice re-runs."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from stopsearch.metrics.stats import RatioMethod, rate_ratio


class Coverage(NamedTuple):
    """Share of draws whose interval contained the true ratio (undefined intervals are misses)."""

    method: str
    draws: int
    coverage: float
    coverage_publishable: float


def ratio_ci_coverage(
    method: RatioMethod,
    draws: int = 2000,
    seed: int = 20261127,
    *,
    expected_g: tuple[float, float] = (5.0, 40.0),
    expected_w: tuple[float, float] = (50.0, 2000.0),
    true_ratio: tuple[float, float] = (1.0, 6.0),
    level: float = 0.95,
    min_count: int = 5,
) -> Coverage:
    """Coverage of the ratio CI over Poisson draws at realistic counts; pure given the seed.

    Per draw: expected group count uniform on ``expected_g``, expected White count log-uniform
    on ``expected_w``, true ratio uniform on ``true_ratio``; White population uniform on
    10,000..200,000 and the group population implied by the three. ``coverage_publishable`` is
    the coverage among draws where both counts are >= ``min_count`` (the ones we would publish).
    """
    rng = np.random.default_rng(seed)
    mu_g = rng.uniform(*expected_g, size=draws)
    mu_w = np.exp(rng.uniform(np.log(expected_w[0]), np.log(expected_w[1]), size=draws))
    theta = rng.uniform(*true_ratio, size=draws)
    p_w = rng.uniform(10_000.0, 200_000.0, size=draws)
    p_g = mu_g * p_w / (theta * mu_w)
    n_g = rng.poisson(mu_g)
    n_w = rng.poisson(mu_w)
    result = rate_ratio(n_g, p_g, n_w, p_w, method=method, level=level)
    covered = (result.low <= theta) & (theta <= result.high)
    publishable = (n_g >= min_count) & (n_w >= min_count)
    return Coverage(
        method=method,
        draws=draws,
        coverage=float(covered.mean()),
        coverage_publishable=float(covered[publishable].mean()),
    )
