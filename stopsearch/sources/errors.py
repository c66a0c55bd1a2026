"""Errors of the fetch stage; FetchError is also an OSError so callers can catch either."""

from __future__ import annotations

from stopsearch.errors import StopsearchError


class FetchError(StopsearchError, OSError):
    """A resource could not be fetched (after retries) or its body was invalid."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        failures: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status  # last HTTP status seen, None for network faults
        self.failures = failures  # one line per failed attempt, for the report

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CacheError(StopsearchError, OSError):
    """A cache key is invalid or a cached file cannot be used."""
