"""One declaration per configuration key: the TOML reader and the CLI option share its validator.

Issue 12 case 5: `--memory-limit` was not validated (the config key was) and a crafted value
created a table in the warehouse. Case 6 (part): a config file that is not UTF-8,
`memory_limit = "1KB"` and `min_count = 99999999999999999999` gave tracebacks.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner

from stopsearch.cli import GATE_OVERRIDES, KeyOption, main
from stopsearch.config import KEYS, PublishConfig, load_config, with_command_line
from stopsearch.errors import ConfigError, WarehouseError
from stopsearch.thresholds import SuppressionRules
from stopsearch.warehouse import connect

RUN_OPTIONS = {"--config", "--rebuild", "--quiet", "--json", *GATE_OVERRIDES}
INJECTION = "1GB'; CREATE TABLE pwned AS SELECT 42 AS x; --"


def _options(command) -> list:
    return [p for p in command.params if hasattr(p, "opts")]


def test_each_key_has_exactly_one_option_and_every_other_option_is_run_only():
    options = _options(main) + _options(main.commands["publish"])
    for key in KEYS:
        built = [o for o in options if isinstance(o, KeyOption) and o.config_key is key]
        assert len(built) == 1, key.name
        assert key.option in built[0].opts
    others = {o.opts[0] for o in _options(main.commands["publish"]) if not isinstance(o, KeyOption)}
    assert others == RUN_OPTIONS


def test_the_suppression_keys_are_the_rules_fields():
    assert [k.name for k in KEYS if k.section == "suppression"] == [
        f.name for f in fields(SuppressionRules)
    ]
    assert isinstance(PublishConfig().suppression, SuppressionRules)
    with pytest.raises(ConfigError, match="suppression.min_count must be a whole number from 1"):
        SuppressionRules(min_count=0)


def _toml(tmp_path: Path, section: str, line: str) -> Path:
    path = tmp_path / "stopsearch.toml"
    table = "" if section == "sources" else f"[{section}]\n"
    path.write_text(f'[sources]\npaths = ["."]\n{table}{line}\n', encoding="utf-8")
    return path


BAD = [
    ("publish", "memory_limit", '"1KB"', "1KB", "'1KB' is too small: DuckDB needs at least 128MB"),
    ("publish", "memory_limit", '"lots"', "lots", "'lots' is not a size"),
    (
        "publish",
        "memory_limit",
        '"' + INJECTION + '"',
        INJECTION,
        f"{INJECTION!r} is not a size",
    ),
    (
        "suppression",
        "min_count",
        "99999999999999999999",
        "99999999999999999999",
        "must be a whole number from 1 to 1,000,000,000, got 99999999999999999999",
    ),
    ("suppression", "min_rate_count", "0", "0", "must be a whole number from 1 to"),
    ("publish", "releases_kept", "0", "0", "must be at least 1"),
    (
        "publish",
        "force",
        '"West Midlands"',
        "West Midlands",
        "'West Midlands' is not a data.police.uk force id",
    ),
    ("publish", "months", '["2023-13"]', "2023-13", "'2023-13' is not YYYY-MM"),
    ("sources", "police_api_url", '"ftp://x"', "ftp://x", "'ftp://x' is not an http(s) address"),
    ("guards", "resupply_max_loss_percent", "101", "101", "must be a number from 0 to 100"),
    ("guards", "vanished_months_max", "-1", "-1", "must be a whole number from 0 to"),
    (
        "guards",
        "accept_resupply",
        '["2023-01"]',
        "2023-01",
        "'2023-01' is not FORCE-YYYY-MM",
    ),
    (
        "site",
        "tile_url",
        '"https://{s}.tiles.example.org/{z}/{x}/{y}.png"',
        "https://{s}.tiles.example.org/{z}/{x}/{y}.png",
        "'https://{s}.tiles.example.org/{z}/{x}/{y}.png' is not an http(s) address of one host"
        " with a path",
    ),
    (
        "site",
        "tile_url",
        '"https://t.example.org/{z}.png"',
        "https://t.example.org/{z}.png",
        "'https://t.example.org/{z}.png' has no {x}",
    ),
    ("site", "tile_attribution", '""', "", "must be one line of 1 to 300 characters, got ''"),
]


@pytest.mark.parametrize(("section", "name", "toml", "text", "problem"), BAD)
def test_the_file_and_the_command_line_give_the_same_answer(
    tmp_path, section, name, toml, text, problem
):
    with pytest.raises(ConfigError) as raised:
        load_config(_toml(tmp_path, section, f"{name} = {toml}"))
    assert f"[{section}] {name}: {problem}" in str(raised.value)
    (key,) = [k for k in KEYS if k.name == name]
    option = key.option if name != "warehouse" else "--db"
    run = CliRunner().invoke(
        main, ["--db", str(tmp_path / "w.duckdb"), "publish", f"{option}={text}"]
    )
    assert run.exit_code == 2
    assert problem in run.stderr.replace("\n", " ").replace("  ", " ")
    assert not (tmp_path / "w.duckdb").exists()  # rejected before anything was opened


def test_a_crafted_memory_limit_never_reaches_sql(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    run = CliRunner().invoke(
        main, ["--db", str(warehouse), "publish", "--memory-limit", INJECTION, "--out", "x"]
    )
    assert run.exit_code == 2
    with pytest.raises(WarehouseError, match="memory_limit"):  # bound, not spliced, even here
        connect(warehouse, memory_limit=INJECTION)
    with connect(warehouse) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "pwned" not in tables and "loads" in tables


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'[publish]\nforce = "caf\xe9"\n',
            "not UTF-8 text (byte 23 is 0xe9); save the file as UTF-8",
        ),
        (
            b'[sources]\npaths = ["."]\n[publish]\nmemory_limit = "1KB"\n',
            "[publish] memory_limit: '1KB' is too small: DuckDB needs at least 128MB",
        ),
        (
            b'[sources]\npaths = ["."]\n[suppression]\nmin_count = 99999999999999999999\n',
            "[suppression] min_count: must be a whole number from 1 to 1,000,000,000",
        ),
    ],
)
def test_bad_config_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "stopsearch.toml"
    path.write_bytes(content)
    run = CliRunner().invoke(
        main, ["--db", str(tmp_path / "w.duckdb"), "publish", "--config", str(path)]
    )
    assert run.exit_code == 1
    assert run.stderr.startswith(f"Error: {path}: ") and message in run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.output


def test_command_line_values_win_and_lists_add(tmp_path):
    (tmp_path / "more").mkdir()
    base = load_config(
        _toml(tmp_path, "guards", 'accept_resupply = ["a-2023-01"]\nunplaced_max_percent = 2')
    )
    merged = with_command_line(
        base,
        {
            "accept_resupply": ("b-2023-02",),
            "paths": (tmp_path / "more",),
            "min_count": 3,
            "unplaced_max_percent": 7.5,
            "record_level": False,
            "force": None,
        },
    )
    assert merged.accept_resupply == ("a-2023-01", "b-2023-02")
    assert merged.accepted_resupplies == {("a", "2023-01"), ("b", "2023-02")}
    assert merged.paths == (tmp_path, tmp_path / "more")
    assert merged.suppression == SuppressionRules(min_count=3)
    assert merged.unplaced_max_percent == 7.5 and merged.record_level is False
    assert merged.memory_limit is None


def test_memory_limits_are_parsed_to_a_canonical_size():
    from stopsearch.config import parse_memory_limit

    assert parse_memory_limit("3GB") == "3GB"
    assert parse_memory_limit(" 1.50 gib") == "1.5GiB"
    assert parse_memory_limit("128MB") == "128MB"


def test_the_limits_keys_are_the_limits_fields_and_reach_the_ingest(tmp_path):
    from stopsearch.thresholds import Limits
    from tests import tiny_county

    assert [k.name for k in KEYS if k.section == "limits"] == [f.name for f in fields(Limits)]
    with pytest.raises(ConfigError, match=r"\[limits\] line_bytes: must be a whole number from 1"):
        load_config(_toml(tmp_path, "limits", "line_bytes = 0"))
    sources = tmp_path / "records"
    tiny_county.records(sources, rows=6)
    manifest = tiny_county.county(tmp_path / "county")
    path = tiny_county.config(tmp_path, sources, manifest, "[limits]\nfield_bytes = 10\n")
    assert load_config(path).limits == Limits(field_bytes=10)
    # Every data line has a field longer than 10 bytes ("Person search"): all six are rejected.
    loaded = tiny_county.publish(path)
    assert loaded.exit_code == 3, loaded.output
    (month,) = json.loads(loaded.stdout)["months"]
    assert (month["rows_loaded"], month["rows_rejected"]) == (0, 6)
    # The same limit from the command line (another warehouse, so the file is loaded afresh).
    again = tiny_county.config(tmp_path, sources, manifest, warehouse="w2.duckdb")
    run = tiny_county.publish(again, "--limit-field-bytes", "10")
    assert run.exit_code == 3, run.output
    (month,) = json.loads(run.stdout)["months"]
    assert (month["rows_loaded"], month["rows_rejected"]) == (0, 6)


@pytest.mark.parametrize(
    ("line", "record_level"),
    [
        ("record_level = false", False),
        ("record_level = true", True),
        ('record_level = "auto"', True),
    ],
)
def test_record_level_sets_the_disclosure_mode_of_the_rules(tmp_path, line, record_level):
    """Issue 13: `[extracts] record_level` is also the threat model; the metrics read it from the
    rules (records in "." are data.police.uk-named, so "auto" is on)."""
    from stopsearch.thresholds import ReleaseRules, record_level_mode

    config = load_config(_toml(tmp_path, "extracts", line))
    rules = config.release_rules
    assert isinstance(rules, ReleaseRules)
    assert record_level_mode(rules) is record_level
    assert (rules.min_count, rules.min_rate_count) == (5, 10)
    assert record_level_mode(SuppressionRules()) is True  # plain thresholds: records public
    with pytest.raises(ConfigError, match="record_level must be true or false"):
        ReleaseRules(record_level="no")  # type: ignore[arg-type]


def test_tiles_need_their_credit_line(tmp_path):
    """Issue 16: [site] tile_url and tile_attribution (and --tile-url, --tile-attribution)."""
    path = _toml(tmp_path, "site", 'tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"')
    with pytest.raises(ConfigError, match=r"\[site\] tile_attribution: is required with tile_url"):
        load_config(path)
    path = _toml(
        tmp_path,
        "site",
        'tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"\ntile_attribution = "© Tiles"',
    )
    config = load_config(path)
    assert (config.tile_url, config.tile_attribution) == (
        "https://tiles.example.org/{z}/{x}/{y}.png",
        "© Tiles",
    )
    with pytest.raises(ConfigError, match="command line: .site. tile_attribution: is required"):
        with_command_line(PublishConfig(), {"tile_url": "http://127.0.0.1:8/{z}/{x}/{y}"})
    given = {"tile_url": "http://127.0.0.1:8/{z}/{x}/{y}", "tile_attribution": "Local tiles"}
    assert with_command_line(config, given).tile_url == "http://127.0.0.1:8/{z}/{x}/{y}"
    warehouse = tmp_path / "w.duckdb"
    run = CliRunner().invoke(
        main,
        [
            "--db",
            str(warehouse),
            "build-site",
            "--out",
            str(tmp_path / "s"),
            "--tile-url",
            "https://tiles.example.org/{z}/{x}/{y}.png",
        ],
    )
    assert run.exit_code == 1 and "tile_attribution: is required with tile_url" in run.stderr
    assert not warehouse.exists()
