"""Fair comparison of areas from the metrics frames: dispersion tables, funnel rows, precision.

* :func:`within_time_table`: phi_t per (area kind, period, count) from the monthly counts, with
  its inputs; :func:`phi_lookup` turns it into what `compute_metrics` widens intervals by.
* :func:`funnel_tables`: for wards and neighbourhoods, the search rate and the Black/White and
  Asian/White ratios of every published area against its exposure, with 95% and 99.8% limits
  around the force figure by chance alone and allowing for the between-area spread (phi_b,
  tau^2), and the between-area dispersion rows with their inputs.
* :func:`imprecise_flags`: the one precision rule (:mod:`stopsearch.metrics.precision`) applied
  to every figure that has an interval.

The statistics are in :mod:`dispersion` and :mod:`funnel`; this module only picks the rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from stopsearch.metrics import dispersion, funnel
from stopsearch.metrics.contract import BROAD_GROUPS, MEASURES
from stopsearch.metrics.precision import ratio_imprecise, value_imprecise

# The counts whose monthly spread is measured: (measure, basis, grp) of the monthly counts.
WITHIN_COUNTS: tuple[tuple[str, str], ...] = (
    ("searches", "All"),
    ("person_searches", "All"),  # people of the five stated groups (the All search_rate)
    *(("person_searches", g) for g in BROAD_GROUPS),
    ("all_person_searches", "All"),  # every person search (search_rate_all_persons)
)
FUNNEL_KINDS = ("ward", "neighbourhood")
FUNNEL_MEASURES: tuple[tuple[str, str], ...] = (
    ("search_rate", "All"),
    ("disproportionality_ratio", "Black"),
    ("disproportionality_ratio", "Asian"),
)
DISPERSION_COLUMNS = (
    "period",
    "area_kind",
    "scope",
    "measure",
    "grp",
    "n_areas",
    "chi_square",
    "df",
    "phi_raw",
    "phi",
    "tau2",
    "target",
)
FUNNEL_COLUMNS = (
    "period",
    "area_kind",
    "area_code",
    "area_name",
    "measure",
    "grp",
    "value",
    "exposure",
    "target",
    "lo95",
    "hi95",
    "lo998",
    "hi998",
    "lo95_adj",
    "hi95_adj",
    "lo998_adj",
    "hi998_adj",
    "band",
    "band_adjusted",
    "unusual",
)


def _monthly_series(monthly: pd.DataFrame) -> pd.DataFrame:
    """Monthly counts per (area, month) for every count of WITHIN_COUNTS, long form."""
    total = monthly[monthly.breakdown.eq("total") & monthly.category.eq("")]
    keys = ["area_kind", "area_code", "month"]
    parts = []
    searches = total[total.basis.eq("none") & total.grp.eq("All")]
    parts.append(searches[keys].assign(measure="searches", grp="All", count=searches.searches))
    persons = total[total.basis.eq("self_defined")]
    if not persons.empty:
        wide = persons.pivot_table(
            index=keys, columns="grp", values="searches", aggfunc="sum", fill_value=0
        )
        for group in BROAD_GROUPS:
            if group not in wide:
                wide[group] = 0
        for measure, group in WITHIN_COUNTS:
            if measure == "searches":
                continue
            if measure == "all_person_searches":
                values = wide.sum(axis=1)
            elif group == "All":
                values = wide[list(BROAD_GROUPS)].sum(axis=1)
            else:
                values = wide[group]
            part = values.rename("count").reset_index()
            parts.append(part.assign(measure=measure, grp=group))
    return pd.concat(parts, ignore_index=True)


def _area_month_matrix(areas: np.ndarray, months: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Areas x months, rows and columns in code order, NaN where an area had no row that month:
    what ``pivot_table(index=area, columns=month, aggfunc="sum")`` gives, without its cost (it
    runs for every period, area kind and count)."""
    area_rows, area_at = np.unique(areas, return_inverse=True)
    month_cols, month_at = np.unique(months, return_inverse=True)
    matrix = np.zeros((len(area_rows), len(month_cols)))
    np.add.at(matrix, (area_at, month_at), values)
    present = np.zeros(matrix.shape, dtype=bool)
    present[area_at, month_at] = True
    matrix[~present] = np.nan
    return matrix


