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


class DispersionCheck(NamedTuple):
    """Seeded check of phi_t and the widened intervals (publishable draws only for coverage)."""

    replicates: int
    phi_true: float
    phi_raw_mean: float  # mean over replicates of the pooled chi-square / df
    phi_mean: float  # the same, floored at 1 (what widens the intervals)
    rate_coverage: float  # widened by sqrt(phi_t)
    rate_coverage_poisson: float  # the Poisson interval (phi = 1)
    ratio_coverage: float
    ratio_coverage_poisson: float


def _monthly_counts(rng: np.random.Generator, mean: np.ndarray, phi: float) -> np.ndarray:
    """Poisson counts (phi = 1) or negative binomial ones with variance phi x mean."""
    if phi == 1.0:
        return rng.poisson(mean).astype(float)
    # numpy's (n, p): mean n (1 - p) / p, variance mean / p; p = 1 / phi, n = mean / (phi - 1)
    return rng.negative_binomial(mean / (phi - 1.0), 1.0 / phi).astype(float)


def dispersion_check(
    phi_true: float = 1.0,
    replicates: int = 2000,
    seed: int = 20261202,
    *,
    areas: int = 30,
    months: int = 12,
    white_monthly: tuple[float, float] = (2.0, 20.0),
    group_monthly: tuple[float, float] = (0.5, 4.0),
    true_ratio: tuple[float, float] = (1.0, 6.0),
    min_rate_count: int = 10,
    min_ratio_count: int = 5,
) -> DispersionCheck:
    """Coverage of rate and ratio intervals widened by the estimated phi_t; pure given the seed.

    Each replicate is a force of ``areas`` areas observed for ``months`` months. Per area: the
    expected monthly searches of White people log-uniform on ``white_monthly``, of the other
    group uniform on ``group_monthly``, the true ratio uniform on ``true_ratio`` and White
    residents uniform on 5,000..50,000 (the group's implied). Monthly counts are Poisson
    (``phi_true`` = 1) or negative binomial with variance phi_true x mean. phi_t of each count
    is estimated per replicate as the pipeline does (`dispersion.pearson_within`, pooled over
    the areas, floored at 1), then the period's rates (both groups) and the ratio get their
    95% intervals. Coverage counts publishable draws (rates N >= 10, ratios both N >= 5).
    """
    from stopsearch.metrics.dispersion import pearson_within, pooled_phi
    from stopsearch.metrics.stats import rate_interval

    rng = np.random.default_rng(seed)
    shape = (replicates, areas)
    mu_w = np.exp(rng.uniform(np.log(white_monthly[0]), np.log(white_monthly[1]), size=shape))
    mu_g = rng.uniform(*group_monthly, size=shape)
    theta = rng.uniform(*true_ratio, size=shape)
    p_w = rng.uniform(5_000.0, 50_000.0, size=shape)
    p_g = mu_g * p_w / (theta * mu_w)
    y_w = _monthly_counts(rng, np.repeat(mu_w[..., None], months, axis=-1), phi_true)
    y_g = _monthly_counts(rng, np.repeat(mu_g[..., None], months, axis=-1), phi_true)
    phis = {}
    raws = []
    for name, y in (("w", y_w), ("g", y_g)):
        chi, df = pearson_within(y)
        raw, floored = pooled_phi(chi, df, axis=-1)
        phis[name] = floored[:, None]
        raws.append((raw, floored))
    n_w, n_g = y_w.sum(axis=-1), y_g.sum(axis=-1)
    exposure_w, exposure_g = p_w * months / 12.0, p_g * months / 12.0
    truth_w = 1000.0 * mu_w * 12.0 / p_w
    truth_g = 1000.0 * mu_g * 12.0 / p_g

    def rate_cover(widen: bool) -> float:
        hits, seen = 0, 0
        for n, e, truth, key in ((n_w, exposure_w, truth_w, "w"), (n_g, exposure_g, truth_g, "g")):
            interval = rate_interval(n, e, phis[key] if widen else 1.0)
            ok = n >= min_rate_count
            hits += int(((interval.low <= truth) & (truth <= interval.high))[ok].sum())
            seen += int(ok.sum())
        return hits / seen

    def ratio_cover(widen: bool) -> float:
        fg = phis["g"] if widen else 1.0
        fw = phis["w"] if widen else 1.0
        result = rate_ratio(n_g, p_g, n_w, p_w, phi_g=fg, phi_w=fw)
        ok = (n_g >= min_ratio_count) & (n_w >= min_ratio_count)
        return float(((result.low <= theta) & (theta <= result.high))[ok].mean())

    raw_all = np.concatenate([r for r, _ in raws])
    floored_all = np.concatenate([f for _, f in raws])
    return DispersionCheck(
        replicates=replicates,
        phi_true=phi_true,
        phi_raw_mean=float(np.nanmean(raw_all)),
        phi_mean=float(floored_all.mean()),
        rate_coverage=rate_cover(True),
        rate_coverage_poisson=rate_cover(False),
        ratio_coverage=ratio_cover(True),
        ratio_coverage_poisson=ratio_cover(False),
    )
