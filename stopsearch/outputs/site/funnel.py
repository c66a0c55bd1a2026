"""Funnel plots of the areas index and the "unusual" marks of the area pages (issue 22).

Reads `metrics_funnel` and `metrics_dispersion` (built by the metrics stage from published
figures only) for the latest period, and draws each funnel as an inline SVG (no script, no other
origin) with a table of the same figures behind it: every point is a link to its area page, and
shape as well as colour marks an area beyond the adjusted 99.8% limit. The limit lines are
recomputed here with :mod:`stopsearch.metrics.funnel` along the exposure axis.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np
from markupsafe import Markup, escape

from stopsearch.metrics import funnel as limits
from stopsearch.metrics.contract import format_value
from stopsearch.metrics.fair import FUNNEL_KINDS
from stopsearch.outputs.site import text
from stopsearch.outputs.site.charts import GRID, INK, MUTED, _f, nice_ticks
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.outputs.site", "funnel.sql")
UNUSUAL = "unusual even allowing for how much areas differ"
POINT = "#2c7fb8"
FLAG = "#b35806"
TARGET = "#1b6e3a"
TITLES = {
    ("search_rate", "All"): "Searches per 1,000 residents",
    ("disproportionality_ratio", "Black"): "Black/White disproportionality ratio",
    ("disproportionality_ratio", "Asian"): "Asian/White disproportionality ratio",
}
BANDS = {
    2: "above the 99.8% limit",
    1: "above the 95% limit",
    0: "within the limits",
    -1: "below the 95% limit",
    -2: "below the 99.8% limit",
}


@dataclass(frozen=True)
class Point:
    """One area on a funnel."""

    code: str
    name: str
    href: str
    value: float
    display: str
    exposure: float
    exposure_text: str
    band: int
    band_adjusted: int
    unusual: bool

    @property
    def chance_text(self) -> str:
        return BANDS[self.band]

    @property
    def adjusted_text(self) -> str:
        return BANDS[self.band_adjusted] + (f": {UNUSUAL}" if self.unusual else "")


@dataclass
class Funnel:
    """One funnel: an area kind and a measure, its points, limits and dispersion."""

    kind: str
    measure: str
    grp: str
    target: float
    phi_b: float
    tau2: float
    points: list[Point] = field(default_factory=list)
    svg: Markup = Markup("")

    @property
    def id(self) -> str:
        return f"funnel-{self.kind}-{self.measure}-{self.grp}".lower().replace("_", "-")

    @property
    def table_id(self) -> str:
        return f"{self.id}-table"

    @property
    def title(self) -> str:
        return f"{text.KIND_PLURALS[self.kind]}: {TITLES[(self.measure, self.grp)]}"

    @property
    def is_rate(self) -> bool:
        return self.measure == "search_rate"

    @property
    def exposure_label(self) -> str:
        if self.is_rate:
            return "Residents × years (person-years)"
        return "Effective searches behind the ratio"

    @property
    def target_text(self) -> str:
        return format_value(self.measure, self.target)

    def outside(self, adjusted: bool, level: int) -> int:
        """Areas beyond the 95% (level 1) or 99.8% (level 2) limits."""
        return sum(
            1 for p in self.points if abs(p.band_adjusted if adjusted else p.band) >= level
        )

    @property
    def summary(self) -> str:
        plural = text.KIND_PLURALS[self.kind].lower()
        return (
            f"{len(self.points)} {plural} with a published figure; force figure"
            f" {self.target_text}. By chance alone {self.outside(False, 1)} would lie outside"
            f" the 95% limits and {self.outside(False, 2)} outside the 99.8% limits. Allowing"
            f" for how much {plural} really differ (between-area dispersion phi_b ="
            f" {self.phi_b:.2f}, tau² = {self.tau2:.3g}): {self.outside(True, 1)} and"
            f" {self.outside(True, 2)}."
        )


@dataclass
class Funnels:
    """Every funnel of the latest period and the unusual marks by area."""

    items: list[Funnel] = field(default_factory=list)
    marks: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    dispersion: list[dict] = field(default_factory=list)  # methodology: both figures, inputs

    def unusual_for(self, kind: str, code: str) -> list[str]:
        """What the area page says: one line per funnel on which the area is unusual."""
        return self.marks.get((kind, code), [])


def load(
    con: duckdb.DuckDBPyConnection, period: str | None, pages: dict[str, list[str]]
) -> Funnels:
    """The funnels of `period` for the kinds that have area pages (`pages`: kind -> codes)."""
    if period is None:
        return Funnels()
    rows = SQL.execute(con, "dispersion", {"period": period}).fetchall()
    between = {
        (kind, measure, grp): (phi, tau2)
        for kind, scope, measure, grp, _n, _c, _d, _r, phi, tau2, _t in rows
        if scope == "between_areas"
    }
    kinds = list(FUNNEL_KINDS)
    found: dict[tuple[str, str, str], Funnel] = {}
    marks: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in SQL.execute(con, "points", {"period": period}).fetchall():
        kind, code, name, measure, grp, value, exposure, target, band, adjusted, unusual = row
        if code not in pages.get(kind, ()) or (measure, grp) not in TITLES or kind not in kinds:
            continue
        key = (kind, measure, grp)
        if key not in found:
            phi, tau2 = between.get(key, (float("nan"), 0.0))
            found[key] = Funnel(kind, measure, grp, float(target), float(phi), float(tau2 or 0))
        item = found[key]
        item.points.append(
            Point(
                code=code,
                name=name,
                href=f"{kind}/{text.slug(code)}.html",
                value=float(value),
                display=format_value(measure, float(value)),
                exposure=float(exposure),
                exposure_text=f"{exposure:,.{0 if measure == 'search_rate' else 1}f}",
                band=int(band),
                band_adjusted=int(adjusted),
                unusual=bool(unusual),
            )
        )
        if unusual:
            where = "above" if adjusted > 0 else "below"
            marks[(kind, code)].append(
                f"{TITLES[(measure, grp)]}: {UNUSUAL} ({where} the force figure's adjusted 99.8%"
                " limit)"
            )
    order = list(TITLES)
    items = sorted(
        found.values(), key=lambda f: (kinds.index(f.kind), order.index((f.measure, f.grp)))
    )
    for item in items:
        item.points.sort(key=lambda p: (p.name.casefold(), p.code))
        item.svg = draw(item)
    return Funnels(items, dict(marks), [_dispersion_row(r) for r in rows])


COUNT_LABELS = {
    ("searches", "All"): "All searches",
    ("person_searches", "All"): "Person searches, five stated groups",
    ("all_person_searches", "All"): "Every person search",
}


def _dispersion_row(row: tuple) -> dict:
    """One line of the methodology's table of dispersion figures."""
    kind, scope, measure, grp, n, chi, df, raw, phi, tau2, target = row
    if scope == "within_time":
        what = COUNT_LABELS.get((measure, grp), f"Person searches, {grp}")
    else:
        what = TITLES.get((measure, grp), measure)
    number = lambda v, spec: "" if v is None or v != v else format(v, spec)  # noqa: E731
    return {
        "kind": text.KIND_PLURALS.get(kind, kind),
        "scope": "within areas, over time (phi_t)" if scope == "within_time" else (
            "between areas (phi_b)"
        ),
        "what": what,
        "areas": n,
        "chi_square": number(chi, ",.1f"),
        "df": "" if df is None else f"{df:,}",
        "phi": number(phi, ".2f"),
        "tau2": number(tau2, ".4g") if scope != "within_time" else "",
        "target": format_value(measure, target) if target is not None and target == target
        else "",
    }