def within_time_table(monthly: pd.DataFrame, area_months: pd.DataFrame) -> pd.DataFrame:
    """phi_t per (period, area kind, count), pooled over the areas of the kind.

    ``area_months`` has one row per (area_kind, area_code, period, month) in which the area
    existed and the force had data: those months enter, with 0 when there was no search.
    The force itself is left out: one area gives no pooled figure (9 or 11 degrees of freedom)
    and its month-to-month changes are mostly trend and season, so force-wide intervals stay
    Poisson; they are also the target the areas are compared with.
    """
    area_months = area_months[area_months.area_kind.ne("force")]
    if monthly.empty or area_months.empty:
        return pd.DataFrame(columns=list(DISPERSION_COLUMNS))
    series = _monthly_series(monthly)
    rows = []
    for measure, group in WITHIN_COUNTS:
        counts = series[series.measure.eq(measure) & series.grp.eq(group)]
        grid = area_months.merge(
            counts[["area_kind", "area_code", "month", "count"]],
            on=["area_kind", "area_code", "month"],
            how="left",
        )
        grid["count"] = grid["count"].fillna(0.0).astype(float)
        areas = pd.factorize(grid.area_code, sort=True)[0]
        months = pd.factorize(grid.month, sort=True)[0]
        values = grid["count"].to_numpy(float)
        for (period, kind), rows_at in grid.groupby(
            ["period", "area_kind"], sort=True
        ).indices.items():
            matrix = _area_month_matrix(areas[rows_at], months[rows_at], values[rows_at])
            result = dispersion.within_time(matrix)
            rows.append(
                (
                    period,
                    kind,
                    "within_time",
                    measure,
                    group,
                    result.n_areas,
                    result.chi_square,
                    result.df,
                    result.phi_raw,
                    result.phi,
                    np.nan,
                    np.nan,
                )
            )
    return pd.DataFrame(rows, columns=list(DISPERSION_COLUMNS))


def phi_lookup(table: pd.DataFrame) -> dict[tuple[str, str, str, str], float]:
    """{(area_kind, period, measure, grp): phi_t} of the within-time rows."""
    within = table[table.scope.eq("within_time")]
    return {
        (k, p, m, g): float(f)
        for k, p, m, g, f in zip(
            within.area_kind, within.period, within.measure, within.grp, within.phi, strict=True
        )
    }


def phi_for(
    phi: Mapping[tuple[str, str, str, str], float] | None,
    kinds: pd.Series,
    periods: pd.Series,
    measure: str,
    group: str,
) -> np.ndarray:
    """phi_t of each row (1 where none was measured)."""
    if not phi:
        return np.ones(len(kinds))
    return np.fromiter(
        (phi.get((k, p, measure, group), 1.0) for k, p in zip(kinds, periods, strict=True)),
        dtype=float,
        count=len(kinds),
    )


def imprecise_flags(metrics: pd.DataFrame) -> pd.Series:
    """The precision rule for every row with an interval; NA for rows without one."""
    kinds = metrics.measure.map(lambda m: MEASURES[m].kind)
    low = metrics.ci_low.to_numpy(float)
    high = metrics.ci_high.to_numpy(float)
    value = metrics.value.to_numpy(float)
    has_ci = np.isfinite(low) & np.isfinite(high)
    flags = np.where(
        (kinds == "ratio").to_numpy(),
        ratio_imprecise(low, high),
        value_imprecise(value, low, high),
    )
    out = pd.Series(flags, index=metrics.index, dtype="boolean")
    out[~has_ci] = pd.NA
    return out


def _cells(frame: pd.DataFrame, kind: str, period: str, measure: str, group: str) -> pd.DataFrame:
    return frame[
        frame.area_kind.eq(kind)
        & frame.period.eq(period)
        & frame.measure.eq(measure)
        & frame.grp.eq(group)
        & frame.basis.eq("self_defined")
        & frame.breakdown.eq("total")
    ]


