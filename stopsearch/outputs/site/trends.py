"""Trend charts and the change on a year earlier in plain words (issue 17).

Each series is one published figure over the trend windows (`metrics.trends`): the 12 months
ending with each month, the last point being the latest 12 months; with fewer than 13 months of
data, each month's own figure, and the page says why. A series is drawn (inline SVG, with its
table of the same figures) only where at least one point is published. The change sentence
reads the published change row (`*_change`, breakdown year_earlier) and both periods' figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from stopsearch.metrics.contract import YEAR_EARLIER
from stopsearch.metrics.suppression import NO_DATA, SuppressionRules
from stopsearch.metrics.trends import MIN_CHANGE_MONTHS, MIN_ROLLING_MONTHS
from stopsearch.outputs.site import charts, text
from stopsearch.outputs.site.data import Fig, Period, Store
from stopsearch.outputs.site.pages import Shown, shown

# key, measure, keys of the figure, title, chart scale, change measure (None: no change given)
SERIES: tuple[tuple[str, str, dict[str, str], str, str, str | None], ...] = (
    ("positive", "positive_outcome_rate", {}, "Positive-outcome rate", "share",
     "positive_outcome_change"),
    ("black", "disproportionality_ratio", {"basis": "self_defined", "grp": "Black"},
     "Black/White disproportionality ratio", "ratio", "disproportionality_change"),
    ("asian", "disproportionality_ratio", {"basis": "self_defined", "grp": "Asian"},
     "Asian/White disproportionality ratio", "ratio", "disproportionality_change"),
    ("rate", "search_rate", {"basis": "self_defined"}, "Person searches per 1,000 residents",
     "number", "search_rate_change"),
    ("find", "find_rate", {}, "Find rate", "share", None),
)
# The plan measured success as "positive outcome rates up, disproportionality down".
LEAD = ("positive", "black", "asian")
CHANCE_NOTE = (
    "Among many areas, about 1 in 20 will show a change that looks 'significant' at 95% by"
    " chance alone, even where nothing changed: read one area's change with that in mind."
)


@dataclass(frozen=True)
class Point:
    """One point of a series: its period and the published figure."""

    period: str
    short: str  # axis label: the last month of the window ("Mar 2024")
    label: str  # the period's own label (months present)
    figure: Shown


@dataclass
class Series:
    """One measure over the trend windows, drawn and tabled."""

    key: str
    title: str
    chart_id: str
    points: list[Point] = field(default_factory=list)
    svg: Markup = Markup("")
    changes: list[str] = field(default_factory=list)  # sentences: 12 months, then quarter

    @property
    def table_id(self) -> str:
        return f"{self.chart_id}-table"


@dataclass
class Trends:
    """The trend section of a page: its series and what the reader needs to read them."""

    series: list[Series]
    rolling: bool  # 12-month windows (else monthly points, and `why` says so)
    why: str = ""

    def lead(self) -> list[Series]:
        return [s for s in self.series if s.key in LEAD]

    def rest(self) -> list[Series]:
        return [s for s in self.series if s.key not in LEAD]


def series_periods(store: Store, latest: Period | None) -> tuple[list[Period], bool]:
    """The windows in time order (and the latest 12 months when they are 12-month windows)."""
    windows = sorted(store.ordered_periods(("window",)), key=lambda p: (p.end, p.period))
    rolling = any(p.period.startswith("12m-") for p in windows)
    if rolling and latest is not None:
        windows.append(latest)
    return windows, rolling


def months_of_data(store: Store) -> int:
    return store.months_of_data()


def trends(
    store: Store,
    kind: str,
    code: str,
    latest: Period | None,
    rules: SuppressionRules,
    prefix: str = "trend",
) -> Trends | None:
    """The series of one area (or the force) with their change sentences; None without any
    published point."""
    periods, rolling = series_periods(store, latest)
    periods = [p for p in periods if store.has(kind, code, p.period)]
    if not periods:
        return None
    out = []
    for key, measure, kw, title, scale, change in SERIES:
        series = Series(key, title, f"{prefix}-{key}")
        items = []
        for p in periods:
            f = store.fig(kind, code, p.period, measure, **kw)
            short = text.month_label(p.end)
            label = store.period_of(kind, code, p).label
            series.points.append(Point(p.period, short, label, shown(f, rules)))
            items.append(_item(short, f))
        if not any(pt.figure.withheld is False for pt in series.points):
            continue
        series.svg = charts.band_chart(
            series.chart_id,
            f"{title}: {'rolling 12 months' if rolling else 'each month'}, with 95% intervals",
            items,
            table_id=series.table_id,
            scale=scale,
        )
        if change:
            series.changes = change_sentences(store, kind, code, latest, measure, kw, title,
                                              change, rules)
        out.append(series)
    if not out:
        return None
    n = months_of_data(store)
    why = (
        ""
        if rolling
        else f"There are {n} months of data: fewer than {MIN_ROLLING_MONTHS}, so each point is"
        " that month's own figure, not the 12 months to it (a rolling 12-month series needs at"
        f" least {MIN_ROLLING_MONTHS} months to have more than one point)."
    )
    return Trends(out, rolling, why)


def _item(label: str, f: Fig) -> charts.Item:
    if f.shown:
        return charts.Item(label, f.value, f.display, f.low, f.high, f.wide)
    return charts.Item(label, None, f.display)


def _value_text(measure: str, f: Fig) -> str:
    return f"{f.display} per 1,000" if measure == "search_rate" else f.display


def change_sentences(
    store: Store,
    kind: str,
    code: str,
    latest: Period | None,
    measure: str,
    kw: dict[str, str],
    title: str,
    change: str,
    rules: SuppressionRules,
) -> list[str]:
    """The change on a year earlier in words: the latest 12 months, then the latest complete
    quarter; or why there is none."""
    out: list[str] = []
    if latest is None:
        return out
    later_periods = [latest, *reversed(store.ordered_periods(("quarter",)))]
    for later in later_periods:
        earlier_ids = store.categories(kind, code, later.period, YEAR_EARLIER)
        if not earlier_ids:
            continue
        earlier_id = earlier_ids[0]
        earlier = store.periods.get(earlier_id)
        ratio = store.fig(kind, code, later.period, change, breakdown=YEAR_EARLIER,
                          category=earlier_id, **kw)
        if not store.has(kind, code, later.period) or not store.has(kind, code, earlier_id):
            continue
        one = store.fig(kind, code, later.period, measure, **kw)
        zero = store.fig(kind, code, earlier_id, measure, **kw)
        later_label = store.period_of(kind, code, later).label
        earlier_label = (
            store.period_of(kind, code, earlier).label if earlier is not None else earlier_id
        )
        out.append(_sentence(title, measure, one, zero, ratio, later_label, earlier_label, rules))
        if later.kind == "quarter":
            break
    if not out and latest is not None:
        n = months_of_data(store)
        if n < MIN_CHANGE_MONTHS:
            out.append(
                f"No change on a year earlier is given: it needs {MIN_CHANGE_MONTHS} months of"
                f" data (the latest 12 months and the 12 before them), and there are {n}."
            )
        else:
            out.append(
                "No change on a year earlier is given for this area: it has no figures for the"
                " same period a year before."
            )
    return out


def _sentence(
    title: str,
    measure: str,
    one: Fig,
    zero: Fig,
    ratio: Fig,
    later_label: str,
    earlier_label: str,
    rules: SuppressionRules,
) -> str:
    what = f"{title} ({later_label} against {earlier_label})"
    if not ratio.shown or not one.shown or not zero.shown:
        why = text.reason_text(ratio.reason or one.reason or zero.reason or NO_DATA, rules)
        return f"{what}: the change on a year earlier is withheld ({why})."
    assert ratio.value is not None
    later_when, earlier_when = _when(later_label), _when(earlier_label)
    if one.display == zero.display:
        body = f"was unchanged at {_value_text(measure, one)} in {later_when} as in {earlier_when}"
    else:
        verb = "rose" if ratio.value > 1 else "fell"
        body = (
            f"{verb} from {_value_text(measure, zero)} in {earlier_when} to"
            f" {_value_text(measure, one)} in {later_when}"
        )
    start = title[:1].upper() + title[1:]
    if ratio.low is None or ratio.high is None:  # e.g. a change to zero: metrics.trends gives
        # the ratio without an interval (its log is unbounded)
        return f"{start} {body}; no 95% interval can be given (ratio {ratio.value:.2f})."
    chance = (
        "a change this size could be chance"
        if ratio.low <= 1.0 <= ratio.high
        else "a change this size is unlikely to be chance alone"
    )
    return (
        f"{start} {body}; {chance} (ratio {ratio.value:.2f}, 95% CI of the change"
        f" {ratio.low:.2f} to {ratio.high:.2f})."
    )


def _when(label: str) -> str:
    """A period label inside a sentence: 'the latest 12 months (...)', 'the year ending Dec
    2023', 'Q4 2023'."""
    if label.startswith(("Latest", "Year ending")):
        return "the " + label[:1].lower() + label[1:]
    if label[:1].isdigit() and " months with data in " in label:
        return "the " + label
    return label


