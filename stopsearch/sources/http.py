"""A small HTTP client on urllib3: rate limit, timeouts, retries with backoff, conditional GET.

Every attempt takes a token from a token bucket (data.police.uk allows about 15 requests/s,
burst 30). urllib3's `Retry` decides what is retried and how long to wait: 408, 429 and 5xx
answers, timeouts and connection errors are retried with exponential backoff and jitter (or
after the server's Retry-After, capped) up to `max_attempts`; other 4xx answers fail at once.
Bodies cut short of their Content-Length and bodies a validator rejects are failed attempts too,
counted by the same `Retry`, so the client owns only the loop that reads and checks bodies.
When every attempt failed, a FetchError lists each failure.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Retry

from stopsearch import __version__
from stopsearch.sources.errors import FetchError

PROJECT_URL = "https://github.com/stopsearch/stopsearch"
USER_AGENT = f"stopsearch/{__version__} (+{PROJECT_URL})"
CHUNK_SIZE = 1 << 16
RETRY_STATUSES = frozenset({408, 429, *range(500, 600)})
RETRY_AFTER_MAX = 300.0  # seconds: the longest Retry-After honoured
# The transport follows redirects (archive zips are served from elsewhere) and retries nothing
# itself: every failed attempt goes through the client's own Retry, so it is counted once.
_TRANSPORT = Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5)
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


def retry_policy(
    max_attempts: int = 5,
    *,
    backoff_factor: float = 1.0,
    backoff_max: float = 60.0,
    jitter: float = 0.5,
) -> Retry:
    """urllib3's Retry for GETs: up to `max_attempts`, retrying 408, 429 and 5xx answers.

    Waits follow urllib3: none before the 2nd attempt, then `backoff_factor` * 2**(n-1) seconds
    before attempt n+1 (at most `backoff_max`) plus up to `jitter` seconds at random; a
    Retry-After header replaces the backoff.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be >= 1")
    return Retry(
        total=max_attempts - 1,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=jitter,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        redirect=0,
    )


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


