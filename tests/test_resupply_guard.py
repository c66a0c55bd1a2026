"""The re-supply guard: a re-supplied month that loses too many rows is quarantined, not applied.

Issue 12 case 1: a header-only file with a loaded month's name replaced 1,123 rows with 0 (exit
0); a truncated copy replaced them with 96 (exit 3). Now both are kept aside and reported, the
run exits 3, and the month keeps its rows until the operator accepts the re-supply.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stopsearch.cli import main
from stopsearch.ingest import ingest_paths
from stopsearch.ingest.resupply import ResupplyGuard, loss_percent, too_great_a_loss
from stopsearch.release import current_release
from stopsearch.warehouse import connect
from tests.factories import csv_bytes, row, write_csv
from tests.tiny_county import config, publish, status

MONTH = "testshire-2023-01"


def _rows(n: int) -> list[dict[str, str]]:
    return [row(Object_of_search=f"Object {i}") for i in range(n)]


@pytest.mark.parametrize(
    ("before", "after", "held"),
    [
        (10, 8, False),  # loses exactly 20%: allowed
        (10, 7, True),  # loses 30%
        (10, 0, True),  # loses every row
        (1, 0, True),
        (10, 12, False),  # gains
        (0, 0, False),  # nothing was loaded
    ],
)
def test_loss_threshold(before, after, held):
    assert too_great_a_loss(before, after, 20.0) is held
    assert loss_percent(10, 7) == pytest.approx(30.0)


def _loaded_rows(con) -> int:
    return con.execute("SELECT count(*) FROM searches").fetchone()[0]


def test_a_header_only_resupply_is_quarantined_and_kept_aside(con, tmp_path):
    path = write_csv(tmp_path, _rows(5))
    ingest_paths(con, [path])
    path.write_bytes(csv_bytes([]))  # the header line only
    guard = ResupplyGuard(keep_dir=tmp_path / "quarantine")
    report = ingest_paths(con, [path], guard=guard)
    (result,) = report.files
    assert result.action == "quarantined"
    assert result.error == (
        "quarantined: re-supplied testshire 2023-01 has 0 loadable rows where the loaded month"
        " has 5 (loses 100.0%)"
    )
    assert _loaded_rows(con) == 5
    (held,) = guard.quarantined
    kept = Path(held.kept_at)
    assert kept.parent == tmp_path / "quarantine" / "testshire-2023-01"
    assert kept.read_bytes() == csv_bytes([])


def test_a_truncated_resupply_is_quarantined(con, tmp_path):
    path = write_csv(tmp_path, _rows(20))
    ingest_paths(con, [path])
    full = csv_bytes(_rows(20))
    path.write_bytes(full[: len(full) // 4])  # cut mid-line, as an interrupted download
    report = ingest_paths(con, [path], guard=ResupplyGuard())
    assert [f.action for f in report.files] == ["quarantined"]
    assert _loaded_rows(con) == 20


def test_a_small_loss_and_an_accepted_one_are_applied(con, tmp_path):
    path = write_csv(tmp_path, _rows(10))
    ingest_paths(con, [path])
    path.write_bytes(csv_bytes(_rows(8)))
    assert [f.action for f in ingest_paths(con, [path], guard=ResupplyGuard()).files] == [
        "resupplied"
    ]
    path.write_bytes(csv_bytes(_rows(1)))
    guard = ResupplyGuard(accepted=frozenset({("testshire", "2023-01")}))
    assert [f.action for f in ingest_paths(con, [path], guard=guard).files] == ["resupplied"]
    assert _loaded_rows(con) == 1
    assert [(h.rows_before, h.rows_after) for h in guard.accepted_applied] == [(8, 1)]
    path.write_bytes(csv_bytes(_rows(0)))
    loose = ResupplyGuard(max_loss_percent=100.0)  # still holds back a month that loses all
    assert [f.action for f in ingest_paths(con, [path], guard=loose).files] == ["quarantined"]


def test_publish_exits_3_until_the_operator_accepts_and_the_changelog_says_so(tmp_path):
    police = tmp_path / "police"
    police.mkdir()
    path = write_csv(police, _rows(5))
    settings = config(tmp_path, police, None)
    assert publish(settings).exit_code == 0
    live = current_release(tmp_path / "site")
    path.write_bytes(csv_bytes([]))
    run = publish(settings)
    assert run.exit_code == 3, run.output
    summary = json.loads(run.stdout)
    assert summary["changed"] is False and current_release(tmp_path / "site") == live
    assert summary["rows_loaded"] == 5 and summary["files_quarantined"] == 1
    (held,) = status(tmp_path / "warehouse.duckdb")["quarantined"]
    assert (held["force"], held["month"], held["rows_before"], held["rows_after"]) == (
        "testshire",
        "2023-01",
        5,
        0,
    )
    assert Path(held["kept_at"]).is_relative_to(tmp_path / "site" / "quarantine")
    human = CliRunner().invoke(main, ["--db", str(tmp_path / "warehouse.duckdb"), "status"])
    assert f"accept with --accept-resupply {MONTH}" in human.stdout
    assert "testshire 2023-01: " in human.stdout and "(loses 100.0%); not applied" in human.stdout
    assert publish(settings).exit_code == 3  # every run reports it until it is accepted
    accepted = publish(settings, "--accept-resupply", MONTH)
    assert accepted.exit_code == 0, accepted.output
    summary = json.loads(accepted.stdout)
    assert summary["rows_loaded"] == 0 and summary["quarantined"] == []
    line = (
        "re-supplied month: testshire 2023-01 accepted by the operator: it has 0 rows where the"
        " previous supply had 5 (figures recomputed)"
    )
    assert summary["changes"] == [line]
    changelog = json.loads((current_release(tmp_path / "site") / "changelog.json").read_text())
    assert changelog[0]["lines"] == [line]
    assert status(tmp_path / "warehouse.duckdb")["quarantined"] == []


def test_the_config_keys_accept_and_loosen_the_guard(tmp_path):
    police = tmp_path / "police"
    police.mkdir()
    path = write_csv(police, _rows(10))
    assert publish(config(tmp_path, police, None)).exit_code == 0
    path.write_bytes(csv_bytes(_rows(6)))  # loses 40%
    loose = config(tmp_path, police, None, "[guards]\nresupply_max_loss_percent = 50\n")
    assert publish(loose).exit_code == 0
    path.write_bytes(csv_bytes(_rows(0)))
    accepting = config(tmp_path, police, None, f'[guards]\naccept_resupply = ["{MONTH}"]\n')
    run = publish(accepting)
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["rows_loaded"] == 0


def test_the_ingest_command_guards_a_resupply_as_publish_does(tmp_path):
    """`stopsearch ingest` on its own must not let a header-only re-supply empty a month."""
    db = str(tmp_path / "w.duckdb")
    path = write_csv(tmp_path, _rows(6))
    runner = CliRunner()
    assert runner.invoke(main, ["--db", db, "ingest", str(path)]).exit_code == 0
    path.write_bytes(csv_bytes([]))
    held = runner.invoke(main, ["--db", db, "ingest", "--json", str(path)])
    assert held.exit_code == 3
    summary = json.loads(held.output)
    assert [f["action"] for f in summary["files"]] == ["quarantined"]
    assert summary["files_quarantined"] == 1
    listed = json.loads(runner.invoke(main, ["--db", db, "status", "--json"]).output)
    assert [(q["force"], q["month"], q["rows_before"]) for q in listed["quarantined"]] == [
        ("testshire", "2023-01", 6)
    ]
    text = runner.invoke(main, ["--db", db, "ingest", str(path)]).output
    assert f"to apply it anyway: --accept-resupply {MONTH}" in text
    accepted = runner.invoke(main, ["--db", db, "ingest", "--accept-resupply", MONTH, str(path)])
    assert accepted.exit_code == 0, accepted.output
    con = connect(tmp_path / "w.duckdb")
    try:
        assert _loaded_rows(con) == 0
    finally:
        con.close()
