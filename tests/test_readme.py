"""The README agrees with the CLI: every command is documented, exit codes match, two set-ups."""

from __future__ import annotations

import re
from pathlib import Path

from stopsearch import cli, publish
from stopsearch.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_is_in_the_usage_section():
    usage = README.split("## Usage", 1)[1].split("###", 1)[0]
    for name in main.commands:
        assert re.search(rf"stopsearch (\[--db FILE\] )?{re.escape(name)}\b", usage), name


def test_exit_codes_table_matches_the_code():
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", README, flags=re.MULTILINE))
    assert set(map(int, table)) == {
        cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_REJECTED, publish.EXIT_LOCKED
    }


def test_exactly_two_set_up_commands_and_ci_runs_the_test_one():
    setup = README.split("## Set up on a fresh machine", 1)[1].split("## ", 1)[0]
    commands = [line.strip() for line in setup.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert "stopsearch publish" in commands[0]
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_the_config_example_is_the_one_the_code_documents():
    from stopsearch.config import EXAMPLE

    assert EXAMPLE.strip() in README
