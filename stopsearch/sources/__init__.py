"""Fetch stage: data.police.uk API and archive, neighbourhoods, ONS files, into a checksum cache.

Every remote source implements `Source` (a `base_url` and an `HttpClient`), so tests and operators
can point it at another server, e.g. `PoliceAPI(client, base_url="http://127.0.0.1:8000")`.
"""

from stopsearch.sources.archive import PoliceArchive, fetch_archive
from stopsearch.sources.base import DEFAULT_POLICE_URL, Source, join_url
from stopsearch.sources.cache import Cache, CacheEntry, CacheProblem
from stopsearch.sources.errors import CacheError, FetchError
from stopsearch.sources.fetch import (
    CACHED,
    DISAPPEARED,
    FAILED,
    FETCHED,
    NOT_MODIFIED,
    UNAVAILABLE,
    FetchResult,
)
from stopsearch.sources.http import HttpClient, Response, TokenBucket, retry_policy
from stopsearch.sources.ons import UrlSource, download_file, fetch_ons
from stopsearch.sources.police_api import (
    FetchReport,
    NeighbourhoodReport,
    PoliceAPI,
    availability,
    available_months,
    fetch_force,
    fetch_neighbourhoods,
    fetch_stops,
)

__all__ = [
    "CACHED",
    "DEFAULT_POLICE_URL",
    "DISAPPEARED",
    "FAILED",
    "FETCHED",
    "NOT_MODIFIED",
    "UNAVAILABLE",
    "Cache",
    "CacheEntry",
    "CacheError",
    "CacheProblem",
    "FetchError",
    "FetchReport",
    "FetchResult",
    "HttpClient",
    "NeighbourhoodReport",
    "PoliceAPI",
    "PoliceArchive",
    "Response",
    "Source",
    "TokenBucket",
    "UrlSource",
    "availability",
    "available_months",
    "download_file",
    "fetch_archive",
    "fetch_force",
    "fetch_neighbourhoods",
    "fetch_ons",
    "fetch_stops",
    "retry_policy",
    "join_url",
]