def _log_axis(lo: float, hi: float, a: float, b: float):
    span = math.log(hi) - math.log(lo) or 1.0

    def scale(v: float) -> float:
        return a + (b - a) * (math.log(min(max(v, lo), hi)) - math.log(lo)) / span

    return scale


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 x powers of ten inside lo..hi."""
    out = []
    for power in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**power
            if lo <= v <= hi:
                out.append(v)
    return out


@dataclass(frozen=True)
class _Frame:
    """Where a funnel is drawn: the plot box, the axis ranges and the value-to-pixel scales."""

    x0: float
    x1: float
    y0: float
    y1: float
    lo_x: float
    hi_x: float
    sx: Callable[[float], float]
    sy: Callable[[float], float]
    ticks: list[float]


def _frame(item: Funnel, width: int, height: int) -> _Frame:
    """Log exposure across; the figure up, linear for rates and log for ratios."""
    left, right, top, bottom = 64, 16, 14, 64
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    xs = [p.exposure for p in item.points]
    lo_x, hi_x = min(xs) / 1.25, max(xs) * 1.25
    values = [p.value for p in item.points]
    if item.is_rate:
        ticks = nice_ticks(max([*values, item.target]) * 1.1)
        y_top = ticks[-1] or 1.0

        def sy(v: float) -> float:
            return y1 - (y1 - y0) * min(max(v, 0.0), y_top) / y_top

    else:
        lo_y = min([*values, item.target]) / 1.6
        hi_y = max([*values, item.target]) * 1.6
        ticks = _log_ticks(lo_y, hi_y)
        sy = _log_axis(lo_y, hi_y, y1, y0)
    return _Frame(x0, x1, y0, y1, lo_x, hi_x, _log_axis(lo_x, hi_x, x0, x1), sy, ticks)


def _axes(item: Funnel, f: _Frame, height: int) -> list[str]:
    """Grid lines and labels of both axes."""
    out = []
    for tick in f.ticks:
        y = f.sy(tick)
        out.append(
            f'<line x1="{f.x0}" x2="{f.x1}" y1="{_f(y)}" y2="{_f(y)}" stroke="{GRID}" '
            f'stroke-width="1"/><text x="{f.x0 - 6}" y="{_f(y + 4)}" text-anchor="end" '
            f'font-size="12" fill="{INK}">{tick:g}</text>'
        )
    for tick in _log_ticks(f.lo_x, f.hi_x):
        x = f.sx(tick)
        out.append(
            f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{f.y1}" y2="{f.y1 + 4}" stroke="{INK}"/>'
            f'<text x="{_f(x)}" y="{f.y1 + 18}" text-anchor="middle" font-size="11" '
            f'fill="{INK}">{tick:,.0f}</text>'
        )
    out.append(
        f'<text x="{_f((f.x0 + f.x1) / 2)}" y="{height - 28}" text-anchor="middle" font-size="12" '
        f'fill="{INK}">{escape(item.exposure_label)} (log scale)</text>'
    )
    return out


def _limit_lines(item: Funnel, f: _Frame) -> list[str]:
    """The 95% and 99.8% limits: dashed by chance alone, solid allowing for area spread."""
    out = []
    grid = np.exp(np.linspace(math.log(f.lo_x), math.log(f.hi_x), 60))
    bound = limits.rate_limits if item.is_rate else limits.ratio_limits
    for tau2, dash in ((0.0, ' stroke-dasharray="5 4"'), (item.tau2, "")):
        if dash == "" and not tau2:
            continue  # no between-area spread beyond chance: the adjusted lines are the same
        for level, weight in (("95", 1.2), ("99.8", 2.0)):
            interval = bound(item.target, grid, limits.LEVELS[level], tau2)
            for edge in (interval.low, interval.high):
                points = " ".join(
                    f"{_f(f.sx(float(x)))},{_f(f.sy(float(v)))}"
                    for x, v in zip(grid, edge, strict=True)
                    if np.isfinite(v) and v > 0
                )
                colour = MUTED if dash else INK
                out.append(
                    f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="{weight}"{dash}/>'
                )
    return out


def _points(item: Funnel, f: _Frame) -> list[str]:
    """One linked mark per area: a square when unusual, so colour is not the only channel."""
    out = []
    for p in item.points:
        cx, cy = f.sx(p.exposure), f.sy(p.value)
        label = escape(f"{p.name}: {p.display}; {p.adjusted_text}")
        if p.unusual:
            shape = (
                f'<rect x="{_f(cx - 5)}" y="{_f(cy - 5)}" width="10" height="10" fill="{FLAG}" '
                f'stroke="{INK}" stroke-width="1"/>'
            )
        else:
            shape = (
                f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="4" fill="{POINT}" fill-opacity="0.75" '
                f'stroke="{INK}" stroke-width="0.5"/>'
            )
        out.append(f'<a href="{escape(p.href)}"><title>{label}</title>{shape}</a>')
    return out


def draw(item: Funnel, width: int = 680, height: int = 400) -> Markup:
    """The funnel as an accessible SVG: points linked to area pages, four limit lines, target."""
    f = _frame(item, width, height)
    chart_id = item.id
    out = [
        f'<svg class="chart funnel" id="{chart_id}-svg" role="group" aria-labelledby="'
        f'{chart_id}-t {chart_id}-d" viewBox="0 0 {width} {height}" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">Funnel plot: {escape(item.title)}</title>',
        f'<desc id="{chart_id}-d">Each point is an area, placed by its figure (up) and how much'
        " it rests on (across); dashed lines are the 95% and 99.8% limits around the force figure"
        " by chance alone, solid lines the same limits allowing for how much areas differ."
        f" Squares are areas {UNUSUAL}. The table with id {item.table_id} gives every figure."
        "</desc>",
        *_axes(item, f, height),
        *_limit_lines(item, f),
    ]
    ty = f.sy(item.target)
    out.append(
        f'<line x1="{f.x0}" x2="{f.x1}" y1="{_f(ty)}" y2="{_f(ty)}" stroke="{TARGET}" '
        f'stroke-width="2"/><text x="{f.x1}" y="{_f(ty - 5)}" text-anchor="end" font-size="11" '
        f'fill="{TARGET}">Force figure {escape(item.target_text)}</text>'
    )
    out.extend(_points(item, f))
    out.append(
        f'<line x1="{f.x0}" x2="{f.x1}" y1="{f.y1}" y2="{f.y1}" stroke="{INK}" stroke-width="1"/>'
        "</svg>"
    )
    return Markup("".join(out))
