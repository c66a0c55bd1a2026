"""The pages draw trends, months and quarters over the latest `page_months` months only (so that a
night's site does not grow with history); calendar years, the latest 12 months, the change on a
year earlier and every download are those of the whole history. Built on a 30-month demo with
a 15-month horizon, against a build with none."""

from __future__ import annotations

import filecmp
import re
from datetime import date
from pathlib import Path

import pytest

from stopsearch.metrics.contract import PUBLISHED_COLUMNS
from stopsearch.outputs.site import data, text
from stopsearch.outputs.site.build import build_site
from stopsearch.warehouse import connect

PAGE_MONTHS = 15
ALL_ROWS = f"""
SELECT {", ".join(PUBLISHED_COLUMNS)} FROM published_metrics
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure
"""
MONTHS = """
SELECT DISTINCT period_start FROM published_metrics WHERE period_kind = 'month' ORDER BY 1
"""


@pytest.fixture(scope="module")
def long_demo(demo30_warehouse_path) -> Path:
    return demo30_warehouse_path


@pytest.fixture(scope="module")
def builds(long_demo, tmp_path_factory) -> dict:
    """The demo site with the horizon and with none, and the months of data (read directly)."""
    out = tmp_path_factory.mktemp("horizon")
    with connect(long_demo, read_only=True) as con:
        build_site(con, out / "short", demo=True, page_months=PAGE_MONTHS)
        build_site(con, out / "whole", demo=True, page_months=None)
        months = [r[0] for r in con.execute(MONTHS).fetchall()]
        quarters = dict(
            con.execute(
                "SELECT DISTINCT period_label, period_end FROM published_metrics"
                " WHERE period_kind = 'quarter' AND area_kind = 'force'"
            ).fetchall()
        )
    assert len(months) == 30  # the horizon leaves 15 out
    return {"short": out / "short", "whole": out / "whole", "months": months,
            "quarters": quarters}  # fmt: skip


