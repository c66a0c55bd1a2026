"""The nightly job end to end: releases, nothing-changed runs, kills, disk full, the lock."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from stopsearch.cli import main
from stopsearch.demo import generate_demo
from stopsearch.release import current_release, list_releases, verify_release
from stopsearch.status import integrity_problems
from stopsearch.warehouse import connect
from tests.shared import build_once

MONTHS = 4
CONTENT_EXCLUDED = {"manifest.json", "SHA256SUMS", "changelog.json", "coverage.html"}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    """A four-month fictional dataset: enough for every page, quick to publish."""
    return build_once(
        tmp_path_factory, "small-demo", lambda out: generate_demo(out, months=MONTHS)
    )[0]


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


def _publish(config: Path, *extra: str) -> subprocess.CompletedProcess:
    """`stopsearch publish --config ... --json` in this process (its exit code and output)."""
    args = ["publish", "--config", str(config), "--json", *extra]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main.main(args, prog_name="stopsearch")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _publish_process(config: Path, fault: str) -> subprocess.CompletedProcess:
    """The same in a process of its own, with STOPSEARCH_FAULT=`fault` (which may kill it)."""
    return subprocess.run(
        [sys.executable, "-m", "stopsearch.cli", "publish", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "STOPSEARCH_FAULT": fault},
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


def _copy(prepared: Path, folder: Path, small_demo: Path) -> Path:
    """A private copy of a prepared folder (warehouse, site, records links); returns its config.

    Releases link `current` relatively and records are found by checksum, so the copy is the
    prepared state in a new place; tests change only their own copy.
    """
    shutil.copytree(prepared, folder, symlinks=True, dirs_exist_ok=True)
    records = folder / "records"
    return _config(folder, small_demo, records=records if records.is_dir() else None)


@pytest.fixture(scope="module")
def reference(small_demo, tmp_path_factory):
    """An uninterrupted publish, to compare every other run against (copy it to change it)."""

    def build(folder: Path) -> dict:
        run = _publish(_config(folder, small_demo))
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    folder, summary = build_once(tmp_path_factory, "publish-reference", build)
    return folder, summary, _content(current_release(folder / "site"))


@pytest.fixture(scope="module")
def first_months(small_demo, tmp_path_factory) -> Path:
    """A folder with every month but the last published (a records folder of links to them),
    prepared once for the tests that then add the last month or break a run: copy it."""

    def build(folder: Path) -> None:
        records = folder / "records"
        records.mkdir()
        for month_folder in sorted((small_demo / "records").iterdir())[:-1]:
            (records / month_folder.name).symlink_to(month_folder)
        run = _publish(_config(folder, small_demo, records=records))
        assert run.returncode == 0, run.stderr

    return build_once(tmp_path_factory, "publish-first-months", build)[0]


def _add_last_month(config: Path, small_demo: Path) -> str:
    """Link the demo's last month into the records folder of `config`'s folder."""
    last = sorted((small_demo / "records").iterdir())[-1]
    (config.parent / "records" / last.name).symlink_to(last)
    return last.name


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
    assert "index.html" in content and "downloads/metrics/latest-12.parquet" in content
    changelog = json.loads((live / "changelog.json").read_text())
    assert len(changelog[0]["lines"]) == MONTHS


def test_a_second_run_with_no_new_input_changes_nothing(reference, small_demo, tmp_path):
    config = _copy(reference[0], tmp_path, small_demo)
    before = os.readlink(tmp_path / "site" / "current")
    run = _publish(config)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["changed"] is False
    assert os.readlink(tmp_path / "site" / "current") == before
    assert len(list_releases(tmp_path / "site")) == 1


def test_a_forced_rebuild_is_byte_identical_apart_from_the_run_report(
    reference, small_demo, tmp_path
):
    folder, _, content = reference
    config = _copy(folder, tmp_path, small_demo)
    run = _publish(config, "--rebuild")
    assert run.returncode == 0, run.stderr
    assert _content(current_release(tmp_path / "site")) == content
    assert len(list_releases(tmp_path / "site")) == 2


# Every stage a run can be killed at, in run order; "boundaries" runs only on a first run (or when
# the boundary files change), so it has a first-run test of its own.
KILL_STAGES = (
    "fetch",
    "prepare",
    "ingest",
    "join",
    "metrics",
    "export",
    "site",
    "verify",
    "switch",
)


def _killed_at(stage: str, config: Path, live: Path | None, live_content: dict | None) -> None:
    """Kill a run of `config` at `stage`; the live release must stay live and whole and the
    warehouse consistent."""
    killed = _publish_process(config, f"{stage}:kill")
    assert killed.returncode == -9, (stage, killed.stderr)
    site = config.parent / "site"
    assert current_release(site) == live, stage
    if live is not None:
        verify_release(live, ["index.html"])
        assert _content(live) == live_content, stage
    with connect(config.parent / "warehouse.duckdb") as con:
        assert integrity_problems(con) == [], stage


def test_a_kill_at_any_stage_keeps_the_live_release_and_the_next_run_recovers(
    small_demo, reference, first_months, tmp_path
):
    """A live release of the first months, then runs adding the last month killed at each stage
    in turn: each killed run starts from what the kills before it left behind (a harder start
    than one kill alone), and the one clean run after them all publishes exactly the release an
    uninterrupted run makes. (One recovery for nine kills keeps this test to a tenth of the
    publishes that a recovery per stage would take.)"""
    _, _, expected = reference
    config = _copy(first_months, tmp_path, small_demo)
    live = current_release(tmp_path / "site")
    live_content = _content(live)
    _add_last_month(config, small_demo)
    for stage in KILL_STAGES:
        _killed_at(stage, config, live, live_content)
    again = _publish(config)
    assert again.returncode == 0, again.stderr
    assert _content(current_release(tmp_path / "site")) == expected


def test_a_kill_while_loading_the_boundaries_of_a_first_run_leaves_nothing_live(
    small_demo, reference, tmp_path
):
    _, _, expected = reference
    config = _config(tmp_path, small_demo)
    _killed_at("boundaries", config, None, None)
    again = _publish(config)
    assert again.returncode == 0, again.stderr
    assert _content(current_release(tmp_path / "site")) == expected


def test_disk_full_during_the_build_leaves_current_untouched(
    first_months, tmp_path, small_demo, monkeypatch
):
    config = _copy(first_months, tmp_path, small_demo)
    live = current_release(tmp_path / "site")
    content = _content(live)
    monkeypatch.setenv("STOPSEARCH_FAULT", "site:diskfull")
    failed = _publish(config, "--rebuild")
    assert failed.returncode == 1
    assert "No space left on device" in failed.stderr
    assert "the live release is unchanged" in failed.stderr
    assert current_release(tmp_path / "site") == live and _content(live) == content
    assert [r.name for r in list_releases(tmp_path / "site")] == [live.name]
    assert not list((tmp_path / "site" / "releases").glob(".building-*"))


def _open_when_read(fifo: Path, reader: subprocess.Popen) -> int:
    """Open `fifo` for writing once `reader` has opened it for reading (no time limit: the
    reader either gets there or exits, which fails the test with its own error)."""
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: nobody has it open for reading yet
                raise
        if reader.poll() is not None:
            out, err = reader.communicate()
            pytest.fail(f"the first run exited ({reader.returncode}) before the wait:\n{err}")
        time.sleep(0.05)


def test_two_simultaneous_runs_one_wins_the_other_exits_with_the_lock_code(
    first_months, tmp_path, small_demo
):
    """The first run stops inside its lock (at the prepare stage, on a FIFO this test holds),
    so the second certainly starts while the first holds the lock; then the first finishes."""
    config = _copy(first_months, tmp_path / "run", small_demo)
    month = _add_last_month(config, small_demo)
    live = current_release(tmp_path / "run" / "site")
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    first = subprocess.Popen(
        [sys.executable, "-m", "stopsearch.cli", "publish", "--config", str(config), "--json"],
        env={**os.environ, "STOPSEARCH_FAULT": "prepare:wait", "STOPSEARCH_FAULT_WAIT": str(gate)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    held = None
    try:
        held = _open_when_read(gate, first)  # the first run now waits at `prepare`, locked
        lock = (tmp_path / "run" / "site" / ".lock").read_text()
        assert lock.startswith(f"pid {first.pid} since ")
        second = _publish(config)
        assert second.returncode == 75
        assert f"locked by pid {first.pid}" in second.stderr
        assert current_release(tmp_path / "run" / "site") == live  # the loser changed nothing
    finally:
        if held is not None:
            os.close(held)  # end of file on the FIFO: the first run carries on
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    summary = json.loads(out)
    assert summary["changes"] == [f"new month: demoshire {month}"]
    assert current_release(tmp_path / "run" / "site") != live


def test_adding_one_month_reports_and_rebuilds_only_that_month(first_months, tmp_path, small_demo):
    config = _copy(first_months, tmp_path, small_demo)
    month = _add_last_month(config, small_demo)
    run = _publish(config)
    summary = json.loads(run.stdout)
    assert run.returncode == 0
    assert summary["files_new"] == 1 and summary["files_unchanged"] == MONTHS - 1
    assert summary["changes"] == [f"new month: demoshire {month}"]
    changelog = json.loads((current_release(tmp_path / "site") / "changelog.json").read_text())
    assert changelog[0]["lines"] == summary["changes"]
    assert len(changelog) == 2
