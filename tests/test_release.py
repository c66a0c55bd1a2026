"""Releases: atomic switch of `current`, verification, pruning, rollback and the run lock."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from stopsearch.release import (
    LockHeld,
    ReleaseError,
    current_release,
    finalise,
    list_releases,
    prune,
    rollback,
    run_lock,
    staging_dir,
    switch_current,
    verify_release,
    write_checksums,
)


def _release(out, release_id, text="hello"):
    staged = staging_dir(out, release_id)
    (staged / "index.html").write_text(text)
    (staged / "downloads").mkdir()
    (staged / "downloads" / "a.csv").write_text("x,y\n1,2\n")
    write_checksums(staged)
    verify_release(staged, ["index.html", "downloads/a.csv"])
    return finalise(out, staged, release_id)


def test_switch_prune_and_rollback(tmp_path):
    out = tmp_path / "site"
    assert current_release(out) is None
    first = _release(out, "20260101T000000Z", "one")
    switch_current(out, first)
    second = _release(out, "20260102T000000Z", "two")
    switch_current(out, second)
    assert (out / "current" / "index.html").read_text() == "two"
    assert os.readlink(out / "current") == "releases/20260102T000000Z"  # relative: movable
    assert rollback(out) == first.resolve()
    assert (out / "current" / "index.html").read_text() == "one"
    with pytest.raises(ReleaseError, match="oldest release kept"):
        rollback(out)
    third = _release(out, "20260103T000000Z", "three")
    switch_current(out, third)
    removed = prune(out, keep=1)
    assert [p.name for p in removed] == ["20260101T000000Z", "20260102T000000Z"]
    assert [p.name for p in list_releases(out)] == ["20260103T000000Z"]


def test_prune_never_removes_current(tmp_path):
    out = tmp_path / "site"
    first = _release(out, "20260101T000000Z")
    switch_current(out, first)
    _release(out, "20260102T000000Z")
    prune(out, keep=1)
    assert current_release(out) == first.resolve()
    assert len(list_releases(out)) == 2


def test_verification_catches_missing_and_tampered_files(tmp_path):
    out = tmp_path / "site"
    staged = staging_dir(out, "r1")
    (staged / "index.html").write_text("ok")
    write_checksums(staged)
    with pytest.raises(ReleaseError, match="missing 1 expected files"):
        verify_release(staged, ["index.html", "map.html"])
    (staged / "index.html").write_text("changed")
    with pytest.raises(ReleaseError, match="checksum mismatch for index.html"):
        verify_release(staged, ["index.html"])


def _hold(out, ready, release, safety=120):
    """Hold the run lock until `release` is set (or a safety timeout, so a test that goes wrong
    cannot hang the suite)."""
    with run_lock(out):
        ready.set()
        release.wait(safety)


def _wait_until_held(ready, holder) -> None:
    """Wait for the holder to take the lock, for as long as it is alive (no time limit)."""
    while not ready.wait(1):
        assert holder.is_alive(), f"the holder exited ({holder.exitcode}) without the lock"


def test_a_second_run_cannot_take_the_lock(tmp_path):
    """The second run gives up while the holder still holds the lock: the holder lets go only
    after the second attempt has returned, so a lock that waited for it could never raise."""
    out = tmp_path / "site"
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(out, ready, release))
    holder.start()
    try:
        _wait_until_held(ready, holder)
        with pytest.raises(LockHeld, match=f"locked by pid {holder.pid}"), run_lock(out):
            pass
        assert holder.is_alive() and not release.is_set()  # still held when it gave up
        assert (out / ".lock").read_text().startswith(f"pid {holder.pid} since ")
    finally:
        release.set()
        holder.join(60)
    assert holder.exitcode == 0
    with run_lock(out):  # free again once the holder has gone
        pass


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    out = tmp_path / "site"
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(out, ready, release))
    holder.start()
    _wait_until_held(ready, holder)
    holder.kill()
    holder.join(60)
    with run_lock(out):
        pass
