"""The versioned definitions behind every figure: version, dated changelog, methodology text.

DEFINITIONS_VERSION changes whenever a definition changes (a measure's definition, label or
unit, the periods and their labels, the base of a share, how population reaches an area...).
With the extracts' SCHEMA_VERSION (columns) it makes the data-package version that the
scrutiny panel's scripts check. `fingerprint()` hashes everything the version covers; the
fingerprint of each version is recorded in `definitions.json` beside this module, and the test
suite fails while the live fingerprint differs from the one recorded for the current version.
After changing a definition: raise DEFINITIONS_VERSION, add a dated CHANGELOG entry, then

    python -m stopsearch.metrics.definitions

which records the new fingerprint (and refuses to change the one of an existing version).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from stopsearch.crosswalks import crosswalk_version
from stopsearch.metrics import contract
from stopsearch.metrics.periods import month_add, period_label
from stopsearch.metrics.precision import RULE_TEXT

DEFINITIONS_VERSION = 4


@dataclass(frozen=True)
class Change:
    """One dated entry of the methodology changelog."""

    version: int
    date: str  # YYYY-MM-DD
    lines: tuple[str, ...]


CHANGELOG: tuple[Change, ...] = (
    Change(
        1,
        "2026-11-27",
        ("First published definitions: rates per 1,000 residents by self-defined ethnicity,"
         " disproportionality ratios with intervals, outcome shares and small-number"
         " suppression.",),
    ),
    Change(
        2,
        "2026-12-01",
        (
            "Period labels name only the months with data: 'Latest 10 months (Sep 2016 to Jun"
            " 2017)' instead of 'Latest 12 months' on ten months; a partial year reads '2016 (Jun"
            " to Dec, 7 months)'. Every figure carries period_label and months_with_data. The"
            " period ids (latest-12, YYYY, YYYY-MM) are unchanged.",
            "The arrest rate now divides by searches with a known outcome, like the"
            " positive-outcome and find rates (it divided by all searches).",
            "'Article found - Detailed outcome unavailable' stays a positive outcome and is"
            " never a find.",
            "New measure search_rate_all_persons: every person search, ethnicity stated or not,"
            " per 1,000 residents (the Home Office's All rate). The All search_rate still counts"
            " only the five stated groups and now says so.",
            "Residents of wards, neighbourhoods and councils are apportioned from small areas by"
            " the share of each small area's land inside them (area-weighted), or by a finer"
            " population layer's points when the boundary manifest declares one, instead of a"
            " best-fit lookup that puts each small area whole in one ward.",
            "The England and Wales figures of the Home Office are shown beside the force's, for"
            " their own period, when the operator declares the official table.",
            "Per-area CSVs call the group column ethnic_group, like every other extract;"
            " councils carry their names.",
        ),
    ),
    Change(
        3,
        "2026-12-02",
        (
            "Rates per 1,000 residents now carry a 95% interval, and rate and ratio intervals"
            " below force level are widened by the square root of the within-area dispersion"
            " phi_t (quasi-"
            " Poisson): counts vary more from month to month than Poisson counts would, so the"
            " Poisson intervals were too narrow.",
            "New column imprecise: the one precision rule (a ratio whose interval spans more"
            " than three-fold; a rate or share whose interval's half-width is more than half the"
            " value), in the extracts and on the site.",
            "Funnel plots compare ward and neighbourhood search rates and Black/White and"
            " Asian/White ratios with the force figure at 95% and 99.8%, by chance alone and"
            " allowing for how much areas really differ (between-area dispersion phi_b and"
            " tau^2). Areas beyond the adjusted 99.8% limit are marked unusual.",
        ),
    ),
    Change(
        4,
        "2026-12-02",
        (
            "New periods: calendar quarters (period id YYYY-Qn, kind quarter) and the trend"
            " series' windows (kind window): the 12 months ending with each month from the"
            " 12th month of data on (id 12m-YYYY-MM; the last point is latest-12), or, with"
            " fewer than 13 months of data, each month on its own (id 1m-YYYY-MM). They carry"
            " the headline figures only (searches, residents, rates per 1,000 with their"
            " widened intervals, outcome shares, the ethnicity unstated share and the"
            " disproportionality ratios), labelled with the months present.",
            "New measures search_rate_change, positive_outcome_change and"
            " disproportionality_change (breakdown year_earlier, category the earlier period):"
            " the latest 12 months against the 12 months a year before, and the latest complete"
            " quarter against the same quarter a year before, as a ratio with a 95% interval"
            " widened by the within-area dispersion of both periods.",
            "Where the records are not public, quarters and windows are published for the force"
            " only: below force level their figures are withheld like monthly counts.",
        ),
    ),
)


@dataclass(frozen=True)
class Section:
    """One section of the methodology page, kept here so the text is versioned with the
    definitions it explains."""

    id: str
    title: str
    paragraphs: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "dispersion",
        "Intervals that allow for repeat searches",
        (
            "Stop and search counts vary more than pure chance (a Poisson count) would make"
            " them vary: the same people are searched again, and operations come and go. An"
            " interval that assumes Poisson counts is then too narrow, and more areas look"
            " unusual than chance allows.",
            "For each kind of area (wards, neighbourhoods, councils...) and each count (all"
            " searches, and person searches of each group), the site measures how much each"
            " area's monthly counts spread about that area's own monthly average over the"
            " period's months: the Pearson chi-square divided by its degrees of freedom, pooled"
            " over the areas of the kind, is the dispersion phi_t (1 for Poisson counts; never"
            " taken below 1). Every rate and ratio interval below force level is widened by the"
            " square root of"
            " phi_t (a quasi-Poisson interval): a rate's interval is N x exp(+/- 1.96 x"
            " sqrt(phi_t / N)) over the exposure, a ratio's exp(ln DR +/- 1.96 x sqrt(phi_g /"
            " N_g + phi_W / N_W)). Simulations with a fixed seed check that the intervals cover"
            " the true value 93-97% of the time on Poisson counts and, once widened, on"
            " overdispersed counts. Force-wide figures keep their Poisson intervals: a single"
            " area gives no pooled figure, and the force's month-to-month changes are mostly"
            " trend and season.",
            RULE_TEXT + " The extracts carry this as the column imprecise, and the site shows"
            " the word 'imprecise' beside such figures.",
        ),
    ),
    Section(
        "funnel",
        "Comparing areas fairly: funnel plots",
        (
            "A funnel plot shows each ward's (or neighbourhood's) search rate, or Black/White"
            " or Asian/White ratio, against how much it rests on: residents x years for rates,"
            " the effective number of searches behind a ratio for ratios. Lines mark the range"
            " within which 95% and 99.8% of areas would fall by chance alone around the force"
            " figure; small areas have wide limits, large areas narrow ones (Spiegelhalter"
            " 2005, as used by the NHS and public-health indicators).",
            "Areas really do differ: policing is concentrated in some places, so far more"
            " areas lie outside the chance-alone limits than chance allows. The site measures"
            " that spread, phi_b, as the mean square of the areas' standardised differences"
            " from the force figure after setting the most extreme tenth at each end to the"
            " 10th and 90th percentile values (winsorising), and when phi_b is above 1 adds a"
            " between-area variance tau^2 (DerSimonian-Laird) to the limits. The adjusted"
            " funnel therefore shows which areas differ beyond that usual spread, not which"
            " differ from the average: an area outside the adjusted 99.8% limit is marked"
            " 'unusual even allowing for how much areas differ'. Only published figures enter,"
            " so anyone can recompute phi_b, tau^2 and the limits from the extracts.",
            "The two dispersion figures are kept apart: phi_t (over time, within each area)"
            " widens intervals; phi_b and tau^2 (between areas) widen funnel limits. Both are"
            " listed below with their inputs.",
        ),
    ),
    Section(
        "periods",
        "Periods and their labels",
        (
            "Figures are published for the latest-12 period (the 12-month window ending with"
            " the latest month with data), for each calendar year and for each month. A label"
            " names only the months that have data: with ten months in the window the headline"
            " reads 'Latest 10 months (Sep 2016 to Jun 2017)', never 'Latest 12 months'. A"
            " calendar year with missing months says so, e.g. '2016 (Jun to Dec, 7 months)',"
            " and a month without data inside a span is named ('none for Nov 2016').",
            "Counts are totals over the months present. Rates per 1,000 residents are"
            " annualised by those months, so they can be compared across periods of different"
            " length; counts cannot. A partial year also covers only some seasons, so its rate"
            " is not a like-for-like comparison with a full year: read its label before"
            " comparing.",
            "Calendar quarters (Q1 2024, id 2024-Q1) and the windows of the trend charts (the"
            " year ending each month, id 12m-2024-03) are periods too, with the headline"
            " figures only; their labels follow the same rule ('Year ending Mar 2024 (May 2023"
            " to Mar 2024, 11 months)'). With fewer than 13 months of data the trend charts show"
            " each month's own figures (id 1m-2024-03): one 12-month window is not a trend.",
            "The period ids (latest-12, YYYY, YYYY-Qn, 12m-YYYY-MM, YYYY-MM) never change; in"
            " the extracts each row"
            " also carries period_label and months_with_data (ISO 8601 month ranges, e.g."
            " 2016-09/2017-06), and months_present counts them. An area whose boundary did not"
            " exist for part of a period has fewer months, and its own label says so.",
        ),
    ),
    Section(
        "change",
        "Trends and the change on a year earlier",
        (
            "The trend charts show, for each month from the 12th month of data on, the figure"
            " for the 12 months ending with it, with its 95% interval as a band (widened for"
            " repeat searches as every interval is). Rolling 12 months smooth out the seasons;"
            " neighbouring points share 11 of their 12 months, so they move together.",
            "The change on a year earlier compares the latest 12 months with the 12 months"
            " ending a year before (and the latest complete quarter with the same quarter a"
            " year before) as a ratio of the two figures: 0.90 is a 10% fall. Its 95% interval"
            " allows for chance in both periods, widened by each period's within-area"
            " dispersion phi_t for rates and ratios (outcome shares: binomial). When the"
            " interval includes 1, a change this size could be chance. It needs 24 months of"
            " data; with fewer, no change is given.",
            "Where many areas are compared, about 1 in 20 of them will show a 'significant'"
            " change at 95% by chance alone, even if nothing changed anywhere: read a single"
            " area's change with that in mind.",
        ),
    ),
    Section(
        "shares",
        "One base for every share of searches",
        (
            "Every share of searches (the positive-outcome rate, the find rate and the arrest"
            " rate) divides by the searches with a known outcome. Searches whose outcome was"
            " not recorded are left out of the base of all three, so the three shares can be"
            " compared with each other and add up consistently.",
        ),
    ),
    Section(
        "all-rate",
        "The All rate and the Home Office comparable rate",
        (
            "The search rate for the group All counts person searches of people who stated"
            " one of the five broad groups, over all residents. It leaves out person searches"
            " whose ethnicity is not stated or unknown, so it is lower than the Home Office's"
            " All rate.",
            "Beside it, 'All person searches per 1,000 residents (Home Office comparable)'"
            " (search_rate_all_persons) counts every person search, ethnicity stated or not,"
            " over all residents, annualised by the months present, as the Home Office's"
            " figure does. Group rates and ratios use only searches with a stated group.",
        ),
    ),
    Section(
        "article-found",
        "\"Article found - Detailed outcome unavailable\"",
        (
            "Older records use the outcome 'Article found - Detailed outcome unavailable'. It"
            " counts as a positive outcome, as the Home Office counts it. It is never a find:"
            " a find is a positive outcome linked to the object of the search, and for these"
            " searches the detail, and so any link, is missing (most carry no linkage at all)."
            " The find rate is therefore a lower bound where this outcome is common.",
        ),
    ),
    Section(
        "apportionment",
        "Residents of each area: area-weighted apportionment",
        (
            "The Census gives residents by ethnic group for small areas (such as LSOAs), which"
            " do not nest in wards. Unless the boundary manifest says otherwise, each small"
            " area's residents are shared among the areas of every layer by the share of the"
            " small area's land inside each of them (overlaps computed in British National Grid,"
            " EPSG:27700). An area that is an exact union of small areas gets exactly their sum."
            " When the manifest declares a finer population layer's points (for example Output"
            " Area population-weighted centroids), each small area is shared by where its"
            " finer points' residents live instead.",
            "Overlaps under one part in a million of a small area are treated as boundary"
            " noise. Residents of the part of a small area that lies in no area of a layer"
            " (generalised boundaries do not meet exactly) are counted as not placed, and"
            " reported. The method used for each layer is listed below and in the extracts."
            " Apportionment assumes residents are spread evenly over the land (or over the"
            " finer points): ward populations are estimates, not counts.",
        ),
    ),
)


def _label_examples() -> list[str]:
    """Labels of a fixed set of periods: changing how periods are labelled changes these."""
    start = date(2016, 7, 1)
    months = [month_add(start, i) for i in range(12)]
    cases = [
        ("rolling", "latest-12", start, months[-1], months),
        ("rolling", "latest-12", start, months[-1], months[2:]),
        ("rolling", "latest-12", start, months[-1], months[2:4] + months[5:]),
        ("rolling", "latest-12", start, months[-1], months[:6]),
        ("year", "2016", date(2016, 1, 1), date(2016, 12, 1), months[:6]),
        ("year", "2017", date(2017, 1, 1), date(2017, 12, 1), []),
        ("quarter", "2017-Q1", date(2017, 1, 1), date(2017, 3, 1), months[7:9]),
        ("window", "12m-2017-06", start, months[-1], months),
        ("window", "12m-2017-06", start, months[-1], months[1:5] + months[6:]),
        ("window", "1m-2017-06", months[-1], months[-1], months[-1:]),
        ("month", "2017-06", months[-1], months[-1], months[-1:]),
    ]
    return [period_label(*case) for case in cases]


def definitions_payload() -> dict:
    """Everything DEFINITIONS_VERSION covers, as plain data."""
    from stopsearch.geography.population import METHOD_DETAIL

    return {
        "measures": [asdict(m) for m in contract.MEASURES.values()],
        "metric_columns": list(contract.METRIC_COLUMNS),
        "public_names": contract.PUBLIC_NAMES,
        "rate_measures": list(contract.RATE_MEASURES),
        "groups": list(contract.ALL_GROUPS),
        "area_kinds": list(contract.AREA_KINDS),
        "breakdowns": list(contract.BREAKDOWNS),
        "period_kinds": list(contract.PERIOD_KINDS),
        "latest_period": contract.LATEST_12,
        "period_labels": _label_examples(),
        "population_methods": METHOD_DETAIL,
        "crosswalks": crosswalk_version(),
        "sections": [asdict(s) for s in SECTIONS],
    }


def fingerprint() -> str:
    """SHA-256 of the definitions payload (canonical JSON)."""
    text = json.dumps(definitions_payload(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_package_version(schema_version: int) -> str:
    """'<columns>.<definitions>.0': changes whenever a column or a definition changes."""
    return f"{schema_version}.{DEFINITIONS_VERSION}.0"


def site_context(schema_version: int) -> dict:
    """What the methodology page shows: the sections, the dated changelog and the versions."""
    return {
        "version": DEFINITIONS_VERSION,
        "package_version": data_package_version(schema_version),
        "sections": SECTIONS,
        "changelog": tuple(reversed(CHANGELOG)),  # newest first
    }


def recorded_path() -> Path:
    return Path(str(resources.files("stopsearch.metrics").joinpath("definitions.json")))


def recorded() -> dict[str, str]:
    """{version: fingerprint} of every released definitions version."""
    path = recorded_path()
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def record(path: Path | None = None) -> bool:
    """Record the live fingerprint for DEFINITIONS_VERSION; refuses to rewrite an old one."""
    path = path or recorded_path()
    known = dict(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else {}
    key, live = str(DEFINITIONS_VERSION), fingerprint()
    if known.get(key) == live:
        return False
    if key in known:
        raise SystemExit(
            f"definitions changed but DEFINITIONS_VERSION is still {DEFINITIONS_VERSION}:"
            " raise it and add a dated CHANGELOG entry before recording"
        )
    known[key] = live
    ordered = dict(sorted(known.items(), key=lambda kv: int(kv[0])))
    path.write_text(json.dumps(ordered, indent=1) + "\n", encoding="utf-8")
    return True


if __name__ == "__main__":
    print("recorded" if record() else "unchanged", DEFINITIONS_VERSION, fingerprint())