class _Failed(Exception):
    """One failed attempt: why, and the answer when there was one (for Retry and reports)."""

    def __init__(
        self,
        reason: str,
        *,
        answer: urllib3.BaseHTTPResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        super().__init__(reason)
        self.answer = answer
        self.error = error


class HttpClient:
    """GETs with rate limiting, timeouts, retries and conditional requests."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        retry: Retry | None = None,
        retry_after_max: float = RETRY_AFTER_MAX,
        rate: float = 15.0,
        burst: int = 30,
        limiter: TokenBucket | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        user_agent: str = USER_AGENT,
        use_env_proxies: bool = True,
    ) -> None:
        self.timeout = timeout
        self.retry = retry if retry is not None else retry_policy()
        self.retry_after_max = retry_after_max
        self.limiter = limiter or TokenBucket(rate, burst, clock=clock, sleep=sleep)
        self.sleep = sleep
        self.user_agent = user_agent
        self.use_env_proxies = use_env_proxies
        self._direct = urllib3.PoolManager()
        self._proxied: dict[str, urllib3.ProxyManager] = {}
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

    def _manager(self, url: str) -> urllib3.PoolManager:
        """The direct pool, or a proxy's when the environment names one for this URL."""
        if not self.use_env_proxies:
            return self._direct
        parts = urlsplit(url)
        proxy = urllib.request.getproxies().get(parts.scheme)
        if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
            return self._direct
        if proxy not in self._proxied:
            self._proxied[proxy] = urllib3.ProxyManager(proxy)
        return self._proxied[proxy]

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
        """Attempt until success, a fatal answer or the Retry is exhausted; then FetchError."""
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
        retry = self.retry.new()
        for attempt in itertools.count(1):
            self.limiter.acquire()
            self.requests_made += 1
            try:
                response = self._attempt(url, headers, validate, dest, validate_file)
                return Response(
                    url,
                    response.status,
                    response.headers,
                    response.body,
                    response.sha256,
                    response.size,
                    attempt,
                    tuple(failures),
                )
            except _Failed as failed:
                failures.append(f"attempt {attempt}: {failed}")
                answer = failed.answer
                status = answer.status if answer is not None else None
                retryable = answer is None or retry.is_retry(
                    "GET", answer.status, has_retry_after="retry-after" in answer.headers
                )
                if not retryable:
                    raise FetchError(
                        f"{url}: {failed}", url=url, status=status, failures=tuple(failures)
                    ) from None
                try:
                    retry = retry.increment("GET", url, response=answer, error=failed.error)
                except MaxRetryError:
                    break
                wait = self._wait(retry, answer)
                log.warning("%s: %s; retrying in %.2f s", url, failed, wait)
                if wait > 0:
                    self.sleep(wait)
        last = failures[-1].split(": ", 1)[1]
        raise FetchError(
            f"{url}: failed after {len(failures)} attempts ({last})",
            url=url,
            status=status,
            failures=tuple(failures),
        )

    def _wait(self, retry: Retry, answer: urllib3.BaseHTTPResponse | None) -> float:
        """Seconds before the next attempt: the answer's Retry-After (capped), else backoff."""
        if answer is not None and retry.respect_retry_after_header:
            try:
                after = retry.get_retry_after(answer)
            except InvalidHeader:
                after = None  # an unreadable Retry-After: back off as if there were none
            if after:
                return min(after, self.retry_after_max)
        return retry.get_backoff_time()

    def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        validate: Validator | None,
        dest: Path | None,
        validate_file: FileValidator | None,
    ) -> Response:
        """One request; raises _Failed (with the answer, if any) on failure."""
        try:
            answer = self._manager(url).request(
                "GET",
                url,
                headers=headers,
                retries=_TRANSPORT,
                timeout=self.timeout,
                preload_content=False,
            )
        except (HTTPError, OSError) as exc:
            raise _Failed(_describe(exc, self.timeout), error=_cause(exc)) from None
        try:
            names = {k.lower(): v for k, v in answer.headers.items()}
            if answer.status == 304:
                return Response(url, 304, names, b"", None, 0, 1)
            if answer.status >= 400:
                raise _Failed(f"HTTP {answer.status} {answer.reason or ''}".strip(), answer=answer)
            try:
                if dest is None:
                    body = answer.read(decode_content=True)
                    size, digest = len(body), hashlib.sha256(body).hexdigest()
                else:
                    size, digest = _stream(answer, dest)
            except DecodeError as exc:
                raise _Failed(f"corrupt gzip body: {exc}", error=exc) from None
            except (HTTPError, OSError) as exc:
                raise _Failed(_describe(exc, self.timeout), error=_cause(exc)) from None
        finally:
            answer.drain_conn()  # nothing left after a full read; an error body is discarded
            answer.release_conn()
        try:
            if dest is None and validate is not None:
                validate(body)
            if dest is not None and validate_file is not None:
                validate_file(dest)
        except (ValueError, OSError) as exc:
            what = "body" if dest is None else "file"
            raise _Failed(f"invalid {what}: {exc}", error=exc) from None
        return Response(url, answer.status, names, body if dest is None else b"", digest, size, 1)


def _stream(answer: urllib3.BaseHTTPResponse, dest: Path) -> tuple[int, str]:
    """Copy the raw body into `dest`, returning (size, sha256)."""
    hasher = hashlib.sha256()
    size = 0
    with open(dest, "wb") as sink:
        for chunk in answer.stream(CHUNK_SIZE, decode_content=False):
            sink.write(chunk)
            hasher.update(chunk)
            size += len(chunk)
    return size, hasher.hexdigest()


def _cause(exc: BaseException) -> Exception:
    """The underlying error of a failed request (urllib3 wraps it in MaxRetryError)."""
    reason = exc.reason if isinstance(exc, MaxRetryError) else exc
    return reason if isinstance(reason, Exception) else Exception(str(reason))


def _describe(exc: BaseException, timeout: float) -> str:
    """A one-line reason for a network failure."""
    cause = _cause(exc)
    reason: BaseException | None = cause
    seen = set()
    while reason is not None and id(reason) not in seen:  # unwrap urllib3's ProtocolError
        seen.add(id(reason))
        if isinstance(reason, NewConnectionError):  # a subclass of urllib3's timeout error
            break
        if isinstance(reason, Urllib3Timeout | TimeoutError):
            return f"timed out after {timeout:g} s"
        if isinstance(reason, http.client.IncompleteRead):  # urllib3's subclasses it
            read = reason.partial if isinstance(reason.partial, int) else len(reason.partial)
            length = read + (reason.expected or 0)
            return f"body of {read} bytes but Content-Length {length} (truncated)"
        inner = reason.args[1] if len(reason.args) > 1 else None
        reason = inner if isinstance(inner, BaseException) else reason.__context__
    return f"connection failed: {type(cause).__name__}: {cause}"
