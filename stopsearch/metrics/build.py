"""Build the `metrics` table (every figure) and `published_metrics` (after suppression).

Counts come from build.sql (monthly, per area and breakdown); periods, rates, ratios and
intervals are computed here with the pure functions of `stats`; suppression is applied by
`publishable.py` in one place. Both tables are replaced in one transaction.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
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
    force_months_counted: int = 0  # force-months whose records the counts SQL read
    periods_computed: int = 0  # periods whose figures were computed (the others kept)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds per step


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


def _period_counts(monthly: pd.DataFrame, periods: pd.DataFrame, window: set) -> pd.DataFrame:
    """Sum monthly counts into periods; area-level months only inside the latest 12 months
    (`window`, the months of the latest 12, which `periods` need not hold); quarters and trend
    windows only the headline families (all searches, self-defined groups)."""
    joined = monthly.merge(periods, on="month")
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
    """Bring both metrics tables up to date: the counts of new or re-supplied force-months only
    (`_refresh_monthly`), then the periods of the units whose inputs changed (`_unit_signatures`);
    every other unit keeps its rows."""
    started = time.perf_counter()
    steps: dict[str, float] = {}
    clock = [time.process_time()]

    def step(name: str) -> None:
        now = time.process_time()
        steps[name] = round(steps.get(name, 0.0) + now - clock[0], 3)
        clock[0] = now

    state = state_hash(con, rules)
    counted = _refresh_monthly(con)
    step("counts")
    months = [m for (m,) in SQL.execute(con, "months").fetchall()]
    periods = periods_for(months)
    latest = max(months) if months else None
    population = _population(con)
    names = _area_names(con)
    spans = _area_spans(con)
    designations = _designations(con)
    parents = _parents(con) if not record_level_mode(rules) else None  # protected as one
    units = pd.Series(_period_units(periods), index=periods.index, dtype=object)
    signatures = _unit_signatures(
        periods,
        units,
        _month_sources(con),
        _shared_digest(population, names, spans, designations, rules, parents),
        latest if parents is not None else None,
    )
    cached = dict(SQL.execute(con, "cached_units").fetchall())
    reused = {u for u, d in signatures.items() if cached.get(u) == d}
    stale = periods[~units.isin(reused)]
    window = set(periods.loc[periods.period == LATEST_12, "month"])
    context = _protection_context(periods, stale, latest) if parents is not None else []
    step("plan")
    within = pd.DataFrame(columns=list(DISPERSION_COLUMNS))
    metrics = pd.DataFrame(columns=list(METRIC_COLUMNS))
    monthly = SQL.execute(con, "monthly_counts", {"months": sorted(set(stale.month))}).df()
    step("read")
    if not monthly.empty:
        counts, within = _stale_counts(monthly, stale, window, spans, designations)
        step("sum")
        if len(counts):
            metrics = _named(
                compute_metrics(counts, population, periods, phi_lookup(within)), names
            )
        step("compute")
    published = _protected(con, metrics, rules, parents, context)
    step("publishable")
    between, funnel_rows = funnel_tables(published)
    dispersion_rows = pd.concat(
        [frame for frame in (within, between) if not frame.empty]
        or [pd.DataFrame(columns=list(DISPERSION_COLUMNS))],
        ignore_index=True,
    )
    kept_periods = sorted(set(periods.period[units.isin(reused)]))
    unit_rows = pd.DataFrame(sorted(signatures.items()), columns=["unit", "digest"])
    step("funnel")
    frames = {"metrics": metrics, "published": published, "units": unit_rows}
    frames["dispersion"] = dispersion_rows[list(DISPERSION_COLUMNS)]
    frames["funnel"] = funnel_rows[list(FUNNEL_COLUMNS)]
    total = _store(con, kept_periods, frames, state, latest)
    shown, withheld = SQL.one(con, "published_counts")
    step("write")
    return MetricsReport(
        rows=total,
        published_rows=shown,
        suppressed_rows=withheld,
        latest_month=latest,
        state_hash=state,
        seconds=round(time.perf_counter() - started, 3),
        force_months_counted=counted,
        periods_computed=int(stale.period.nunique()),
        cpu_seconds=steps,
    )


def _parents(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str, str]]:
    """Each ward's council, for protection of the whole release (record_level = false)."""
    return {
        ("ward", code): ("local_authority", parent)
        for code, parent in SQL.execute(con, "area_parents").fetchall()
    }