def _page(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def _table(html: str, table_id: str) -> str:
    start = html.index(f'<table id="{table_id}"')
    return html[start : html.index("</table>", start)]


def _row_labels(table: str) -> list[str]:
    return re.findall(r'<th scope="row">([^<]*)</th>', table)


def _periods(table: str) -> list[str]:
    return re.findall(r'<tr data-period="([^"]*)">', table)


def _window_end(period: str) -> date:
    year, month = period.removeprefix("12m-").split("-")
    return date(int(year), int(month), 1)


def test_trend_points_start_at_the_horizon(builds):
    since = builds["months"][-PAGE_MONTHS]
    for rel in ("index.html", "areas/ward/" + _first_ward(builds["whole"])):
        whole = _periods(_table(_page(builds["whole"], rel), "trend-positive-table"))
        short = _periods(_table(_page(builds["short"], rel), "trend-positive-table"))
        assert len(whole) == 19  # 12-month windows ending in months 12 to 29, then the latest
        expected = [p for p in whole if not p.startswith("12m-") or _window_end(p) >= since]
        assert short == expected and len(short) == PAGE_MONTHS  # months 16 to 30


def _first_ward(site: Path) -> str:
    """The first ward page with a trend (some demo wards are of an earlier boundary vintage)."""
    pages = sorted((site / "areas" / "ward").glob("*.html"))
    return next(p.name for p in pages if "trend-positive-table" in p.read_text(encoding="utf-8"))


def test_months_and_quarters_start_at_the_horizon_and_years_do_not(builds):
    since = builds["months"][-PAGE_MONTHS]
    whole, short = _page(builds["whole"], "index.html"), _page(builds["short"], "index.html")
    assert len(_row_labels(_table(whole, "monthly-table"))) == 30
    assert len(_row_labels(_table(short, "monthly-table"))) == PAGE_MONTHS
    assert (
        _row_labels(_table(short, "monthly-table"))
        == _row_labels(_table(whole, "monthly-table"))[-PAGE_MONTHS:]
    )
    each_whole, each_short = (_each_period(h) for h in (whole, short))
    gone = {label for label, end in builds["quarters"].items() if end < since}
    assert gone and gone <= set(each_whole)  # some quarters end before the horizon
    assert each_short == [label for label in each_whole if label not in gone]
    assert any(label.startswith("Year") or label[:4].isdigit() for label in each_short)


def _each_period(html: str) -> list[str]:
    start = html.index('<section aria-labelledby="years-heading">')
    return _row_labels(html[start : html.index("</table>", start)])


def test_pages_say_where_the_charts_start_and_the_changes_are_the_same(builds):
    since = text.full_month(builds["months"][-PAGE_MONTHS])
    sentence = f"The charts cover the last {PAGE_MONTHS} months, from {since};"
    for rel in ("index.html", "areas/ward/" + _first_ward(builds["whole"])):
        short, whole = _page(builds["short"], rel), _page(builds["whole"], rel)
        assert sentence in short and "The charts cover" not in whole
        assert f"by month, since {since}</caption>" in short
        changes = [re.findall(r'<p class="change">(.*?)</p>', h) for h in (short, whole)]
        assert changes[0] == changes[1] and changes[0]
    methodology = _page(builds["short"], "methodology.html")
    assert f"trends, months and quarters over the last {PAGE_MONTHS} months (from {since})" in (
        methodology
    )
    assert "over the last" not in _page(builds["whole"], "methodology.html")


def test_downloads_do_not_depend_on_the_horizon(builds):
    compared = filecmp.dircmp(builds["short"] / "downloads", builds["whole"] / "downloads")
    assert not compared.left_only and not compared.right_only
    files = [p for p in (builds["whole"] / "downloads").rglob("*") if p.is_file()]
    assert files
    for path in files:
        rel = path.relative_to(builds["whole"])
        assert (builds["short"] / rel).read_bytes() == path.read_bytes(), rel


def test_the_store_answers_inside_the_horizon_and_nothing_before_it(long_demo):
    with connect(long_demo, read_only=True) as con:
        rows = con.execute(ALL_ROWS).fetchall()
        months = [r[0] for r in con.execute(MONTHS).fetchall()]
        short = data.Store.load(con, PAGE_MONTHS)
        short._load_deferred()  # (read now, while the connection is open)
    since = months[-PAGE_MONTHS]
    assert short.since == since and short.months_of_data() == len(months) == 30
    full = data.Store(rows)
    before = inside = 0
    for row in rows:
        kind, code, period, pkind, end = row[0], row[1], row[3], row[5], row[7]
        basis, grp, breakdown, category, measure = row[10:15]
        keys = {"basis": basis, "grp": grp, "breakdown": breakdown, "category": category}
        got = short.fig(kind, code, period, measure, **keys)
        if pkind in data.HORIZON_KINDS and end < since:
            before += 1
            assert not got.shown and got.value is None and not short.has(kind, code, period)
        else:
            inside += 1
            assert got == full.fig(kind, code, period, measure, **keys)
    assert before > 1000 and inside > 1000


def test_a_horizon_too_short_for_a_year_earlier_is_refused(demo_warehouse_path):
    assert data.PAGE_MONTHS >= data.MIN_PAGE_MONTHS == 15
    with connect(demo_warehouse_path, read_only=True) as con:
        with pytest.raises(ValueError, match="at least 15, not 14"):
            data.Store.load(con, 14)
        assert data.Store.load(con).since is None  # 24 months: nothing before five years
        assert data.Store.load(con, 24).since is None  # nor before two


@pytest.mark.parametrize("which", ["public", "protected", "30 months"])
def test_the_pages_never_read_a_deferred_figure(
    which, demo_warehouse_path, demo_confidential_warehouse_path, long_demo, tmp_path, monkeypatch
):
    """The shipped templates ask only for figures the Store reads at once (data.SHOWN, and
    of years before the latest two data.SHOWN_IN_YEARS): on 30 months the first of three
    calendar years is read in part."""

    def refuse(self: data.Store) -> None:
        if self._deferred is not None:
            raise AssertionError("a page asked for a deferred figure")

    monkeypatch.setattr(data.Store, "_load_deferred", refuse)
    paths = {"public": demo_warehouse_path, "protected": demo_confidential_warehouse_path}
    path = paths.get(which, long_demo)
    with connect(path, read_only=True) as con:
        years = con.execute(
            "SELECT count(DISTINCT period) FROM published_metrics WHERE period_kind = 'year'"
        ).fetchone()
        report = build_site(con, tmp_path / "site", demo=True, record_level=which != "protected")
    assert len(report.pages) > 50
    assert years is not None and years[0] == (3 if which == "30 months" else 2)
