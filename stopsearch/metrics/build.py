"""Build the `metrics` table (every figure) and `published_metrics` (after suppression).

Counts come from build.sql (monthly, per area and breakdown); periods, rates, ratios and
intervals are computed here with the pure functions of `stats`; suppression is applied by
`publishable.py` in one place. Both tables are replaced in one transaction.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from stopsearch.crosswalks import crosswalk_version
from stopsearch.metrics.contract import (
    BROAD_GROUPS,
    COMPARISON_GROUPS,
    LATEST_12,
    LEAN_KINDS,
    METRIC_COLUMNS,
)
from stopsearch.metrics.definitions import DEFINITIONS_VERSION
from stopsearch.metrics.fair import (
    DISPERSION_COLUMNS,
    FUNNEL_COLUMNS,
    funnel_tables,
    imprecise_flags,
    phi_for,
    phi_lookup,
    within_time_table,
)
from stopsearch.metrics.periods import month_add, months_text, period_label
from stopsearch.metrics.publishable import publishable
from stopsearch.metrics.stats import (
    concentration_share,
    proportion,
    rate_interval,
    rate_per_1000,
    rate_ratio,
    unknown_bounds,
)
from stopsearch.metrics.suppression import DEFAULT_RULES, SuppressionRules
from stopsearch.metrics.trends import change_pairs, change_rows, quarter_rows, window_rows
from stopsearch.sqlfiles import SqlFile
from stopsearch.thresholds import record_level_mode

COUNT_COLUMNS = (
    "searches",
    "known",
    "positive",
    "arrests",
    "finds",
    "contradictory",
    "located",
    "outside",
    "near",
)
SQL = SqlFile("stopsearch.metrics", "build.sql")
KEY = ["area_kind", "area_code", "period", "basis", "grp", "breakdown", "category"]


@dataclass(frozen=True)
class MetricsReport:
    """What a metrics build produced."""

    rows: int
    published_rows: int
    suppressed_rows: int
    latest_month: date | None
    state_hash: str
    seconds: float


def periods_for(months: list[date]) -> pd.DataFrame:
    """Periods (latest 12 months, each calendar year, each quarter, the trend series' windows,
    each month) with the months present in each (see :mod:`stopsearch.metrics.trends`).

    Returns one row per (period, month present): period, period_kind, period_start, period_end,
    month. A missing month is simply absent: it is never counted as zero.
    """
    if not months:
        return pd.DataFrame(
            columns=["period", "period_kind", "period_start", "period_end", "month"]
        )
    present = sorted(set(months))
    latest = present[-1]
    start = month_add(latest, -11)
    rows = [(LATEST_12, "rolling", start, latest, m) for m in present if start <= m <= latest]
    for year in sorted({m.year for m in present}):
        rows += [
            (str(year), "year", date(year, 1, 1), date(year, 12, 1), m)
            for m in present
            if m.year == year
        ]
    rows += quarter_rows(present)
    rows += window_rows(present)
    rows += [(f"{m:%Y-%m}", "month", m, m, m) for m in present]
    return pd.DataFrame(
        rows, columns=["period", "period_kind", "period_start", "period_end", "month"]
    )


def state_hash(con: duckdb.DuckDBPyConnection, rules: SuppressionRules = DEFAULT_RULES) -> str:
    """Fingerprint of everything the metrics depend on (loads, layers, crosswalks, rules)."""
    digest = hashlib.sha256()
    for name in ("state_loads", "state_layers", "state_population"):
        digest.update(repr(SQL.execute(con, name).fetchall()).encode())
    digest.update(crosswalk_version().encode())
    digest.update(repr(rules).encode())
    digest.update(f"definitions {DEFINITIONS_VERSION}".encode())
    return digest.hexdigest()


def metrics_stale(con: duckdb.DuckDBPyConnection, rules: SuppressionRules = DEFAULT_RULES) -> bool:
    """True when no metrics were built yet or their inputs changed since the last build."""
    last = SQL.execute(con, "last_state").fetchone()
    return last is None or last[0] != state_hash(con, rules)


def _population(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Residents by (area_kind, area_code, grp), one source and one layer per area code."""
    frame = SQL.execute(con, "population").df()
    if frame.empty:
        return frame
    force_rows = []
    forces = [r[0] for r in SQL.execute(con, "forces").fetchall()]
    own = {code for (code,) in SQL.execute(con, "own_authorities").fetchall()}
    authorities = frame[(frame.area_kind == "local_authority") & frame.area_code.isin(own)]
    if len(forces) == 1 and not authorities.empty:
        by_group = authorities.groupby("grp", as_index=False)["persons"].sum()
        by_group.insert(0, "area_code", forces[0])
        by_group.insert(0, "area_kind", "force")
        force_rows.append(by_group)
    return pd.concat([frame, *force_rows], ignore_index=True)


