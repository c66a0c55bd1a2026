"""Period labels that say only what is there: one function for every kind of period.

A period is defined by its kind and nominal span (the latest 12 months, a calendar year, a
quarter, a month), but its figures cover only the months with data. The label names the months
actually present, so "Latest 12 months" on ten months of data reads "Latest 10 months (Sep 2016
to Jun 2017)" and a partial year reads "2016 (Jun to Dec, 7 months)". The first number in every
label that counts months is the number of months present.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

# English month names, one home for every stage (not `calendar`, whose names follow the locale).
FULL_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTHS = tuple(name[:3] for name in FULL_MONTHS)
# Period kinds with a calendar name ("2016", "Q1 2017", "Jun 2017"); others name their window.
CALENDAR_KINDS = ("year", "quarter", "month")
# A trend window: the 12 months (or, with too few months for rolling windows, the one month)
# ending with a month; its id is "<span>m-YYYY-MM" and its name "Year ending Mar 2024" (a name
# with no number of months in it: the first such number of a label is the months present).
WINDOW_KIND = "window"


def window_id(span: int, end: date) -> str:
    """'12m-2024-03': the window of `span` months ending with `end`."""
    return f"{span}m-{end:%Y-%m}"


def quarter_id(month: date) -> str:
    """'2024-Q1': the calendar quarter holding `month`."""
    return f"{month.year}-Q{(month.month - 1) // 3 + 1}"


def quarter_start(month: date) -> date:
    """First month of the calendar quarter holding `month`."""
    return date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


def month_add(month: date, months: int) -> date:
    """The first day of the month `months` after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_span(start: date, end: date) -> int:
    """Months from `start` to `end`, both included (0 when end is before start)."""
    return max(0, (end.year - start.year) * 12 + end.month - start.month + 1)


def month_label(month: date, *, year: bool = True) -> str:
    """'Sep 2016' (or 'Sep' without the year)."""
    name = MONTHS[month.month - 1]
    return f"{name} {month.year}" if year else name


def runs(months: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive runs of months as (first, last), in time order."""
    ordered = sorted({date(m.year, m.month, 1) for m in months})
    out: list[tuple[date, date]] = []
    for month in ordered:
        if out and month_add(out[-1][1], 1) == month:
            out[-1] = (out[-1][0], month)
        else:
            out.append((month, month))
    return out


def months_text(months: Iterable[date]) -> str:
    """Machine-readable months: ISO 8601 ranges joined by commas ('2016-09/2016-12,2017-02')."""
    parts = []
    for first, last in runs(months):
        parts.append(f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}/{last:%Y-%m}")
    return ",".join(parts)


def parse_months_text(text: str) -> list[date]:
    """The months of a `months_text` value (the inverse of months_text)."""
    out: list[date] = []
    for part in filter(None, text.split(",")):
        first_text, _, last_text = part.partition("/")
        first = date.fromisoformat(f"{first_text}-01")
        last = date.fromisoformat(f"{last_text}-01") if last_text else first
        month = first
        while month <= last:
            out.append(month)
            month = month_add(month, 1)
    return out


def _missing(months: Sequence[date]) -> list[date]:
    """Months between the first and last present month that are absent."""
    present = set(months)
    first, last = min(months), max(months)
    return [
        month_add(first, i)
        for i in range(month_span(first, last))
        if month_add(first, i) not in present
    ]


def _plural(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def _range(first: date, last: date, *, year: bool) -> str:
    if first == last:
        return month_label(first, year=year)
    return f"{month_label(first, year=year)} to {month_label(last, year=year)}"


def _gaps(months: Sequence[date], *, year: bool) -> str:
    missing = _missing(months)
    if not missing:
        return ""
    return "; none for " + ", ".join(month_label(m, year=year) for m in missing)


def calendar_name(kind: str, period: str, start: date, end: date | None = None) -> str:
    """'2016', 'Q1 2017', 'Jun 2017', 'Year ending Mar 2024' (a window: give its `end`), or
    the period id for other kinds."""
    if kind == "year":
        return str(start.year)
    if kind == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if kind == "month":
        return month_label(start)
    if kind == WINDOW_KIND and end is not None:
        span = month_span(start, end)
        if span == 1:
            return month_label(end)
        return f"Year ending {month_label(end)}" if span == 12 else f"Ending {month_label(end)}"
    return period


def is_complete(start: date, end: date, months: Iterable[date]) -> bool:
    """True when every month of the nominal span start..end has data."""
    present = {date(m.year, m.month, 1) for m in months}
    return all(month_add(start, i) in present for i in range(month_span(start, end)))


def period_label(kind: str, period: str, start: date, end: date, months: Iterable[date]) -> str:
    """Readable label of a period (nominal span `start`..`end`) from the months present in it.

    Examples: 'Latest 10 months (Sep 2016 to Jun 2017)', '2016 (Jun to Dec, 7 months)',
    '2016', 'Q1 2017 (Feb to Mar, 2 months)', 'Jun 2017', 'Year ending Mar 2024',
    'Year ending Mar 2024 (May 2023 to Mar 2024, 11 months)', and with gaps
    '9 months with data in the latest 12 (Sep 2016 to Jun 2017; none for Nov 2016)'.
    """
    present = sorted({date(m.year, m.month, 1) for m in months if start <= m <= end} or ())
    span = month_span(start, end)
    same_year = start.year == end.year
    if kind in CALENDAR_KINDS or kind == WINDOW_KIND:
        name = calendar_name(kind, period, start, end)
        if not present:
            return f"{name} (no months with data)"
        if len(present) == span:
            return name
        first, last = present[0], present[-1]
        where = _range(first, last, year=not same_year)
        return f"{name} ({where}, {_plural(len(present))}{_gaps(present, year=not same_year)})"
    window = f"the latest {span}" if kind == "rolling" else f"{period}"
    if not present:
        return f"No months with data in {window} ({_range(start, end, year=True)})"
    first, last = present[0], present[-1]
    where = _range(first, last, year=True)
    contiguous = len(present) == month_span(first, last)
    if kind == "rolling" and contiguous and last == end:
        return f"Latest {_plural(len(present))} ({where})"
    return f"{_plural(len(present))} with data in {window} ({where}{_gaps(present, year=True)})"
