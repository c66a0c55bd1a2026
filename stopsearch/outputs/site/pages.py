"""Page contexts: what each template gets, computed from the published figures only."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from stopsearch.metrics.contract import COMPARISON_GROUPS, MEASURES
from stopsearch.metrics.suppression import NO_DATA, SuppressionRules
from stopsearch.outputs.site import charts, text
from stopsearch.outputs.site.data import Area, Fig, Layer, Period, Store

BREAKDOWN_ORDER = ("legislation", "object_group", "age_range", "type")
GROUP_ORDER = ("Asian", "Black", "Mixed", "White", "Other", "Not stated", "Unknown")


@dataclass(frozen=True)
class Shown:
    """A figure as a table cell: its display text, interval and whether it is withheld."""

    text: str
    ci: str = ""
    withheld: bool = False
    why: str = ""
    imprecise: bool = False  # a wide interval (metrics.precision): labelled and drawn paler


def withheld_text(f: Fig, rules: SuppressionRules) -> str:
    """What a withheld figure's cell says: counts keep "<5"; rates, shares, ratios say why."""
    measure = MEASURES.get(f.measure)
    if measure is not None and measure.kind == "count":
        return f.display
    return text.withheld_words(f.reason or NO_DATA, rules)


def fig_cell(s: Shown, ci: bool = True) -> Markup:
    """A figure's table cell: its text (withheld ones marked), interval and imprecise tag. The
    pages call it for every cell (the Jinja global `fig_cell`): a macro costs ~10x more. Built
    as one string from escaped parts, wrapped once (Markup's % and + cost more than the cell)."""
    value = escape(s.text)
    if s.withheld:
        return Markup(f'<span class="withheld">{value}</span>')
    out = f'{value} <span class="ci">({escape(s.ci)})</span>' if ci and s.ci else f"{value}"
    if s.imprecise:
        out += ' <span class="imprecise-tag">imprecise</span>'
    return Markup(out)


def shown(f: Fig, rules: SuppressionRules) -> Shown:
    if f.shown:
        return Shown(f.display, f.ci, imprecise=f.wide)
    return Shown(withheld_text(f, rules), "", True, text.reason_text(f.reason or NO_DATA, rules))


def item(label: str, f: Fig) -> charts.Item:
    if f.shown:
        return charts.Item(label, f.value, f.display, f.low, f.high, f.wide)
    return charts.Item(label, None, f.display)


@dataclass
class Headline:
    label: str
    value: Shown
    note: str = ""
    force: Shown | None = None  # the same figure for the whole force, beside it
    sentence: str = ""  # what the figure means, in words, with the force figure


@dataclass(frozen=True)
class Where:
    """Whose figures a headline list shows, in words, and the force to compare them with."""

    name: str  # "Aston"
    when: str  # "the latest 12 months (Jul 2016 to Jun 2017)"
    force_code: str | None = None  # None on the force's own page
    force_name: str = ""


# measure, extra keys, label, note, sentence ({name}, {v}: the value, {ci}: " (95% CI ...)")
_HEADLINES: tuple[tuple[str, dict[str, str], str, str, str], ...] = (
    (
        "searches",
        {},
        "Searches",
        "every stop-and-search record placed here",
        "{name} had {v} stop-and-search records in {when}.",
    ),
    (
        "search_rate",
        {"basis": "self_defined"},
        "Person searches per 1,000 residents",
        "annualised; only searches of people who stated their ethnicity, over all residents",
        "People in {name} were searched {v} times a year per 1,000 residents{ci}, counting"
        " searches of people who stated their ethnicity.",
    ),
    (
        "search_rate_all_persons",
        {"basis": "self_defined"},
        "All person searches per 1,000 residents",
        "annualised; every person search, ethnicity stated or not: comparable with the"
        " Home Office's All rate",
        "Counting every person search, people in {name} were searched {v} times a year per"
        " 1,000 residents{ci}.",
    ),
    (
        "positive_outcome_rate",
        {},
        "Positive-outcome rate",
        "any outcome other than no further action, of searches with a known outcome",
        "{v} of searches in {name} with a known outcome led to something other than no"
        " further action{ci}.",
    ),
    (
        "find_rate",
        {},
        "Find rate",
        "positive outcome linked to the object searched for",
        "{v} of searches in {name} ended in an outcome linked to what was searched for{ci}.",
    ),
    (
        "arrest_rate",
        {},
        "Arrest rate",
        "searches ending in arrest",
        "{v} of searches in {name} ended in arrest{ci}.",
    ),
)
IMPRECISE_TEXT = "This estimate is imprecise: its 95% interval is wide, so read it with caution."


