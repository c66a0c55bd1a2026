"""A small HTTP client on urllib: rate limit, timeouts, retries with backoff, conditional GET.

Every attempt takes a token from a token bucket (data.police.uk allows about 15 requests/s,
burst 30). 408, 429 and 5xx answers, timeouts, connection errors, bodies whose length differs
from their Content-Length (cut short) and bodies a validator rejects are failed attempts:
retried with exponential backoff and jitter (or after the server's Retry-After, capped) up to
`max_attempts`, then a FetchError lists every failure. Other 4xx answers fail at once.
"""

from __future__ import annotations

import dataclasses
import email.utils
import gzip
import hashlib
import http.client
import logging
import random
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

from stopsearch import __version__
from stopsearch.sources.errors import FetchError

PROJECT_URL = "https://github.com/stopsearch/stopsearch"
USER_AGENT = f"stopsearch/{__version__} (+{PROJECT_URL})"
CHUNK_SIZE = 1 << 16
RETRY_STATUSES = frozenset({408, 429})  # plus every 5xx
log = logging.getLogger(__name__)

Validator = Callable[[bytes], object]  # raises ValueError when the body is not acceptable
FileValidator = Callable[[Path], object]


class TokenBucket:
    """Token-bucket rate limiter: `rate` tokens per second, at most `burst` saved up."""

    def __init__(
        self,
        rate: float = 15.0,
        burst: int = 30,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds waited."""
        with self._lock:  # reserve the token (possibly going negative), then sleep outside
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff with jitter, Retry-After capped."""

    max_attempts: int = 5
    backoff_base: float = 1.0  # seconds before the 2nd attempt (before jitter)
    backoff_max: float = 60.0  # cap of one backoff wait
    jitter: float = 0.5  # each wait is drawn uniformly from [(1 - jitter) * d, d]
    retry_after_max: float = 300.0  # cap of a server's Retry-After

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the `failures`-th failed attempt."""
        delay = min(self.backoff_max, self.backoff_base * 2.0 ** (failures - 1))
        return delay * (1.0 - self.jitter * rng.random())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class Response:
    """A successful answer: 200 with a complete, valid body, or 304 (body empty)."""

    url: str
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes  # empty for 304 and for downloads streamed to a file
    sha256: str | None  # of the (decoded) body; None for 304
    size: int
    attempts: int
    failures: tuple[str, ...] = ()  # the failed attempts before this one

    @property
    def not_modified(self) -> bool:
        """True for a 304: the cached copy is current."""
        return self.status == 304

    @property
    def etag(self) -> str | None:
        """The ETag validator to send next time."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The Last-Modified validator to send next time."""
        return self.headers.get("last-modified")


class _Retry(Exception):
    """A failed attempt worth retrying."""

    def __init__(self, reason: str, status: int | None = None, wait: float | None = None):
        super().__init__(reason)
        self.status = status
        self.wait = wait


class _Fatal(Exception):
    """A failed attempt that retrying will not fix (e.g. 404)."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


class HttpClient:
    """GETs with rate limiting, timeouts, retries and conditional requests."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate: float = 15.0,
        burst: int = 30,
        limiter: TokenBucket | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
        user_agent: str = USER_AGENT,
        use_env_proxies: bool = True,
    ) -> None:
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or TokenBucket(rate, burst, clock=clock, sleep=sleep)
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.user_agent = user_agent
        handlers = [] if use_env_proxies else [urllib.request.ProxyHandler({})]
        self._opener = urllib.request.build_opener(*handlers)
        self.requests_made = 0  # attempts sent, for reports and tests

    def get(
        self,
        url: str,
        *,
        validate: Validator | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET `url` into memory; 304 when validators match; FetchError when every attempt fails."""
        return self._run(url, etag, last_modified, headers, validate, None, None)

    def download(
        self,
        url: str,
        dest: Path,
        *,
        validate: FileValidator | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Response:
        """GET `url` streamed into `dest` (rewritten per attempt), for files too big for memory."""
        return self._run(url, etag, last_modified, None, None, dest, validate)

    def _run(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        extra: Mapping[str, str] | None,
        validate: Validator | None,
        dest: Path | None,
        validate_file: FileValidator | None,
    ) -> Response:
        """Attempt until success, a fatal answer or `max_attempts`; then FetchError."""
        headers = {"User-Agent": self.user_agent, "Accept": "*/*"}
        if dest is None:
            headers["Accept-Encoding"] = "gzip"
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        headers.update(extra or {})
        failures: list[str] = []
        status: int | None = None
        attempts = max(1, self.retry.max_attempts)
        for attempt in range(1, attempts + 1):
            self.limiter.acquire()
            self.requests_made += 1
            try:
                response = self._attempt(url, headers, validate, dest, validate_file)
            except _Fatal as exc:
                failures.append(f"attempt {attempt}: {exc}")
                raise FetchError(
                    f"{url}: {exc}", url=url, status=exc.status, failures=tuple(failures)
                ) from None
            except _Retry as exc:
                status = exc.status
                failures.append(f"attempt {attempt}: {exc}")
                if attempt == attempts:
                    break
                if exc.wait is not None:
                    wait = min(exc.wait, self.retry.retry_after_max)
                else:
                    wait = self.retry.backoff(attempt, self.rng)
                log.warning("%s: %s; retrying in %.2f s", url, exc, wait)
                self.sleep(wait)
                continue
            return dataclasses.replace(response, attempts=attempt, failures=tuple(failures))
        last = failures[-1].split(": ", 1)[1]
        raise FetchError(
            f"{url}: failed after {attempts} attempts ({last})",
            url=url,
            status=status,
            failures=tuple(failures),
        )

    def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        validate: Validator | None,
        dest: Path | None,
        validate_file: FileValidator | None,
    ) -> Response:
        """One request; raises _Retry or _Fatal on failure."""
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            answer = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            names = {k.lower(): v for k, v in exc.headers.items()} if exc.headers else {}
            if exc.code == 304:
                return Response(url, 304, names, b"", None, 0, 1)
            if exc.code in RETRY_STATUSES or exc.code >= 500:
                wait = parse_retry_after(names.get("retry-after"), self.wall_clock())
                raise _Retry(f"HTTP {exc.code} {exc.reason}", exc.code, wait) from None
            raise _Fatal(f"HTTP {exc.code} {exc.reason}", exc.code) from None
        except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise _Retry(_describe(exc, self.timeout)) from None
        with answer:
            names = {k.lower(): v for k, v in answer.headers.items()}
            try:
                if dest is None:
                    body, size = _read_all(answer)
                else:
                    with open(dest, "wb") as sink:
                        size, digest = _stream(answer, sink)
            except (TimeoutError, http.client.HTTPException, OSError) as exc:
                raise _Retry(_describe(exc, self.timeout)) from None
        expected = names.get("content-length")
        if expected is not None and expected.isdigit() and int(expected) != size:
            raise _Retry(f"body of {size} bytes but Content-Length {expected} (truncated)")
        if dest is not None:
            if validate_file is not None:
                try:
                    validate_file(dest)
                except (ValueError, OSError) as exc:
                    raise _Retry(f"invalid file: {exc}") from None
            return Response(url, answer.status, names, b"", digest, size, 1)
        if names.get("content-encoding", "").lower() in ("gzip", "x-gzip"):
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as exc:
                raise _Retry(f"corrupt gzip body: {exc}") from None
        if validate is not None:
            try:
                validate(body)
            except ValueError as exc:
                raise _Retry(f"invalid body: {exc}") from None
        digest = hashlib.sha256(body).hexdigest()
        return Response(url, answer.status, names, body, digest, len(body), 1)


def _read_all(answer: http.client.HTTPResponse) -> tuple[bytes, int]:
    """The whole raw body, read in chunks so a short body ends the loop instead of raising."""
    chunks = []
    size = 0
    while chunk := answer.read(CHUNK_SIZE):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), size


def _stream(answer: http.client.HTTPResponse, sink: BinaryIO) -> tuple[int, str]:
    """Copy the body into `sink`, returning (size, sha256)."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := answer.read(CHUNK_SIZE):
        sink.write(chunk)
        hasher.update(chunk)
        size += len(chunk)
    sink.flush()
    return size, hasher.hexdigest()


def _describe(exc: BaseException, timeout: float) -> str:
    """A one-line reason for a network failure."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(reason, http.client.IncompleteRead):
        return f"connection closed mid-body ({len(reason.partial)} bytes read)"
    return f"connection failed: {type(reason).__name__}: {reason}"
