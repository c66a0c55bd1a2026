"""data.police.uk API: which force-months exist, each month's stops, neighbourhood boundaries.

Months come from `/api/crimes-street-dates` (key "stop-and-search"), stops from
`/api/stops-force?force=…&date=YYYY-MM`, cached as `YYYY-MM-<force>-stop-and-search.json` so
`stopsearch.ingest.ingest_paths(con, [cache.path(stops_folder_key())])` loads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from urllib.parse import quote, unquote

from stopsearch.errors import IngestError
from stopsearch.police_files import month_text, parse_file_name
from stopsearch.sources.base import DEFAULT_POLICE_URL, join_url
from stopsearch.sources.cache import (
    Cache,
    boundary_key,
    dates_key,
    neighbourhoods_key,
    safe_name,
    stops_folder_key,
    stops_key,
)
from stopsearch.sources.errors import FetchError
from stopsearch.sources.fetch import (
    DISAPPEARED,
    FAILED,
    FETCHED,
    NOT_MODIFIED,
    UNAVAILABLE,
    FetchResult,
    fetch_to_cache,
    json_validator,
)
from stopsearch.sources.http import HttpClient

STOPS_KEY = "stop-and-search"  # the availability key listing forces with stop-and-search data

validate_dates = json_validator(list, dict, ("date",))
validate_stops = json_validator(list, dict)
validate_neighbourhoods = json_validator(list, dict, ("id",))
validate_boundary = json_validator(list, dict, ("latitude", "longitude"))


class PoliceAPI:
    """The data.police.uk API as a Source; point `base_url` at a test server or a mirror."""

    def __init__(self, client: HttpClient | None = None, base_url: str = DEFAULT_POLICE_URL):
        self.client = client or HttpClient()
        self.base_url = base_url

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The absolute URL of an API path."""
        return join_url(self.base_url, path, params)


def as_api(api: PoliceAPI | HttpClient) -> PoliceAPI:
    """A PoliceAPI from either itself or a bare client (then against data.police.uk)."""
    return api if isinstance(api, PoliceAPI) else PoliceAPI(api)


