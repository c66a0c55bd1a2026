"""Disclosure control applied, in one place, to every published count, rate and ratio.

Practice followed (REFERENCE.md section 5): counts 1..4 in any published cross-tab below force
level are shown as "<5" and protected against recovery by subtraction (secondary suppression,
:mod:`stopsearch.metrics.protection`); a rate is published only when N >= 10 and the population
is >= 100; a ratio only when both counts are >= 5, else "insufficient data". Zeros are
published: "no searches of this group here" is not information about a person. Force-level
figures are never suppressed. Every withheld figure carries a reason code.

A rate or ratio whose numerator is a suppressed count must itself be withheld (population
figures are public, so the rate would give the count back): pass the count's reason to
:func:`rate_reasons` / :func:`ratio_reasons` and it wins.

What a withheld figure shows (:func:`display_for`): ``small_count`` -> "<5" (from
``min_count``); ``secondary`` -> "suppressed" (a secondary cell may hold any count, so "<5"
would be false); the rate and ratio thresholds -> "insufficient data"; ``no_population`` ->
"no population data"; ``no_data`` -> "no data". Reasons are strings; None (or NaN) means
publish.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stopsearch.metrics.protection import protect_table
from stopsearch.thresholds import SuppressionRules

SMALL_COUNT = "small_count"
SECONDARY = "secondary"
RATE_SMALL_COUNT = "rate_small_count"
RATE_SMALL_POPULATION = "rate_small_population"
RATIO_INSUFFICIENT_DATA = "ratio_insufficient_data"
NO_POPULATION = "no_population"
NO_DATA = "no_data"
REASONS = (
    SMALL_COUNT,
    SECONDARY,
    RATE_SMALL_COUNT,
    RATE_SMALL_POPULATION,
    RATIO_INSUFFICIENT_DATA,
    NO_POPULATION,
    NO_DATA,
)

INSUFFICIENT_DATA = "insufficient data"
SUPPRESSED = "suppressed"
_DISPLAY = {
    SECONDARY: SUPPRESSED,
    RATE_SMALL_COUNT: INSUFFICIENT_DATA,
    RATE_SMALL_POPULATION: INSUFFICIENT_DATA,
    RATIO_INSUFFICIENT_DATA: INSUFFICIENT_DATA,
    NO_POPULATION: "no population data",
    NO_DATA: "no data",
}

LEVEL_CELL = "cell"
LEVEL_AREA_TOTAL = "area_total"
LEVEL_FORCE = "force"


DEFAULT_RULES = SuppressionRules()


def display_for(reason: str, rules: SuppressionRules = DEFAULT_RULES) -> str:
    """Text shown in place of a withheld figure with this reason code."""
    if reason == SMALL_COUNT:
        return rules.small_count_display
    try:
        return _DISPLAY[reason]
    except KeyError:
        raise ValueError(f"unknown reason code {reason!r}") from None


def _reason_array(shape: tuple[int, ...], given: object) -> np.ndarray:
    """An object array of reasons (None = publishable), seeded from a count's reasons."""
    out = np.full(shape, None, dtype=object)
    if given is not None:
        out[...] = np.broadcast_to(np.asarray(given, dtype=object), shape)
        for idx in np.ndindex(shape):
            if not isinstance(out[idx], str):
                out[idx] = None  # NaN / pd.NA from a pandas column mean "no reason"
    return out


def _free(reasons: np.ndarray) -> np.ndarray:
    """Boolean mask of entries with no reason yet."""
    return np.array([r is None for r in reasons.flat], dtype=bool).reshape(reasons.shape)


def _fill(out: np.ndarray, condition: np.ndarray, reason: str) -> None:
    """Set ``reason`` where the condition holds and no earlier reason was set."""
    out[_free(out) & condition] = reason


def rate_reasons(
    n: object,
    population: object,
    rules: SuppressionRules = DEFAULT_RULES,
    *,
    months: object = None,
    count_reason: object = None,
) -> np.ndarray:
    """Why each rate is withheld (None = publish): count's reason, no data, population, N."""
    n_a, pop_a = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(population, float))
    if months is not None:
        m_a = np.broadcast_to(np.asarray(months, dtype=float), n_a.shape)
        n_a = np.where(m_a > 0, n_a, np.nan)
    out = _reason_array(n_a.shape, count_reason)
    _fill(out, np.isnan(n_a), NO_DATA)
    _fill(out, ~(pop_a > 0), NO_POPULATION)
    _fill(out, n_a < rules.min_rate_count, RATE_SMALL_COUNT)
    _fill(out, pop_a < rules.min_rate_population, RATE_SMALL_POPULATION)
    return out


