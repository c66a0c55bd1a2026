"""Inline SVG charts (no JavaScript): columns by month, labelled bars, points with intervals.

Every chart is an `<svg role="img">` with a title and a description pointing at the HTML table
that the page puts beside it (the table carries the same figures, so colour and shape are never
the only channel). Withheld figures are drawn as grey hatched stubs labelled with their display
text ("<5", "insufficient data"). All text is escaped; numbers use fixed formatting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR = "#2c7fb8"
INK = "#1b1b1b"
GRID = "#c8c8c8"
MUTED = "#4a4a4a"
HATCH = "url(#ss-hatch)"


@dataclass(frozen=True)
class Item:
    """One value to draw: label, value (None when withheld), text shown, optional interval."""

    label: str
    value: float | None
    display: str
    low: float | None = None
    high: float | None = None
    imprecise: bool = False  # a wide interval: drawn paler, with a hollow point


def _f(x: float) -> str:
    """Fixed, short coordinates."""
    out = f"{x:.1f}"
    return out[:-2] if out.endswith(".0") else out


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if top <= 0 or math.isnan(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_label(value: float, percent: bool) -> str:
    if percent:
        return f"{100 * value:.0f}%"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def _open(chart_id: str, title: str, width: int, height: int, table_id: str) -> list[str]:
    t = escape(title)
    return [
        f'<svg class="chart" id="{chart_id}" role="img" aria-labelledby="{chart_id}-t '
        f'{chart_id}-d" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{t}</title>',
        f'<desc id="{chart_id}-d">Chart of the figures in the table with id {table_id}, '
        "which follows it.</desc>",
    ]


def column_chart(
    chart_id: str,
    title: str,
    items: Sequence[Item],
    *,
    table_id: str,
    percent: bool = False,
    width: int = 680,
    height: int = 240,
) -> Markup:
    """Vertical columns, one per item (e.g. months), withheld ones hatched."""
    left, right, top, bottom = 56, 10, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [i.value for i in items if i.value is not None]
    highs = [i.high for i in items if i.high is not None]
    ticks = nice_ticks(max([*values, *highs, 0.0]))
    scale_top = ticks[-1] or 1.0
    out = _open(chart_id, title, width, height, table_id)
    for tick in ticks:
        y = top + plot_h - plot_h * tick / scale_top
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y)}" y2="{_f(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{_f(y + 4)}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(_tick_label(tick, percent))}</text>'
        )
    n = max(len(items), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.7, 1.0)
    every = max(1, math.ceil(n / 12))
    for index, item in enumerate(items):
        x = left + slot * index + (slot - bar_w) / 2
        cx = left + slot * index + slot / 2
        if item.value is None:
            stub = min(plot_h, 18.0)
            out.append(
                f'<rect x="{_f(x)}" y="{_f(top + plot_h - stub)}" width="{_f(bar_w)}" '
                f'height="{_f(stub)}" fill="{HATCH}" stroke="{MUTED}" stroke-width="1"/>'
                f'<text x="{_f(cx)}" y="{_f(top + plot_h - stub - 4)}" text-anchor="middle" '
                f'font-size="11" fill="{INK}">{escape(item.display)}</text>'
            )
        else:
            h = plot_h * item.value / scale_top
            out.append(
                f'<rect x="{_f(x)}" y="{_f(top + plot_h - h)}" width="{_f(bar_w)}" '
                f'height="{_f(max(h, 0.0))}" fill="{BAR}"><title>{escape(item.label)}: '
                f"{escape(item.display)}</title></rect>"
            )
            if item.low is not None and item.high is not None:
                y1 = top + plot_h - plot_h * item.low / scale_top
                y2 = top + plot_h - plot_h * item.high / scale_top
                out.append(
                    f'<line x1="{_f(cx)}" x2="{_f(cx)}" y1="{_f(y1)}" y2="{_f(y2)}" '
                    f'stroke="{INK}" stroke-width="1.5"/>'
                )
        if index % every == 0:
            out.append(
                f'<text x="{_f(cx)}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="11" fill="{INK}">{escape(item.label)}</text>'
            )
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    out.append("</svg>")
    return Markup("".join(out))


def bar_chart(
    chart_id: str,
    title: str,
    items: Sequence[Item],
    *,
    table_id: str,
    percent: bool = False,
    width: int = 680,
) -> Markup:
    """Horizontal bars with the label above each bar and the value at its end."""
    row_h, left, right, top = 40, 8, 90, 6
    height = top + row_h * max(len(items), 1) + 6
    plot_w = width - left - right
    values = [i.value for i in items if i.value is not None]
    scale_top = max([*values, 0.0]) or 1.0
    out = _open(chart_id, title, width, height, table_id)
    for index, item in enumerate(items):
        y = top + row_h * index
        out.append(
            f'<text x="{left}" y="{y + 13}" font-size="12" fill="{INK}">{escape(item.label)}</text>'
        )
        bar_y = y + 18
        if item.value is None:
            out.append(
                f'<rect x="{left}" y="{bar_y}" width="24" height="14" fill="{HATCH}" '
                f'stroke="{MUTED}" stroke-width="1"/>'
                f'<text x="{left + 30}" y="{bar_y + 11}" font-size="12" fill="{INK}">'
                f"{escape(item.display)}</text>"
            )
            continue
        w = plot_w * item.value / scale_top
        out.append(
            f'<rect x="{left}" y="{bar_y}" width="{_f(max(w, 0.0))}" height="14" '
            f'fill="{BAR}"/>'
            f'<text x="{_f(left + max(w, 0.0) + 6)}" y="{bar_y + 11}" font-size="12" '
            f'fill="{INK}">{escape(item.display)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _log_scale(lo: float, hi: float, x0: float, x1: float) -> Callable[[float], float]:
    a, b = math.log(lo), math.log(hi)

    def scale(v: float) -> float:
        v = min(max(v, lo), hi)
        return x0 + (x1 - x0) * (math.log(v) - a) / (b - a)

    return scale


def ratio_chart(
    chart_id: str,
    title: str,
    items: Sequence[Item],
    *,
    table_id: str,
    width: int = 680,
) -> Markup:
    """Points with 95% intervals on a log scale, a reference line at 1 (parity with White)."""
    row_h, left, right, top, bottom = 30, 150, 20, 10, 34
    height = top + row_h * max(len(items), 1) + bottom
    ends = [v for i in items for v in (i.value, i.low, i.high) if v is not None and v > 0]
    lo = 2 ** math.floor(math.log2(min([*ends, 0.5])))
    hi = 2 ** math.ceil(math.log2(max([*ends, 2.0])))
    scale = _log_scale(lo, hi, left, width - right)
    out = _open(chart_id, title, width, height, table_id)
    plot_bottom = top + row_h * max(len(items), 1)
    tick = lo
    while tick <= hi * 1.0001:
        x = scale(tick)
        label = f"{tick:g}"
        stroke = INK if tick == 1 else GRID
        out.append(
            f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{top}" y2="{plot_bottom}" stroke="{stroke}" '
            f'stroke-width="{2 if tick == 1 else 1}"/>'
            f'<text x="{_f(x)}" y="{plot_bottom + 16}" text-anchor="middle" font-size="12" '
            f'fill="{INK}">{escape(label)}</text>'
        )
        tick *= 2
    out.append(
        f'<text x="{_f(scale(1.0))}" y="{plot_bottom + 30}" text-anchor="middle" '
        f'font-size="11" fill="{INK}">1 = same rate as White residents</text>'
    )
    for index, item in enumerate(items):
        y = top + row_h * index + row_h / 2
        out.append(
            f'<text x="{left - 8}" y="{_f(y + 4)}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(item.label)}</text>'
        )
        if item.value is None:
            out.append(
                f'<text x="{left + 4}" y="{_f(y + 4)}" font-size="12" fill="{INK}">'
                f"{escape(item.display)}</text>"
            )
            continue
        pale = ' stroke-opacity="0.45"' if item.imprecise else ""
        if item.low is not None and item.high is not None:
            out.append(
                f'<line x1="{_f(scale(max(item.low, lo)))}" x2="{_f(scale(item.high))}" '
                f'y1="{_f(y)}" y2="{_f(y)}" stroke="{INK}" stroke-width="2"{pale}/>'
            )
        note = " (imprecise: wide interval)" if item.imprecise else ""
        out.append(
            f'<circle cx="{_f(scale(max(item.value, lo)))}" cy="{_f(y)}" r="5" '
            f'fill="{"#ffffff" if item.imprecise else BAR}" '
            f'stroke="{INK}" stroke-width="1"><title>{escape(item.label)}: '
            f"{escape(item.display)}{note}</title></circle>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def band_chart(
    chart_id: str,
    title: str,
    items: Sequence[Item],
    *,
    table_id: str,
    scale: str = "number",
    width: int = 680,
    height: int = 260,
) -> Markup:
    """A trend: one point per item joined by a line, its 95% interval as a shaded band.

    ``scale``: "share" (percent ticks), "ratio" (a reference line at 1 = parity with White) or
    "number". Withheld points break the line and the band, and are marked on the axis with
    their display text in a tooltip.
    """
    left, right, top, bottom = 56, 14, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    tops = [v for i in items for v in (i.value, i.high) if v is not None]
    ticks = nice_ticks(max([*tops, 1.0 if scale == "ratio" else 0.0]) * 1.05)
    scale_top = ticks[-1] or 1.0
    out = _open(chart_id, title, width, height, table_id)
    percent = scale == "share"

    def y(value: float) -> float:
        return top + plot_h - plot_h * min(max(value, 0.0), scale_top) / scale_top

    for tick in ticks:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y(tick))}" y2="{_f(y(tick))}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{_f(y(tick) + 4)}" text-anchor="end" font-size="12" '
            f'fill="{INK}">{escape(_tick_label(tick, percent))}</text>'
        )
    if scale == "ratio":
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_f(y(1.0))}" y2="{_f(y(1.0))}" '
            f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text x="{width - right}" y="{_f(y(1.0) - 4)}" text-anchor="end" font-size="11" '
            f'fill="{INK}">1 = same rate as White residents</text>'
        )
    n = max(len(items), 1)
    step = plot_w / max(n - 1, 1)

    def x(index: int) -> float:
        return left + (step * index if n > 1 else plot_w / 2)

    runs: list[list[int]] = [[]]
    for index, item in enumerate(items):
        if item.value is None:
            runs.append([])
        else:
            runs[-1].append(index)
    for run in runs:
        banded = [i for i in run if items[i].low is not None and items[i].high is not None]
        if len(banded) > 1:
            upper = [f"{_f(x(i))},{_f(y(items[i].high or 0.0))}" for i in banded]
            lower = [f"{_f(x(i))},{_f(y(items[i].low or 0.0))}" for i in reversed(banded)]
            out.append(
                f'<polygon points="{" ".join(upper + lower)}" fill="{BAR}" fill-opacity="0.18" '
                'stroke="none"/>'
            )
        elif len(banded) == 1:
            i = banded[0]
            out.append(
                f'<line x1="{_f(x(i))}" x2="{_f(x(i))}" y1="{_f(y(items[i].low or 0.0))}" '
                f'y2="{_f(y(items[i].high or 0.0))}" stroke="{BAR}" stroke-opacity="0.5" '
                'stroke-width="6"/>'
            )
        if len(run) > 1:
            points = " ".join(f"{_f(x(i))},{_f(y(items[i].value or 0.0))}" for i in run)
            out.append(f'<polyline points="{points}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    every = max(1, math.ceil(n / 8))
    for index, item in enumerate(items):
        cx = x(index)
        if item.value is None:
            out.append(
                f'<rect x="{_f(cx - 4)}" y="{_f(top + plot_h - 8)}" width="8" height="8" '
                f'fill="{HATCH}" stroke="{MUTED}" stroke-width="1"><title>{escape(item.label)}: '
                f"{escape(item.display)}</title></rect>"
            )
        else:
            out.append(
                f'<circle cx="{_f(cx)}" cy="{_f(y(item.value))}" r="3.5" fill="{BAR}" '
                f'stroke="{INK}" stroke-width="0.5"><title>{escape(item.label)}: '
                f"{escape(item.display)}</title></circle>"
            )
        if (n - 1 - index) % every == 0:  # the latest point is always labelled
            out.append(
                f'<text x="{_f(cx)}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="11" fill="{INK}">{escape(item.label)}</text>'
            )
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    out.append("</svg>")
    return Markup("".join(out))
