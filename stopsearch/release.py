"""Releases on disk: build into a new folder, verify, switch `current` atomically, keep the last N.

Layout under the output folder:
    releases/<release-id>/   one complete site per successful publish
    current -> releases/<release-id>   (a relative symlink, replaced with one rename)
    .lock                    held (flock) while a run is in progress
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from stopsearch.disk import fsync_dir, sha256_file, write_atomic
from stopsearch.errors import StopsearchError

RELEASES = "releases"
CURRENT = "current"
LOCK = ".lock"
CHECKSUMS = "SHA256SUMS"


class LockHeld(StopsearchError, BlockingIOError):
    """Another run holds the output folder's lock."""


class ReleaseError(StopsearchError, RuntimeError):
    """A release failed verification or cannot be switched to."""


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on `out/.lock` for the duration of a run."""
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / LOCK, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            raise LockHeld(f"{out}: locked by {holder}; try again when it has finished") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def new_release_id(now: datetime | None = None) -> str:
    """A sortable id such as 20261127T023000Z."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def staging_dir(out: Path, release_id: str) -> Path:
    """Where a release is built; it becomes visible only when renamed into releases/."""
    path = out / RELEASES / f".building-{release_id}"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != CHECKSUMS)


def write_checksums(root: Path) -> dict[str, str]:
    """Write SHA256SUMS for every file of a release; returns {relative path: sha256}."""
    sums = {p.relative_to(root).as_posix(): sha256_file(p) for p in _files(root)}
    text = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
    write_atomic(root / CHECKSUMS, text)
    return sums


def verify_release(root: Path, expected_files: list[str]) -> None:
    """Every expected file exists and is non-empty, and every checksum matches SHA256SUMS."""
    missing = [name for name in expected_files if not (root / name).is_file()]
    if missing:
        raise ReleaseError(f"{root}: missing {len(missing)} expected files, e.g. {missing[:5]}")
    empty = [name for name in expected_files if (root / name).stat().st_size == 0]
    if empty:
        raise ReleaseError(f"{root}: empty files, e.g. {empty[:5]}")
    sums_path = root / CHECKSUMS
    if not sums_path.is_file():
        raise ReleaseError(f"{root}: no {CHECKSUMS}")
    for line in sums_path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        path = root / name
        if not path.is_file() or sha256_file(path) != digest:
            raise ReleaseError(f"{root}: checksum mismatch for {name}")


def finalise(out: Path, staged: Path, release_id: str) -> Path:
    """Move a verified staging folder to releases/<id> (one rename)."""
    final = out / RELEASES / release_id
    os.replace(staged, final)
    fsync_dir(final.parent)
    return final


def current_release(out: Path) -> Path | None:
    """The release `current` points to, or None before the first publish."""
    link = out / CURRENT
    if not link.is_symlink():
        return None
    return (out / os.readlink(link)).resolve()


def switch_current(out: Path, release: Path) -> None:
    """Point `current` at `release` atomically: a new symlink renamed over the old one."""
    relative = os.path.relpath(release, out)
    tmp = out / f".{CURRENT}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(relative, tmp)
    os.replace(tmp, out / CURRENT)
    fsync_dir(out)


def list_releases(out: Path) -> list[Path]:
    """Finished releases, oldest first (staging folders excluded)."""
    root = out / RELEASES
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def prune(out: Path, keep: int) -> list[Path]:
    """Delete old releases beyond the newest `keep` (never the current one) and stale staging."""
    current = current_release(out)
    removed = []
    releases = list_releases(out)
    for old in releases[: max(0, len(releases) - keep)]:
        if current is not None and old.resolve() == current:
            continue
        shutil.rmtree(old)
        removed.append(old)
    root = out / RELEASES
    if root.is_dir():
        for stale in root.glob(".building-*"):
            shutil.rmtree(stale, ignore_errors=True)
    return removed


def rollback(out: Path) -> Path:
    """Switch `current` to the release before it; ReleaseError when there is none."""
    current = current_release(out)
    releases = [r.resolve() for r in list_releases(out)]
    if current is None or current not in releases:
        raise ReleaseError(f"{out}: no current release to roll back from")
    index = releases.index(current)
    if index == 0:
        raise ReleaseError(
            f"{out}: {current.name} is the oldest release kept; nothing to roll back to"
        )
    previous = releases[index - 1]
    switch_current(out, previous)
    return previous


def read_manifest(release: Path) -> dict:
    """The run report (manifest.json) of a release."""
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))
