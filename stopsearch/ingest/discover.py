"""Find stop-and-search files in paths given by the user: files, folders or archive zips."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from stopsearch.errors import IngestError
from stopsearch.police_files import FILE_NAME, parse_file_name


@dataclass(frozen=True)
class SourceFile:
    """One force-month file, wherever it lives; `read()` returns its raw bytes."""

    name: str  # what reports and `rejected.source_file` show: a path or "archive.zip:member"
    force: str
    month: date
    kind: str  # 'csv' or 'api-json'
    read: Callable[[], bytes] = field(compare=False, repr=False)


def _from_path(path: Path) -> SourceFile:
    force, month, kind = parse_file_name(path.name, str(path))
    return SourceFile(str(path), force, month, kind, path.read_bytes)


def _from_zip(path: Path) -> list[SourceFile]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{path}: not a readable zip archive ({exc})") from exc
    found = []
    with archive:
        members = archive.namelist()
    for member in sorted(members):
        base = member.rsplit("/", 1)[-1]
        if not FILE_NAME.match(base):
            continue  # archive zips also hold street crime and outcome files
        force, month, kind = parse_file_name(base)

        def read(member: str = member) -> bytes:
            with zipfile.ZipFile(path) as again:
                return again.read(member)

        found.append(SourceFile(f"{path}:{member}", force, month, kind, read))
    return found


def _walk(folder: Path) -> list[Path]:
    """Every file under `folder`, following symlinked folders (operators link month folders)."""
    files = []
    for root, dirs, names in os.walk(folder, followlinks=True):
        dirs.sort()
        files += [Path(root) / name for name in names]
    return sorted(f for f in files if f.is_file())


def discover(paths: Iterable[str | Path]) -> list[SourceFile]:
    """Every stop-and-search file under `paths`, sorted by force, month and name.

    A path named explicitly must exist and be a stop-and-search file, a folder or a zip; inside
    folders and zips, other files are ignored.
    """
    found: list[SourceFile] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise IngestError(f"{path}: no such file or folder")
        if path.is_dir():
            for child in _walk(path):
                if FILE_NAME.match(child.name):
                    found.append(_from_path(child))
                elif child.suffix.lower() == ".zip":
                    found.extend(_from_zip(child))
        elif path.suffix.lower() == ".zip":
            found.extend(_from_zip(path))
        else:
            found.append(_from_path(path))
    found.sort(key=lambda s: (s.force, s.month, s.name))
    return found
