"""Period labels never claim more months than are present: the label function, then the demo
build with months removed (a gap, a partial first year, a missing latest month), end to end."""

from __future__ import annotations

import re
import shutil
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stopsearch.metrics.periods import (
    is_complete,
    month_add,
    month_span,
    months_text,
    parse_months_text,
    period_label,
)
from stopsearch.outputs.site import build_site
from stopsearch.pipeline import prepare
from stopsearch.warehouse import connect

JUL16 = date(2016, 7, 1)
WINDOW = [month_add(JUL16, i) for i in range(12)]  # Jul 2016 .. Jun 2017
COUNTED = re.compile(r"(\d+) months?\b")


def test_examples_from_the_issue():
    assert period_label("rolling", "latest-12", JUL16, WINDOW[-1], WINDOW[2:]) == (
        "Latest 10 months (Sep 2016 to Jun 2017)"
    )
    year = [date(2016, m, 1) for m in range(6, 13)]
    assert period_label("year", "2016", date(2016, 1, 1), date(2016, 12, 1), year) == (
        "2016 (Jun to Dec, 7 months)"
    )
    full = [date(2016, m, 1) for m in range(1, 13)]
    assert period_label("year", "2016", date(2016, 1, 1), date(2016, 12, 1), full) == "2016"
    assert period_label("rolling", "latest-12", JUL16, WINDOW[-1], WINDOW) == (
        "Latest 12 months (Jul 2016 to Jun 2017)"
    )


def test_gaps_early_ends_quarters_and_months():
    gap = WINDOW[2:4] + WINDOW[5:]
    assert period_label("rolling", "latest-12", JUL16, WINDOW[-1], gap) == (
        "9 months with data in the latest 12 (Sep 2016 to Jun 2017; none for Nov 2016)"
    )
    early = WINDOW[:6]  # an area whose boundary ended in December
    assert period_label("rolling", "latest-12", JUL16, WINDOW[-1], early) == (
        "6 months with data in the latest 12 (Jul 2016 to Dec 2016)"
    )
    year = [date(2016, m, 1) for m in (6, 7, 8, 10, 11, 12)]
    assert period_label("year", "2016", date(2016, 1, 1), date(2016, 12, 1), year) == (
        "2016 (Jun to Dec, 6 months; none for Sep)"
    )
    q1 = [date(2017, 2, 1), date(2017, 3, 1)]
    assert period_label("quarter", "2017-Q1", date(2017, 1, 1), date(2017, 3, 1), q1) == (
        "Q1 2017 (Feb to Mar, 2 months)"
    )
    assert period_label("month", "2017-06", WINDOW[-1], WINDOW[-1], WINDOW[-1:]) == "Jun 2017"
    assert period_label("year", "2017", date(2017, 1, 1), date(2017, 12, 1), []) == (
        "2017 (no months with data)"
    )
    assert period_label("year", "2016", date(2016, 1, 1), date(2016, 12, 1), [date(2016, 12, 1)])


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    kind=st.sampled_from(["rolling", "year", "quarter"]),
    mask=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_every_label_counts_exactly_the_months_present(kind, mask):
    start = {"rolling": JUL16, "year": date(2016, 1, 1), "quarter": date(2016, 10, 1)}[kind]
    length = 3 if kind == "quarter" else 12
    end = month_add(start, length - 1)
    present = [month_add(start, i) for i in range(length) if mask[i]]
    label = period_label(kind, "p", start, end, present)
    counts = [int(n) for n in COUNTED.findall(label)]
    if present and not is_complete(start, end, present):
        assert counts == [len(present)], label
    elif present and kind == "rolling":
        assert counts == [length], label
    elif present:
        assert counts == [], label  # a full calendar period is its bare name
    gaps = label.split("none for ", 1)[1].rstrip(")").split(", ") if "none for" in label else []
    inner = [
        m
        for m in (month_add(start, i) for i in range(length))
        if present and m not in present and min(present) < m < max(present)
    ]
    with_year = kind == "rolling"
    assert gaps == [f"{m:%b} {m.year}" if with_year else f"{m:%b}" for m in inner], label
    assert parse_months_text(months_text(present)) == sorted(present)


