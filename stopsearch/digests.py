"""Hash each file once: a book of digests keyed by the file's identity on disk.

A release is checked against its SHA256SUMS; re-reading every byte of every release at every
run costs seconds per run on a large output folder (most of it month files shared, by hard link,
with the release before). The book (`<output>/.digests.json`) remembers, per file on disk
(device and inode: one entry serves every release that links the file), the SHA-256 computed from
its bytes and the file's *stamp* at that moment: size and modification time in nanoseconds.

A file whose stamp is unchanged is trusted to still hold the bytes that were hashed. Why that is
sound: every write through the file system (write, truncate, mmap store, an editor saving in
place) moves the modification time, and any replacement (a copy, rsync, an editor writing a new
file and renaming it) is a new inode, so either way the stamp changes and the file is read again.
What a stamp cannot see is a change that bypasses the file system (bits rotting on the medium,
a raw device write) or a deliberate write followed by resetting the modification time; against
those every check also *scrubs*: it re-reads the files hashed longest ago, at least
1 / SCRUB_RUNS of the release's bytes per check, so every byte is read again at least once every
SCRUB_RUNS runs. Rollback and self-healing do not use the book: they re-read every file.

A damaged or missing book is ignored (every file is then read again and the book rebuilt).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stopsearch.disk import write_atomic

BOOK = ".digests.json"
SCRUB_RUNS = 30  # every byte re-read at least once every this many checks of a release
_VERSION = 1


class FileChanged(OSError):
    """A file changed while it was being hashed."""


@dataclass(frozen=True)
class Stamp:
    """What identifies a file's bytes on disk without reading them (see the module docstring)."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Stamp:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    @property
    def key(self) -> str:
        return f"{self.dev}:{self.ino}"


@dataclass(frozen=True)
class Entry:
    """The digest of a file's bytes, its size and mtime then, and when it was hashed."""

    size: int
    mtime_ns: int
    sha256: str
    hashed_at: float


class DigestBook:
    """Digests by file identity; `hash` reads a file and records it, `trusted` checks a stamp."""

    def __init__(self, entries: dict[str, Entry] | None = None) -> None:
        self.entries: dict[str, Entry] = dict(entries or {})
        self.hashed: list[Path] = []  # every file read by `hash` (what a run really re-read)

    @classmethod
    def load(cls, path: Path) -> DigestBook:
        """The book at `path`; an empty one when it is missing or damaged."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != _VERSION:
                return cls()
            return cls(
                {
                    str(key): Entry(int(e[0]), int(e[1]), str(e[2]), float(e[3]))
                    for key, e in data["files"].items()
                }
            )
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            return cls()

    def save(self, path: Path, keep: Iterable[Path] | None = None) -> None:
        """Write the book (atomically); with `keep`, only the entries of those files."""
        entries = self.entries
        if keep is not None:
            keys = set()
            for file in keep:
                try:
                    keys.add(Stamp.of(file.stat()).key)
                except OSError:
                    continue
            entries = {k: e for k, e in entries.items() if k in keys}
        files = {
            key: [e.size, e.mtime_ns, e.sha256, e.hashed_at] for key, e in sorted(entries.items())
        }
        write_atomic(path, json.dumps({"version": _VERSION, "files": files}), durable=False)

    def hash(self, path: Path) -> str:
        """SHA-256 of the file's bytes as read from disk now; recorded with its stamp.

        FileChanged when the file's stamp moved while it was read (the digest would be of no
        single version of it).
        """
        with path.open("rb") as handle:
            before = Stamp.of(os.fstat(handle.fileno()))
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
            after = Stamp.of(os.fstat(handle.fileno()))
        if before != after:
            raise FileChanged(f"{path} changed while it was hashed")
        self.entries[before.key] = Entry(before.size, before.mtime_ns, digest, time.time())
        self.hashed.append(path)
        return digest

    def entry(self, path: Path) -> Entry | None:
        """The entry of the file at `path` if its stamp still matches it, else None."""
        try:
            stamp = Stamp.of(path.stat())
        except OSError:
            return None
        entry = self.entries.get(stamp.key)
        if entry is None or (entry.size, entry.mtime_ns) != (stamp.size, stamp.mtime_ns):
            return None
        return entry

    def trusted(self, path: Path, digest: str) -> bool:
        """Whether `path` was hashed to `digest` and has not changed since (same stamp)."""
        entry = self.entry(path)
        return entry is not None and entry.sha256 == digest


def scrub_choice(book: DigestBook, paths: list[Path], share: float) -> set[Path]:
    """The trusted `paths` hashed longest ago, at least `share` of their bytes between them."""
    known = []
    for path in paths:
        entry = book.entry(path)
        if entry is not None:
            known.append((entry.hashed_at, str(path), entry.size, path))
    known.sort()
    budget = share * sum(size for _, _, size, _ in known)
    chosen: set[Path] = set()
    taken = 0
    for _, _, size, path in known:
        if taken >= budget:
            break
        chosen.add(path)
        taken += size
    return chosen
