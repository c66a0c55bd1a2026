"""Releases on disk: build into a new folder, verify, switch `current` atomically, keep the last N.

Layout under the output folder:
    releases/<release-id>/   one complete site per successful publish
    current -> releases/<release-id>   (a relative symlink, replaced with one rename)
    .lock                    held (flock) while a run is in progress
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from stopsearch.digests import SCRUB_RUNS, DigestBook, scrub_choice
from stopsearch.disk import fsync_dir, link_over, sha256_file, temp_sibling, write_atomic
from stopsearch.errors import StopsearchError

RELEASES = "releases"
CURRENT = "current"
LOCK = ".lock"
CHECKSUMS = "SHA256SUMS"
_DIGEST = re.compile(r"[0-9a-f]{64}")


class LockHeld(StopsearchError, BlockingIOError):
    """Another run holds the output folder's lock."""


class ReleaseError(StopsearchError, RuntimeError):
    """A release failed verification or cannot be switched to."""


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on `out/.lock` for the duration of a run."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = open(out / LOCK, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    except OSError as exc:
        raise ReleaseError(
            f"{out}: cannot write to the output folder ({exc.strerror or exc})"
        ) from exc
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


def list_files(root: Path) -> list[Path]:
    """Every file of a release, SHA256SUMS included."""
    return sorted(p for p in root.rglob("*") if p.is_file())


def write_checksums(
    root: Path, known: Mapping[str, str] | None = None, book: DigestBook | None = None
) -> dict[str, str]:
    """Write SHA256SUMS for every file of a release; returns {relative path: sha256}.

    `known` gives digests already computed for some files (relative path: sha256): the export
    hashes each file it writes once, and a file linked from an earlier release keeps the digest
    verified there; only the other files are read here (through `book`, when given, so that
    verification need not read them again). Verification checks them all.
    """
    known = known or {}
    sums = {}
    for path in _files(root):
        name = path.relative_to(root).as_posix()
        sums[name] = known.get(name) or (book.hash(path) if book else sha256_file(path))
    text = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
    write_atomic(root / CHECKSUMS, text)
    return sums


def link_unchanged(
    root: Path, sums: Mapping[str, str], baseline: Path, book: DigestBook
) -> list[str]:
    """Replace each file of `root` whose bytes equal the same-named file of `baseline` with a
    hard link to that file, so that releases share whatever did not change (pages, metric
    periods, area files). Returns the names linked.

    `baseline` must be a release verified by this run; its file is taken only when the book
    trusts it to hold the digest its SHA256SUMS lists (hashed, stamp unchanged) and that digest
    is the new file's (computed from the new file's bytes on disk), so the link holds the very
    bytes that were written. Where links are impossible the written file stays.
    """
    try:
        before = read_checksums(baseline)
    except ReleaseError:
        return []
    linked = []
    for name, digest in sums.items():
        old, new = baseline / name, root / name
        if before.get(name) != digest or _same_file(old, new) or not book.trusted(old, digest):
            continue
        try:
            link_over(old, new)
        except OSError:
            continue
        linked.append(name)
    return linked