def _sentence(
    template: str, f: Fig, s: Shown, where: Where, force: Shown | None, rules: SuppressionRules
) -> str:
    """The figure in words, then the force's figure (or why it is withheld)."""
    if s.withheld:
        why = text.reason_text(f.reason or NO_DATA, rules)
        first = f"The figure for {where.name} is withheld: {why}."
    else:
        ci = f" ({s.ci})" if s.ci else ""
        first = template.format(name=where.name, v=s.text, ci=ci, when=where.when)
        first = first[:1].upper() + first[1:]
        if s.imprecise:
            first += " " + IMPRECISE_TEXT
    if force is None:
        return first
    if f.measure == "searches":
        tail = f"Across {where.force_name} there were {force.text}."
    elif force.withheld:
        tail = f"The {where.force_name} figure is withheld."
    else:
        tail = f"Across {where.force_name} the figure is {force.text}."
    return f"{first} {tail}"


def headline(
    store: Store,
    kind: str,
    code: str,
    period: str,
    rules: SuppressionRules,
    where: Where | None = None,
) -> list:
    """The key figures of an area (or the force) for one period, each with the force figure
    beside it and a sentence saying what it means. A ratio is not headlined where the search
    rate of either group behind it is withheld (the ethnicity table still gives it)."""
    where = where or Where("this area", "this period")

    def fig(measure: str, kw: dict[str, str], of_force: bool = False) -> Fig:
        if of_force:
            assert where.force_code is not None
            return store.fig("force", where.force_code, period, measure, **kw)
        return store.fig(kind, code, period, measure, **kw)

    compare = where.force_code is not None and not (kind == "force" and code == where.force_code)
    out = []
    for measure, kw, label, note, template in _HEADLINES:
        f = fig(measure, kw)
        s = shown(f, rules)
        force = shown(fig(measure, kw, of_force=True), rules) if compare else None
        out.append(Headline(label, s, note, force, _sentence(template, f, s, where, force, rules)))
    for grp in ("Black", "Asian"):
        kw = {"basis": "self_defined", "grp": grp}
        f = fig("disproportionality_ratio", kw)
        s = shown(f, rules)
        force = (
            shown(fig("disproportionality_ratio", kw, of_force=True), rules) if compare else None
        )
        rates = [fig("search_rate", {"basis": "self_defined", "grp": g}) for g in (grp, "White")]
        template = (
            grp + " residents of {name} were searched at {v} times the rate of White residents{ci}."
        )
        sentence = _sentence(template, f, s, where, force, rules)
        if s.withheld is False and not all(r.shown for r in rates):
            s = Shown("not headlined", withheld=True, why="a search rate behind it is withheld")
            sentence = (
                f"The {grp}/White ratio for {where.name} is not headlined because the search"
                f" rate of {grp} or of White residents here is withheld; the ethnicity table"
                " below gives the ratio with its interval."
            )
            if force is not None and not force.withheld:
                sentence += f" Across {where.force_name} the figure is {force.text}."
        out.append(
            Headline(
                f"{grp}/White disproportionality ratio",
                s,
                f"search rate of {grp} residents over that of White residents",
                force,
                sentence,
            )
        )
    return out


