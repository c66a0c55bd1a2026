"""Files on disk: SHA-256 checksums, atomic writes and durable renames, shared by every stage.

A reader never sees a half-written file: writes go to a hidden sibling on the same file system
and are renamed over the target; `durable` writes are fsynced (file, then folder) so a crash right
after returning cannot lose them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_tree(path: Path) -> str:
    """Hex SHA-256 of a file, or of a folder's files (relative name and bytes, in name order)."""
    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            hashlib.file_digest(handle, lambda: digest)  # feeds the running digest
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    """Flush a file's bytes to the disk."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(folder: Path) -> None:
    """Make renames in `folder` durable; a no-op where folders cannot be opened or synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows: folders cannot be opened
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise  # a real I/O error; only "not supported here" is ignored
    finally:
        os.close(fd)


def temp_sibling(path: Path) -> Path:
    """A hidden, unused name beside `path` (same folder, so a rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


@contextlib.contextmanager
def atomic_path(path: Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling to write; on success it is renamed over `path`, else removed.

    The temporary file is created by whoever writes it (any writer that takes a path), with the
    process's usual permissions.
    """
    tmp = temp_sibling(path)
    try:
        yield tmp
        if durable:
            fsync_file(tmp)
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Replace `path` with `data` (text as UTF-8) in one rename; fsynced unless not `durable`."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(payload)


def link_over(source: Path, target: Path) -> None:
    """Hard-link `source` as `target`, replacing any file there (OSError: nothing changed)."""
    try:  # a new release's folder: nothing to replace (one system call, not three)
        os.link(source, target)
        return
    except FileExistsError:
        pass
    tmp = temp_sibling(target)
    try:
        os.link(source, tmp)
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
