"""Funnel-plot control limits (Spiegelhalter 2005) for area rates and ratios, pure and vectorised.

Limits sit around the force figure theta_0 at 95% (z = 1.960) and 99.8% (z = 3.090), on the
indicator's analysis scale, with the normal approximation:

* **Rates per 1,000 residents per year.** Exposure E = residents x months / 12 (person-years).
  Under Poisson counts the rate 1000 N / E has standard error s = sqrt(1000 theta_0 / E), and
  the limits are theta_0 +/- z sqrt(s^2 + tau^2) (the lower one never below 0).
* **Disproportionality ratios (group vs White).** On the log scale. Given the area's searches of
  both groups T = N_g + N_W, N_g is binomial with pi_0 = theta_0 P_g / (theta_0 P_g + P_W) if the
  area's ratio were the force's, so ln(ratio) has variance 1 / (T pi_0 (1 - pi_0)). That
  precision, x = T pi_0 (1 - pi_0) ("effective searches"), is the funnel's horizontal axis, and
  the limits are theta_0 exp(+/- z sqrt(1 / x + tau^2)).

tau^2 = 0 gives the limits "by chance alone"; the between-area tau^2 of
:mod:`stopsearch.metrics.dispersion` gives the limits "allowing for how much areas differ".
A point's band is +2 / -2 beyond the upper / lower 99.8% limit, +1 / -1 beyond the 95% one, 0
within (a point exactly on a limit is within).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st

from stopsearch.metrics.stats import Z95, Interval

Z998 = float(_st.norm.ppf(0.999))  # 3.0902323061678132
LEVELS: dict[str, float] = {"95": Z95, "99.8": Z998}


def rate_se(target: object, exposure: object) -> np.ndarray:
    """Standard error of a rate per 1,000 person-years at the target rate (NaN if E <= 0)."""
    t = np.asarray(target, dtype=float)
    e = np.asarray(exposure, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e > 0, np.sqrt(1000.0 * t / np.where(e > 0, e, 1.0)), np.nan)


def rate_limits(target: float, exposure: object, z: float, tau2: float = 0.0) -> Interval:
    """Funnel limits of a rate per 1,000 person-years at exposure E (person-years)."""
    half = z * np.sqrt(rate_se(target, exposure) ** 2 + tau2)
    return Interval(np.maximum(target - half, 0.0), target + half)


def ratio_precision(
    n_g: object, n_w: object, p_g: object, p_w: object, target: float
) -> np.ndarray:
    """x = T pi_0 (1 - pi_0): the inverse variance of ln(ratio) if the area's were the force's."""
    ng, nw, pg, pw = (np.asarray(v, dtype=float) for v in (n_g, n_w, p_g, p_w))
    with np.errstate(divide="ignore", invalid="ignore"):
        pi0 = target * pg / (target * pg + pw)
        x = (ng + nw) * pi0 * (1.0 - pi0)
    return np.where(np.isfinite(x) & (x > 0), x, np.nan)


def ratio_limits(target: float, precision: object, z: float, tau2: float = 0.0) -> Interval:
    """Funnel limits of a ratio at precision x: target x exp(+/- z sqrt(1/x + tau^2))."""
    x = np.asarray(precision, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(1.0 / x + tau2)
    return Interval(target * np.exp(-half), target * np.exp(half))


def band(value: object, inner: Interval, outer: Interval) -> np.ndarray:
    """-2..2: beyond the outer (99.8%) or inner (95%) limit, below (-) or above (+); 0 within."""
    v = np.asarray(value, dtype=float)
    out = np.zeros(v.shape, dtype=np.int64)
    out = np.where(v > inner.high, 1, out)
    out = np.where(v < inner.low, -1, out)
    out = np.where(v > outer.high, 2, out)
    out = np.where(v < outer.low, -2, out)
    return out