@pytest.fixture(scope="module")
def gappy(demo_dir, tmp_path_factory):
    """The demo with 2023-01..03, 2024-05 and the latest month (2024-12) removed."""
    removed = {"2023-01", "2023-02", "2023-03", "2024-05", "2024-12"}
    records = tmp_path_factory.mktemp("gappy") / "records"
    for folder in sorted((demo_dir / "records").iterdir()):
        if folder.name not in removed:
            shutil.copytree(folder, records / folder.name)
    con = connect(":memory:")
    prepare(con, [records], demo_dir / "boundaries" / "manifest.toml")
    yield con, removed
    con.close()


def test_no_published_label_claims_more_months_than_present(gappy):
    con, removed = gappy
    loaded = {m for (m,) in con.execute("SELECT DISTINCT month FROM loads").fetchall()}
    assert {f"{m:%Y-%m}" for m in loaded}.isdisjoint(removed)
    rows = con.execute(
        "SELECT DISTINCT area_kind, period, period_kind, period_start, period_end, period_label,"
        " months_present, months_with_data FROM published_metrics"
    ).fetchall()
    assert len(rows) > 50  # every kind of area and period, with their own months
    for kind, period, pkind, start, end, label, present, text in rows:
        months = parse_months_text(text)
        assert len(months) == present, (kind, period, label)
        assert set(months) <= loaded, (period, label)
        assert all(start <= m <= end for m in months)
        counts = [int(n) for n in COUNTED.findall(label)]
        assert all(n == present for n in counts), (kind, period, label)
        if pkind in ("year", "quarter", "window", "month") and not counts and present:
            assert present == month_span(start, end), label  # a bare name is a full period
        if pkind == "rolling" and present < 12:
            assert "12 months" not in label and "Latest 12" not in label, label
    force = dict(
        con.execute(
            "SELECT DISTINCT period, period_label FROM published_metrics"
            " WHERE area_kind = 'force' AND period_kind IN ('rolling', 'year')"
        ).fetchall()
    )
    assert force == {
        "latest-12": "11 months with data in the latest 12 (Dec 2023 to Nov 2024; none for"
        " May 2024)",
        "2023": "2023 (Apr to Dec, 9 months)",
        "2024": "2024 (Jan to Nov, 10 months; none for May)",
    }
    # Quarters and trend windows (issue 17) say which months they hold, as every period does.
    short = dict(
        con.execute(
            "SELECT DISTINCT period, period_label FROM published_metrics"
            " WHERE area_kind = 'force' AND period_kind IN ('quarter', 'window')"
        ).fetchall()
    )
    assert short["2023-Q2"] == "Q2 2023"
    assert short["2024-Q2"] == "Q2 2024 (Apr to Jun, 2 months; none for May)"
    assert short["2024-Q4"] == "Q4 2024 (Oct to Nov, 2 months)"
    assert short["12m-2024-03"] == "Year ending Mar 2024"  # the first window: 12 months
    assert short["12m-2024-06"] == (
        "Year ending Jun 2024 (Jul 2023 to Jun 2024, 11 months; none for May 2024)"
    )
    assert "12m-2024-05" not in short  # no window ends with a month without data
    assert sorted(p for p in short if p.startswith("12m-")) == [
        f"12m-2024-{m:02d}" for m in (3, 4, 6, 7, 8, 9, 10)
    ]
    # Wards of the 2023 vintage ended in December: their own label says one month.
    old_ward = con.execute(
        "SELECT DISTINCT period_label, months_present FROM published_metrics AS m"
        " JOIN areas AS a ON a.kind = 'ward' AND a.code = m.area_code"
        " WHERE m.area_kind = 'ward' AND m.period = 'latest-12' AND a.layer_id = 'demo-wards-2023'"
        " AND a.code NOT IN (SELECT code FROM areas WHERE layer_id = 'demo-wards-2024')"
    ).fetchall()
    assert old_ward == [("1 month with data in the latest 12 (Dec 2023)", 1)]


def test_site_pages_say_what_is_there(gappy, tmp_path):
    con, _ = gappy
    build_site(con, tmp_path / "site", demo=True)
    overview = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Headline figures: 11 months with data in the latest 12" in overview
    assert "2023 (Apr to Dec, 9 months)" in overview
    for page in (tmp_path / "site").rglob("*.html"):
        if page.name != "methodology.html":  # which quotes the old label to explain it
            assert "Latest 12 months" not in page.read_text(encoding="utf-8"), page
