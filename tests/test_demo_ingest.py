"""The demo records load exactly as the generator's truth says, vocabulary eras and all."""

from __future__ import annotations

import json

import pytest

from stopsearch.ingest import ingest_paths
from stopsearch.warehouse import connect


@pytest.fixture(scope="module")
def demo_warehouse(demo_dir):
    con = connect(":memory:")
    report = ingest_paths(con, [demo_dir / "records"])
    truth = json.loads((demo_dir / "truth.json").read_text())
    yield con, report, truth
    con.close()


def test_rows_per_month_and_no_location_match_the_truth(demo_warehouse):
    con, report, truth = demo_warehouse
    assert report.rows_rejected == 0
    assert all(not f.unmapped and f.warnings == 0 for f in report.files)
    got = dict(
        con.execute(
            "SELECT strftime(month, '%Y-%m'), count(*) FROM searches GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    assert got == {m["month"]: m["rows"] for m in truth["counts"]["by_month"]}
    no_location = con.execute("SELECT count(*) FROM searches WHERE latitude IS NULL").fetchone()[0]
    assert no_location == truth["counts"]["rows_without_location"]


def test_broad_groups_types_and_outcomes_match_the_truth(demo_warehouse):
    con, _, truth = demo_warehouse
    kinds = truth["counts"]["rows_by_kind"]
    got = dict(
        con.execute(
            "SELECT self_defined_group::VARCHAR, count(*) FROM searches WHERE is_person_search "
            "GROUP BY 1"
        ).fetchall()
    )
    for group in ("Asian", "Black", "Mixed", "White", "Other"):
        assert got[group] == kinds[group]
    assert got.get("Not stated", 0) + got.get("Unknown", 0) == kinds["not_stated"]
    vehicles = con.execute(
        "SELECT count(*) FROM searches WHERE type = 'Vehicle search'"
    ).fetchone()[0]
    assert vehicles == kinds["vehicle"]
    for month in truth["counts"]["by_month"]:
        positive = con.execute(
            "SELECT count(*) FILTER (WHERE is_positive), count(*) FILTER (WHERE is_positive IS "
            "NOT NULL), count(*) FILTER (WHERE outcome_class = 'no further action' AND "
            "outcome_linked) FROM searches WHERE strftime(month, '%Y-%m') = ?",
            [month["month"]],
        ).fetchone()
        assert positive[0] == sum(month["outcome_positive_by_kind"].values())
        assert positive[1] == sum(month["outcome_known_by_kind"].values())
        assert positive[2] == month["contradictory_nfa_linked_true"]


def test_late_rows_stay_in_their_file_month(demo_warehouse):
    con, _, truth = demo_warehouse
    late = dict(
        con.execute(
            "SELECT strftime(month, '%Y-%m'), count(*) FROM searches "
            "WHERE date_trunc('month', datetime) < month GROUP BY 1"
        ).fetchall()
    )
    expected = {
        m["month"]: m["late_rows_dated_previous_month"]
        for m in truth["counts"]["by_month"]
        if m["late_rows_dated_previous_month"]
    }
    assert late == expected