def parse_month(text: str) -> date:
    """The first day of a YYYY-MM month; ValueError otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"{text!r} is not a YYYY-MM month")
    return date(int(match[1]), int(match[2]), 1)


def parse_availability(payload: object) -> dict[date, frozenset[str]]:
    """month -> force ids with stop-and-search data, from a crimes-street-dates answer."""
    if not isinstance(payload, list):
        raise ValueError("crimes-street-dates: expected a JSON list")
    out: dict[date, frozenset[str]] = {}
    for entry in payload:
        if not isinstance(entry, dict) or "date" not in entry:
            raise ValueError(f"crimes-street-dates: entry without a date: {entry!r}")
        forces = entry.get(STOPS_KEY) or []
        ids = [f.get("id") if isinstance(f, dict) else f for f in forces]
        out[parse_month(str(entry["date"]))] = frozenset(str(i) for i in ids if i)
    if payload and not any(isinstance(e, dict) and STOPS_KEY in e for e in payload):
        raise ValueError(f"crimes-street-dates: no entry has a {STOPS_KEY!r} key (format changed?)")
    return out


def availability(
    api: PoliceAPI | HttpClient, cache: Cache | None = None
) -> dict[date, frozenset[str]]:
    """Which forces have stop-and-search data for which months; FetchError when unreachable."""
    api = as_api(api)
    url = api.url("/api/crimes-street-dates")
    if cache is None:
        body = api.client.get(url, validate=validate_dates).body
    else:
        result = fetch_to_cache(api.client, cache, dates_key(), url, validate=validate_dates)
        if not result.ok:
            raise FetchError(result.error or f"{url}: failed", url=url, failures=result.failures)
        body = cache.read(dates_key())
    try:
        return parse_availability(json.loads(body))
    except ValueError as exc:
        raise FetchError(f"{url}: {exc}", url=url) from None


def available_months(
    api: PoliceAPI | HttpClient, force: str, cache: Cache | None = None
) -> list[date]:
    """Months (first days, ascending) for which `force` has stop-and-search data."""
    return sorted(m for m, forces in availability(api, cache).items() if force in forces)


def fetch_stops(
    api: PoliceAPI | HttpClient, cache: Cache, force: str, month: date, *, conditional: bool = True
) -> FetchResult:
    """Fetch one force-month from `/api/stops-force` into the cache; never raises FetchError."""
    api = as_api(api)
    url = api.url("/api/stops-force", {"force": force, "date": month_text(month)})
    return fetch_to_cache(
        api.client,
        cache,
        stops_key(force, month),
        url,
        validate=validate_stops,
        conditional=conditional,
        month=month,
    )


def cached_months(cache: Cache, force: str) -> list[date]:
    """Months of `force` already in the cache."""
    months = []
    for key in cache.keys(stops_folder_key(force)):
        try:
            cached_force, month, kind = parse_file_name(key.rsplit("/", 1)[-1])
        except IngestError:
            continue  # not a cached answer (e.g. a stray file an operator left)
        if cached_force == force and kind == "api-json":
            months.append(month)
    return sorted(months)


@dataclass
class FetchReport:
    """Per-month outcome of fetching one force: fetched, not modified, failed, disappeared."""

    force: str
    available: list[date] = field(default_factory=list)
    results: list[FetchResult] = field(default_factory=list)

    def by_status(self, status: str) -> list[FetchResult]:
        """The results with one status."""
        return [r for r in self.results if r.status == status]

    @property
    def fetched(self) -> list[FetchResult]:
        """Months whose bytes are new or re-supplied."""
        return self.by_status(FETCHED)

    @property
    def not_modified(self) -> list[FetchResult]:
        """Months whose cached copy is current."""
        return self.by_status(NOT_MODIFIED)

    @property
    def failed(self) -> list[FetchResult]:
        """Months that could not be fetched (their previous cached copy, if any, is kept)."""
        return self.by_status(FAILED)

    @property
    def disappeared(self) -> list[FetchResult]:
        """Months cached earlier but no longer listed as available (kept in the cache)."""
        return self.by_status(DISAPPEARED)

    @property
    def ok(self) -> bool:
        """True when no month failed."""
        return not self.failed

    def lines(self) -> list[str]:
        """One human-readable line per month, for logs and the publish report."""
        out = []
        for r in self.results:
            month = month_text(r.month) if r.month else "?"
            detail = ""
            if r.status == FETCHED:
                detail = " (re-supplied)" if r.resupplied else " (new)"
            if r.attempts > 1 and r.status != FAILED:  # a failure's error gives the count
                detail += f" after {r.attempts} attempts"
            if r.error:
                detail += f": {r.error}"
            out.append(f"{self.force} {month}: {r.status}{detail}")
        return out


def _requested(
    months: Literal["latest", "all"] | Iterable[date | str], available: list[date]
) -> list[date]:
    """The months to fetch."""
    if months == "latest":
        return available[-1:]
    if months == "all":
        return list(available)
    if isinstance(months, str):
        raise ValueError(f"months must be 'latest', 'all' or a list of months, not {months!r}")
    return sorted({m if isinstance(m, date) else parse_month(m) for m in months})


def fetch_force(
    api: PoliceAPI | HttpClient,
    cache: Cache,
    force: str,
    months: Literal["latest", "all"] | Iterable[date | str] = "latest",
    *,
    conditional: bool = True,
) -> FetchReport:
    """Fetch a force's months into the cache and report each; FetchError if availability fails."""
    api = as_api(api)
    available = available_months(api, force, cache)
    listed = set(available)
    report = FetchReport(force, available)
    results: dict[date, FetchResult] = {}
    for month in cached_months(cache, force):
        if month not in listed:
            key = stops_key(force, month)
            entry = cache.entry(key)
            results[month] = FetchResult(
                key,
                entry.url if entry else "",
                DISAPPEARED,
                cache.path(key),
                entry.sha256 if entry else None,
                entry.sha256 if entry else None,
                entry.size if entry else None,
                error="no longer listed by /api/crimes-street-dates; cached copy kept",
                month=month,
            )
    for month in _requested(months, available):
        if month in results:
            continue
        if month not in listed:
            url = api.url("/api/stops-force", {"force": force, "date": month_text(month)})
            results[month] = FetchResult(
                stops_key(force, month),
                url,
                UNAVAILABLE,
                error="not listed as available",
                month=month,
            )
            continue
        results[month] = fetch_stops(api, cache, force, month, conditional=conditional)
    report.results = [results[m] for m in sorted(results)]
    return report