def ratio_reasons(
    n_g: object,
    n_w: object,
    p_g: object,
    p_w: object,
    rules: SuppressionRules = DEFAULT_RULES,
    *,
    count_reason_g: object = None,
    count_reason_w: object = None,
) -> np.ndarray:
    """Why each ratio is withheld (None = publish): counts' reasons, no data, population, N."""
    ng, nw, pg, pw = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (n_g, n_w, p_g, p_w))
    )
    out = _reason_array(ng.shape, count_reason_g)
    if count_reason_w is not None:
        w = _reason_array(ng.shape, count_reason_w)
        free = _free(out)
        out[free] = w[free]
    _fill(out, np.isnan(ng) | np.isnan(nw), NO_DATA)
    _fill(out, ~((pg > 0) & (pw > 0)), NO_POPULATION)
    _fill(out, (ng < rules.min_ratio_count) | (nw < rules.min_ratio_count), RATIO_INSUFFICIENT_DATA)
    return out


def _labels(values: pd.Series) -> list[object]:
    """Distinct labels in order of first appearance."""
    return list(pd.unique(values))


def suppress_crosstab(
    frame: pd.DataFrame,
    rules: SuppressionRules = DEFAULT_RULES,
    *,
    area: str = "area",
    group: str = "group",
    count: str = "count",
    by: Sequence[str] = (),
    total_label: str = "Total",
) -> pd.DataFrame:
    """Publishable long table of an areas x groups cross-tab, with totals, after suppression.

    ``frame`` has one row per (by..., area, group) with a non-negative whole ``count``; a pair
    absent from the frame had no searches (the table is completed with zeros over every area
    and group seen anywhere in ``frame``). Each ``by`` slice (e.g. a month) is its own table.
    Returns columns ``[*by, area, group, level, value, display, reason]``: ``level`` is "cell",
    "area_total" (group = ``total_label``) or "force" (area = ``total_label``, never
    suppressed); ``value`` is the count or None when suppressed. Raw counts are not returned.
    """
    by = list(by)
    missing = [c for c in [*by, area, group, count] if c not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")
    counts = pd.to_numeric(frame[count], errors="raise").astype(float)
    if counts.isna().any() or (counts < 0).any() or (counts != counts.round()).any():
        raise ValueError(f"{count} must hold non-negative whole numbers")
    if frame.duplicated([*by, area, group]).any():
        raise ValueError(f"duplicate ({', '.join([*by, area, group])}) rows")
    areas, groups = _labels(frame[area]), _labels(frame[group])
    if total_label in areas or total_label in groups:
        raise ValueError(f"total_label {total_label!r} is also an area or group label")
    if len(areas) < 2:
        raise ValueError("need at least two areas: with one, the area is the force total")
    slices = frame.groupby(by, sort=False, dropna=False) if by else [((), frame)]
    parts = []
    for key, part in slices:
        key_values = key if isinstance(key, tuple) else (key,)
        table = (
            part.pivot(index=area, columns=group, values=count)
            .reindex(index=areas, columns=groups)
            .fillna(0)
            .to_numpy(dtype=np.int64)
        )
        parts.append(
            _publish_table(
                table,
                areas,
                groups,
                dict(zip(by, key_values, strict=True)),
                rules,
                area,
                group,
                total_label,
            )
        )
    return pd.concat(parts, ignore_index=True)


def _publish_table(
    table: np.ndarray,
    areas: list[object],
    groups: list[object],
    key: dict[str, object],
    rules: SuppressionRules,
    area: str,
    group: str,
    total_label: str,
) -> pd.DataFrame:
    """Rows of one protected table: cells, area totals, then the force-level row."""
    protection = protect_table(table, rules.min_count)
    y = np.column_stack([table, table.sum(axis=1)])
    column_labels = [*groups, total_label]
    rows = []
    for a, area_label in enumerate(areas):
        for j, group_label in enumerate(column_labels):
            level = LEVEL_AREA_TOTAL if j == len(groups) else LEVEL_CELL
            if protection.primary[a, j]:
                reason = SMALL_COUNT
            elif protection.suppressed[a, j]:
                reason = SECONDARY
            else:
                reason = None
            value = None if reason else int(y[a, j])
            display = display_for(reason, rules) if reason else str(value)
            rows.append((area_label, group_label, level, value, display, reason))
    for j, group_label in enumerate(column_labels):
        total = int(y[:, j].sum())
        rows.append((total_label, group_label, LEVEL_FORCE, total, str(total), None))
    columns = [area, group, "level", "value", "display", "reason"]
    out = pd.DataFrame(
        {c: pd.Series([r[i] for r in rows], dtype=object) for i, c in enumerate(columns)}
    )
    for name, key_value in reversed(key.items()):
        out.insert(0, name, key_value)
    return out
