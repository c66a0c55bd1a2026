"""Read what the site shows from the warehouse: published figures, areas, coverage, changelog.

Every figure comes from `published_metrics` (after suppression); the other tables give only
metadata (boundary layers and their dates, loads for coverage, load history for the changelog).
Everything is returned in a fixed order so that the same warehouse renders the same bytes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath

import duckdb

from stopsearch.metrics.contract import COMPARISON_GROUPS, PUBLISHED_COLUMNS
from stopsearch.metrics.suppression import NO_DATA
from stopsearch.outputs.site import text
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.outputs.site", "data.sql")
SITE_KINDS = ("ward", "neighbourhood", "priority_area", "local_authority")


def _num(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class Fig:
    """One published figure, ready to show."""

    measure: str
    value: float | None
    low: float | None
    high: float | None
    numerator: float | None
    denominator: float | None
    reason: str | None
    display: str
    months: int
    imprecise: bool | None = None  # the precision rule (metrics.precision); None: no interval

    @property
    def shown(self) -> bool:
        return self.reason is None and self.value is not None

    @property
    def ci(self) -> str:
        return text.interval(self.measure, self.low, self.high) if self.shown else ""

    @property
    def wide(self) -> bool:
        """Shown and flagged by the one precision rule (the metrics' `imprecise` column)."""
        return self.shown and bool(self.imprecise)


@dataclass(frozen=True)
class Period:
    period: str
    kind: str
    start: date
    end: date
    months: int
    label: str = ""  # from the data: the months actually present (metrics.periods)

    @property
    def end_day(self) -> date:
        return text.month_end(self.end)

    @property
    def short(self) -> str:
        if self.kind == "rolling":
            return self.label.split(" (", 1)[0]
        if self.kind == "month":
            return text.month_label(self.start)
        return self.period


def _fig(row: tuple) -> Fig:
    """The Fig of one published row (PUBLISHED_COLUMNS order)."""
    months, measure = row[8], row[14]
    value, low, high, num, den, imprecise, reason, display = row[15:]
    return Fig(
        measure,
        _num(value),
        _num(low),
        _num(high),
        _num(num),
        _num(den),
        reason,
        display,
        int(months),
        None if imprecise is None else bool(imprecise),
    )


# Of trend windows and quarters the pages show only the figures of the trend series, the
# "each period" table and the change on a year earlier ("breakdown basis grp measure" below);
# of calendar years before the latest two, only those and what the map and the coverage page
# show. The others (each group's residents, searches and rate, the all-persons rate, the
# unstated share, the arrest rate, the breakdowns of earlier years...) are in the per-area CSVs
# and extracts: about four fifths of the published rows of a long history. The Store reads them
# only if a page asks for one (Store.fig, Store.categories).
DEFERRED_KINDS = ("window", "quarter", "year")
YEAR_EARLIER = "year_earlier"
SHOWN = (
    "total none All searches",
    "total none All positive_outcome_rate",
    "total none All find_rate",
    "total self_defined All search_rate",
    "total self_defined Black disproportionality_ratio",
    "total self_defined Asian disproportionality_ratio",
    "year_earlier none All positive_outcome_change",
    "year_earlier self_defined All search_rate_change",
    "year_earlier self_defined Black disproportionality_change",
    "year_earlier self_defined Asian disproportionality_change",
)
SHOWN_IN_YEARS = (
    *SHOWN,
    "total self_defined All population",  # the map's counts beside each search rate
    *(f"total self_defined {g} disproportionality_ratio" for g in COMPARISON_GROUPS),
    "total none All no_location_share",  # the coverage page, force only
    "total none All outside_area_share",
    "total none All near_boundary_share",
)
FULL_YEARS = 2  # the latest calendar years, read whole (one of them may be the latest period)
_DEFERRED_PARAMS = {"shown": list(SHOWN), "shown_in_years": list(SHOWN_IN_YEARS)}
# Pages draw trends, months and quarters over the latest PAGE_MONTHS months (five years), so that
# a night's site costs the same whatever the length of history; calendar years, the latest 12
# months and every figure in the per-area CSVs and extracts cover all of it. At least
# MIN_PAGE_MONTHS: a change on a year earlier needs the quarter a year before the latest
# complete one (up to 14 months before the last month).
PAGE_MONTHS = 60
MIN_PAGE_MONTHS = 15
HORIZON_KINDS = ("window", "quarter", "month")


def is_deferred(
    period_kind: str | None,
    period: str,
    breakdown: str,
    basis: str,
    grp: str,
    measure: str,
    full_years: Collection[str],
) -> bool:
    """Whether the Store reads this figure only when a page first asks for it (as data.sql's
    'published' leaves it out)."""
    key = f"{breakdown} {basis} {grp} {measure}"
    if period_kind in ("window", "quarter"):
        return key not in SHOWN
    return period_kind == "year" and period not in full_years and key not in SHOWN_IN_YEARS


def _deferred_breakdown(period_kind: str | None, period: str, breakdown: str,
                        full_years: Collection[str]) -> bool:  # fmt: skip
    """Whether some categories of this breakdown may be among the deferred figures."""
    return (
        period_kind == "year"
        and period not in full_years
        and breakdown not in ("total", YEAR_EARLIER)
    )


class Store:
    """Published figures keyed by (kind, code, period, basis, grp, breakdown, category, measure).

    `deferred` (optional) loads the deferred figures (is_deferred) when a page first asks for one;
    `index` gives what the lookups need of them without reading them (data.sql
    'deferred_index'): an area's periods, its name, the counts and the periods' own fields.
    """

    def __init__(
        self,
        rows: Iterable[tuple],
        index: Iterable[tuple] = (),
        deferred: Callable[[], list[tuple]] | None = None,
    ):
        self._figs: dict[tuple, Fig | tuple] = {}  # a row until first asked for (then a Fig)
        self._cats: dict[tuple, list[str]] = defaultdict(list)
        self._periods_of: dict[tuple[str, str], set[str]] = defaultdict(set)  # for has()
        self._counted: set[tuple[str, str]] = set()  # (kind, period) with a count row
        self._kind_of: dict[str, str] = {}  # period -> its kind
        self._deferred = deferred
        self.since: date | None = None  # first day of the pages' horizon, if it left any out
        self.full_years: frozenset[str] = frozenset()  # years whose figures are all read at once
        self.months_total: int | None = None  # months of data, when the horizon left some out
        names: dict[tuple[str, str], str] = {}
        periods: dict[str, Period] = {}
        own: dict[tuple[str, str, str], Period] = {}  # each area's months of each period
        for row in rows:
            (kind, code, name, period, label, pkind, start, end, months) = row[:9]
            basis, grp, breakdown, category, measure = row[10:15]
            key = (kind, code, period, basis, grp, breakdown, category, measure)
            self._figs[key] = row
            self._periods_of[(kind, code)].add(period)
            if measure == "searches":
                self._counted.add((kind, period))
            names[(kind, code)] = name
            if kind == "force" and period not in periods:
                periods[period] = Period(period, pkind, start, end, int(months), label)
            if breakdown == "total" and basis == "none" and measure == "searches":
                own[(kind, code, period)] = Period(period, pkind, start, end, int(months), label)
            cat_key = (kind, code, period, breakdown)
            if breakdown != "total" and category not in self._cats[cat_key]:
                self._cats[cat_key].append(category)
            self._kind_of[period] = pkind
        for kind, code, period, name, counted, label, pkind, start, end, months in index:
            self._periods_of[(kind, code)].add(period)
            if counted:
                self._counted.add((kind, period))
            names.setdefault((kind, code), name)
            if kind == "force" and period not in periods:  # the same on every force row
                periods[period] = Period(period, pkind, start, end, int(months), label)
            self._kind_of.setdefault(period, pkind)
        self.names = dict(sorted(names.items()))
        self.periods = periods
        self._own = own
        for cats in self._cats.values():
            cats.sort()

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, page_months: int | None = PAGE_MONTHS) -> Store:
        """The figures the pages read now, the deferred ones when first asked for; windows,
        quarters and months only over the latest `page_months` months (None: all of them)."""
        since, months = horizon(con, page_months) if page_months is not None else (None, 0)
        full_years = [r[0] for r in SQL.execute(con, "full_years", {"n": FULL_YEARS}).fetchall()]
        params = {
            **_DEFERRED_PARAMS,
            "full_years": full_years,
            "horizon_kinds": list(HORIZON_KINDS),
            "since": since or date.min,
        }

        def read(name: str) -> list[tuple]:
            cursor = SQL.execute(con, name, params)
            columns = tuple(d[0] for d in cursor.description or ())
            if columns != PUBLISHED_COLUMNS:  # rows are read by position
                raise RuntimeError(f"data.sql '{name}' gives {columns}, not {PUBLISHED_COLUMNS}")
            return cursor.fetchall()

        index = SQL.execute(con, "deferred_index", params).fetchall()
        store = cls(read("published"), index, lambda: read("published_deferred"))
        store.full_years = frozenset(full_years)
        if since is not None:
            store.since, store.months_total = since, months
        return store

    def _load_deferred(self) -> None:
        """Read the deferred figures (once): a page asked for one."""
        if self._deferred is None:
            return
        rows, self._deferred = self._deferred(), None
        changed = set()
        for row in rows:
            key = (row[0], row[1], row[3], *row[10:15])
            self._figs.setdefault(key, row)
            breakdown, category = row[12], row[13]
            cat_key = (row[0], row[1], row[3], breakdown)
            if breakdown != "total" and category not in self._cats[cat_key]:
                self._cats[cat_key].append(category)
                changed.add(cat_key)
        for cat_key in changed:
            self._cats[cat_key].sort()

    def fig(
        self,
        kind: str,
        code: str,
        period: str,
        measure: str,
        *,
        basis: str = "none",
        grp: str = "All",
        breakdown: str = "total",
        category: str = "",
    ) -> Fig:
        key = (kind, code, period, basis, grp, breakdown, category, measure)
        found = self._figs.get(key)
        if (
            found is None
            and self._deferred is not None
            and is_deferred(
                self._kind_of.get(period), period, breakdown, basis, grp, measure, self.full_years
            )
        ):
            self._load_deferred()
            found = self._figs.get(key)
        if found is None:
            return Fig(measure, None, None, None, None, None, NO_DATA, "no data", 0)
        if isinstance(found, tuple):  # built once, when first shown: most rows never are
            found = self._figs[key] = _fig(found)
        return found

    def period_of(self, kind: str, code: str, period: Period) -> Period:
        """The period as it is for one area: its own months present and label."""
        return self._own.get((kind, code, period.period), period)

    def has(self, kind: str, code: str, period: str | None = None) -> bool:
        """Whether the area has any published row (of `period`): a lookup, not a scan."""
        periods = self._periods_of.get((kind, code), set())
        return bool(periods) if period is None else period in periods

    def counted(self, kind: str, period: str) -> bool:
        """Whether any area of `kind` has a count row in `period` (published or withheld): in
        a release of records that are not public, areas below the force have none outside
        closed years, only residents."""
        return (kind, period) in self._counted

    def categories(self, kind: str, code: str, period: str, breakdown: str) -> list[str]:
        if self._deferred is not None and _deferred_breakdown(
            self._kind_of.get(period), period, breakdown, self.full_years
        ):
            self._load_deferred()
        return list(self._cats.get((kind, code, period, breakdown), []))

    def areas(self, kind: str) -> list[str]:
        return sorted(code for (k, code) in self.names if k == kind)

    def ordered_periods(self, kinds: tuple[str, ...] = ("rolling", "year")) -> list[Period]:
        """Latest 12 months first, then calendar years, quarters, trend windows and months,
        each in time order."""
        order = {"rolling": 0, "year": 1, "quarter": 2, "window": 3, "month": 4}
        found = [p for p in self.periods.values() if p.kind in kinds]
        return sorted(found, key=lambda p: (order[p.kind], p.start, p.period))

    def months_of_data(self) -> int:
        """How many months have published figures (before the horizon too)."""
        if self.months_total is not None:
            return self.months_total
        return len(self.ordered_periods(("month",)))

    def force_code(self) -> str | None:
        codes = self.areas("force")
        return codes[0] if codes else None