class Sharer:
    """Puts the bytes of a file into a staged release, or a hard link to the baseline's file of
    the same name when that file holds exactly these bytes (the site: most pages and area files
    are the same night after night).

    Same proof as `link_unchanged`, without writing the file first: the baseline is a release
    this run verified, its file is taken only when the book trusts it to hold the digest its
    SHA256SUMS lists (hashed from disk, stamp unchanged since) and the bytes given hash, in
    memory, to that digest. `linked` ({relative path: digest}) goes into SHA256SUMS as known
    digests: a linked file is neither written nor read again; every file written here is hashed
    once, from disk, by `write_checksums`.
    """

    def __init__(self, root: Path, baseline: Path | None, book: DigestBook) -> None:
        self.root, self.baseline, self.book = root, baseline, book
        self.linked: dict[str, str] = {}
        self._sums: dict[str, str] = {}
        if baseline is not None:
            try:
                self._sums = read_checksums(baseline)
            except ReleaseError:
                self._sums = {}

    def put(self, path: Path, content: bytes) -> None:
        """`content` at `path` (inside the staged release), linked when the baseline has it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        name = path.relative_to(self.root).as_posix()
        if self._link(name, path, len(content), content):
            return
        if self.linked.pop(name, None) is not None or path.exists():
            tmp = temp_sibling(path)  # never write through a link into the baseline's file
            tmp.write_bytes(content)
            os.replace(tmp, path)
        else:
            path.write_bytes(content)

    def link_recorded(self, name: str, size: int) -> bool:
        """Link the baseline's file `name` into the staged release without its bytes: for a file
        the baseline's manifest recorded as made from the same inputs (a fingerprint, checked by
        the caller). Taken only when the book trusts the baseline's file to hold the digest its
        SHA256SUMS lists, at the recorded size."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return self._link(name, path, size)

    def _link(self, name: str, path: Path, size: int, content: bytes | None = None) -> bool:
        """Link the baseline's `name` at `path` when the book trusts it at `size` and, given
        `content`, these bytes hash to its digest."""
        digest = self._sums.get(name)
        if digest is None or self.baseline is None:
            return False
        old = self.baseline / name
        entry = self.book.entry(old)
        if entry is None or entry.sha256 != digest or entry.size != size:
            return False  # (the size: most changed files are not hashed at all)
        if content is not None and hashlib.sha256(content).hexdigest() != digest:
            return False
        try:
            link_over(old, path)
        except OSError:
            return False
        self.linked[name] = digest
        return True


def read_checksums(root: Path) -> dict[str, str]:
    """{relative path: sha256} from SHA256SUMS; ReleaseError when it is missing or malformed."""
    sums_path = root / CHECKSUMS
    if not sums_path.is_file():
        raise ReleaseError(f"{root}: no {CHECKSUMS}")
    try:
        lines = sums_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReleaseError(f"{root}: {CHECKSUMS} cannot be read ({exc})") from exc
    sums = {}
    for number, line in enumerate(lines, 1):
        digest, sep, name = line.partition("  ")
        parts = Path(name).parts
        if not sep or not _DIGEST.fullmatch(digest) or not parts or ".." in parts or name[0] == "/":
            raise ReleaseError(f"{root}: {CHECKSUMS} line {number} is malformed")
        sums[name] = digest
    return sums


def _same_file(path: Path, other: Path) -> bool:
    """Whether two paths are one file on disk (a hard link: same device and inode)."""
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def verify_release(
    root: Path,
    expected_files: Sequence[str],
    book: DigestBook | None = None,
    scrub: float = 0.0,
) -> None:
    """Every expected file exists, is non-empty and listed, and every checksum matches.

    What is re-read: without `book` (rollback, self-healing, `release_problem`), every file
    SHA256SUMS lists is read and hashed again. With `book` (the publish job), a file is not read
    again when the book holds its digest from an earlier read of its bytes *and* its stamp
    (device, inode, size, modification time) is unchanged since that read; see
    stopsearch.digests for why an unchanged stamp means unchanged bytes and what it cannot see.
    In a nightly run that is every file: the new release's files were each hashed once, from
    disk, when written (export, SHA256SUMS) and the files linked from the live release were
    hashed when first written; the live release's check passes `scrub`, so that the files hashed
    longest ago (at least that share of the bytes) are re-read anyway. Every other file (stamp
    changed, not in the book, or digest differing from SHA256SUMS) is read and hashed again.
    """
    missing = [name for name in expected_files if not (root / name).is_file()]
    if missing:
        raise ReleaseError(f"{root}: missing {len(missing)} expected files, e.g. {missing[:5]}")
    empty = [name for name in expected_files if (root / name).stat().st_size == 0]
    if empty:
        raise ReleaseError(f"{root}: empty files, e.g. {empty[:5]}")
    sums = read_checksums(root)
    unlisted = [name for name in expected_files if name not in sums]
    if unlisted:
        raise ReleaseError(f"{root}: files not in {CHECKSUMS}, e.g. {unlisted[:5]}")
    scrubbed: set[Path] = set()
    if book is not None and scrub > 0:
        scrubbed = scrub_choice(book, [root / name for name in sums], scrub)
    for name, digest in sums.items():
        path = root / name
        if not path.is_file():
            raise ReleaseError(f"{root}: checksum mismatch for {name}")
        if book is None:
            actual = sha256_file(path)
        elif path not in scrubbed and book.trusted(path, digest):
            continue  # hashed to this digest before, unchanged since (see above)
        else:
            actual = book.hash(path)
        if actual != digest:
            raise ReleaseError(f"{root}: checksum mismatch for {name}")


