"""Trends: quarters, the rolling windows of the trend series, and the change on a year earlier.

* **Quarters**: each calendar quarter with data is a period ("2024-Q1", kind ``quarter``).
* **Series windows**: the trend series is one point per month with data: the rolling 12
  months ending with it, from the 12th month of data on ("12m-2023-12", kind ``window``; the
  last point is the ``latest-12`` period itself). With fewer than 13 months there is at most
  one such window, so each point is that month's own figures instead ("1m-2024-03"), and the
  site says why.
* **Change on a year earlier**: the latest 12 months against the 12 months ending a year
  before, and the latest complete quarter against the same quarter a year earlier, as a ratio
  of the two figures with a 95% interval widened by each period's within-area dispersion
  phi_t (:mod:`stopsearch.metrics.dispersion`). It needs both periods: with fewer than 24
  months there is no earlier window, and no change row.

Quarters and windows carry the headline figures only (`contract.LEAN_KINDS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from stopsearch.metrics.contract import CHANGE_MEASURES, LATEST_12, YEAR_EARLIER
from stopsearch.metrics.periods import (
    WINDOW_KIND,
    month_add,
    quarter_id,
    quarter_start,
    window_id,
)
from stopsearch.metrics.stats import Z95

ROLLING_SPAN = 12
MIN_ROLLING_MONTHS = ROLLING_SPAN + 1  # two windows at least, else monthly points
MIN_CHANGE_MONTHS = 2 * ROLLING_SPAN  # the latest 12 months and the 12 before them
PeriodRow = tuple[str, str, date, date, date]  # period, kind, start, end, month


def series_span(months: list[date]) -> int:
    """12 (rolling windows) with at least 13 months of data, else 1 (monthly points)."""
    return ROLLING_SPAN if len(set(months)) >= MIN_ROLLING_MONTHS else 1


def quarter_rows(present: list[date]) -> list[PeriodRow]:
    """One row per (quarter, month present)."""
    return [
        (quarter_id(m), "quarter", quarter_start(m), month_add(quarter_start(m), 2), m)
        for m in present
    ]


def window_rows(present: list[date]) -> list[PeriodRow]:
    """One row per (series window, month present); the window ending with the latest month
    is the latest-12 period, so it is not repeated here."""
    if not present:
        return []
    span = series_span(present)
    first, latest = present[0], present[-1]
    rows: list[PeriodRow] = []
    for end in present:
        if span > 1 and (end == latest or end < month_add(first, span - 1)):
            continue
        start = month_add(end, -(span - 1))
        rows += [
            (window_id(span, end), WINDOW_KIND, start, end, m)
            for m in present
            if start <= m <= end
        ]
    return rows


def change_pairs(periods: pd.DataFrame) -> dict[str, str]:
    """{later period: the same period a year earlier} for the changes that can be made.

    The latest 12 months against the 12-month window ending a year before the latest month;
    the latest complete quarter against the same quarter a year earlier (complete too).
    """
    if periods.empty:
        return {}
    out: dict[str, str] = {}
    spans = periods.groupby("period").agg(
        kind=("period_kind", "first"),
        start=("period_start", "first"),
        end=("period_end", "first"),
        months=("month", "nunique"),
    )
    latest = spans.loc[LATEST_12] if LATEST_12 in spans.index else None
    if latest is not None:
        earlier = window_id(ROLLING_SPAN, month_add(latest.end, -12))
        if earlier in spans.index and spans.loc[earlier, "kind"] == WINDOW_KIND:
            out[LATEST_12] = earlier
    quarters = spans[(spans.kind == "quarter") & (spans.months == 3)]
    if not quarters.empty:
        last = quarters.sort_values("start").index[-1]
        before = quarter_id(month_add(quarters.loc[last, "start"], -12))
        if before in quarters.index:
            out[str(last)] = before
    return out


def _pick(metrics: pd.DataFrame, measure: str, basis: str, groups: tuple[str, ...]):
    rows = metrics[
        (metrics.measure == measure)
        & (metrics.basis == basis)
        & metrics.grp.isin(groups)
        & (metrics.breakdown == "total")
        & (metrics.category == "")
    ]
    return rows.set_index(["area_kind", "area_code", "period", "grp"])


def change_rows(
    metrics: pd.DataFrame,
    pairs: Mapping[str, str],
    phi: Mapping[tuple[str, str, str, str], float] | None,
    columns: tuple[str, ...],
) -> pd.DataFrame:
    """The change rows (`CHANGE_MEASURES`) of every area with both periods' figures.

    ``metrics`` holds the computed figures of both periods of each pair; the row takes the
    later period's cell columns, breakdown ``year_earlier`` and the earlier period's id as
    its category.
    """
    parts = []
    phi = phi or {}
    wanted = {p for pair in pairs.items() for p in pair}
    metrics = metrics[
        metrics.period.isin(wanted)
        & metrics.measure.isin([source for source, _, _ in CHANGE_MEASURES.values()])
    ]
    for later, earlier in sorted(pairs.items()):
        for measure, (source, basis, groups) in CHANGE_MEASURES.items():
            rows = _pick(metrics, source, basis, groups)
            one = rows[rows.index.get_level_values("period") == later]
            if one.empty:
                continue
            zero_index = pd.MultiIndex.from_arrays(
                [
                    one.index.get_level_values(0),
                    one.index.get_level_values(1),
                    [earlier] * len(one),
                    one.index.get_level_values(3),
                ]
            )
            present = zero_index.isin(rows.index)  # no row a year earlier: no change row
            if not present.any():
                continue
            one, zero_index = one[present], zero_index[present]
            zero = rows.reindex(zero_index)
            value, low, high, num, den = _change(measure, one, zero, later, earlier, phi)
            frame = one.reset_index()[[c for c in columns if c in one.reset_index()]].copy()
            frame["breakdown"] = YEAR_EARLIER
            frame["category"] = earlier
            frame["measure"] = measure
            frame["value"], frame["ci_low"], frame["ci_high"] = value, low, high
            frame["numerator"], frame["denominator"] = num, den
            parts.append(frame[list(columns)])
    if not parts:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(parts, ignore_index=True)


def _phi(phi, kinds, period: str, measure: str, groups) -> np.ndarray:
    return np.fromiter(
        (phi.get((k, period, measure, g), 1.0) for k, g in zip(kinds, groups, strict=True)),
        dtype=float,
        count=len(kinds),
    )


def _interval(ratio: np.ndarray, variance: np.ndarray):
    ok = np.isfinite(ratio) & (ratio > 0) & np.isfinite(variance)
    se = np.sqrt(np.where(ok, variance, 0.0))
    low = np.where(ok, ratio * np.exp(-Z95 * se), np.nan)
    high = np.where(ok, ratio * np.exp(Z95 * se), np.nan)
    return low, high


def _change(measure, one, zero, later, earlier, phi):
    """(value, low, high, numerator, denominator) arrays of one change measure."""
    kinds = list(one.index.get_level_values(0))
    groups = list(one.index.get_level_values(3))
    v1 = one.value.to_numpy(float)
    v0 = zero.value.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((v0 > 0) & np.isfinite(v1), v1 / v0, np.nan)
        if measure == "search_rate_change":
            n1, n0 = one.numerator.to_numpy(float), zero.numerator.to_numpy(float)
            f1 = _phi(phi, kinds, later, "person_searches", groups)
            f0 = _phi(phi, kinds, earlier, "person_searches", groups)
            variance = np.where((n1 > 0) & (n0 > 0), f1 / n1 + f0 / n0, np.nan)
            low, high = _interval(ratio, variance)
            return ratio, low, high, n1, n0
        if measure == "positive_outcome_change":
            k1, k0 = one.numerator.to_numpy(float), zero.numerator.to_numpy(float)
            variance = np.where(
                (k1 > 0) & (k0 > 0), (1.0 - v1) / k1 + (1.0 - v0) / k0, np.nan
            )
            low, high = _interval(ratio, variance)
            return ratio, low, high, k1, k0
        # disproportionality: N_g and N_W of both periods (numerator, denominator of each)
        g1, w1 = one.numerator.to_numpy(float), one.denominator.to_numpy(float)
        g0, w0 = zero.numerator.to_numpy(float), zero.denominator.to_numpy(float)
        white = ["White"] * len(kinds)
        terms = (
            _phi(phi, kinds, later, "person_searches", groups) / g1
            + _phi(phi, kinds, later, "person_searches", white) / w1
            + _phi(phi, kinds, earlier, "person_searches", groups) / g0
            + _phi(phi, kinds, earlier, "person_searches", white) / w0
        )
        positive = (g1 > 0) & (w1 > 0) & (g0 > 0) & (w0 > 0)
        variance = np.where(positive, terms, np.nan)
    low, high = _interval(ratio, variance)
    nan = np.full(len(kinds), np.nan)
    return ratio, low, high, nan, nan