def funnel_tables(published: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(between-area dispersion rows, funnel rows) from the published figures.

    Only published values enter (so anyone can recompute phi_b, tau^2 and the limits from the
    extracts); the target is the force's published figure of the same period.
    """
    shown = published[published.reason.isna() & published.value.notna()]
    periods = sorted(set(shown.loc[shown.period_kind.ne("month"), "period"]))
    between_rows: list[tuple] = []
    funnel_parts: list[pd.DataFrame] = []
    for period in periods:
        force_rows = shown[shown.area_kind.eq("force") & shown.period.eq(period)]
        for kind in FUNNEL_KINDS:
            for measure, group in FUNNEL_MEASURES:
                head = _cells(force_rows, "force", period, measure, group)
                cells = _cells(shown, kind, period, measure, group)
                if head.empty or cells.empty:
                    continue
                target = float(head.value.iloc[0])
                if not np.isfinite(target) or target <= 0:
                    continue
                value = cells.value.to_numpy(float)
                if measure == "search_rate":
                    exposure = cells.denominator.to_numpy(float)
                    se = funnel.rate_se(target, exposure)
                    scale_value, scale_target = value, target
                else:
                    exposure = _ratio_precision(shown, cells, target)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        se = 1.0 / np.sqrt(exposure)
                    positive = np.where(value > 0, value, np.nan)
                    scale_value, scale_target = np.log(positive), float(np.log(target))
                between = dispersion.between_areas(scale_value, scale_target, se)
                between_rows.append(
                    (
                        period,
                        kind,
                        "between_areas",
                        measure,
                        group,
                        between.n_areas,
                        between.chi_square,
                        between.df,
                        between.phi,
                        between.phi,
                        between.tau2,
                        target,
                    )
                )
                funnel_parts.append(
                    _funnel_rows(cells, value, exposure, target, between.tau2, measure)
                )
    between_frame = pd.DataFrame(between_rows, columns=list(DISPERSION_COLUMNS))
    rows = (
        pd.concat(funnel_parts, ignore_index=True)
        if funnel_parts
        else pd.DataFrame(columns=list(FUNNEL_COLUMNS))
    )
    return between_frame, rows


def _ratio_precision(shown: pd.DataFrame, cells: pd.DataFrame, target: float) -> np.ndarray:
    """Precision of each area's ln(ratio) from its counts and published populations."""
    rows = shown.measure.eq("population") & shown.basis.eq("self_defined")
    pops = shown[rows & shown.breakdown.eq("total")].set_index(
        ["area_kind", "area_code", "period", "grp"]
    )["value"]
    index_g = pd.MultiIndex.from_arrays([cells.area_kind, cells.area_code, cells.period, cells.grp])
    index_w = pd.MultiIndex.from_arrays(
        [cells.area_kind, cells.area_code, cells.period, ["White"] * len(cells)]
    )
    p_g = pops.reindex(index_g).to_numpy(float)
    p_w = pops.reindex(index_w).to_numpy(float)
    return funnel.ratio_precision(cells.numerator, cells.denominator, p_g, p_w, target)


def _funnel_rows(
    cells: pd.DataFrame,
    value: np.ndarray,
    exposure: np.ndarray,
    target: float,
    tau2: float,
    measure: str,
) -> pd.DataFrame:
    limits = funnel.rate_limits if measure == "search_rate" else funnel.ratio_limits
    frame = cells[["period", "area_kind", "area_code", "area_name", "measure", "grp"]].copy()
    frame["value"] = value
    frame["exposure"] = exposure
    frame["target"] = target
    for suffix, extra in (("", 0.0), ("_adj", tau2)):
        inner = limits(target, exposure, funnel.LEVELS["95"], extra)
        outer = limits(target, exposure, funnel.LEVELS["99.8"], extra)
        frame[f"lo95{suffix}"], frame[f"hi95{suffix}"] = inner.low, inner.high
        frame[f"lo998{suffix}"], frame[f"hi998{suffix}"] = outer.low, outer.high
        name = "band" if not suffix else "band_adjusted"
        frame[name] = np.where(np.isfinite(exposure), funnel.band(value, inner, outer), 0)
    frame["unusual"] = frame.band_adjusted.abs().eq(2)
    return frame[np.isfinite(exposure)].reset_index(drop=True)[list(FUNNEL_COLUMNS)]