def horizon(con: duckdb.DuckDBPyConnection, page_months: int) -> tuple[date | None, int]:
    """The first day of the latest `page_months` months, if some published window, quarter or
    month ends before it (else None: the pages show everything); and the months of data."""
    if page_months < MIN_PAGE_MONTHS:
        raise ValueError(f"page_months must be at least {MIN_PAGE_MONTHS}, not {page_months}")
    params = {"page_months": page_months, "horizon_kinds": list(HORIZON_KINDS)}
    found = SQL.execute(con, "horizon", params).fetchone()
    return (found[0] if found[1] else None, found[2]) if found else (None, 0)


@dataclass(frozen=True)
class Layer:
    layer_id: str
    kind: str
    name: str
    valid_from: date | None
    valid_to: date | None
    areas: int
    licence: str
    attribution: str
    source_url: str
    population_method: str | None

    @property
    def span(self) -> str:
        start = text.day(self.valid_from) or "always"
        end = text.day(self.valid_to) or "now"
        return f"{start} to {end}"


@dataclass(frozen=True)
class Area:
    layer_id: str
    kind: str
    code: str
    name: str
    parent_code: str | None
    valid_from: date | None
    valid_to: date | None
    wkb: bytes


def load_layers(con: duckdb.DuckDBPyConnection) -> list[Layer]:
    rows = SQL.execute(con, "layers").fetchall()
    return [Layer(*r) for r in rows]


