"""Overdispersion: how much more variable real counts are than Poisson, measured two ways.

The two figures answer different questions and are never mixed:

* **Within an area, over time** (phi_t, for intervals). For one area kind and one count (e.g.
  person searches of Black people), each area's monthly counts y_am over the period's months are
  compared with that area's own mean ybar_a: Pearson chi-square sum_m (y_am - ybar_a)^2 / ybar_a
  on M_a - 1 degrees of freedom. Pooled over the areas (sum of chi-squares over sum of degrees of
  freedom) and floored at 1, it is the quasi-Poisson dispersion: a count summed over the period
  has variance phi_t times its mean, so rate and ratio intervals are widened by sqrt(phi_t).
  Repeat searches of the same people are why it is above 1. An area with no searches in the
  period says nothing about the spread and is left out (its mean is 0).
* **Between areas** (phi_b and tau^2, for funnel limits), as in public-health practice
  (Spiegelhalter 2005): each area's standardised residual z_i = (y_i - theta_0) / s_i about the
  force figure theta_0, with s_i its standard error under Poisson counts, is winsorised at 10%
  (the most extreme tenth at each end set to the 10th and 90th percentile values) and phi_b is
  the mean of their squares. When phi_b > 1 the areas really do differ beyond chance, and the
  DerSimonian-Laird between-area variance tau^2 = (n phi_b - (n - 1)) / (sum w - sum w^2 / sum w),
  w_i = 1 / s_i^2 (0 when negative), is added to every area's variance for the funnel limits.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

WINSOR_FRACTION = 0.10


class WithinTime(NamedTuple):
    """Pooled within-area dispersion over time: chi-square, df, areas used, phi raw and floored."""

    chi_square: float
    df: int
    n_areas: int
    phi_raw: float  # chi_square / df; NaN when df == 0
    phi: float  # max(1, phi_raw); 1 when undefined


class BetweenAreas(NamedTuple):
    """Between-area dispersion of one indicator: winsorised phi_b and the DL tau^2."""

    n_areas: int
    chi_square: float  # n * phi_b: the winsorised Pearson statistic
    df: int  # n - 1
    phi: float  # phi_b; NaN when there are no areas
    tau2: float  # 0 unless phi_b > 1


def pearson_within(counts: object) -> tuple[np.ndarray, np.ndarray]:
    """Per-area Pearson chi-square about the area's own mean and its degrees of freedom.

    ``counts`` has shape (..., areas, months), NaN for a month in which the area did not exist.
    Returns (chi-square, df), each of shape (..., areas); an area with a zero mean (or fewer
    than two months) has chi-square 0 and df 0, so it does not enter the pooled figure.
    """
    y = np.asarray(counts, dtype=float)
    present = np.isfinite(y)
    months = present.sum(axis=-1)
    total = np.where(present, y, 0.0).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(months > 0, total / np.maximum(months, 1), 0.0)
        used = (mean > 0) & (months >= 2)
        squares = np.where(present, (np.where(present, y, 0.0) - mean[..., None]) ** 2, 0.0)
        chi = np.where(used, squares.sum(axis=-1) / np.where(used, mean, 1.0), 0.0)
    df = np.where(used, months - 1, 0)
    return chi, df


def pooled_phi(chi: object, df: object, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Pooled (raw, floored) phi over ``axis``: sum chi / sum df, NaN / 1 when df sums to 0."""
    c = np.asarray(chi, dtype=float).sum(axis=axis)
    d = np.asarray(df, dtype=float).sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(d > 0, c / np.where(d > 0, d, 1.0), np.nan)
    floored = np.where(np.isfinite(raw), np.maximum(raw, 1.0), 1.0)
    return raw, floored


def within_time(counts: object) -> WithinTime:
    """phi_t of one area kind and count: ``counts`` is (areas, months), NaN where absent."""
    chi, df = pearson_within(counts)
    raw, floored = pooled_phi(chi, df)
    return WithinTime(
        chi_square=float(chi.sum()),
        df=int(df.sum()),
        n_areas=int((df > 0).sum()),
        phi_raw=float(raw),
        phi=float(floored),
    )


def winsorise(z: object, fraction: float = WINSOR_FRACTION) -> np.ndarray:
    """z-scores with the floor(fraction * n) smallest and largest set to the next value inward.

    With n = 20 and 10%: the two smallest become the 3rd smallest, the two largest the 3rd
    largest (the 10th and 90th percentile values). Returned in sorted order.
    """
    if not 0.0 <= fraction < 0.5:
        raise ValueError("fraction must be in [0, 0.5)")
    values = np.sort(np.asarray(z, dtype=float))
    n = values.size
    k = int(np.floor(fraction * n))
    if k and n > 2 * k:
        values[:k] = values[k]
        values[n - k :] = values[n - k - 1]
    return values


def between_areas(
    value: object, target: float, se: object, fraction: float = WINSOR_FRACTION
) -> BetweenAreas:
    """phi_b (winsorised mean square of z) and tau^2 (DerSimonian-Laird) for one indicator.

    ``value`` and ``se`` are on the indicator's analysis scale (rates as they are, ratios as
    logs); areas whose value or se is not finite (or se <= 0) are left out.
    """
    y = np.asarray(value, dtype=float)
    s = np.asarray(se, dtype=float)
    keep = np.isfinite(y) & np.isfinite(s) & (s > 0)
    y, s = y[keep], s[keep]
    n = int(y.size)
    if n == 0 or not np.isfinite(target):
        return BetweenAreas(n, float("nan"), max(n - 1, 0), float("nan"), 0.0)
    z = (y - target) / s
    phi = float(np.mean(winsorise(z, fraction) ** 2))
    tau2 = 0.0
    if phi > 1.0 and n > 1:
        w = 1.0 / s**2
        denominator = w.sum() - (w**2).sum() / w.sum()
        if denominator > 0:
            tau2 = max(0.0, (n * phi - (n - 1)) / float(denominator))
    return BetweenAreas(n, n * phi, n - 1, phi, tau2)