def monthly(
    store: Store, kind: str, code: str, rules: SuppressionRules, chart_id: str
) -> dict | None:
    """Searches and positive-outcome rate per month, with the chart and table."""
    months = [p for p in store.ordered_periods(("month",)) if store.has(kind, code, p.period)]
    if not months:
        return None
    rows = []
    items = []
    rate_items = []
    for p in months:
        searches = store.fig(kind, code, p.period, "searches")
        positive = store.fig(kind, code, p.period, "positive_outcome_rate")
        label = f"{text.MONTHS[p.start.month - 1]} {p.start:%y}"
        items.append(item(label, searches))
        rate_items.append(item(label, positive))
        rows.append(
            {
                "label": p.short,
                "searches": shown(searches, rules),
                "positive": shown(positive, rules),
            }
        )
    return {
        "rows": rows,
        "table_id": f"{chart_id}-table",
        "chart": charts.column_chart(
            chart_id, "Searches by month", items, table_id=f"{chart_id}-table"
        ),
        "rate_chart": charts.column_chart(
            f"{chart_id}-rate",
            "Positive-outcome rate by month, with 95% confidence intervals",
            rate_items,
            table_id=f"{chart_id}-table",
            percent=True,
        ),
    }


def breakdown(
    store: Store,
    kind: str,
    code: str,
    period: str,
    name: str,
    rules: SuppressionRules,
) -> dict | None:
    cats = store.categories(kind, code, period, name)
    if not cats:
        return None
    rows, items = [], []
    has_rates = False
    for cat in cats:
        kw = {"breakdown": name, "category": cat}
        searches = store.fig(kind, code, period, "searches", **kw)
        positive = store.fig(kind, code, period, "positive_outcome_rate", **kw)
        find = store.fig(kind, code, period, "find_rate", **kw)
        has_rates = has_rates or positive.reason != NO_DATA or find.reason != NO_DATA
        label = text.category_label(cat)
        items.append(item(label, searches))
        rows.append(
            {
                "label": label,
                "searches": shown(searches, rules),
                "positive": shown(positive, rules),
                "find": shown(find, rules),
            }
        )
    ident = f"b-{name.replace('_', '-')}"
    title = text.BREAKDOWN_LABELS.get(name, name)
    return {
        "id": ident,
        "title": title,
        "rows": rows,
        "has_rates": has_rates,
        "table_id": f"{ident}-table",
        "chart": charts.bar_chart(
            f"{ident}-chart", f"Searches by {title.lower()}", items, table_id=f"{ident}-table"
        ),
    }


def ethnicity(
    store: Store,
    kind: str,
    code: str,
    period: str,
    rules: SuppressionRules,
    force_code: str | None = None,
) -> dict:
    """Self-defined rows, ratios vs White with intervals and bounds, officer-defined apart;
    with `force_code`, the force's rate and ratio beside each of the area's."""

    def force_fig(measure: str, grp: str) -> Shown | None:
        if force_code is None or (kind == "force" and code == force_code):
            return None
        return shown(
            store.fig("force", force_code, period, measure, basis="self_defined", grp=grp), rules
        )

    self_rows = []
    for grp in ("All", *GROUP_ORDER):
        searches = store.fig(kind, code, period, "searches", basis="self_defined", grp=grp)
        if searches.reason == NO_DATA and grp in ("Not stated", "Unknown"):
            continue
        kw = {"basis": "self_defined", "grp": grp}
        self_rows.append(
            {
                "label": text.group_label(grp),
                "searches": shown(searches, rules),
                "residents": shown(store.fig(kind, code, period, "population", **kw), rules)
                if grp not in ("Not stated", "Unknown")
                else Shown("not applicable"),
                "rate": shown(store.fig(kind, code, period, "search_rate", **kw), rules)
                if grp not in ("Not stated", "Unknown")
                else Shown("not applicable"),
                "positive": shown(
                    store.fig(kind, code, period, "positive_outcome_rate", **kw), rules
                ),
                "force_rate": force_fig("search_rate", grp)
                if grp not in ("Not stated", "Unknown")
                else Shown("not applicable"),
            }
        )
    ratios, items = [], []
    for grp in COMPARISON_GROUPS:
        kw = {"basis": "self_defined", "grp": grp}
        ratio = store.fig(kind, code, period, "disproportionality_ratio", **kw)
        low = store.fig(kind, code, period, "dr_unknown_low", **kw)
        high = store.fig(kind, code, period, "dr_unknown_high", **kw)
        bounds = (
            Shown(f"{low.display} to {high.display}")
            if low.shown and high.shown
            else Shown(withheld_text(low if not low.shown else high, rules), withheld=True)
        )
        counts = (
            f"{text.count(ratio.numerator)} {grp} and {text.count(ratio.denominator)} White"
            if ratio.shown
            else ""
        )
        ratios.append(
            {
                "label": grp,
                "ratio": shown(ratio, rules),
                "bounds": bounds,
                "counts": counts,
                "force": force_fig("disproportionality_ratio", grp),
            }
        )
        items.append(item(f"{grp} vs White", ratio))
    officer = []
    for grp in ("All", *GROUP_ORDER):
        kw = {"basis": "officer_defined", "grp": grp}
        searches = store.fig(kind, code, period, "searches", **kw)
        if searches.reason == NO_DATA:
            continue
        officer.append(
            {
                "label": text.group_label(grp),
                "searches": shown(searches, rules),
                "positive": shown(
                    store.fig(kind, code, period, "positive_outcome_rate", **kw), rules
                ),
            }
        )
    unstated = shown(store.fig(kind, code, period, "unstated_share", basis="self_defined"), rules)
    return {
        "self": self_rows,
        "ratios": ratios,
        "ratio_chart": charts.ratio_chart(
            "ratio-chart",
            "Disproportionality ratios vs White, with 95% confidence intervals (log scale)",
            items,
            table_id="ratio-table",
        ),
        "officer": officer,
        "unstated": unstated,
        "compare": force_code is not None and not (kind == "force" and code == force_code),
    }


