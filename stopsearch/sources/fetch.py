"""Fetch one resource into the cache: conditional GET, validation, atomic replace, a result.

A failed fetch never touches the cached copy: bodies are validated in memory (or streamed to a
hidden temp file) and only a complete, valid body replaces the previous version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from stopsearch.sources.cache import Cache
from stopsearch.sources.errors import FetchError
from stopsearch.sources.http import FileValidator, HttpClient, Response, Validator

# Statuses of one fetch; a failed one leaves the previous cached version (if any) in place.
FETCHED = "fetched"  # new or changed bytes written to the cache
NOT_MODIFIED = "not-modified"  # 304, or a 200 with the same bytes: nothing rewritten
CACHED = "cached"  # already cached and no request made (fetch-once resources)
FAILED = "failed"
DISAPPEARED = "disappeared"  # cached earlier but no longer listed by the source: kept
UNAVAILABLE = "unavailable"  # asked for, never cached and not listed by the source


@dataclass(frozen=True)
class FetchResult:
    """What happened to one resource."""

    key: str
    url: str
    status: str
    path: Path | None = None  # the cached file (also after a failure, when one exists)
    sha256: str | None = None  # of the cached bytes after this fetch
    previous_sha256: str | None = None  # of the cached bytes before it
    size: int | None = None
    attempts: int = 0
    error: str | None = None
    failures: tuple[str, ...] = ()  # every failed attempt, including retried ones
    month: date | None = None  # for force-month resources

    @property
    def ok(self) -> bool:
        """False only for a failed fetch."""
        return self.status != FAILED

    @property
    def changed(self) -> bool:
        """True when new bytes were written (a first fetch or a re-supply)."""
        return self.status == FETCHED

    @property
    def resupplied(self) -> bool:
        """True when bytes replaced a different earlier version."""
        return self.status == FETCHED and self.previous_sha256 not in (None, self.sha256)


def json_validator(
    kind: type[list[Any]] | type[dict[str, Any]],
    item: type[dict[str, Any]] | None = None,
    keys: tuple[str, ...] = (),
) -> Validator:
    """A validator: the body is JSON of type `kind` (items of type `item` holding `keys`)."""

    def validate(body: bytes) -> None:
        try:
            payload = json.loads(body)
        except UnicodeDecodeError as exc:
            raise ValueError(f"not UTF-8: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg} at char {exc.pos})") from None
        if not isinstance(payload, kind):
            raise ValueError(f"expected a JSON {kind.__name__}, got {type(payload).__name__}")
        if item is not None:
            for n, element in enumerate(payload):
                if not isinstance(element, item):
                    got = type(element).__name__
                    raise ValueError(f"element {n} is {got}, not {item.__name__}")
                missing = [k for k in keys if k not in element]
                if missing:
                    raise ValueError(f"element {n} lacks {missing}")

    return validate


def fetch_to_cache(
    client: HttpClient,
    cache: Cache,
    key: str,
    url: str,
    *,
    validate: Validator | None = None,
    conditional: bool = True,
    month: date | None = None,
) -> FetchResult:
    """GET `url` into `cache[key]` (in memory), conditionally when a verified copy exists."""
    entry = cache.entry(key)
    intact = entry is not None and cache.is_intact(key)
    previous = entry.sha256 if intact and entry else None
    send = conditional and intact and entry is not None
    try:
        response = client.get(
            url,
            validate=validate,
            etag=entry.etag if send and entry else None,
            last_modified=entry.last_modified if send and entry else None,
        )
    except FetchError as exc:
        return failed_result(cache, key, url, exc, previous, month)
    if response.not_modified:
        if not intact:  # a 304 we did not ask for: nothing usable to fall back on
            error = FetchError(f"{url}: 304 Not Modified but no cached copy", url=url, status=304)
            return failed_result(cache, key, url, error, previous, month, response.attempts)
        entry = cache.touch(key, url=url, etag=response.etag, last_modified=response.last_modified)
        return _result(
            key, url, NOT_MODIFIED, cache, entry.sha256, previous, entry.size, response, month
        )
    if previous == response.sha256:
        entry = cache.touch(key, url=url, etag=response.etag, last_modified=response.last_modified)
        return _result(
            key, url, NOT_MODIFIED, cache, entry.sha256, previous, entry.size, response, month
        )
    entry = cache.put(
        key, response.body, url=url, etag=response.etag, last_modified=response.last_modified
    )
    return _result(key, url, FETCHED, cache, entry.sha256, previous, entry.size, response, month)


def download_to_cache(
    client: HttpClient,
    cache: Cache,
    key: str,
    url: str,
    *,
    validate: FileValidator | None = None,
    refresh: bool = False,
    month: date | None = None,
) -> FetchResult:
    """Stream `url` via a temp file into `cache[key]`; skip when cached unless `refresh`."""
    entry = cache.entry(key)
    intact = entry is not None and cache.is_intact(key)
    previous = entry.sha256 if intact and entry else None
    if intact and entry is not None and not refresh:
        return FetchResult(
            key,
            url,
            CACHED,
            cache.path(key),
            entry.sha256,
            entry.sha256,
            entry.size,
            0,
            month=month,
        )
    with cache.temp_file(key) as temp:
        try:
            response = client.download(
                url,
                temp,
                validate=validate,
                etag=entry.etag if intact and entry else None,
                last_modified=entry.last_modified if intact and entry else None,
            )
        except FetchError as exc:
            return failed_result(cache, key, url, exc, previous, month)
        if response.not_modified and intact:
            entry = cache.touch(
                key, url=url, etag=response.etag, last_modified=response.last_modified
            )
            return _result(
                key, url, NOT_MODIFIED, cache, entry.sha256, previous, entry.size, response, month
            )
        if response.not_modified:
            error = FetchError(f"{url}: 304 Not Modified but no cached copy", url=url, status=304)
            return failed_result(cache, key, url, error, previous, month, response.attempts)
        assert response.sha256 is not None
        entry = cache.commit(
            key,
            temp,
            response.sha256,
            response.size,
            url=url,
            etag=response.etag,
            last_modified=response.last_modified,
        )
    status = NOT_MODIFIED if previous == entry.sha256 else FETCHED
    return _result(key, url, status, cache, entry.sha256, previous, entry.size, response, month)


def _result(
    key: str,
    url: str,
    status: str,
    cache: Cache,
    sha256: str,
    previous: str | None,
    size: int,
    response: Response,
    month: date | None,
) -> FetchResult:
    """A successful FetchResult."""
    return FetchResult(
        key,
        url,
        status,
        cache.path(key),
        sha256,
        previous,
        size,
        response.attempts,
        failures=response.failures,
        month=month,
    )


def failed_result(
    cache: Cache,
    key: str,
    url: str,
    exc: FetchError,
    previous: str | None,
    month: date | None,
    attempts: int | None = None,
) -> FetchResult:
    """A failed FetchResult; the previous cached copy (if any) is untouched."""
    return FetchResult(
        key,
        url,
        FAILED,
        cache.path(key) if previous else None,
        previous,
        previous,
        None,
        attempts if attempts is not None else max(1, len(exc.failures)),
        str(exc),
        exc.failures,
        month,
    )
