"""The one precision rule: when a published figure's 95% interval is too wide to lean on.

Used by the metrics (the `imprecise` flag), the site (figures shown with a caution) and the
methodology text, so that all three always agree.
"""

from __future__ import annotations

import numpy as np

# A ratio is imprecise when its interval spans more than a three-fold range (upper / lower > 3).
RATIO_SPAN_LIMIT = 3.0
# A rate or share is imprecise when its interval's half-width exceeds half the figure itself.
HALF_WIDTH_LIMIT = 0.5

RULE_TEXT = (
    "A figure is marked imprecise when its 95% interval is wide: for a ratio, when the upper limit "
    f"is more than {RATIO_SPAN_LIMIT:g} times the lower; for a rate or share, when half the "
    f"interval's width is more than {HALF_WIDTH_LIMIT:.0%} of the figure."
)


def ratio_imprecise(lower: object, upper: object) -> np.ndarray:
    """True where a ratio's interval spans more than RATIO_SPAN_LIMIT-fold (or is open/unknown)."""
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        span = hi / lo
    return ~(np.isfinite(span) & (span <= RATIO_SPAN_LIMIT))


def value_imprecise(value: object, lower: object, upper: object) -> np.ndarray:
    """True where a rate's or share's interval half-width exceeds HALF_WIDTH_LIMIT of the value."""
    v = np.asarray(value, dtype=float)
    half = (np.asarray(upper, dtype=float) - np.asarray(lower, dtype=float)) / 2
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(half) & np.isfinite(v) & (v > 0) & (half <= HALF_WIDTH_LIMIT * v)
    return ~ok