def outcomes(store: Store, kind: str, code: str, period: str, rules: SuppressionRules):
    cats = store.categories(kind, code, period, "outcome_class")
    if not cats:
        return None
    order = sorted(cats, key=lambda c: (c != "no further action", c))
    rows, items = [], []
    for cat in order:
        f = store.fig(kind, code, period, "searches", breakdown="outcome_class", category=cat)
        label = text.category_label(cat)
        rows.append({"label": label, "searches": shown(f, rules)})
        items.append(item(label, f))
    return {
        "rows": rows,
        "table_id": "outcomes-table",
        "chart": charts.bar_chart(
            "outcomes-chart", "Searches by outcome", items, table_id="outcomes-table"
        ),
    }


def years(
    store: Store, kind: str, code: str, rules: SuppressionRules, periods: list[Period]
) -> list[dict]:
    out = []
    for p in periods:
        if not store.has(kind, code, p.period):
            continue

        def f(measure: str, period: str = p.period, **kw: str) -> Shown:
            return shown(store.fig(kind, code, period, measure, **kw), rules)

        searches = store.fig(kind, code, p.period, "searches")
        out.append(
            {
                "label": store.period_of(kind, code, p).label,
                "months": searches.months or p.months,
                "searches": f("searches"),
                "rate": f("search_rate", basis="self_defined"),
                "positive": f("positive_outcome_rate"),
                "find": f("find_rate"),
                "black": f("disproportionality_ratio", basis="self_defined", grp="Black"),
                "asian": f("disproportionality_ratio", basis="self_defined", grp="Asian"),
            }
        )
    return out


def area_layers(areas: list[Area], layers: dict[str, Layer], kind: str, code: str) -> list[dict]:
    out = []
    for area in areas:
        if area.kind == kind and area.code == code:
            layer = layers.get(area.layer_id)
            out.append(
                {
                    "layer": layer.name if layer else area.layer_id,
                    "from": text.day(area.valid_from),
                    "to": text.day(area.valid_to),
                    "name": area.name,
                }
            )
    return out


def measures_glossary() -> list[dict]:
    return [
        {"name": m.name, "label": m.label, "unit": m.unit, "definition": m.definition}
        for m in MEASURES.values()
    ]


def when_text(period: Period) -> str:
    """A period inside a sentence: 'the latest 12 months (Jul 2016 to Jun 2017)', '2017'."""
    label = period.label
    if period.kind == "rolling":
        return "the " + label[:1].lower() + label[1:]
    return label