def release_problem(
    root: Path,
    expected_files: Sequence[str] = (),
    book: DigestBook | None = None,
    scrub: float = 0.0,
) -> str | None:
    """Why a finished release fails verification, or None when it passes.

    Verification: `verify_release` (with `book` and `scrub`), and every expected .json file
    parses.
    """
    if not root.is_dir():
        return f"{root}: missing"
    try:
        verify_release(root, expected_files, book, scrub)
    except (ReleaseError, OSError) as exc:
        return str(exc)
    for name in expected_files:  # checksummed, yet unreadable (written broken): still damage
        if name.endswith(".json"):
            try:
                json.loads((root / name).read_text(encoding="utf-8"))
            except ValueError as exc:
                return f"{root}: {name} is not valid JSON ({exc})"
    return None


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


def live_problem(
    out: Path, expected_files: Sequence[str] = (), book: DigestBook | None = None
) -> str | None:
    """Why the live release is missing or damaged; None when it verifies or none was published.

    With `book`, files hashed before and unchanged since are trusted, and 1/SCRUB_RUNS of the
    bytes (those hashed longest ago) is re-read (see verify_release).
    """
    link = out / CURRENT
    if not link.is_symlink():
        if link.exists():
            return f"{link} is not a link to a release"
        return f"{link} is missing" if list_releases(out) else None
    live = current_release(out)
    assert live is not None
    if not live.is_dir():
        return f"the live release {live.name} is missing"
    scrub = 1 / SCRUB_RUNS if book is not None else 0.0
    problem = release_problem(live, expected_files, book, scrub)
    return None if problem is None else f"the live release fails verification: {problem}"


def switch_current(out: Path, release: Path) -> None:
    """Point `current` at `release` atomically: a new symlink renamed over the old one."""
    relative = os.path.relpath(release, out)
    link = out / CURRENT
    if link.exists() and not link.is_symlink():  # a folder or file left in its place: set aside
        os.replace(link, out / f".{CURRENT}-replaced-{new_release_id()}")
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


def newest_verified(
    out: Path, expected_files: Sequence[str] = (), before: Path | None = None
) -> tuple[Path | None, list[tuple[str, str]]]:
    """The newest release (older than `before`, if given) that verifies, and those skipped."""
    skipped: list[tuple[str, str]] = []
    for release in reversed(list_releases(out)):
        if before is not None and release.name >= before.name:
            continue
        problem = release_problem(release, expected_files)
        if problem is None:
            return release.resolve(), skipped
        skipped.append((release.name, problem))
    return None, skipped


def choose_rollback(
    out: Path, expected_files: Sequence[str] = ()
) -> tuple[Path, list[tuple[str, str]]]:
    """The release to roll back to: the newest before the live one that verifies.

    When the live release is missing (or `current` is), the newest release that verifies.
    ReleaseError when there is none.
    """
    current = current_release(out)
    releases = [r.resolve() for r in list_releases(out)]
    before = current if current is not None and current in releases else None
    if before is not None and releases.index(before) == 0:
        raise ReleaseError(
            f"{out}: {before.name} is the oldest release kept; nothing to roll back to"
        )
    target, skipped = newest_verified(out, expected_files, before)
    if target is None:
        reasons = "; ".join(f"{name}: {problem}" for name, problem in skipped) or "none kept"
        raise ReleaseError(f"{out}: no release to roll back to passes verification ({reasons})")
    return target, skipped


def rollback(out: Path, expected_files: Sequence[str] = ()) -> Path:
    """Switch `current` to the newest earlier release that verifies; ReleaseError when none."""
    target, _ = choose_rollback(out, expected_files)
    switch_current(out, target)
    return target


def read_manifest(release: Path) -> dict:
    """The run report (manifest.json) of a release."""
    return json.loads((release / "manifest.json").read_text(encoding="utf-8"))
