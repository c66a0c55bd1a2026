"""Issue 17 on the site, without a build: a short series is monthly and says why, and no change
on a year earlier is given before 24 months (a hand-made store of published rows)."""

from __future__ import annotations

from datetime import date

from stopsearch.metrics.periods import month_add
from stopsearch.metrics.suppression import DEFAULT_RULES
from stopsearch.outputs.site.data import Period, Store
from stopsearch.outputs.site.trends import trends

JAN = date(2024, 1, 1)


def _row(period: str, kind: str, start: date, end: date, measure: str, value: float) -> tuple:
    label = f"{start:%b %Y}" if start == end else period
    return (
        "force", "demoshire", "Demoshire", period, label, kind, start, end, 1, f"{start:%Y-%m}",
        "none", "All", "total", "", measure, value, value * 0.9, value * 1.1, 10.0, 40.0, False,
        None, f"{100 * value:.1f}%",
    )


def _store(months: int) -> Store:
    rows = []
    for i in range(months):
        m = month_add(JAN, i)
        rows.append(_row(f"{m:%Y-%m}", "month", m, m, "searches", 40.0))
        rows.append(_row(f"1m-{m:%Y-%m}", "window", m, m, "positive_outcome_rate", 0.2 + i / 100))
    return Store(rows)


def test_fewer_than_13_months_are_monthly_points_and_say_why():
    store = _store(10)
    latest = Period("latest-12", "rolling", month_add(JAN, -2), month_add(JAN, 9), 10,
                    "Latest 10 months (Jan 2024 to Oct 2024)")
    found = trends(store, "force", "demoshire", latest, DEFAULT_RULES)
    assert found is not None and not found.rolling
    assert "There are 10 months of data: fewer than 13" in found.why
    (positive,) = found.series  # only the measure with published points is drawn
    assert [p.short for p in positive.points] == [f"{month_add(JAN, i):%b %Y}" for i in range(10)]
    assert [p.figure.text for p in positive.points][-1] == "29.0%"
    assert positive.changes == [
        "No change on a year earlier is given: it needs 24 months of data (the latest 12"
        " months and the 12 before them), and there are 10."
    ]
    assert positive.svg.count("<circle") == 10


def test_a_change_to_zero_has_no_interval_and_says_so():
    """A ratio of 0 (none in the later period) is published without an interval
    (metrics.trends); the sentence gives the change and says there is no interval, instead of
    stopping the site build (it did, on a nightly benchmark run)."""
    from stopsearch.outputs.site.data import Fig
    from stopsearch.outputs.site.trends import _sentence

    def fig(measure: str, value: float, low: float | None, high: float | None, shown: str) -> Fig:
        return Fig(measure, value, low, high, None, None, None, shown, 3)

    sentence = _sentence(
        "the positive outcome rate",
        "positive_outcome_rate",
        fig("positive_outcome_rate", 0.0, 0.0, 0.5, "0.0%"),
        fig("positive_outcome_rate", 0.3, 0.1, 0.6, "30.0%"),
        fig("positive_outcome_change", 0.0, None, None, "0.00"),
        "Q4 2016",
        "Q4 2015",
        DEFAULT_RULES,
    )
    assert sentence == (
        "The positive outcome rate fell from 30.0% in Q4 2015 to 0.0% in Q4 2016; no 95%"
        " interval can be given (ratio 0.00)."
    )
