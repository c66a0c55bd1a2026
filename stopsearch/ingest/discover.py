"""Find stop-and-search files in paths given by the user: files, folders or archive zips.

Walking follows symlinked folders (operators link month folders) but never one it has already
walked, so a symlink loop ends the walk of that branch; it never opens a FIFO, socket or device;
and everything it leaves out is reported: entries skipped (and why), files whose names are not
stop-and-search names, and files named like one whose name is not a real month.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import IO

from stopsearch.errors import IngestError
from stopsearch.police_files import FILE_NAME, parse_file_name
from stopsearch.thresholds import DEFAULT_LIMITS, Limits

_LOOKS_LIKE_DATA = re.compile(r"stop-and-search\.(csv|json)$", re.IGNORECASE)


@dataclass(frozen=True)
class SourceFile:
    """One force-month file, wherever it lives; `open()` streams its raw bytes."""

    name: str  # what reports and `rejected.source_file` show: a path or "archive.zip:member"
    force: str
    month: date
    kind: str  # 'csv' or 'api-json'
    open: Callable[[], AbstractContextManager[IO[bytes]]] = field(compare=False, repr=False)

    @classmethod
    def from_bytes(cls, name: str, force: str, month: date, kind: str, data: bytes) -> SourceFile:
        """A source held in memory (tests, fetched responses)."""
        return cls(name, force, month, kind, lambda: io.BytesIO(data))

    def read(self) -> bytes:
        """All the raw bytes at once (no limits: for small, trusted files only)."""
        with self.open() as stream:
            return stream.read()


@dataclass(frozen=True)
class Skipped:
    """An entry left out of the load, and why."""

    path: str
    reason: str


@dataclass
class Inputs:
    """What a walk of the user's paths found, and everything it left out."""

    sources: list[SourceFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # never opened (FIFO, loop, ...)
    refused: list[Skipped] = field(default_factory=list)  # data-like names that are not months
    ignored: dict[str, list[str]] = field(default_factory=dict)  # per input: other file names
    empty: list[str] = field(default_factory=list)  # inputs that held no stop-and-search file


def open_regular(path: str | Path) -> IO[bytes]:
    """Open a regular file for reading; IngestError (never a hang) for a FIFO, socket or device."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise IngestError(f"{path}: {_kind(mode)}, not a regular file; not opened")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def _zip_member(path: Path, member: str, limit: int) -> Iterator[IO[bytes]]:
    with zipfile.ZipFile(open_regular(path)) as archive:
        info = archive.getinfo(member)
        if info.flag_bits & 0x1:
            raise IngestError(f"{path}:{member}: encrypted; cannot be read")
        if info.file_size > limit:
            raise IngestError(
                f"{path}:{member}: expands to {info.file_size:,} bytes, more than the limit of"
                f" {limit:,}; refused"
            )
        with archive.open(info) as stream:
            yield stream


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISDIR: "a folder",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


class _Walk:
    """One walk over the user's paths, collecting sources and what was left out."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.found = Inputs()
        self._folders: dict[tuple[int, int], str] = {}
        self._files: dict[tuple[int, int], str] = {}

    def _ignore(self, top: str, path: Path) -> None:
        self.found.ignored.setdefault(top, []).append(str(path))

    def file(self, path: Path, st: os.stat_result, top: str) -> None:
        key = (st.st_dev, st.st_ino)
        if key in self._files:
            self.found.skipped.append(Skipped(str(path), f"the same file as {self._files[key]}"))
            return
        self._files[key] = str(path)
        if path.suffix.lower() == ".zip":
            self.archive(path, top)
        elif FILE_NAME.match(path.name) or _LOOKS_LIKE_DATA.search(path.name) or str(path) == top:
            try:
                force, month, kind = parse_file_name(path.name, str(path))
            except IngestError as exc:
                self.found.refused.append(Skipped(str(path), str(exc)))
                return
            self.found.sources.append(
                SourceFile(str(path), force, month, kind, partial(open_regular, path))
            )
        else:
            self._ignore(top, path)

    def archive(self, path: Path, top: str) -> None:
        try:
            with zipfile.ZipFile(open_regular(path)) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, IngestError, ValueError) as exc:
            self.found.refused.append(Skipped(str(path), f"not a readable zip archive ({exc})"))
            return
        for info in sorted(infos, key=lambda i: i.filename):
            if info.is_dir():
                continue
            base = info.filename.rsplit("/", 1)[-1]
            shown = f"{path}:{info.filename}"
            if not (FILE_NAME.match(base) or _LOOKS_LIKE_DATA.search(base)):
                self._ignore(top, Path(shown))  # archives also hold street crime and outcomes
                continue
            try:
                force, month, kind = parse_file_name(base, shown)
            except IngestError as exc:
                self.found.refused.append(Skipped(shown, str(exc)))
                continue

            def open_member(member: str = info.filename) -> AbstractContextManager[IO[bytes]]:
                return _zip_member(path, member, self.limits.expanded_bytes)

            self.found.sources.append(SourceFile(shown, force, month, kind, open_member))

    def entry(self, path: Path, top: str) -> list[Path]:
        """Stat a path (following links) and take it in; a folder returns its entries to walk."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self.found.skipped.append(Skipped(str(path), "a symlink to nothing (broken link)"))
            return []
        except OSError as exc:
            self.found.skipped.append(Skipped(str(path), f"cannot be read ({exc.strerror})"))
            return []
        if stat.S_ISDIR(st.st_mode):
            return self.folder(path, st)
        if stat.S_ISREG(st.st_mode):
            self.file(path, st, top)
        else:
            self.found.skipped.append(Skipped(str(path), f"{_kind(st.st_mode)}; not opened"))
        return []

    def folder(self, path: Path, st: os.stat_result) -> list[Path]:
        key = (st.st_dev, st.st_ino)
        if key in self._folders:
            reason = (
                f"leads to the folder {self._folders[key]}, already walked (a symlink loop or a"
                " second link to it); not followed"
            )
            self.found.skipped.append(Skipped(str(path), reason))
            return []
        self._folders[key] = str(path)
        try:
            with os.scandir(path) as entries:
                return [path / name for name in sorted(entry.name for entry in entries)]
        except OSError as exc:
            self.found.skipped.append(Skipped(str(path), f"cannot be listed ({exc.strerror})"))
            return []

    def walk(self, path: Path) -> None:
        """Depth first, in name order, with a stack (no recursion, whatever the depth)."""
        pending = [path]
        while pending:
            pending.extend(reversed(self.entry(pending.pop(), str(path))))


def find_inputs(paths: Iterable[str | Path], limits: Limits = DEFAULT_LIMITS) -> Inputs:
    """Walk `paths` (files, folders, zips) for stop-and-search files, sorted by force and month.

    A path that does not exist is an error (a wrong argument or setting); anything else that is
    wrong with what is found is reported in the result, and the rest is still found.
    """
    walk = _Walk(limits)
    for raw in paths:
        path = Path(raw)
        if not os.path.lexists(path):
            raise IngestError(f"{path}: no such file or folder")
        before = len(walk.found.sources)
        walk.walk(path)
        if len(walk.found.sources) == before:
            walk.found.empty.append(str(path))
    walk.found.sources.sort(key=lambda s: (s.force, s.month, s.name))
    return walk.found


def discover(paths: Iterable[str | Path], limits: Limits = DEFAULT_LIMITS) -> list[SourceFile]:
    """Every stop-and-search file under `paths`, sorted by force, month and name."""
    return find_inputs(paths, limits).sources