def _area_names(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    names = {(kind, code): name for kind, code, name in SQL.execute(con, "area_names").fetchall()}
    for (force,) in SQL.execute(con, "forces").fetchall():
        names[("force", force)] = force
    return names


def _area_spans(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """First and last day each area code exists (across vintages)."""
    rows = SQL.execute(con, "area_spans").fetchall()
    return pd.DataFrame(rows, columns=["area_kind", "area_code", "valid_from", "valid_to"])


def _period_counts(monthly: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """Sum monthly counts into periods; area-level months only inside the latest 12 months;
    quarters and trend windows only the headline families (all searches, self-defined groups)."""
    joined = monthly.merge(periods, on="month")
    window = periods.loc[periods.period == LATEST_12, "month"]
    monthly_period = joined.period_kind == "month"
    keep = ~monthly_period | (joined.area_kind == "force") | joined.month.isin(window)
    keep &= ~monthly_period | ((joined.basis == "none") & (joined.breakdown == "total"))
    lean = joined.period_kind.isin(LEAN_KINDS)
    keep &= ~lean | (joined.basis.isin(["none", "self_defined"]) & (joined.breakdown == "total"))
    joined = joined[keep]
    return joined.groupby([*KEY, "period_kind", "period_start", "period_end"], as_index=False)[
        list(COUNT_COLUMNS)
    ].sum()


def _row_months(periods: pd.DataFrame, spans: pd.DataFrame, keys: pd.DataFrame) -> pd.Series:
    """Months with data in each row's period during which its area existed (tuples)."""
    per_period = periods.groupby("period")["month"].apply(list).to_dict()
    span = {(r.area_kind, r.area_code): (r.valid_from, r.valid_to) for r in spans.itertuples()}
    cache: dict[tuple, tuple[date, ...]] = {}
    out = []
    for kind, code, period in zip(keys.area_kind, keys.area_code, keys.period, strict=True):
        low, high = span.get((kind, code), (None, None))
        key = (period, low, high)
        if key not in cache:
            cache[key] = tuple(
                m
                for m in sorted(per_period.get(period, []))
                if (low is None or month_add(m, 1) > low) and (high is None or m <= high)
            )
        out.append(cache[key])
    return pd.Series(out, index=keys.index, dtype=object)


def _area_months(counts: pd.DataFrame, months: pd.Series) -> pd.DataFrame:
    """(area_kind, area_code, period, month) of every area's months of each non-month period."""
    rows = (counts.period_kind != "month") & (counts.basis == "none")
    rows &= (counts.breakdown == "total") & (counts.category == "")
    frame = counts.loc[rows, ["area_kind", "area_code", "period"]].assign(month=months[rows])
    frame = frame.explode("month").dropna(subset=["month"])
    return frame.drop_duplicates().reset_index(drop=True)


def label_periods(counts: pd.DataFrame, months: pd.Series) -> pd.DataFrame:
    """months_present, period_label and months_with_data of each row from its months."""
    labels: dict[tuple, str] = {}
    texts: dict[tuple, str] = {}
    label_out, text_out = [], []
    for kind, period, start, end, present in zip(
        counts.period_kind,
        counts.period,
        counts.period_start,
        counts.period_end,
        months,
        strict=True,
    ):
        key = (kind, period, start, end, present)
        if key not in labels:
            labels[key] = period_label(kind, period, start, end, present)
            texts[key] = months_text(present)
        label_out.append(labels[key])
        text_out.append(texts[key])
    return counts.assign(
        months_present=np.fromiter((len(m) for m in months), dtype="int64", count=len(months)),
        period_label=label_out,
        months_with_data=text_out,
    )


# The columns that say which cell a figure belongs to (everything before `measure`, less name).
CELL_COLUMNS = tuple(
    c for c in METRIC_COLUMNS[: METRIC_COLUMNS.index("measure")] if c != "area_name"
)


def _rows(base: pd.DataFrame, measure: str, value, low=None, high=None, num=None, den=None):
    frame = base[list(CELL_COLUMNS)].copy()
    frame["measure"] = measure
    frame["value"] = np.asarray(value, dtype=float)
    frame["ci_low"] = np.nan if low is None else np.asarray(low, dtype=float)
    frame["ci_high"] = np.nan if high is None else np.asarray(high, dtype=float)
    frame["numerator"] = np.nan if num is None else np.asarray(num, dtype=float)
    frame["denominator"] = np.nan if den is None else np.asarray(den, dtype=float)
    return frame


def _share(frame: pd.DataFrame, measure: str, k, n):
    kk = np.asarray(frame[k] if isinstance(k, str) else k, dtype=float)
    nn = np.asarray(frame[n] if isinstance(n, str) else n, dtype=float)
    result = proportion(kk, nn)
    return _rows(frame, measure, result.estimate, result.low, result.high, kk, nn)


def _all_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts summed over the groups of each (area, period): the group 'All'."""
    keys = [c for c in CELL_COLUMNS if c != "grp"]
    total = frame.groupby(keys, as_index=False)[list(COUNT_COLUMNS)].sum()
    total["grp"] = "All"
    return total


PhiTable = dict[tuple[str, str, str, str], float]


def compute_metrics(
    counts: pd.DataFrame,
    population: pd.DataFrame,
    periods: pd.DataFrame,
    phi: PhiTable | None = None,
) -> pd.DataFrame:
    """Every measure from period counts and population (pure: frames in, long frame out).

    ``phi`` maps (area_kind, period, count measure, grp) to the within-area dispersion phi_t
    (`fair.within_time_table`); rate and ratio intervals are widened by its square root.
    Without it (or for a count it lacks) counts are taken as Poisson (phi = 1).
    """
    out: list[pd.DataFrame] = []
    rolling = counts.period_kind != "month"
    total = counts[(counts.basis == "none") & (counts.breakdown == "total")]
    # Counts: searches everywhere; coverage shares; outcome rates for all searches.
    out.append(_rows(counts, "searches", counts.searches, num=counts.searches))
    out.append(_share(total, "positive_outcome_rate", "positive", "known"))
    t = total[total.period_kind != "month"]
    out.append(_share(t, "arrest_rate", "arrests", "known"))  # one base for every share
    out.append(_share(t, "find_rate", "finds", "known"))
    out.append(_rows(t, "contradictory_outcomes", t.contradictory, num=t.contradictory))
    placed = t[t.area_kind != "force"]
    out.append(_share(placed, "near_boundary_share", "near", "located"))
    force = t[t.area_kind == "force"]
    out.append(_share(force, "near_boundary_share", "near", "located"))
    out.append(_share(force, "outside_area_share", "outside", "located"))
    out.append(_share(force, "no_location_share", force.searches - force.located, force.searches))
    # Outcome rates by breakdown category (object of search, legislation, inside priority...).
    cats = counts[
        rolling
        & (counts.basis == "none")
        & counts.breakdown.isin(["object_group", "legislation", "priority", "designation"])
    ]
    out.append(_share(cats, "positive_outcome_rate", "positive", "known"))
    out.append(_share(cats, "find_rate", "finds", "known"))
    # Person searches by self-defined group: outcome rates, rates per 1,000, ratios.
    persons = counts[rolling & (counts.basis == "self_defined") & (counts.breakdown == "total")]
    keys = ["area_kind", "area_code", "period"]
    if not persons.empty:
        all_persons = _all_groups(persons)
        out.append(_rows(all_persons, "searches", all_persons.searches, num=all_persons.searches))
        both = pd.concat([persons, all_persons], ignore_index=True)
        out.append(_share(both, "positive_outcome_rate", "positive", "known"))
        out.append(_share(both, "arrest_rate", "arrests", "known"))
        out.append(_share(both, "find_rate", "finds", "known"))
        wide = persons.pivot_table(
            index=keys, columns="grp", values="searches", aggfunc="sum", fill_value=0
        )
        for group in (*BROAD_GROUPS, "Not stated", "Unknown"):
            if group not in wide:
                wide[group] = 0
        unstated = wide["Not stated"] + wide["Unknown"]
        meta = all_persons.set_index(keys)
        share_frame = meta.loc[wide.index].reset_index()
        out.append(_share(share_frame, "unstated_share", unstated.to_numpy(), share_frame.searches))
        if not population.empty:
            pop = population.pivot_table(
                index=["area_kind", "area_code"],
                columns="grp",
                values="persons",
                aggfunc="sum",
                fill_value=0.0,
            )
            for group in BROAD_GROUPS:
                if group not in pop:
                    pop[group] = 0.0
            pop["All"] = pop[list(BROAD_GROUPS)].sum(axis=1)
            frame = share_frame.copy()
            area_index = pd.MultiIndex.from_frame(frame[["area_kind", "area_code"]])
            pops = pop.reindex(area_index)
            counts_g = wide.reindex(pd.MultiIndex.from_frame(frame[keys]))
            counts_g["All"] = counts_g[list(BROAD_GROUPS)].sum(axis=1)
            months = frame.months_present.to_numpy(float)
            for group in (*BROAD_GROUPS, "All"):
                n = counts_g[group].to_numpy(float)
                p = pops[group].to_numpy(float) if group in pops else np.full(len(frame), np.nan)
                rows = frame.assign(grp=group)
                out.append(_rows(rows, "population", p, num=p))
                exposure = p * months / 12.0
                widen = phi_for(phi, frame.area_kind, frame.period, "person_searches", group)
                interval = rate_interval(n, exposure, widen)
                out.append(
                    _rows(
                        rows,
                        "search_rate",
                        rate_per_1000(n, p, months),
                        interval.low,
                        interval.high,
                        num=n,
                        den=exposure,
                    )
                )
            # Home Office comparable: every person search, ethnicity stated or not, over all
            # residents (the "All" search_rate counts only the five stated groups).
            n_all = frame.searches.to_numpy(float)  # all person searches of the area
            p_all = pops["All"].to_numpy(float)
            exposure = p_all * months / 12.0
            widen = phi_for(phi, frame.area_kind, frame.period, "all_person_searches", "All")
            interval = rate_interval(n_all, exposure, widen)
            out.append(
                _rows(
                    frame.assign(grp="All"),
                    "search_rate_all_persons",
                    rate_per_1000(n_all, p_all, months),
                    interval.low,
                    interval.high,
                    num=n_all,
                    den=exposure,
                )
            )
            n_w = counts_g["White"].to_numpy(float)
            p_w = pops["White"].to_numpy(float)
            u = unstated.reindex(counts_g.index).to_numpy(float)
            phi_w = phi_for(phi, frame.area_kind, frame.period, "person_searches", "White")
            for group in COMPARISON_GROUPS:
                n_g = counts_g[group].to_numpy(float)
                p_g = pops[group].to_numpy(float)
                rows = frame.assign(grp=group)
                ratio = rate_ratio(
                    n_g,
                    np.nan_to_num(p_g),
                    n_w,
                    np.nan_to_num(p_w),
                    phi_g=phi_for(phi, frame.area_kind, frame.period, "person_searches", group),
                    phi_w=phi_w,
                )
                out.append(
                    _rows(
                        rows,
                        "disproportionality_ratio",
                        ratio.ratio,
                        ratio.low,
                        ratio.high,
                        n_g,
                        n_w,
                    )
                )
                bounds = unknown_bounds(n_g, np.nan_to_num(p_g), n_w, np.nan_to_num(p_w), u)
                out.append(_rows(rows, "dr_unknown_low", bounds.low, num=n_g, den=n_w + u))
                out.append(_rows(rows, "dr_unknown_high", bounds.high, num=n_g + u, den=n_w))
    officer = counts[rolling & (counts.basis == "officer_defined")]
    if not officer.empty:
        all_officer = _all_groups(officer)
        out.append(_rows(all_officer, "searches", all_officer.searches, num=all_officer.searches))
        out.append(_share(officer, "positive_outcome_rate", "positive", "known"))
    # Concentration: share of wards holding half the searches, per force and period.
    wards = t[t.area_kind == "ward"]
    for (period,), part in wards.groupby(["period"]):
        share = concentration_share(part.searches.to_numpy(float))
        head = force[force.period == period]
        if not head.empty:
            out.append(
                _rows(
                    head,
                    "ward_concentration",
                    [share] * len(head),
                    num=[share * len(part)] * len(head),
                    den=[len(part)] * len(head),
                )
            )
    result = pd.concat([o for o in out if not o.empty], ignore_index=True)
    result = result[_kept_in_lean(result)]
    pairs = {a: b for a, b in change_pairs(periods).items() if a in set(result.period)}
    changes = change_rows(result, pairs, phi, (*CELL_COLUMNS, *_VALUE_COLUMNS))
    if not changes.empty:
        result = pd.concat([result, changes], ignore_index=True)
    result["imprecise"] = imprecise_flags(result)
    return result.reset_index(drop=True)


_VALUE_COLUMNS = ("measure", "value", "ci_low", "ci_high", "numerator", "denominator")
# What quarters and trend windows publish: the headline figures and what they rest on.
LEAN_MEASURES = (
    "searches",
    "population",
    "search_rate",
    "search_rate_all_persons",
    "positive_outcome_rate",
    "arrest_rate",
    "find_rate",
    "unstated_share",
    "disproportionality_ratio",
)


def _kept_in_lean(result: pd.DataFrame) -> pd.Series:
    """Rows kept: every row of other periods; in quarters and windows the LEAN_MEASURES, and
    outcome shares of all searches only (not of each group)."""
    lean = result.period_kind.isin(LEAN_KINDS)
    shares = result.measure.isin(["positive_outcome_rate", "arrest_rate", "find_rate"])
    wanted = result.measure.isin(LEAN_MEASURES) & ~(shares & (result.basis != "none"))
    return ~lean | wanted


def build_metrics(
    con: duckdb.DuckDBPyConnection, rules: SuppressionRules = DEFAULT_RULES
) -> MetricsReport:
    """Bring both metrics tables up to date; periods whose inputs did not change are reused."""
    started = time.perf_counter()
    state = state_hash(con, rules)
    SQL.execute(con, "counts")
    monthly = SQL.execute(con, "monthly_counts").df()
    months = [m for (m,) in SQL.execute(con, "months").fetchall()]
    periods = periods_for(months)
    latest = max(months) if months else None
    digests: dict[str, str] = {}
    reused: set[str] = set()
    within = pd.DataFrame(columns=list(DISPERSION_COLUMNS))
    if monthly.empty:
        metrics = pd.DataFrame(columns=list(METRIC_COLUMNS))
    else:
        monthly["month"] = pd.to_datetime(monthly["month"]).dt.date
        counts = _period_counts(monthly, periods)
        months = _row_months(periods, _area_spans(con), counts)
        within = within_time_table(monthly, _area_months(counts, months))
        designation = counts.breakdown == "designation"
        if designation.any():  # before/after designation: months in that phase of the period
            for index, row in zip(
                counts.index[designation], counts[designation].itertuples(), strict=True
            ):
                months.at[index] = _phase_months(con, periods, row)
        counts = label_periods(counts, months)
        population = _population(con)
        names = _area_names(con)
        units = _units(counts, periods)
        digests = _unit_digests(counts, units, population, names, rules, within)
        cached = dict(SQL.execute(con, "cached_units").fetchall())
        reused = {u for u, d in digests.items() if cached.get(u) == d}
        if not record_level_mode(rules):
            reused = set()  # protection links every period: recompute them all together
        fresh = counts[~units.isin(reused)]
        metrics = (
            _named(compute_metrics(fresh, population, periods, phi_lookup(within)), names)
            if len(fresh)
            else (pd.DataFrame(columns=list(METRIC_COLUMNS)))
        )
        within = within[within.period.isin(set(fresh.period))]
    parents = None
    if not record_level_mode(rules):  # the whole release is protected as one system
        parents = {
            ("ward", code): ("local_authority", parent)
            for code, parent in SQL.execute(con, "area_parents").fetchall()
        }
    published = publishable(metrics, rules, parents)
    between, funnel_rows = funnel_tables(published)
    dispersion_rows = pd.concat(
        [frame for frame in (within, between) if not frame.empty]
        or [pd.DataFrame(columns=list(DISPERSION_COLUMNS))],
        ignore_index=True,
    )
    kept_periods = sorted(
        {p for p, u in zip(periods.period, _period_units(periods), strict=True) if u in reused}
    )
    con.execute("BEGIN TRANSACTION")
    try:
        # Periods whose inputs did not change keep their rows; every other row is replaced.
        for name in ("delete_metrics", "delete_published", "delete_dispersion", "delete_funnel"):
            SQL.execute(con, name, {"kept_periods": kept_periods})
        con.register("_new_metrics", metrics)
        SQL.execute(con, "insert_metrics")
        con.unregister("_new_metrics")
        con.register("_new_published", published)
        SQL.execute(con, "insert_published")
        con.unregister("_new_published")
        con.register("_new_dispersion", dispersion_rows[list(DISPERSION_COLUMNS)])
        SQL.execute(con, "insert_dispersion")
        con.unregister("_new_dispersion")
        con.register("_new_funnel", funnel_rows[list(FUNNEL_COLUMNS)])
        SQL.execute(con, "insert_funnel")
        con.unregister("_new_funnel")
        total = SQL.scalar(con, "count_metrics")
        SQL.execute(con, "insert_run", {"state_hash": state, "latest_month": latest, "rows": total})
        SQL.execute(con, "clear_units")
        if digests:
            con.executemany(SQL["insert_unit"], sorted(digests.items()))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    shown, withheld = SQL.one(con, "published_counts")
    return MetricsReport(
        rows=total,
        published_rows=shown,
        suppressed_rows=withheld,
        latest_month=latest,
        state_hash=state,
        seconds=round(time.perf_counter() - started, 3),
    )


def _period_units(periods: pd.DataFrame) -> list[str]:
    """The unit of each row of `periods`: the latest 12 months travel with their months, and
    both periods of each change on a year earlier travel with the latest 12 months (the change
    rows are computed from both)."""
    window = set(periods.loc[periods.period == LATEST_12, "month"])
    paired = {p for pair in change_pairs(periods).items() for p in pair}
    return [
        "latest-12" if p in paired or p == LATEST_12 or (kind == "month" and m in window) else p
        for p, kind, m in zip(periods.period, periods.period_kind, periods.month, strict=True)
    ]


def _units(counts: pd.DataFrame, periods: pd.DataFrame) -> pd.Series:
    """The unit of each counts row (see `_period_units`)."""
    by_period = dict(zip(periods.period, _period_units(periods), strict=True))
    return counts.period.map(by_period)


def _unit_digests(
    counts: pd.DataFrame,
    units: pd.Series,
    population: pd.DataFrame,
    names: dict,
    rules: SuppressionRules,
    within: pd.DataFrame | None = None,
) -> dict[str, str]:
    """A digest per unit over its counts and everything else its metrics depend on.

    ``within`` (the phi_t table) enters for the unit's periods: the intervals depend on it.
    """
    from stopsearch import __version__

    shared = hashlib.sha256()
    shared.update(__version__.encode())
    shared.update(f"definitions {DEFINITIONS_VERSION}".encode())
    shared.update(repr(rules).encode())
    shared.update(population.sort_values(list(population.columns)).to_csv(index=False).encode())
    shared.update(repr(sorted(names.items())).encode())
    out = {}
    ordered = counts.sort_values([*KEY, "period_kind"])
    row_hashes = pd.util.hash_pandas_object(ordered, index=False).to_numpy()
    by_unit = units.loc[ordered.index].to_numpy()
    within_text: dict[str, bytes] = {}
    if within is not None and not within.empty:
        for period, mine in within.sort_values(["period", "area_kind", "measure", "grp"]).groupby(
            "period", sort=True
        ):
            within_text[str(period)] = mine.to_csv(index=False, header=False).encode()
    for unit in sorted(set(by_unit)):
        digest = shared.copy()
        digest.update(row_hashes[by_unit == unit].tobytes())
        for period in sorted(set(ordered.period[by_unit == unit])):
            digest.update(within_text.get(str(period), b""))
        out[str(unit)] = digest.hexdigest()
    return out


def _named(metrics: pd.DataFrame, names: dict) -> pd.DataFrame:
    """Add area names and put the columns and rows in their fixed order."""
    metrics.insert(
        2,
        "area_name",
        [names.get((k, c), c) for k, c in zip(metrics.area_kind, metrics.area_code, strict=True)],
    )
    return (
        metrics[list(METRIC_COLUMNS)]
        .sort_values(
            [
                "area_kind",
                "area_code",
                "period",
                "basis",
                "grp",
                "breakdown",
                "category",
                "measure",
            ],
            kind="stable",
        )
        .reset_index(drop=True)
    )


def _phase_months(con: duckdb.DuckDBPyConnection, periods: pd.DataFrame, row) -> tuple:
    """Months of a period before designation ('before') or after it ended ('after_end')."""
    found = SQL.execute(con, "designation", {"code": row.area_code}).fetchone()
    start, end = found if found else (None, None)
    months = sorted(periods.loc[periods.period == row.period, "month"])
    if row.category == "before":
        return tuple(m for m in months if start is not None and m < start)
    return tuple(m for m in months if end is not None and month_add(m, 1) > end)