@dataclass
class NeighbourhoodReport:
    """The neighbourhood list of a force and the outcome for each boundary."""

    force: str
    ids: list[str]
    listing: FetchResult
    boundaries: list[FetchResult]  # one per id, in the same order
    disappeared: list[str] = field(default_factory=list)  # cached ids no longer listed
    names: dict[str, str] = field(default_factory=dict)  # id -> name as the API wrote it

    @property
    def failed(self) -> list[FetchResult]:
        """Boundaries that could not be fetched (previous copies kept)."""
        return [r for r in self.boundaries if not r.ok]

    def failures(self) -> list[tuple[str, FetchResult]]:
        """(id, result) of every boundary that could not be fetched."""
        return [(nid, r) for nid, r in zip(self.ids, self.boundaries, strict=True) if not r.ok]

    @property
    def requests(self) -> int:
        """HTTP attempts made for the list and the boundaries (0 when all came from the cache)."""
        return sum(r.attempts for r in (self.listing, *self.boundaries))

    @property
    def ok(self) -> bool:
        """True when every boundary was fetched or is current."""
        return not self.failed


def fetch_neighbourhoods(
    api: PoliceAPI | HttpClient,
    cache: Cache,
    force: str,
    *,
    conditional: bool = True,
    prune: bool = False,
) -> NeighbourhoodReport:
    """Fetch `/api/{force}/neighbourhoods` and every `/api/{force}/{id}/boundary` into the cache.

    Ids are percent-encoded in the URL (they hold dots and spaces); an id listed twice is
    fetched once. Boundaries of neighbourhoods no longer listed are reported, and deleted only
    when `prune`. FetchError when the list itself cannot be fetched.
    """
    api = as_api(api)
    force_path = quote(force, safe="")
    listing = fetch_to_cache(
        api.client,
        cache,
        neighbourhoods_key(force),
        api.url(f"/api/{force_path}/neighbourhoods"),
        validate=validate_neighbourhoods,
        conditional=conditional,
    )
    if not listing.ok:
        raise FetchError(listing.error or "neighbourhoods: failed", failures=listing.failures)
    names: dict[str, str] = {}
    for entry in json.loads(cache.read(neighbourhoods_key(force))):
        names.setdefault(str(entry["id"]), str(entry.get("name") or ""))
    ids = list(names)
    boundaries = [
        fetch_to_cache(
            api.client,
            cache,
            boundary_key(force, nid),
            api.url(f"/api/{force_path}/{quote(nid, safe='')}/boundary"),
            validate=validate_boundary,
            conditional=conditional,
        )
        for nid in ids
    ]
    wanted = {boundary_key(force, nid) for nid in ids}
    gone = [k for k in cache.keys(f"neighbourhoods/{safe_name(force)}") if k not in wanted]
    if prune:
        for key in gone:
            cache.remove(key)
    disappeared = [unquote(k.rsplit("/", 1)[-1].removesuffix(".json")) for k in gone]
    return NeighbourhoodReport(force, ids, listing, boundaries, disappeared, names)
