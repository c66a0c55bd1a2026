"""Vintages: versions of a series may not overlap or leave gaps; searches use the one in force."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from stopsearch.errors import GeographyError
from stopsearch.geography import Vintage, assign_areas, check_vintages
from stopsearch.geography.vintages import version_on
from stopsearch.warehouse import connect
from tests.geo_factories import box, clear, insert_searches, load_polygons, polygon_layer

X0, Y0, D = -1.9, 52.4, 0.01
AREA = box(X0, Y0, X0 + D, Y0 + D)
INSIDE = (X0 + D / 2, Y0 + D / 2)


def v(layer_id: str, start: str | None, end: str | None, kind: str = "ward", series: str = "w"):
    """A vintage from ISO dates."""
    return Vintage(
        layer_id,
        kind,
        series,
        date.fromisoformat(start) if start else None,
        date.fromisoformat(end) if end else None,
    )


@pytest.fixture(scope="module")
def module_con():
    con = connect(":memory:")
    yield con
    con.close()


@pytest.fixture
def wcon(module_con):
    return clear(module_con)


def test_contiguous_versions_pass():
    check_vintages([v("w2018", "2018-05-03", None), v("w2004", None, "2018-05-02")])


def test_overlap_is_refused_with_the_fix():
    with pytest.raises(GeographyError, match=r"overlap.*set valid_to = 2018-05-02 on 'w2004'"):
        check_vintages([v("w2004", None, "2018-05-03"), v("w2018", "2018-05-03", None)])


def test_gap_is_refused_with_the_fix():
    with pytest.raises(GeographyError, match=r"gap from 2018-05-01 to 2018-05-02"):
        check_vintages([v("w2004", None, "2018-04-30"), v("w2018", "2018-05-03", None)])


def test_only_the_newest_version_may_be_open_ended():
    with pytest.raises(GeographyError, match="only the newest version may be open-ended"):
        check_vintages([v("a", "2010-01-01", None), v("b", "2018-05-03", None)])


def test_other_series_and_priority_areas_are_independent():
    check_vintages(
        [
            v("w", None, None),
            v("lsoa", None, None, "small_area", "lsoa"),
            v("p1", "2017-01-01", "2017-03-01", "priority_area", "p"),
            v("p2", "2017-02-01", None, "priority_area", "p"),
            v("p3", "2019-01-01", None, "priority_area", "p"),
        ]
    )
    with pytest.raises(GeographyError, match="mixes kinds"):
        check_vintages([v("a", None, "2017-12-31"), v("b", "2018-01-01", None, "neighbourhood")])


def test_version_on_uses_inclusive_dates():
    versions = [v("old", None, "2018-05-02"), v("new", "2018-05-03", None)]
    assert version_on(versions, date(2018, 5, 2)).layer_id == "old"
    assert version_on(versions, date(2018, 5, 3)).layer_id == "new"


def test_overlapping_vintages_fail_at_load_time(wcon, tmp_path):
    with pytest.raises(GeographyError, match="overlap"):
        load_polygons(
            wcon,
            tmp_path,
            polygon_layer("old", {"E1": AREA}, series="w", valid_to="2018-05-03"),
            polygon_layer("new", {"E2": AREA}, series="w", valid_from="2018-05-03"),
        )
    assert wcon.execute("SELECT count(*) FROM areas").fetchone()[0] == 0


def test_vintages_are_checked_against_layers_already_loaded(wcon, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    load_polygons(wcon, tmp_path / "a", polygon_layer("old", {"E1": AREA}, valid_to="2018-05-02"))
    with pytest.raises(GeographyError, match="gap"):
        load_polygons(
            wcon, tmp_path / "b", polygon_layer("new", {"E2": AREA}, valid_from="2018-06-01")
        )
    load_polygons(wcon, tmp_path / "b", polygon_layer("new", {"E2": AREA}, valid_from="2018-05-03"))


def test_search_on_the_first_day_of_a_vintage_uses_the_new_one(wcon, tmp_path):
    load_polygons(
        wcon,
        tmp_path,
        polygon_layer("w2004", {"OLD": AREA}, valid_to="2018-05-02"),
        polygon_layer("w2018", {"MAY": AREA}, valid_from="2018-05-03", valid_to="2018-12-31"),
        polygon_layer("w2019", {"JAN": AREA}, valid_from="2019-01-01"),
    )
    when = [
        datetime(2018, 5, 2, 12, 0),  # the day before: old
        datetime(2018, 5, 3, 0, 0),  # first minute of the new vintage
        datetime(2018, 5, 2, 23, 30),  # 23:30 UTC = 00:30 BST on 3 May: new
        datetime(2018, 12, 31, 23, 30),  # 23:30 UTC = 23:30 GMT on 31 Dec: still May's
        datetime(2019, 1, 1, 0, 0),
    ]
    ids = insert_searches(wcon, [INSIDE] * len(when), when=when, month="2018-05")
    assign_areas(wcon)
    rows = dict(
        wcon.execute(
            "SELECT search_id, ward_code || ' ' || ward_layer_id FROM search_areas"
        ).fetchall()
    )
    assert [rows[i] for i in ids] == [
        "OLD w2004",
        "MAY w2018",
        "MAY w2018",
        "MAY w2018",
        "JAN w2019",
    ]
    days = wcon.execute("SELECT on_date FROM search_areas ORDER BY search_id").fetchall()
    assert days[2] == (date(2018, 5, 3),)


def test_search_before_any_vintage_is_outside(wcon, tmp_path):
    load_polygons(wcon, tmp_path, polygon_layer("w2018", {"MAY": AREA}, valid_from="2018-05-03"))
    ids = insert_searches(wcon, [INSIDE], when=datetime(2018, 5, 2, 9))
    report = assign_areas(wcon)
    assert report.outside_area == 1
    row = wcon.execute(
        "SELECT ward_code, outside_area FROM search_areas WHERE search_id = ?", ids
    ).fetchone()
    assert row == (None, True)