def load_areas(con: duckdb.DuckDBPyConnection, kinds: Iterable[str]) -> list[Area]:
    wanted = sorted(set(kinds))
    rows = SQL.execute(con, "areas", {"kinds": wanted}).fetchall()
    return [
        Area(layer_id, kind, code, name, parent, start, end, bytes(wkb))
        for layer_id, kind, code, name, parent, start, end, wkb in rows
    ]


def layer_for(layers: list[Layer], end_day: date) -> Layer | None:
    """The layer of one kind in force on `end_day` (else the latest started by then)."""
    if not layers:
        return None

    def start(layer: Layer) -> date:
        return layer.valid_from or date.min

    in_force = [
        layer
        for layer in layers
        if start(layer) <= end_day and (layer.valid_to is None or layer.valid_to >= end_day)
    ]
    if in_force:
        return max(in_force, key=lambda layer: (start(layer), layer.layer_id))
    started = [layer for layer in layers if start(layer) <= end_day]
    if started:
        return max(started, key=lambda layer: (start(layer), layer.layer_id))
    return min(layers, key=lambda layer: (start(layer), layer.layer_id))


@dataclass
class MonthRow:
    force: str
    month: date
    status: str  # present | missing
    rows_loaded: int | None = None
    rows_rejected: int | None = None
    source: str = ""
    supplied: int = 0


