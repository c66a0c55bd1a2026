"""The nightly job end to end: releases, nothing-changed runs, kills, disk full, the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stopsearch.demo import generate_demo
from stopsearch.release import current_release, list_releases, verify_release
from stopsearch.status import integrity_problems
from stopsearch.warehouse import connect

MONTHS = 4
CONTENT_EXCLUDED = {"manifest.json", "SHA256SUMS", "changelog.json", "coverage.html"}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    """A four-month fictional dataset: enough for every page, quick to publish."""
    out = tmp_path_factory.mktemp("small-demo")
    generate_demo(out, months=MONTHS)
    return out


def _config(folder: Path, data: Path, records: Path | None = None) -> Path:
    path = folder / "stopsearch.toml"
    path.write_text(
        "[publish]\n"
        f'output = "{folder / "site"}"\n'
        f'warehouse = "{folder / "warehouse.duckdb"}"\n'
        "releases_kept = 3\n"
        "[sources]\n"
        f'paths = ["{records or data / "records"}"]\n'
        "[boundaries]\n"
        f'manifest = "{data / "boundaries" / "manifest.toml"}"\n'
    )
    return path


def _publish(config: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "stopsearch.cli",
            "publish",
            "--config",
            str(config),
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def _content(release: Path) -> dict[str, str]:
    """Checksums of a release's files, without the run report."""
    sums = {}
    for line in (release / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        if Path(name).name not in CONTENT_EXCLUDED:
            sums[name] = digest
    return sums


@pytest.fixture(scope="module")
def reference(small_demo, tmp_path_factory):
    """An uninterrupted publish, to compare every other run against."""
    folder = tmp_path_factory.mktemp("reference")
    run = _publish(_config(folder, small_demo))
    assert run.returncode == 0, run.stderr
    return folder, json.loads(run.stdout), _content(current_release(folder / "site"))


def test_first_publish_makes_a_verified_current_release(reference):
    folder, summary, content = reference
    site = folder / "site"
    live = current_release(site)
    assert summary["changed"] is True
    assert live is not None and live.parent.name == "releases"
    manifest = json.loads((live / "manifest.json").read_text())
    assert len(manifest["inputs"]) == MONTHS
    assert manifest["rows_loaded"] == sum(m["rows_loaded"] for m in summary["months"])
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert set(manifest["versions"]) >= {"stopsearch", "duckdb", "pyarrow"}
    assert {"ingest", "metrics", "export", "site"} <= set(manifest["durations"])
    assert "index.html" in content and "downloads/metrics.parquet" in content
    changelog = json.loads((live / "changelog.json").read_text())
    assert len(changelog[0]["lines"]) == MONTHS


def test_a_second_run_with_no_new_input_changes_nothing(reference, small_demo):
    folder, _, _ = reference
    before = os.readlink(folder / "site" / "current")
    run = _publish(folder / "stopsearch.toml")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["changed"] is False
    assert os.readlink(folder / "site" / "current") == before
    assert len(list_releases(folder / "site")) == 1


def test_a_forced_rebuild_is_byte_identical_apart_from_the_run_report(
    reference, small_demo, tmp_path
):
    folder, _, content = reference
    run = _publish(folder / "stopsearch.toml", "--rebuild")
    assert run.returncode == 0, run.stderr
    assert _content(current_release(folder / "site")) == content
    assert len(list_releases(folder / "site")) == 2


@pytest.mark.parametrize(
    "stage",
    [
        "fetch",
        "prepare",
        "ingest",
        "boundaries",
        "join",
        "metrics",
        "export",
        "site",
        "verify",
        "switch",
    ],
)
def test_a_kill_at_any_stage_keeps_the_live_release_and_the_next_run_recovers(
    stage, small_demo, reference, tmp_path
):
    folder = tmp_path
    _, _, expected = reference
    first = sorted((small_demo / "records").iterdir())
    partial = tmp_path / "partial"
    partial.mkdir()
    fresh = stage == "boundaries"  # boundaries load only on a first run (or when they change)
    for month_folder in first if fresh else first[:-1]:
        (partial / month_folder.name).symlink_to(month_folder)
    config = _config(folder, small_demo, records=partial)
    live = live_content = None
    if not fresh:  # a live release of the first months, then a kill while adding the last
        assert _publish(config).returncode == 0
        live = current_release(folder / "site")
        live_content = _content(live)
        (partial / first[-1].name).symlink_to(first[-1])
    killed = _publish(config, env={"STOPSEARCH_FAULT": f"{stage}:kill"})
    assert killed.returncode == -9, killed.stderr
    assert current_release(folder / "site") == live
    if live is not None:
        verify_release(live, ["index.html"])
        assert _content(live) == live_content
    with connect(folder / "warehouse.duckdb") as con:
        assert integrity_problems(con) == []
    again = _publish(config)
    assert again.returncode == 0, again.stderr
    assert _content(current_release(folder / "site")) == expected


def test_disk_full_during_the_build_leaves_current_untouched(reference, tmp_path, small_demo):
    config = _config(tmp_path, small_demo)
    assert _publish(config).returncode == 0
    live = current_release(tmp_path / "site")
    failed = _publish(config, "--rebuild", env={"STOPSEARCH_FAULT": "site:diskfull"})
    assert failed.returncode == 1
    assert "No space left on device" in failed.stderr
    assert "the live release is unchanged" in failed.stderr
    assert current_release(tmp_path / "site") == live
    assert not list((tmp_path / "site" / "releases").glob(".building-*"))


def test_two_simultaneous_runs_one_wins_the_other_exits_with_the_lock_code(tmp_path, small_demo):
    config = _config(tmp_path, small_demo)
    slow = subprocess.Popen(
        [sys.executable, "-m", "stopsearch.cli", "publish", "--config", str(config), "--quiet"],
        env={**os.environ, "STOPSEARCH_FAULT": "prepare:sleep"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lock = tmp_path / "site" / ".lock"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
            time.sleep(0.1)
        second = _publish(config)
        assert second.returncode == 75
        assert "locked by pid" in second.stderr
    finally:
        out, err = slow.communicate(timeout=300)
    assert slow.returncode == 0, err


def test_adding_one_month_reports_and_rebuilds_only_that_month(tmp_path, small_demo):
    partial = tmp_path / "records"
    partial.mkdir()
    months = sorted((small_demo / "records").iterdir())
    for month_folder in months[:-1]:
        (partial / month_folder.name).symlink_to(month_folder)
    config = _config(tmp_path, small_demo, records=partial)
    assert _publish(config).returncode == 0
    (partial / months[-1].name).symlink_to(months[-1])
    run = _publish(config)
    summary = json.loads(run.stdout)
    assert run.returncode == 0
    assert summary["files_new"] == 1 and summary["files_unchanged"] == MONTHS - 1
    assert summary["changes"] == [f"new month: demoshire {months[-1].name}"]
    changelog = json.loads((current_release(tmp_path / "site") / "changelog.json").read_text())
    assert changelog[0]["lines"] == summary["changes"]
    assert len(changelog) == 2
