"""Issue 17: quarters, the trend series' rolling windows and the change on a year earlier.

The period rules on made-up month lists; then, on the shared demo warehouse (24 months), every
rolling 12-month figure of the force and of two wards against a direct recomputation from the
records over that window, and the change on a year earlier against a hand computation.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from stopsearch.metrics.build import periods_for
from stopsearch.metrics.periods import month_add
from stopsearch.metrics.stats import Z95
from stopsearch.metrics.trends import change_pairs
from stopsearch.warehouse import connect

JAN23 = date(2023, 1, 1)
MONTHS_24 = [month_add(JAN23, i) for i in range(24)]
WARDS = ("D05000020", "D05000042")  # one ward for all 24 months, one from a 2024 vintage only


def _spans(months: list[date]) -> dict[str, tuple[str, date, date, int]]:
    frame = periods_for(months)
    spans = frame.groupby("period").agg(
        kind=("period_kind", "first"),
        start=("period_start", "first"),
        end=("period_end", "first"),
        n=("month", "nunique"),
    )
    return {p: (r.kind, r.start, r.end, r.n) for p, r in spans.iterrows()}


def test_quarters_and_rolling_windows_of_24_months():
    spans = _spans(MONTHS_24)
    quarters = sorted(p for p, s in spans.items() if s[0] == "quarter")
    assert quarters == [f"{y}-Q{q}" for y in (2023, 2024) for q in (1, 2, 3, 4)]
    assert spans["2024-Q2"] == ("quarter", date(2024, 4, 1), date(2024, 6, 1), 3)
    windows = sorted(p for p, s in spans.items() if s[0] == "window")
    # the 12 months ending with each month from the 12th on; the last one is latest-12
    assert windows == [f"12m-{m:%Y-%m}" for m in MONTHS_24[11:23]]
    assert spans["12m-2024-03"] == ("window", date(2023, 4, 1), date(2024, 3, 1), 12)
    assert spans["latest-12"][1:] == (date(2024, 1, 1), date(2024, 12, 1), 12)
    assert change_pairs(periods_for(MONTHS_24)) == {
        "latest-12": "12m-2023-12",
        "2024-Q4": "2023-Q4",
    }


def test_short_series_are_monthly_and_have_no_change():
    twelve = MONTHS_24[:12]
    spans = _spans(twelve)
    windows = sorted(p for p, s in spans.items() if s[0] == "window")
    assert windows == [f"1m-{m:%Y-%m}" for m in twelve]  # fewer than 13 months: monthly points
    assert change_pairs(periods_for(twelve)) == {}
    # 23 months: rolling windows, but no window a year before the latest
    pairs = change_pairs(periods_for(MONTHS_24[1:]))
    assert "latest-12" not in pairs
    assert pairs == {"2024-Q4": "2023-Q4"}
    # a partial latest quarter: the latest complete one is compared
    assert change_pairs(periods_for(MONTHS_24[:-1]))["2024-Q3"] == "2023-Q3"
    assert "2024-Q4" not in change_pairs(periods_for(MONTHS_24[:-1]))


@pytest.fixture(scope="module")
def demo(demo_warehouse_path):
    with connect(demo_warehouse_path, read_only=True) as con:
        yield con


NAMES = ("searches", "known", "positive", "finds", "stated", "black", "asian", "white")


def _monthly_truth(con, kind: str, code: str) -> dict[date, dict[str, float]]:
    """Counts per month straight from the records (not from the metrics stage's SQL)."""
    where = {"force": "TRUE", "ward": "a.ward_code = $code"}[kind]
    rows = con.execute(
        f"""
        SELECT s.month,
               count(*) AS searches,
               count(s.is_positive) AS known,
               count(*) FILTER (WHERE s.is_positive) AS positive,
               count(*) FILTER (WHERE s.is_positive AND s.outcome_linked
                                AND s.outcome_class <> 'positive-detail-unknown') AS finds,
               count(*) FILTER (WHERE s.is_person_search
                                AND s.self_defined_group IN
                                    ('Asian', 'Black', 'Mixed', 'White', 'Other')) AS stated,
               count(*) FILTER (WHERE s.is_person_search
                                AND s.self_defined_group = 'Black') AS black,
               count(*) FILTER (WHERE s.is_person_search
                                AND s.self_defined_group = 'Asian') AS asian,
               count(*) FILTER (WHERE s.is_person_search
                                AND s.self_defined_group = 'White') AS white
        FROM searches s LEFT JOIN search_areas a USING (search_id)
        WHERE {where}
        GROUP BY s.month
        """,
        {"code": code} if kind != "force" else {},
    ).fetchall()
    return {m: dict(zip(NAMES, map(float, values), strict=True)) for m, *values in rows}


def _alive(con, kind: str, code: str, month: date) -> bool:
    """Did the area exist on some day of the month (any vintage)?"""
    if kind == "force":
        return True
    end = month_add(month, 1)
    return bool(
        con.execute(
            "SELECT count(*) FROM areas WHERE kind = ? AND code = ?"
            " AND (valid_from IS NULL OR valid_from < ?) AND (valid_to IS NULL OR valid_to >= ?)",
            [kind, code, end, month],
        ).fetchone()[0]
    )


def _published(con, kind, code, period, measure, grp="All", basis=None):
    basis = basis or ("none" if measure in ("positive_outcome_rate", "find_rate") else
                      "self_defined")
    return con.execute(
        "SELECT value, ci_low, ci_high, numerator, denominator, months_present FROM metrics"
        " WHERE area_kind = ? AND area_code = ? AND period = ? AND measure = ? AND grp = ?"
        " AND basis = ? AND breakdown = 'total' AND category = ''",
        [kind, code, period, measure, grp, basis],
    ).fetchone()


def _phi(con, kind, period, grp) -> float:
    if kind == "force":
        return 1.0  # force-wide intervals stay Poisson
    row = con.execute(
        "SELECT phi FROM metrics_dispersion WHERE scope = 'within_time' AND area_kind = ?"
        " AND period = ? AND measure = 'person_searches' AND grp = ?",
        [kind, period, grp],
    ).fetchone()
    return float(row[0])


@pytest.mark.parametrize(("kind", "code"), [("force", "demoshire"), *(("ward", w) for w in WARDS)])
def test_rolling_figures_equal_a_direct_recomputation(demo, kind, code):
    truth = _monthly_truth(demo, kind, code)
    windows = [(f"12m-{m:%Y-%m}", month_add(m, -11), m) for m in MONTHS_24[11:23]]
    windows.append(("latest-12", MONTHS_24[12], MONTHS_24[23]))
    population = {
        grp: _published(demo, kind, code, "latest-12", "population", grp)[0]
        for grp in ("All", "Black", "Asian", "White")
    }
    checked = 0
    for period, first, last in windows:
        months = [m for m in MONTHS_24 if first <= m <= last and _alive(demo, kind, code, m)]
        total = {k: sum(truth.get(m, {}).get(k, 0.0) for m in months) for k in NAMES}
        m = len(months)
        rate = _published(demo, kind, code, period, "search_rate")
        if m == 0:
            assert rate is None
            continue
        assert rate[5] == m
        exposure = population["All"] * m / 12
        phi = _phi(demo, kind, period, "All")
        n = total["stated"]
        assert rate[0] == pytest.approx(1000 * n / exposure, rel=1e-12)
        assert rate[3] == n and rate[4] == pytest.approx(exposure, rel=1e-12)
        spread = math.exp(Z95 * math.sqrt(phi / n))
        assert rate[1] == pytest.approx(1000 * n / spread / exposure, rel=1e-9)
        assert rate[2] == pytest.approx(1000 * n * spread / exposure, rel=1e-9)
        positive = _published(demo, kind, code, period, "positive_outcome_rate")
        assert positive[0] == pytest.approx(total["positive"] / total["known"], rel=1e-12)
        find = _published(demo, kind, code, period, "find_rate")
        assert find[0] == pytest.approx(total["finds"] / total["known"], rel=1e-12)
        for grp, count in (("Black", "black"), ("Asian", "asian")):
            ratio = _published(demo, kind, code, period, "disproportionality_ratio", grp)
            n_g, n_w = total[count], total["white"]
            if n_g == 0 or n_w == 0:
                continue
            expected = (n_g / population[grp]) / (n_w / population["White"])
            assert ratio[0] == pytest.approx(expected, rel=1e-12)
            se = math.sqrt(
                _phi(demo, kind, period, grp) / n_g + _phi(demo, kind, period, "White") / n_w
            )
            assert ratio[1] == pytest.approx(expected * math.exp(-Z95 * se), rel=1e-9)
            assert ratio[2] == pytest.approx(expected * math.exp(Z95 * se), rel=1e-9)
        checked += 1
    assert checked >= 12 if code != WARDS[1] else checked >= 1


def _change(con, kind, code, measure, grp="All"):
    return con.execute(
        "SELECT value, ci_low, ci_high, category, reason FROM published_metrics"
        " WHERE area_kind = ? AND area_code = ? AND period = 'latest-12' AND measure = ?"
        " AND grp = ? AND breakdown = 'year_earlier'",
        [kind, code, measure, grp],
    ).fetchone()


@pytest.mark.parametrize(("kind", "code"), [("ward", "D05000020"), ("neighbourhood", "DS-N01")])
def test_change_on_a_year_earlier_by_hand(demo, kind, code):
    value, low, high, earlier, reason = _change(demo, kind, code, "search_rate_change")
    assert earlier == "12m-2023-12" and reason is None
    n1, e1 = _published(demo, kind, code, "latest-12", "search_rate")[3:5]
    n0, e0 = _published(demo, kind, code, earlier, "search_rate")[3:5]
    phi1 = _phi(demo, kind, "latest-12", "All")
    phi0 = _phi(demo, kind, earlier, "All")
    ratio = (n1 / e1) / (n0 / e0)
    half = Z95 * math.sqrt(phi1 / n1 + phi0 / n0)
    assert max(phi1, phi0) > 1  # the interval really is widened
    assert value == pytest.approx(ratio, rel=1e-12)
    assert (low, high) == pytest.approx((ratio * math.exp(-half), ratio * math.exp(half)))
    # Black/White: the four counts, each with its own dispersion
    value, low, high, _, _ = _change(demo, kind, code, "disproportionality_change", "Black")
    g1, w1 = _published(demo, kind, code, "latest-12", "disproportionality_ratio", "Black")[3:5]
    g0, w0 = _published(demo, kind, code, earlier, "disproportionality_ratio", "Black")[3:5]
    r1 = _published(demo, kind, code, "latest-12", "disproportionality_ratio", "Black")[0]
    r0 = _published(demo, kind, code, earlier, "disproportionality_ratio", "Black")[0]
    variance = (
        _phi(demo, kind, "latest-12", "Black") / g1
        + _phi(demo, kind, "latest-12", "White") / w1
        + _phi(demo, kind, earlier, "Black") / g0
        + _phi(demo, kind, earlier, "White") / w0
    )
    assert value == pytest.approx(r1 / r0, rel=1e-12)
    assert low == pytest.approx(r1 / r0 * math.exp(-Z95 * math.sqrt(variance)))
    assert high == pytest.approx(r1 / r0 * math.exp(Z95 * math.sqrt(variance)))


def test_change_is_withheld_with_the_figure_it_compares(demo):
    rows = demo.execute(
        "SELECT c.reason, r1.reason, r0.reason FROM published_metrics c"
        " JOIN published_metrics r1 ON r1.area_kind = c.area_kind AND r1.area_code = c.area_code"
        "  AND r1.period = c.period AND r1.measure = 'search_rate' AND r1.basis = c.basis"
        "  AND r1.grp = c.grp AND r1.breakdown = 'total'"
        " JOIN published_metrics r0 ON r0.area_kind = c.area_kind AND r0.area_code = c.area_code"
        "  AND r0.period = c.category AND r0.measure = 'search_rate' AND r0.basis = c.basis"
        "  AND r0.grp = c.grp AND r0.breakdown = 'total'"
        " WHERE c.measure = 'search_rate_change'"
    ).fetchall()
    assert len(rows) > 20
    for change, later, earlier in rows:
        assert change == (later or earlier)
    assert sum(r[0] is None for r in rows) > 20
