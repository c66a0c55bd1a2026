"""The published metrics contract: every measure with its unit and definition, in one place.

The metrics builder writes these measures, the suppression step filters them, the site renders
them and the extracts' data dictionary describes them, all from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

AREA_KINDS = ("force", "local_authority", "ward", "neighbourhood", "priority_area")
BROAD_GROUPS = ("Asian", "Black", "Mixed", "White", "Other")
ALL_GROUPS = ("All", *BROAD_GROUPS, "Not stated", "Unknown")
COMPARISON_GROUPS = ("Asian", "Black", "Mixed", "Other")  # each vs White
BREAKDOWNS = (
    "total",
    "legislation",
    "object_group",
    "age_range",
    "type",
    "outcome_class",
    "priority",
    "designation",
    "year_earlier",
)
# rolling: the latest 12 months; quarter: a calendar quarter ("2024-Q1"); window: a trend
# window, the 12 months (or one month) ending with a month ("12m-2024-03", "1m-2024-03").
PERIOD_KINDS = ("rolling", "year", "quarter", "window", "month")
# Quarters and trend windows carry the headline figures only: all searches and person searches
# by self-defined ethnicity, with their rates, shares and ratios (no breakdowns).
LEAN_KINDS = ("quarter", "window")
# A change on a year earlier: breakdown YEAR_EARLIER, category the earlier period's id.
YEAR_EARLIER = "year_earlier"
# measure of the change -> (measure compared, basis, groups)
CHANGE_MEASURES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "search_rate_change": ("search_rate", "self_defined", ("All",)),
    "positive_outcome_change": ("positive_outcome_rate", "none", ("All",)),
    "disproportionality_change": ("disproportionality_ratio", "self_defined", ("Black", "Asian")),
}
# Rates per 1,000 residents (suppressed by the rate rules).
RATE_MEASURES = ("search_rate", "search_rate_all_persons")
LATEST_12 = "latest-12"
# Columns of `metrics`; `published_metrics` adds the suppression reason and the display text.
METRIC_COLUMNS = (
    "area_kind",
    "area_code",
    "area_name",
    "period",
    "period_label",
    "period_kind",
    "period_start",
    "period_end",
    "months_present",
    "months_with_data",
    "basis",
    "grp",
    "breakdown",
    "category",
    "measure",
    "value",
    "ci_low",
    "ci_high",
    "numerator",
    "denominator",
    "imprecise",
)
PUBLISHED_COLUMNS = (*METRIC_COLUMNS, "reason", "display")
# Names of warehouse columns in every published file (extracts and per-area CSVs alike).
PUBLIC_NAMES = {"grp": "ethnic_group"}


def public_name(column: str) -> str:
    """The name a warehouse column has in every published file ('grp' -> 'ethnic_group')."""
    return PUBLIC_NAMES.get(column, column)


@dataclass(frozen=True)
class Measure:
    """One published measure."""

    name: str
    label: str
    unit: str
    definition: str
    kind: str  # count | rate | ratio | share


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "searches",
            "Searches",
            "searches",
            "Number of stop-and-search records. With basis self_defined or officer_defined and a"
            " group, only person searches (Person search, Person and Vehicle search) of people in"
            " that group.",
            "count",
        ),
        Measure(
            "population",
            "Residents",
            "people",
            "Usual residents of the group in the area (Census), aggregated from small areas by"
            " the method recorded for the layer.",
            "count",
        ),
        Measure(
            "search_rate",
            "Searches per 1,000 residents (annualised)",
            "searches per 1,000 residents per year",
            "1000 x N_g / (P_g x m / 12): person searches of people self-defining as group g,"
            " over residents of group g, annualised by the m months actually present. For the"
            " group All: person searches of people who stated one of the five broad groups, over"
            " all residents; person searches whose ethnicity is not stated or unknown are left"
            " out, so it is lower than the Home Office's All rate (search_rate_all_persons)."
            " 95% interval: N exp(+/- 1.96 sqrt(phi_t / N)) over the same exposure, phi_t the"
            " within-area dispersion of the count over the period's months (see methodology).",
            "rate",
        ),
        Measure(
            "search_rate_all_persons",
            "All person searches per 1,000 residents (Home Office comparable, annualised)",
            "searches per 1,000 residents per year",
            "1000 x N / (P x m / 12): every person search (Person search, Person and Vehicle"
            " search), whatever the self-defined ethnicity, including not stated and unknown,"
            " over all residents, annualised by the m months actually present. The Home Office's"
            " All rate counts the same searches. Published for the group All only. 95% interval"
            " as for search_rate.",
            "rate",
        ),
        Measure(
            "disproportionality_ratio",
            "Disproportionality ratio vs White",
            "ratio",
            "rate_g / rate_White, with a 95% confidence interval (see methodology for the"
            " method), widened for the within-area dispersion of both counts:"
            " exp(ln DR +/- 1.96 sqrt(phi_g / N_g + phi_W / N_W)). Shown only when both counts"
            " are at least the ratio threshold.",
            "ratio",
        ),
        Measure(
            "dr_unknown_low",
            "Ratio, lower bound if every unstated search were White",
            "ratio",
            "(N_g/P_g) / ((N_W+U)/P_W), U = person searches with ethnicity not stated or unknown.",
            "ratio",
        ),
        Measure(
            "dr_unknown_high",
            "Ratio, upper bound if every unstated search were group g",
            "ratio",
            "((N_g+U)/P_g) / (N_W/P_W), U = person searches with ethnicity not stated or unknown.",
            "ratio",
        ),
        Measure(
            "positive_outcome_rate",
            "Positive-outcome rate",
            "share",
            "Searches with a positive outcome (anything but no further action, including"
            " 'Article found - Detailed outcome unavailable') over searches with a known"
            " outcome, with a Wilson 95% interval.",
            "share",
        ),
        Measure(
            "arrest_rate",
            "Arrest rate",
            "share",
            "Searches ending in arrest over searches with a known outcome (the base of every"
            " share of searches), with a Wilson 95% interval.",
            "share",
        ),
        Measure(
            "find_rate",
            "Find rate (outcome linked to the object searched for)",
            "share",
            "Searches with a positive outcome linked to the object of search over searches with"
            " a known outcome, with a Wilson 95% interval. 'Article found - Detailed outcome"
            " unavailable' is positive but never a find: its detail, and so any link, is"
            " missing.",
            "share",
        ),
        Measure(
            "contradictory_outcomes",
            "No further action but marked linked",
            "searches",
            "Searches recorded as no further action yet marked as linked to the object of"
            " search: contradictory, counted and reported, never treated as finds.",
            "count",
        ),
        Measure(
            "unstated_share",
            "Ethnicity not stated",
            "share",
            "Person searches whose self-defined ethnicity is not stated or missing, over all"
            " person searches.",
            "share",
        ),
        Measure(
            "no_location_share",
            "Without a location",
            "share",
            "Searches published without coordinates (force level only: they cannot be placed).",
            "share",
        ),
        Measure(
            "outside_area_share",
            "Outside every ward",
            "share",
            "Located searches that fall outside every ward of the layer in force.",
            "share",
        ),
        Measure(
            "near_boundary_share",
            "Within 50 m of a ward boundary",
            "share",
            "Located searches within 50 m of their ward's boundary: snapped locations may have"
            " moved them across it.",
            "share",
        ),
        Measure(
            "search_rate_change",
            "Change in searches per 1,000 residents on a year earlier",
            "ratio",
            "The search rate (group All) of the period over that of the same period a year"
            " earlier (breakdown year_earlier; category: the earlier period's id):"
            " (N_1 / E_1) / (N_0 / E_0), numerator N_1 and denominator N_0, with a 95% interval"
            " exp(ln RR +/- 1.96 sqrt(phi_1 / N_1 + phi_0 / N_0)), phi the within-area"
            " dispersion of each period. Withheld when either rate is withheld.",
            "ratio",
        ),
        Measure(
            "positive_outcome_change",
            "Change in the positive-outcome rate on a year earlier",
            "ratio",
            "The positive-outcome rate of the period over that of the same period a year"
            " earlier (a ratio of proportions) with a 95% interval exp(ln RR +/- 1.96"
            " sqrt((1 - p_1) / k_1 + (1 - p_0) / k_0)) (binomial: no dispersion is measured for"
            " outcomes). Withheld when either rate is withheld.",
            "ratio",
        ),
        Measure(
            "disproportionality_change",
            "Change in the disproportionality ratio on a year earlier",
            "ratio",
            "The disproportionality ratio (Black or Asian vs White) of the period over that of"
            " the same period a year earlier, with a 95% interval exp(ln +/- 1.96 sqrt(phi_g1 /"
            " N_g1 + phi_W1 / N_W1 + phi_g0 / N_g0 + phi_W0 / N_W0)). Withheld when either ratio"
            " is withheld.",
            "ratio",
        ),
        Measure(
            "ward_concentration",
            "Share of wards holding half of all searches",
            "share",
            "The smallest share of wards whose searches add up to at least half of all located"
            " searches (lower = more concentrated).",
            "share",
        ),
    )
}


def format_value(measure: str, value: float) -> str:
    """The text published for a value: counts whole, shares as %, ratios to 2 dp, rates 1 dp."""
    kind = MEASURES[measure].kind
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "share":
        return f"{100 * value:.1f}%"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:.1f}"
