"""Suppression, applied in one place: the `metrics` grid in, the publishable grid out.

Two modes (``record_level_mode(rules)``; the threat model is on the methodology page):

- **record level** (the default; data.police.uk, whose records are public one by one): the
  thresholds serve reliability, not secrecy, so only the primary ones apply. A count of 1-4 below
  force level is shown as "<5"; nothing else is withheld to hide it, and it may well be worked
  out from other figures (or read from the records): no claim is made that it cannot.
- **not record level** (a source whose records are not public): the primary rules, then
  whole-release protection (:mod:`stopsearch.metrics.linked`).

Primary rules (thresholds from configuration, defaults in `SuppressionRules`):
- Counts 1-4 in every table below force level are withheld as "<5". Force-level counts are
  never withheld (except inside/outside priority areas, a geography below the force).
- A rate per 1,000 needs N >= 10 and population >= 100; a ratio needs both counts >= 5
  ("insufficient data") and both populations >= 100; a rate or ratio whose count is withheld is
  withheld too.
- A share (positive-outcome, arrest, find, near-boundary...) needs a denominator >= 10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stopsearch.metrics.contract import (
    CHANGE_MEASURES,
    RATE_MEASURES,
    YEAR_EARLIER,
    format_value,
)
from stopsearch.metrics.linked import closed_years, protect_release
from stopsearch.metrics.suppression import (
    NO_DATA,
    RATE_SMALL_COUNT,
    SECONDARY,
    SMALL_COUNT,
    SuppressionRules,
    display_for,
    rate_reasons,
    ratio_reasons,
    suppress_crosstab,
)
from stopsearch.thresholds import record_level_mode

SHARES = (
    "positive_outcome_rate",
    "arrest_rate",
    "find_rate",
    "near_boundary_share",
    "outside_area_share",
    "no_location_share",
    "unstated_share",
)
OUTCOME_SHARES = ("positive_outcome_rate", "arrest_rate", "find_rate")
UNSTATED = ("Not stated", "Unknown")
_CELL = ["area_kind", "area_code", "period", "basis", "grp", "breakdown", "category"]


def _key(frame: pd.DataFrame) -> pd.Series:
    """One text key per row from the cell columns (vectorised)."""
    key = frame[_CELL[0]].astype(str)
    for column in _CELL[1:]:
        key = key + "|" + frame[column].astype(str)
    return key


def _lookup(reasons: dict[tuple, str], rows: pd.DataFrame, columns: list[str]) -> list:
    """reasons.get(tuple of `columns`) for every row."""
    return [reasons.get(t) for t in zip(*(rows[c] for c in columns), strict=True)]


def _crosstab_reasons(
    cells: pd.DataFrame, rules: SuppressionRules, column: str
) -> tuple[dict[tuple, str], dict[tuple, str]]:
    """Suppress one family of area x `column` tables (per area kind and period).

    Returns reasons for cells {(kind, code, period, label): reason} and for area totals
    {(kind, code, period): reason}.
    """
    cell_reasons: dict[tuple, str] = {}
    total_reasons: dict[tuple, str] = {}
    for (kind,), part in cells.groupby(["area_kind"], sort=True):
        frame = part[["period", "area_code", column, "value"]].rename(
            columns={"area_code": "area", column: "group", "value": "count"}
        )
        frame["count"] = frame["count"].fillna(0).round().astype("int64")
        for (period,), slice_ in frame.groupby(["period"], sort=True):
            areas = slice_["area"].unique()
            if len(areas) < 2 or slice_["group"].nunique() < 1:
                for r in slice_.itertuples():
                    if 0 < r.count < rules.min_count:
                        cell_reasons[(kind, r.area, period, r.group)] = SMALL_COUNT
                        total_reasons.setdefault((kind, r.area, period), SECONDARY)
                continue
            result = suppress_crosstab(
                slice_, rules, area="area", group="group", count="count", total_label="\x00total"
            )
            for r in result.itertuples():
                if r.reason is None or pd.isna(r.reason):
                    continue
                if r.level == "cell":
                    cell_reasons[(kind, r.area, period, r.group)] = r.reason
                elif r.level == "area_total":
                    total_reasons[(kind, r.area, period)] = r.reason
    return cell_reasons, total_reasons


def _primary_count_reasons(metrics: pd.DataFrame, rules: SuppressionRules) -> pd.Series:
    """Record-level mode: "<5" for every count of 1-4 below force level, and nothing else.

    Inside/outside priority areas at force level is a geography below the force: a small count
    there is "<5" too.
    """
    reasons = pd.Series([None] * len(metrics), index=metrics.index, dtype=object)
    counts = metrics.measure.isin(["searches", "contradictory_outcomes"])
    below = (metrics.area_kind != "force") | (metrics.breakdown == "priority")
    small = metrics.value.between(1, rules.min_count - 1)
    reasons[counts & below & small] = SMALL_COUNT
    return reasons


def _count_reasons(
    metrics: pd.DataFrame, rules: SuppressionRules, parents: dict | None = None
) -> pd.Series:
    """Reason for every `searches` / `contradictory_outcomes` row (None = publish)."""
    if record_level_mode(rules):
        return _primary_count_reasons(metrics, rules)
    if parents is not None:
        return protect_release(metrics, parents, rules.min_count)[0]
    reasons = pd.Series([None] * len(metrics), index=metrics.index, dtype=object)
    counts = metrics[metrics.measure == "searches"]
    below = counts[counts.area_kind != "force"]
    totals: dict[tuple, str] = {}
    cell_maps: list[tuple[pd.Index, dict, str]] = []
    # Groups, per basis.
    for basis in ("self_defined", "officer_defined"):
        cells = below[
            (below.basis == basis) & (below.grp != "All") & (below.period_kind != "month")
        ]
        cell_r, total_r = _crosstab_reasons(cells, rules, "grp")
        for key, why in total_r.items():
            totals[(*key, basis)] = why
        cell_maps.append((cells.index, cell_r, "grp"))
    # Breakdowns of all searches.
    for breakdown in ("type", "legislation", "object_group", "age_range", "outcome_class"):
        cells = below[
            (below.basis == "none")
            & (below.breakdown == breakdown)
            & (below.period_kind != "month")
        ]
        cell_r, total_r = _crosstab_reasons(cells, rules, "category")
        for key, why in total_r.items():
            totals.setdefault((*key, "none"), why)
        cell_maps.append((cells.index, cell_r, "category"))
    # Months of the latest 12, per area, with the latest-12 total as the row total.
    months = below[
        (below.period_kind == "month") & (below.basis == "none") & (below.breakdown == "total")
    ].assign(month_label=lambda f: f.period)
    months = months.assign(period="latest-12")
    cell_r, total_r = _crosstab_reasons(months, rules, "month_label")
    for key, why in total_r.items():
        totals.setdefault((*key, "none"), why)
    found = _lookup(
        cell_r,
        months.assign(month_label=metrics.loc[months.index, "period"]),
        ["area_kind", "area_code", "period", "month_label"],
    )
    for index, why in zip(months.index, found, strict=True):
        if why:
            reasons[index] = why
    # Designation phases and contradictory counts: primary only (no published sums over them).
    for idx in below[below.breakdown == "designation"].index:
        value = metrics.at[idx, "value"]
        if 0 < value < rules.min_count:
            reasons[idx] = SMALL_COUNT
    contradictory = metrics[
        (metrics.measure == "contradictory_outcomes") & (metrics.area_kind != "force")
    ]
    small = contradictory.value.between(1, rules.min_count - 1)
    reasons[contradictory.index[small]] = SMALL_COUNT
    # Map cell reasons back.
    for index, cell_r, column in cell_maps:
        rows = metrics.loc[index]
        for idx, why in zip(
            index, _lookup(cell_r, rows, ["area_kind", "area_code", "period", column]), strict=True
        ):
            if why:
                reasons[idx] = why
    # Area totals shared by several tables: withheld in one, withheld in all.
    shared = below[(below.grp == "All") & (below.breakdown == "total")]
    other = shared.basis.map(
        {"self_defined": "officer_defined", "officer_defined": "self_defined"}
    ).fillna("-")
    own = _lookup(totals, shared, ["area_kind", "area_code", "period", "basis"])
    twin = _lookup(
        totals, shared.assign(basis=other), ["area_kind", "area_code", "period", "basis"]
    )
    for idx, a, b in zip(shared.index, own, twin, strict=True):
        if a or b:
            reasons[idx] = a or b
    # Inside/outside priority areas at force level: a geography below the force.
    inside = counts[(counts.area_kind == "force") & (counts.breakdown == "priority")]
    for (_period,), part in inside.groupby(["period"]):
        if part.value.between(1, rules.min_count - 1).any():
            for idx in part.index:
                small_cell = 0 < metrics.at[idx, "value"] < rules.min_count
                reasons[idx] = SMALL_COUNT if small_cell else SECONDARY
    return reasons


def _withhold_linked(out: pd.DataFrame, reasons: pd.Series, count_key: dict) -> None:
    """Whole-release mode: figures whose numerators or denominators combine withheld counts.

    The All search rate (its numerator is the five stated groups), the unknown-ethnicity share
    and the ratio bounds (Not stated + Unknown), wherever a stated group's count or the
    self-defined total of the area is withheld; the area's outcome shares wherever any outcome
    class count is withheld (their base is the searches less the unknown outcomes).
    """
    counts = out[(out.measure == "searches") & (out.period_kind != "month")]
    withheld = [count_key.get(k) is not None for k in _key(counts)]
    hidden = counts[withheld]
    by_area = ["area_kind", "area_code", "period"]
    # Not stated + Unknown is the self-defined total less the stated groups: where those are
    # all published the sum is known anyway, whichever of its two parts is withheld.
    stated_or_total = (hidden.basis == "self_defined") & ~hidden.grp.isin(UNSTATED)
    groups = {tuple(k) for k in hidden[stated_or_total][by_area].itertuples(index=False)}
    outcomes = {
        tuple(k)
        for k in hidden[hidden.breakdown == "outcome_class"][by_area].itertuples(index=False)
    }
    keys = list(zip(out.area_kind, out.area_code, out.period, strict=True))
    ethnic = out.measure.isin(["unstated_share", "dr_unknown_low", "dr_unknown_high"]) | (
        (out.measure == "search_rate") & (out.grp == "All")
    )
    outcome = out.measure.isin(OUTCOME_SHARES) & (out.breakdown == "total") & (out.basis == "none")
    for i, (key, e, o) in enumerate(zip(keys, ethnic, outcome, strict=True)):
        if pd.isna(reasons.iat[i]) and ((e and key in groups) or (o and key in outcomes)):
            reasons.iat[i] = SECONDARY


def _withhold_changes(out: pd.DataFrame, reasons: pd.Series) -> None:
    """A change on a year earlier is withheld, with the same reason, when the figure it
    compares is withheld in either period (the later one's reason first)."""
    changes = out[out.measure.isin(list(CHANGE_MEASURES)) & (out.breakdown == YEAR_EARLIER)]
    if changes.empty:
        return
    sources = out[out.measure.isin([m for m, _, _ in CHANGE_MEASURES.values()])]
    sources = sources[(sources.breakdown == "total") & (sources.category == "")]
    key_cols = ["area_kind", "area_code", "period", "basis", "grp", "measure"]
    reason_of = dict(
        zip(
            zip(*(sources[c] for c in key_cols), strict=True),
            reasons[sources.index],
            strict=True,
        )
    )
    for idx, r in zip(changes.index, changes.itertuples(index=False), strict=True):
        source = CHANGE_MEASURES[r.measure][0]
        later = reason_of.get((r.area_kind, r.area_code, r.period, r.basis, r.grp, source))
        earlier = reason_of.get((r.area_kind, r.area_code, r.category, r.basis, r.grp, source))
        why = next((w for w in (later, earlier) if isinstance(w, str)), None)
        if why is not None and pd.isna(reasons.at[idx]):
            reasons.at[idx] = why


def publishable(
    metrics: pd.DataFrame, rules: SuppressionRules, parents: dict | None = None
) -> pd.DataFrame:
    """The published grid: suppressed values null, with reason codes and display text.

    `parents` ({(kind, code): (kind, code)}, each ward's council) selects whole-release
    protection when the records are not public (:mod:`stopsearch.metrics.linked`); without it
    that mode falls back to protecting each table on its own.
    """
    out = metrics.copy()
    for column in (*_CELL, "measure", "period_kind"):  # the row loops below read these
        if column in out:
            out[column] = out[column].astype(object)
    if out.empty:
        out["reason"] = pd.Series(dtype=object)
        out["display"] = pd.Series(dtype=object)
        return out
    record_level = record_level_mode(rules)
    reasons = _count_reasons(out, rules, parents)
    linked = parents is not None and not record_level
    is_count = (out.measure == "searches").to_numpy()
    count_key = dict(zip(_key(out[is_count]), reasons[is_count], strict=True))

    def count_reason(frame: pd.DataFrame, grp: pd.Series | None = None) -> list:
        keyed = frame.assign(grp=grp) if grp is not None else frame
        return [count_key.get(k) for k in _key(keyed)]

    below = out.area_kind != "force"
    # Rates per 1,000.
    rate = out.measure.isin(RATE_MEASURES)
    if rate.any():
        part = out[rate]
        why = rate_reasons(
            part.numerator,
            part.denominator,
            rules,
            months=part.months_present,
            count_reason=np.array(count_reason(part), dtype=object),
        )
        # denominators are person-years; the population threshold applies to residents
        pop = part.denominator * 12.0 / part.months_present.replace(0, np.nan)
        small_pop = (pop < rules.min_rate_population).to_numpy()
        # numpy's stubs have no None among where()'s values; it is an object array's element
        why = np.where((why == "rate_small_population") & ~small_pop, None, why)  # type: ignore[call-overload]
        reasons[part.index] = why
    # Ratios and their unknown-ethnicity bounds.
    for measure in ("disproportionality_ratio", "dr_unknown_low", "dr_unknown_high"):
        mask = out.measure == measure
        if not mask.any():
            continue
        part = out[mask]
        ratio_rows = out[(out.measure == "disproportionality_ratio")].set_index(
            _key(out[out.measure == "disproportionality_ratio"])
        )
        keys = _key(part)
        n_g = ratio_rows.numerator.reindex(keys).to_numpy(float)
        n_w = ratio_rows.denominator.reindex(keys).to_numpy(float)
        pops = out[out.measure == "population"].set_index(_key(out[out.measure == "population"]))
        p_g = pops.value.reindex(keys).to_numpy(float)
        white = _key(part.assign(grp="White"))
        p_w = pops.value.reindex(white).to_numpy(float)
        why = ratio_reasons(
            n_g,
            n_w,
            np.nan_to_num(p_g),
            np.nan_to_num(p_w),
            rules,
            count_reason_g=np.array(count_reason(part), dtype=object),
            count_reason_w=np.array(count_reason(part.assign(grp="White")), dtype=object),
        )
        small_pop = (np.nan_to_num(p_g) < rules.min_rate_population) | (
            np.nan_to_num(p_w) < rules.min_rate_population
        )
        why = np.array(
            [
                w or ("rate_small_population" if s else None)
                for w, s in zip(why, small_pop, strict=True)
            ],
            dtype=object,
        )
        if measure != "disproportionality_ratio" and not record_level and not linked:
            unstated = [
                count_key.get(a) or count_key.get(b)
                for a, b in zip(
                    _key(part.assign(grp="Not stated")),
                    _key(part.assign(grp="Unknown")),
                    strict=True,
                )
            ]
            why = np.array(
                [w or (SECONDARY if u else None) for w, u in zip(why, unstated, strict=True)],
                dtype=object,
            )
        reasons[part.index] = why
    # Shares.
    share = out.measure.isin(SHARES)
    part = out[share]
    k = part.numerator.to_numpy(float)
    n = part.denominator.to_numpy(float)
    small_k = (k > 0) & (k < rules.min_count)
    small_rest = (n - k > 0) & (n - k < rules.min_count)
    local = below[share].to_numpy()
    why = np.full(len(part), None, dtype=object)
    why[np.isnan(n) | (n <= 0)] = NO_DATA
    free = np.array([w is None for w in why])
    why[free & (n < rules.min_rate_count)] = RATE_SMALL_COUNT
    free = np.array([w is None for w in why])
    if not record_level:  # a share and its base give the count back
        why[free & local & (small_k | small_rest)] = SMALL_COUNT
    group_rows = part.basis.isin(["self_defined", "officer_defined"]).to_numpy()
    if linked:  # every share resting on a withheld count
        group_rows = np.ones(len(part), dtype=bool)
    base = np.array(count_reason(part), dtype=object)
    for i in np.flatnonzero(group_rows):
        if why[i] is None and base[i] is not None:
            why[i] = base[i]
    unstated_at = np.flatnonzero((part.measure == "unstated_share").to_numpy())
    if len(unstated_at) and not record_level and not linked:  # linked: _withhold_linked
        rows = part.iloc[unstated_at]
        a = count_reason(rows.assign(grp="Not stated"))
        b = count_reason(rows.assign(grp="Unknown"))
        for i, x, y in zip(unstated_at, a, b, strict=True):
            if why[i] is None and (x or y):
                why[i] = SECONDARY
    reasons[part.index] = why
    if linked:
        _withhold_linked(out, reasons, count_key)
    _withhold_changes(out, reasons)
    # Values that cannot be computed at all.
    undefined = out.value.isna() & reasons.isna() & ~out.measure.isin(["population"])
    reasons[undefined] = NO_DATA
    out["reason"] = reasons.where(reasons.notna(), None)
    withheld = out.reason.notna()
    out.loc[withheld, ["value", "ci_low", "ci_high", "numerator", "denominator"]] = np.nan
    if "imprecise" in out:  # the precision of a withheld figure is not published either
        out["imprecise"] = out["imprecise"].astype("boolean").mask(withheld, pd.NA)
    out["display"] = [
        display_for(r, rules) if r is not None else format_value(m, v)
        for r, m, v in zip(out.reason, out.measure, out.value, strict=True)
    ]
    if linked:
        # Below force level every period but a closed year (months, quarters, trend windows,
        # the latest 12 months, the year so far) is not published at all, residents aside:
        # not even as withheld rows, whose presence would say which counts are not zero
        # (zero rows are left out), nor as a zero rate.
        unpublished = below & ~closed_years(out) & ~out.measure.eq("population")
        out = out[~unpublished.to_numpy()].reset_index(drop=True)
    return out
