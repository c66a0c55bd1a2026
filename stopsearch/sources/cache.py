"""The raw-response cache: stable paths, atomic writes and a checksum sidecar per file.

Each resource lives at `<root>/<key>` (a relative POSIX path derived from its logical name) with a
sidecar `<root>/<key>.meta` (JSON: url, sha256, size, etag, last_modified, fetched_at), so a
rebuild can run offline and `verify()` can prove the bytes are the ones fetched. Sidecars do not
end in `.json`, so folders of cached files can be globbed (`*.json`) without picking them up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

from stopsearch.disk import fsync_file, sha256_file, write_atomic
from stopsearch.police_files import file_name, month_text
from stopsearch.sources.errors import CacheError

SIDECAR_SUFFIX = ".meta"
TEMP_SUFFIX = ".part"
_SEGMENT = re.compile(r"^[A-Za-z0-9%_.,+=@~-]+$")


def stops_key(force: str, month: date) -> str:
    """`police/stops-force/<force>/YYYY-MM-<force>-stop-and-search.json` (the ingest's name)."""
    return f"police/stops-force/{force}/{file_name(force, month, 'api-json')}"


def stops_folder_key(force: str | None = None) -> str:
    """The folder holding every cached `/api/stops-force` answer (of one force when given)."""
    return f"police/stops-force/{force}" if force else "police/stops-force"


def dates_key() -> str:
    """The cached `/api/crimes-street-dates` answer."""
    return "police/crimes-street-dates.json"


def archive_key(month: date | str) -> str:
    """`archive/YYYY-MM.zip` (or `archive/latest.zip`)."""
    name = month if isinstance(month, str) else month_text(month)
    return f"archive/{name}.zip"


def neighbourhoods_key(force: str) -> str:
    """`neighbourhoods/<force>.json`: the `/api/{force}/neighbourhoods` list (ids and names)."""
    return f"neighbourhoods/{force}.json"


def boundary_key(force: str, neighbourhood_id: str) -> str:
    """`neighbourhoods/<force>/<id>.json`: one `/api/{force}/{id}/boundary` answer."""
    return f"neighbourhoods/{force}/{safe_name(neighbourhood_id)}.json"


def ons_key(name: str, ext: str = "geojson") -> str:
    """`ons/<name>.<ext>`: an ONS boundary layer or census table."""
    return f"ons/{safe_name(name)}.{ext}"


def safe_name(text: str) -> str:
    """A file-name-safe rendering of an identifier (percent-encoded; never '.' or '..')."""
    name = quote(text, safe="-_.,+=@~")
    if name in ("", ".", ".."):
        name = name.replace(".", "%2E") or "%00"
    return name


@dataclass(frozen=True)
class CacheEntry:
    """The sidecar of a cached file: where it came from and what its bytes hash to."""

    key: str
    url: str
    sha256: str
    size: int
    etag: str | None
    last_modified: str | None
    fetched_at: str  # ISO 8601 UTC of the last successful request (200 or 304)


@dataclass(frozen=True)
class CacheProblem:
    """A cached file that does not match its sidecar (or has none)."""

    key: str
    reason: str


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Cache:
    """A folder of raw responses with checksum sidecars; every write is atomic."""

    def __init__(self, root: str | Path, *, now: Callable[[], str] = _now_iso) -> None:
        self.root = Path(root)
        self._now = now

    def path(self, key: str) -> Path:
        """The file of `key`; CacheError for keys that are absolute or climb out of the root."""
        parts = key.split("/")
        if not key or key.startswith("/") or any(not _SEGMENT.match(p) for p in parts):
            raise CacheError(f"invalid cache key {key!r}")
        if any(p in (".", "..") for p in parts):
            raise CacheError(f"invalid cache key {key!r}")
        return self.root.joinpath(*parts)

    def _sidecar(self, key: str) -> Path:
        path = self.path(key)
        return path.with_name(path.name + SIDECAR_SUFFIX)

    def entry(self, key: str) -> CacheEntry | None:
        """The sidecar of `key`; None when not cached or the sidecar is unreadable."""
        sidecar = self._sidecar(key)
        if not sidecar.is_file() or not self.path(key).is_file():
            return None
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
            return CacheEntry(**{**data, "key": key})
        except (OSError, ValueError, TypeError):
            return None

    def has(self, key: str) -> bool:
        """True when `key` is cached with a sidecar."""
        return self.entry(key) is not None

    def is_intact(self, key: str) -> bool:
        """True when `key` is cached and its bytes match the sidecar's size and sha256."""
        entry = self.entry(key)
        if entry is None:
            return False
        path = self.path(key)
        return path.stat().st_size == entry.size and sha256_file(path) == entry.sha256

    def read(self, key: str) -> bytes:
        """The cached bytes of `key`; CacheError when not cached."""
        if not self.has(key):
            raise CacheError(f"{key}: not in the cache at {self.root}")
        return self.path(key).read_bytes()

    def put(
        self,
        key: str,
        data: bytes,
        *,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> CacheEntry:
        """Store `data` under `key` atomically and write its sidecar."""
        with self.temp_file(key) as temp:
            temp.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            return self.commit(
                key, temp, digest, len(data), url=url, etag=etag, last_modified=last_modified
            )

    @contextlib.contextmanager
    def temp_file(self, key: str) -> Iterator[Path]:
        """A temporary path beside `key` (same file system), removed unless committed."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent
        )
        os.close(fd)
        temp = Path(name)
        try:
            yield temp
        finally:
            temp.unlink(missing_ok=True)

    def commit(
        self,
        key: str,
        temp: Path,
        sha256: str,
        size: int,
        *,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> CacheEntry:
        """Move a complete temp file into place (fsync + os.replace) and write its sidecar."""
        target = self.path(key)
        fsync_file(temp)
        os.replace(temp, target)
        entry = CacheEntry(key, url, sha256, size, etag, last_modified, self._now())
        self._write_sidecar(entry)  # durable: also syncs the folder, so both renames
        return entry

    def touch(
        self, key: str, *, url: str, etag: str | None, last_modified: str | None
    ) -> CacheEntry:
        """Record a 304 (or identical 200): keep the bytes, refresh validators and fetched_at."""
        entry = self.entry(key)
        if entry is None:
            raise CacheError(f"{key}: not in the cache at {self.root}")
        entry = CacheEntry(
            key,
            url,
            entry.sha256,
            entry.size,
            etag or entry.etag,
            last_modified or entry.last_modified,
            self._now(),
        )
        self._write_sidecar(entry)
        return entry

    def _write_sidecar(self, entry: CacheEntry) -> None:
        """Write the sidecar atomically."""
        sidecar = self._sidecar(entry.key)
        data = {k: v for k, v in asdict(entry).items() if k != "key"}
        write_atomic(sidecar, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def remove(self, key: str) -> None:
        """Delete `key` and its sidecar (used only when asked to prune)."""
        self.path(key).unlink(missing_ok=True)
        self._sidecar(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> list[str]:
        """Keys of every cached file (with a sidecar) under `prefix`, sorted."""
        base = self.path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for sidecar in base.rglob("*" + SIDECAR_SUFFIX):
            if sidecar.name.startswith("."):
                continue
            data_file = sidecar.with_name(sidecar.name[: -len(SIDECAR_SUFFIX)])
            if data_file.is_file():
                found.append(data_file.relative_to(self.root).as_posix())
        return sorted(found)

    def verify(self) -> list[CacheProblem]:
        """Every cached file whose bytes do not match its sidecar, or that has no sidecar."""
        problems: list[CacheProblem] = []
        if not self.root.is_dir():
            return problems
        for path in sorted(self.root.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue  # temp files of interrupted writes are hidden and ignored
            rel = path.relative_to(self.root).as_posix()
            if path.name.endswith(SIDECAR_SUFFIX):
                data_file = path.with_name(path.name[: -len(SIDECAR_SUFFIX)])
                if not data_file.is_file():
                    problems.append(CacheProblem(rel[: -len(SIDECAR_SUFFIX)], "file missing"))
                continue
            entry = self.entry(rel)
            if entry is None:
                problems.append(CacheProblem(rel, "no readable sidecar"))
                continue
            size = path.stat().st_size
            if size != entry.size:
                problems.append(CacheProblem(rel, f"size {size} != sidecar {entry.size}"))
            elif (digest := sha256_file(path)) != entry.sha256:
                problems.append(CacheProblem(rel, f"sha256 {digest[:12]}… != sidecar"))
        return problems
