"""The command-line shell: help everywhere, --json summaries, one-line errors, exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from stopsearch import __version__
from stopsearch.cli import EXIT_OK, EXIT_REJECTED, main
from tests.factories import row, write_csv

COMMANDS = ["ingest", "demo", "status", "publish"]


@pytest.fixture
def runner():
    return CliRunner()


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"stopsearch, version {__version__}"


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_on_every_command(runner, command):
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert result.output.startswith("Usage: ")


def test_ingest_then_status_human_and_json(runner, tmp_path):
    db = str(tmp_path / "w.duckdb")
    path = write_csv(tmp_path, [row(), row(), row(Date="never")])
    result = runner.invoke(main, ["--db", db, "ingest", str(path)])
    assert result.exit_code == EXIT_REJECTED
    assert (
        "1 files: 1 new, 0 re-supplied, 0 unchanged, 0 refused, 0 quarantined;"
        " 2 rows loaded, 1 rejected"
        in result.output
    )
    result = runner.invoke(main, ["--db", db, "ingest", "--json", str(path)])
    assert result.exit_code == EXIT_OK  # unchanged: nothing rejected this time
    payload = json.loads(result.output)
    assert payload["files"][0]["action"] == "unchanged"
    result = runner.invoke(main, ["--db", db, "status", "--json"])
    assert result.exit_code == 0
    status = json.loads(result.output)
    assert [(m["month"], m["rows_loaded"], m["rows_rejected"]) for m in status["months"]] == [
        ("2023-01", 2, 1)
    ]
    human = runner.invoke(main, ["--db", db, "status"]).output
    assert "1 force-months, 2 rows loaded, 1 rejected, 0 files refused, 0 unmapped labels" in human


def test_unmapped_label_is_a_visible_warning(runner, tmp_path):
    path = write_csv(tmp_path, [row(Outcome="Community service penalty")])
    result = runner.invoke(main, ["--db", str(tmp_path / "w.duckdb"), "ingest", str(path)])
    assert result.exit_code == EXIT_OK
    assert "warning: unmapped Outcome label 'Community service penalty' on 1 rows" in result.output


def test_input_errors_are_one_line_without_traceback(runner, tmp_path):
    bad = tmp_path / "stops.csv"
    bad.write_text("x")
    result = runner.invoke(main, ["--db", str(tmp_path / "w.duckdb"), "ingest", str(bad)])
    assert result.exit_code == EXIT_REJECTED  # refused alone: the run goes on
    refused = f"refused: {bad}: not a stop-and-search file name"
    assert any(line.startswith(refused) for line in result.output.splitlines())
    assert "Traceback" not in result.output
    missing = runner.invoke(main, ["ingest", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_publish_with_a_config_of_paths(runner, tmp_path):
    folder = tmp_path / "police"
    folder.mkdir()
    write_csv(folder, [row()] * 4)
    config = tmp_path / "stopsearch.toml"
    config.write_text('[sources]\npaths = ["police"]\n')
    result = runner.invoke(
        main,
        [
            "--db",
            str(tmp_path / "w.duckdb"),
            "publish",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "site"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["rows_loaded"] == 4
    assert payload["demo"] is False


def test_publish_rejects_a_bad_config(runner, tmp_path):
    config = tmp_path / "stopsearch.toml"
    config.write_text("[sources]\npaths = 3\n")
    result = runner.invoke(
        main,
        [
            "--db",
            str(tmp_path / "w.duckdb"),
            "publish",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "site"),
        ],
    )
    assert result.exit_code == 1
    assert "[sources] paths: must be a list" in result.output
    assert 'for example: paths = ["data/police"]' in result.output
