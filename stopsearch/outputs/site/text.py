"""Fixed, locale-free formatting of figures, periods and labels for the site."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import date, timedelta

from stopsearch.metrics.contract import format_value
from stopsearch.metrics.periods import FULL_MONTHS, MONTHS
from stopsearch.metrics.suppression import (
    NO_DATA,
    NO_POPULATION,
    RATE_SMALL_COUNT,
    RATE_SMALL_POPULATION,
    RATIO_INSUFFICIENT_DATA,
    SECONDARY,
    SMALL_COUNT,
    SuppressionRules,
)

KIND_LABELS = {
    "force": "Police force area",
    "local_authority": "Local authority",
    "ward": "Ward",
    "neighbourhood": "Neighbourhood",
    "priority_area": "Priority area",
}
KIND_PLURALS = {
    "force": "Police force areas",
    "local_authority": "Local authorities",
    "ward": "Wards",
    "neighbourhood": "Neighbourhoods",
    "priority_area": "Priority areas",
}
BASIS_LABELS = {
    "self_defined": "Self-defined ethnicity",
    "officer_defined": "Officer-defined ethnicity",
    "none": "All searches",
}
BREAKDOWN_LABELS = {
    "legislation": "Legislation (power used)",
    "object_group": "Object of search",
    "age_range": "Age",
    "type": "Type of search",
    "outcome_class": "Outcome",
    "priority": "Inside or outside priority areas",
    "designation": "Before or after designation",
}
CATEGORY_LABELS = {
    "positive-detail-unknown": "Positive outcome, detail unknown",
    "before": "Before designation",
    "after_end": "After designation ended",
    "inside": "Inside priority areas",
    "outside": "Outside priority areas",
}


def reason_text(reason: str, rules: SuppressionRules) -> str:
    """Why a figure is withheld, in words."""
    texts = {
        SMALL_COUNT: f"fewer than {rules.min_count} searches",
        SECONDARY: (
            "withheld to protect individuals: a small count, or a figure that could reveal one"
        ),
        RATE_SMALL_COUNT: f"fewer than {rules.min_rate_count} searches behind the figure",
        RATE_SMALL_POPULATION: f"fewer than {rules.min_rate_population} residents",
        RATIO_INSUFFICIENT_DATA: (
            f"fewer than {rules.min_ratio_count} searches of this group or of White people"
        ),
        NO_POPULATION: "no population figure for this area",
        NO_DATA: "no data for this area and period",
    }
    return texts.get(reason, reason)


def withheld_words(reason: str, rules: SuppressionRules) -> str:
    """What a withheld rate, share or ratio cell says: the reason in a few words.

    Counts keep their short display ("<5"); a rate cell saying "<5" would read as a value.
    """
    texts = {
        SMALL_COUNT: f"withheld: fewer than {rules.min_count} searches",
        SECONDARY: "withheld to protect individuals",
        RATE_SMALL_COUNT: f"withheld: fewer than {rules.min_rate_count} searches",
        RATE_SMALL_POPULATION: f"withheld: fewer than {rules.min_rate_population} residents",
        RATIO_INSUFFICIENT_DATA: (
            f"withheld: fewer than {rules.min_ratio_count} searches of a group"
        ),
        NO_POPULATION: "withheld: no population figure",
        NO_DATA: "no data",
    }
    return texts.get(reason, f"withheld: {reason}")


def full_month(day: date) -> str:
    """'June 2017'."""
    return f"{FULL_MONTHS[day.month - 1]} {day.year}"


NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def span(months: int) -> str:
    """'five years', '18 months': a length of time in words, whole years where it is one."""
    if months % 12 == 0 and 2 <= months // 12 <= 10:
        return f"{NUMBER_WORDS[months // 12 - 2]} years"
    return f"{months} months"


def long_day(day: date) -> str:
    """'1 Dec 2026'."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def describe_overview(force: str, latest: object) -> str:
    """Meta description of the overview page."""
    label = getattr(latest, "label", "")
    when = f", {label}" if label else ""
    return (
        f"Police stop and search in {force}{when}: searches, rates per resident, outcomes and"
        " ethnic disproportionality, by council, ward and neighbourhood, with open data."
    )


def describe_map(force: str, geographies: list[tuple[str, str]]) -> str:
    """Meta description of the map page."""
    kinds = ", ".join(label.lower() for _, label in geographies) or "areas"
    return (
        f"Map of police stop and search in {force} by {kinds}: search rates, positive-outcome"
        " rates and disproportionality ratios, with the table of every figure."
    )


def describe_area(name: str, kind_label: str, parent: str | None, force: str) -> str:
    """Meta description of an area page."""
    where = f" in {parent}" if parent else ""
    return (
        f"Stop and search in {name}, a {kind_label.lower()}{where}, {force}: searches, rates"
        " per resident, outcomes and disproportionality ratios beside the force-wide figures."
    )


def category_label(category: str) -> str:
    """Readable text for a breakdown category."""
    if category in CATEGORY_LABELS:
        return CATEGORY_LABELS[category]
    return category[:1].upper() + category[1:] if category else "Total"


def group_label(grp: str) -> str:
    return "All groups" if grp == "All" else grp


def count(value: float | None) -> str:
    """12,345 (whole numbers, thousands separated)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f}"


def number(measure: str, value: float | None) -> str:
    """A value in the measure's own unit, as the published display would show it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return format_value(measure, value)


def interval(measure: str, low: float | None, high: float | None) -> str:
    """'95% CI 2.73 to 4.56' or '' when the figure has no interval."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return ""
    return f"95% CI {number(measure, low)} to {number(measure, high)}"


def month_label(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def month_end(first_day: date) -> date:
    """Last day of the month starting on `first_day`."""
    nxt = date(first_day.year + first_day.month // 12, first_day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def period_label(period: str, kind: str, start: date, end: date, months: int) -> str:
    """Readable name of a period with its span and months present."""
    if kind == "month":
        return month_label(start)
    span = f"{month_label(start)} to {month_label(end)}"
    if kind == "rolling":
        return f"Latest 12 months ({span})"
    full = (end.year - start.year) * 12 + end.month - start.month + 1
    if months < full:
        return f"{period} ({months} of {full} months present)"
    return period


def day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def human_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


_SLUG = re.compile(r"[^A-Za-z0-9_.-]")


def slug(code: str) -> str:
    """A file-name-safe form of an area code; unsafe codes get a short hash suffix."""
    clean = _SLUG.sub("_", code).strip(".") or "area"
    if clean != code:
        clean = f"{clean[:40]}-{hashlib.sha256(code.encode()).hexdigest()[:8]}"
    return clean