@dataclass
class Coverage:
    forces: dict[str, list[MonthRow]] = field(default_factory=dict)
    resupplied: list[tuple[str, date, int]] = field(default_factory=list)
    census_years: list[int] = field(default_factory=list)
    population_methods: list[tuple[str, str, str, str]] = field(default_factory=list)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def load_coverage(con: duckdb.DuckDBPyConnection) -> Coverage:
    """Months present, missing and re-supplied per force, from `loads` and `load_history`."""
    coverage = Coverage()
    loads = SQL.execute(con, "loads").fetchall()
    history = SQL.execute(con, "times_supplied").fetchall()
    supplied = {(f, m): int(n) for f, m, n in history}
    by_force: dict[str, dict[date, tuple]] = defaultdict(dict)
    for force, month, loaded, rejected, source in loads:
        by_force[force][month] = (loaded, rejected, source)
    for force in sorted(by_force):
        months = by_force[force]
        first, last = min(months), max(months)
        rows = []
        month = first
        while month <= last:
            if month in months:
                loaded, rejected, source = months[month]
                rows.append(
                    MonthRow(
                        force,
                        month,
                        "present",
                        int(loaded),
                        int(rejected),
                        PurePosixPath(str(source).replace("\\", "/")).name,
                        supplied.get((force, month), 1),
                    )
                )
            else:
                rows.append(MonthRow(force, month, "missing"))
            month = _next_month(month)
        coverage.forces[force] = rows
    coverage.resupplied = sorted((f, m, n - 1) for (f, m), n in supplied.items() if n > 1)
    coverage.census_years = [int(y) for (y,) in SQL.execute(con, "census_years").fetchall()]
    coverage.population_methods = [
        (str(p), str(layer or ""), str(kind), str(detail))
        for p, layer, kind, detail in SQL.execute(con, "population_methods").fetchall()
    ]
    return coverage


def derived_changelog(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Changelog entries from `load_history`: new and re-supplied months, per day of loading."""
    rows = SQL.execute(con, "load_history").fetchall()
    by_day: dict[date, dict[tuple[str, str], list[date]]] = defaultdict(lambda: defaultdict(list))
    for day, force, month, action in rows:
        by_day[day][(force, action)].append(month)
    entries = []
    for day in sorted(by_day, reverse=True):
        lines = []
        for (force, action), months in sorted(by_day[day].items()):
            months = sorted(set(months))
            verb = "new month" if action == "new" else "re-supplied month"
            plural = "s" if len(months) != 1 else ""
            lines.append(f"{force}: {len(months)} {verb}{plural} ({_month_ranges(months)})")
        entries.append({"published_at": day.isoformat(), "lines": lines})
    return entries


def _month_ranges(months: list[date]) -> str:
    """'2023-01 to 2023-06, 2023-09' from a sorted list of months."""
    parts = []
    start = prev = months[0]
    for month in [*months[1:], None]:
        if month is not None and month == _next_month(prev):
            prev = month
            continue
        parts.append(f"{start:%Y-%m}" if start == prev else f"{start:%Y-%m} to {prev:%Y-%m}")
        if month is not None:
            start = prev = month
    return ", ".join(parts)