@dataclass(frozen=True)
class AreaChange:
    """One area's change on a year earlier in the search rate, for the areas index."""

    name: str
    href: str
    figure: Shown
    beyond_chance: bool  # the 95% interval of the change leaves out 1


def area_changes(
    store: Store,
    pages_by_kind: dict[str, list[str]],
    latest: Period | None,
    rules: SuppressionRules,
    kinds: tuple[str, ...] = ("ward", "neighbourhood"),
) -> list[tuple[str, list[AreaChange], int]]:
    """Per kind: every area's published change in the search rate (latest 12 months against a
    year earlier), and how many leave 1 out of their interval."""
    if latest is None:
        return []
    out = []
    for kind in kinds:
        rows = []
        for code in pages_by_kind.get(kind, []):
            earlier = store.categories(kind, code, latest.period, YEAR_EARLIER)
            if not earlier:
                continue
            f = store.fig(kind, code, latest.period, "search_rate_change", basis="self_defined",
                          breakdown=YEAR_EARLIER, category=earlier[0])
            if not f.shown:
                continue
            beyond = f.low is not None and f.high is not None and not f.low <= 1.0 <= f.high
            rows.append(
                AreaChange(store.names[(kind, code)], f"{kind}/{text.slug(code)}.html",
                           shown(f, rules), beyond)
            )
        rows.sort(key=lambda r: (r.name.casefold(), r.href))
        if rows:
            out.append((kind, rows, sum(r.beyond_chance for r in rows)))
    return out
