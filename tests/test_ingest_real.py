"""Ingest of the real West Midlands months in ../shared/data (skipped when absent)."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from stopsearch.ingest import ingest_paths
from tests.fast_exact import compare_paths
from tests.golden import golden
from tests.independent import independent_group

pytestmark = pytest.mark.realdata


def test_real_months_load_exactly(con, shared_data):
    folder = shared_data / "police" / "stop-and-search" / "west-midlands"
    report = ingest_paths(con, [folder])
    per_month = {f"{f.month:%Y-%m}": f.rows_loaded for f in report.files}
    assert per_month == golden("rows_per_month")
    assert sum(per_month.values()) == golden("rows")
    assert report.rows_rejected == 0
    assert con.execute("SELECT count(*) FROM rejected").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM unmapped_labels").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM searches").fetchone()[0] == golden("rows")
    distinct = con.execute("SELECT count(DISTINCT search_id) FROM searches").fetchone()[0]
    assert distinct == golden("rows")
    for f in report.files:
        assert f.rows_read == f.rows_loaded + f.rows_rejected


def test_real_broad_groups_match_an_independent_count(con, shared_data):
    folder = shared_data / "police" / "stop-and-search" / "west-midlands"
    ingest_paths(con, [folder])
    expected: Counter[str] = Counter()
    officer: Counter[str] = Counter()
    for path in sorted(folder.glob("*-stop-and-search.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                expected[independent_group(record["Self-defined ethnicity"])] += 1
                officer[record["Officer-defined ethnicity"] or "Unknown"] += 1
    got = dict(
        con.execute("SELECT self_defined_group, count(*) FROM searches GROUP BY 1").fetchall()
    )
    assert got == dict(expected)
    got_officer = dict(
        con.execute("SELECT officer_defined_group, count(*) FROM searches GROUP BY 1").fetchall()
    )
    assert got_officer == dict(officer)


def test_real_late_rows_stay_in_their_file_month(con, shared_data):
    folder = shared_data / "police" / "stop-and-search" / "west-midlands"
    ingest_paths(con, [folder])
    late = dict(
        con.execute(
            "SELECT strftime(month, '%Y-%m'), count(*) FROM searches"
            " WHERE date_trunc('month', datetime) < month GROUP BY 1"
        ).fetchall()
    )
    assert late == golden("late_rows_per_month")
    published = con.execute(
        "SELECT count(*) FROM searches WHERE datetime_published NOT LIKE '%+00:00'"
    ).fetchone()[0]
    assert published == 0


def test_fast_path_matches_the_exact_parser_on_real_months(shared_data):
    """Every real month (ASCII throughout) parses the same both ways."""
    folder = shared_data / "police" / "stop-and-search" / "west-midlands"
    paths = sorted(folder.glob("*-stop-and-search.csv"))
    assert len(paths) == 10
    for path in paths:
        comparison = compare_paths(path.name, "csv", path.read_bytes())
        assert (comparison.ascii, comparison.difference) == (True, None), path.name
