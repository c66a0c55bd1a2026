"""Self-healing releases, rollback to the newest verified release, and clean errors on bad disks.

Issue 12 case 3: with the live release folder deleted or its manifest.json damaged, every later
publish failed with a traceback and `rollback` said "no current release". Case 6 (part): a
read-only output folder and a warehouse on a full disk gave tracebacks, the latter hiding "No
space left on device" behind a failed ROLLBACK. Case 7: `rollback` exited 1, not 75, under the
lock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stopsearch.cli import main
from stopsearch.release import (
    current_release,
    list_releases,
    release_problem,
    run_lock,
    write_checksums,
)
from tests.factories import row, write_csv
from tests.shared import build_once
from tests.tiny_county import config, publish, status

RELEASE_FILES = ("index.html", "manifest.json", "changelog.json")


@pytest.fixture
def published(tmp_path, tmp_path_factory) -> Path:
    """A config whose output holds two verified releases (the second one live): published once
    per test run, copied for each test (which may damage its copy)."""

    def build(folder: Path) -> None:
        police = folder / "police"
        police.mkdir()
        write_csv(police, [row()] * 3)
        settings = config(folder, police, None)
        assert publish(settings).exit_code == 0
        assert publish(settings, "--rebuild").exit_code == 0

    prepared, _ = build_once(tmp_path_factory, "two-verified-releases", build)
    shutil.copytree(prepared, tmp_path, symlinks=True, dirs_exist_ok=True)
    settings = config(tmp_path, tmp_path / "police", None)  # the copy's own paths
    assert len(list_releases(tmp_path / "site")) == 2
    return settings


def _rollback(out: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["rollback", "--out", str(out), "--json"])
    return result.exit_code, result.stdout, result.stderr


def _assert_healed(settings: Path, damaged: Path, problem: str) -> None:
    site = settings.parent / "site"
    run = publish(settings)  # no new input: only the heal makes this run publish
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    live = current_release(site)
    assert summary["changed"] is True and live != damaged
    assert release_problem(live, RELEASE_FILES) is None
    assert problem in summary["self_heal"]["problem"]
    (heal,) = status(settings.parent / "warehouse.duckdb")["self_heals"]
    assert heal["outcome"] == f"switched to the new verified release {live.name}"
    again = publish(settings)
    assert json.loads(again.stdout)["changed"] is False  # healed: back to "nothing changed"


def test_a_deleted_live_release_is_rebuilt(published):
    site = published.parent / "site"
    live = current_release(site)
    shutil.rmtree(live)
    _assert_healed(published, live, f"the live release {live.name} is missing")


@pytest.mark.parametrize(
    ("resummed", "problem"),
    [(False, "checksum mismatch for manifest.json"), (True, "manifest.json is not valid JSON")],
)
def test_a_damaged_manifest_is_rebuilt(published, resummed, problem):
    site = published.parent / "site"
    live = current_release(site)
    (live / "manifest.json").write_text("{")
    if resummed:  # written broken, then checksummed: the checksums alone do not catch it
        write_checksums(live)
    _assert_healed(published, live, problem)


def test_nothing_is_taken_from_a_release_that_fails_verification(published):
    site = published.parent / "site"
    live = current_release(site)
    (live / "changelog.json").write_text(json.dumps([{"lines": ["<tampered>"]}]))
    run = publish(published)
    assert run.exit_code == 0, run.output
    new = current_release(site)
    assert "<tampered>" not in (new / "changelog.json").read_text()
    older = list_releases(site)[0]  # the newest release that verifies gave the changelog
    assert json.loads((new / "changelog.json").read_text()) == json.loads(
        (older / "changelog.json").read_text()
    )


def test_a_malformed_checksum_list_is_damage_not_a_traceback(published):
    site = published.parent / "site"
    live = current_release(site)
    (live / "SHA256SUMS").write_text("not a checksum line\n")
    assert release_problem(live, RELEASE_FILES) == f"{live}: SHA256SUMS line 1 is malformed"
    _assert_healed(published, live, "SHA256SUMS line 1 is malformed")


def test_rollback_goes_to_the_newest_release_that_verifies(published):
    site = published.parent / "site"
    first, second = list_releases(site)
    assert publish(published, "--rebuild").exit_code == 0
    third = current_release(site)
    # The rebuild's pages are the second's bytes: shared (one file, hard-linked), so damage to
    # one would be damage to both; the run report is each release's own.
    assert (second / "index.html").stat().st_ino == (third / "index.html").stat().st_ino
    (second / "manifest.json").write_text("{}")
    code, out, _ = _rollback(site)
    assert code == 0
    assert current_release(site) == first.resolve()
    assert json.loads(out)["skipped"] == [
        {"release": second.name, "problem": f"{second}: checksum mismatch for manifest.json"}
    ]
    shutil.rmtree(first)  # now the live release is gone: the newest that verifies is third
    code, out, _ = _rollback(site)
    assert code == 0 and json.loads(out)["current"] == third.name
    assert current_release(site) == third.resolve()


def test_rollback_under_the_lock_exits_75(published):
    site = published.parent / "site"
    before = current_release(site)
    with run_lock(site):
        code, _, err = _rollback(site)
    assert code == 75
    assert "locked by pid" in err
    assert current_release(site) == before


def _namespace_with(mount: str) -> bool:
    """Whether this machine lets a test mount a tmpfs in its own user and mount namespace."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o {mount} tmpfs /tmp"],
        capture_output=True,
    )
    return probe.returncode == 0


def _publish_with_mount(folder: Path, mount: str, *args: str) -> subprocess.CompletedProcess:
    """`stopsearch ARGS` with `folder` a fresh tmpfs mounted with `mount` options."""
    if not _namespace_with(mount):
        pytest.skip("cannot mount a tmpfs in a user namespace here (unshare -rm)")
    folder.mkdir(parents=True, exist_ok=True)
    script = f'mount -t tmpfs -o {mount} tmpfs "{folder}" && exec "$@"'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", sys.executable, "-m", "stopsearch.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def test_a_read_only_output_folder_is_a_clean_error(tmp_path):
    police = tmp_path / "police"
    police.mkdir()
    write_csv(police, [row()])
    run = _publish_with_mount(
        tmp_path / "readonly",
        "ro",
        "--db",
        str(tmp_path / "w.duckdb"),
        "publish",
        "--source",
        str(police),
        "--out",
        str(tmp_path / "readonly" / "site"),
    )
    assert run.returncode == 1
    assert run.stderr == (
        f"Error: {tmp_path / 'readonly' / 'site'}: cannot write to the output folder"
        " (Read-only file system)\n"
    )


def test_a_full_disk_under_the_warehouse_says_so(tmp_path):
    police = tmp_path / "police"
    police.mkdir()
    write_csv(police, [row(Object_of_search=f"Object {i}") for i in range(20_000)])
    run = _publish_with_mount(
        tmp_path / "disk",
        "size=1m",
        "--db",
        str(tmp_path / "disk" / "w.duckdb"),
        "publish",
        "--source",
        str(police),
        "--out",
        str(tmp_path / "site"),
        "--quiet",
    )
    assert run.returncode == 1
    assert "No space left on device" in run.stderr
    assert "the live release is unchanged (none published yet)" in run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1