def _stale_counts(
    monthly: pd.DataFrame,
    stale: pd.DataFrame,
    window: set,
    spans: pd.DataFrame,
    designations: dict,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stale periods' counts, labelled with each row's months, and their phi_t table."""
    monthly["month"] = pd.to_datetime(monthly["month"]).dt.date
    counts = _period_counts(monthly, stale, window)
    row_months = _row_months(stale, spans, counts)
    within = within_time_table(monthly, _area_months(counts, row_months))
    designation = counts.breakdown == "designation"
    if designation.any():  # before/after designation: months in that phase of the period
        for index, row in zip(
            counts.index[designation], counts[designation].itertuples(), strict=True
        ):
            row_months.at[index] = _phase_months(stale, designations, row)
    return label_periods(counts, row_months), within


def _protected(
    con: duckdb.DuckDBPyConnection,
    metrics: pd.DataFrame,
    rules: SuppressionRules,
    parents: dict | None,
    context: list[str],
) -> pd.DataFrame:
    """The computed rows after suppression (publishable). Protected with `context`: with the
    force-level counts of the reused years the computed periods overlap, and of the latest
    month (which years have closed), as the planner saw them in a cold build; their own rows
    are not written again."""
    if not (context and len(metrics)):
        return publishable(metrics, rules, parents)
    kept = SQL.execute(con, "force_counts", {"periods": context}).df()
    published = publishable(_with_context(metrics, kept), rules, parents)
    return published[~published.period.isin(context)].reset_index(drop=True)


def _store(
    con: duckdb.DuckDBPyConnection,
    kept_periods: list[str],
    frames: dict[str, pd.DataFrame],
    state: str,
    latest: date | None,
) -> int:
    """Replace every row of the periods not in `kept_periods` with `frames` (metrics, published,
    dispersion, funnel; units replace all units) and record the run, in one transaction; the
    metrics rows after."""
    con.execute("BEGIN TRANSACTION")
    try:
        # Periods whose inputs did not change keep their rows; every other row is replaced.
        for name in ("delete_metrics", "delete_published", "delete_dispersion", "delete_funnel"):
            SQL.execute(con, name, {"kept_periods": kept_periods})
        SQL.execute(con, "clear_units")
        for table, frame in frames.items():
            con.register(f"_new_{table}", frame)
            SQL.execute(con, f"insert_{table}")
            con.unregister(f"_new_{table}")
        total = SQL.scalar(con, "count_metrics")
        SQL.execute(con, "insert_run", {"state_hash": state, "latest_month": latest, "rows": total})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(total)


def _counts_state(con: duckdb.DuckDBPyConnection) -> str:
    """Digest of what every force-month's counts depend on besides its own records: the
    geography, the crosswalks, the definitions and the counts SQL itself."""
    digest = hashlib.sha256()
    digest.update(repr(SQL.execute(con, "counts_state").fetchall()).encode())
    digest.update(crosswalk_version().encode())
    digest.update(f"definitions {DEFINITIONS_VERSION}".encode())
    for statement in SQL.section("counts").statements:
        digest.update(statement.sql.encode())
    return digest.hexdigest()


def stale_force_months(
    current: pd.DataFrame, cached: pd.DataFrame, shared: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(force-months to count again, force-months whose kept counts go) from the loads' sources
    now (`current`: force, month, load_id, sha256, joined) and those the kept counts were
    computed from (`cached`: the same and ``shared``). A force-month is counted again when it is
    new, re-supplied, joined again or the shared state changed; a kept one no longer loaded
    (withdrawn) goes, and so does every one counted again."""
    keys = ["force", "month"]
    now = current.assign(shared=shared)
    columns = [*keys, "load_id", "sha256", "joined", "shared"]
    merged = now[columns].merge(
        cached[columns], on=keys, how="outer", suffixes=("", "_kept"), indicator=True
    )
    same = merged["_merge"].eq("both")
    for column in ("load_id", "sha256", "joined", "shared"):
        same &= merged[column].astype(object).eq(merged[f"{column}_kept"].astype(object))
    counted = merged.loc[merged["_merge"].ne("right_only") & ~same, columns]
    forget = merged.loc[merged["_merge"].ne("left_only") & ~same, keys]
    counted = counted.astype({"load_id": "int64", "joined": "int64"})
    return counted.reset_index(drop=True), forget.reset_index(drop=True)


def _refresh_monthly(con: duckdb.DuckDBPyConnection) -> int:
    """Count the records of stale force-months only and keep their rows in metrics_monthly
    (one transaction); returns the number of force-months counted."""
    current = SQL.execute(con, "current_sources").df()
    cached = SQL.execute(con, "cached_sources").df()
    for frame in (current, cached):
        frame["month"] = pd.to_datetime(frame["month"]).dt.date
    counted, forget = stale_force_months(current, cached, _counts_state(con))
    if counted.empty and forget.empty:
        return 0
    if len(counted):
        SQL.execute(con, "stale_loads", {"load_ids": [int(i) for i in counted.load_id]})
        SQL.execute(con, "counts")
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("_m_forget", forget)
        con.register("_m_sources", counted)
        SQL.execute(con, "forget_monthly")
        if len(counted):
            SQL.execute(con, "keep_monthly")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_m_forget")
        con.unregister("_m_sources")
    return len(counted)


def _month_sources(con: duckdb.DuckDBPyConnection) -> dict[date, str]:
    """Per month, what its kept counts (of every force) were computed from."""
    rows = SQL.execute(con, "cached_sources").fetchall()
    out: dict[date, list[tuple]] = {}
    for force, month, load_id, sha, joined, shared in sorted(rows):
        out.setdefault(month, []).append((force, load_id, sha, joined, shared))
    return {month: repr(sources) for month, sources in out.items()}


def _designations(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[date | None, date | None]]:
    """{priority area code: (first designated, last designation ended)}."""
    return {code: (start, end) for code, start, end in SQL.execute(con, "designations").fetchall()}


def _shared_digest(
    population: pd.DataFrame,
    names: dict,
    spans: pd.DataFrame,
    designations: dict,
    rules: SuppressionRules,
    parents: dict | None = None,
) -> hashlib._Hash:
    """A digest of what every unit's figures depend on besides its own months' counts (and,
    protected, each ward's council)."""
    from stopsearch import __version__

    shared = hashlib.sha256()
    shared.update(repr(sorted(parents.items()) if parents is not None else None).encode())
    shared.update(__version__.encode())
    shared.update(f"definitions {DEFINITIONS_VERSION}".encode())
    shared.update(repr(rules).encode())
    shared.update(population.sort_values(list(population.columns)).to_csv(index=False).encode())
    shared.update(repr(sorted(names.items())).encode())
    shared.update(spans.sort_values(["area_kind", "area_code"]).to_csv(index=False).encode())
    shared.update(repr(sorted(designations.items())).encode())
    return shared


def _spans(periods: pd.DataFrame) -> pd.DataFrame:
    """One row per period: kind, start, end and its months present (a sorted tuple)."""
    return periods.groupby("period", sort=True).agg(
        kind=("period_kind", "first"),
        start=("period_start", "first"),
        end=("period_end", "first"),
        months=("month", lambda m: tuple(sorted(m))),
    )


def _overlapping_years(spans: pd.DataFrame) -> dict[str, list[str]]:
    """{period: the calendar years (period ids) it overlaps}, as linked._withhold_at_force
    finds them: a year's small force-level counts are withheld in every such period."""
    years = spans[spans.kind == "year"]
    bounds = list(zip(years.index.astype(str), years.start, years.end, strict=True))
    return {
        str(period): [y for y, low, high in bounds if start <= high and end >= low]
        for period, start, end in zip(spans.index, spans.start, spans.end, strict=True)
    }


def _unit_signatures(
    periods: pd.DataFrame,
    units: pd.Series,
    month_sources: dict[date, str],
    shared,
    protected_latest: date | None = None,
) -> dict[str, str]:
    """A digest per unit of everything its figures are computed from: the shared digest, the
    unit's name (a month keeps its area rows only inside the latest 12 months' unit), each of
    its periods (id, kind, span, months present), what each of those months' counts come from,
    and the changes on a year earlier it holds.

    Protected (``protected_latest``: the latest month, record_level = false), a period's
    figures also depend on whether it is a closed year and, at force level, on the small
    counts of every calendar year it overlaps (`linked`): what those years' months come from
    enters too.

    Equal signatures give equal figures (every figure of a period is computed from these
    alone), so a unit whose signature is unchanged keeps its rows.
    """
    pairs = change_pairs(periods)
    parts: dict[str, list] = {}
    spans = _spans(periods)
    overlaps = _overlapping_years(spans) if protected_latest is not None else {}
    unit_of = dict(zip(periods.period, units, strict=True))
    for period, row in spans.iterrows():
        unit = unit_of[period]
        sources = [month_sources.get(m, "") for m in row.months]
        entry: tuple = (period, row.kind, row.start, row.end, row.months, sources)
        entry += (pairs.get(period),)
        if protected_latest is not None:
            closed = row.kind == "year" and row.end <= protected_latest
            years = [
                (y, [month_sources.get(m, "") for m in spans.loc[y, "months"]])
                for y in overlaps[str(period)]
            ]
            entry += (closed, years)
        parts.setdefault(unit, []).append(entry)
    out = {}
    for unit, rows in sorted(parts.items()):
        digest = shared.copy()
        digest.update(f"{unit}\0{rows!r}".encode())
        out[str(unit)] = digest.hexdigest()
    return out


def _protection_context(periods: pd.DataFrame, stale: pd.DataFrame, latest) -> list[str]:
    """Periods not recomputed whose force-level counts the protection of the recomputed ones
    reads: the calendar years they overlap and the latest month."""
    if stale.empty:
        return []
    overlaps = _overlapping_years(_spans(periods))
    wanted = {y for p in set(stale.period) for y in overlaps[str(p)]}
    if latest is not None:
        wanted.add(f"{latest:%Y-%m}")
    return sorted(wanted - set(stale.period))


def _with_context(metrics: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """`metrics` and the kept force-level count rows of context periods, in metrics' types."""
    if kept.empty:
        return metrics
    kept = kept[list(metrics.columns)].copy()
    for column in ("period_start", "period_end"):
        kept[column] = pd.to_datetime(kept[column]).dt.date
    kept["imprecise"] = kept["imprecise"].astype("boolean")
    return pd.concat([metrics, kept], ignore_index=True)


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


def _phase_months(periods: pd.DataFrame, designations: dict, row) -> tuple:
    """Months of a period before designation ('before') or after it ended ('after_end')."""
    start, end = designations.get(row.area_code, (None, None))
    months = sorted(periods.loc[periods.period == row.period, "month"])
    if row.category == "before":
        return tuple(m for m in months if start is not None and m < start)
    return tuple(m for m in months if end is not None and month_add(m, 1) > end)
