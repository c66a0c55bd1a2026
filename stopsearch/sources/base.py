"""The Source interface: every remote source has a base URL that tests can point elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from stopsearch.sources.http import HttpClient

DEFAULT_POLICE_URL = "https://data.police.uk"


@runtime_checkable
class Source(Protocol):
    """A remote source: its HTTP client and the base URL every request is made against."""

    base_url: str
    client: HttpClient

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The absolute URL of `path` (with query `params`) on this source."""
        ...


def join_url(base_url: str, path: str, params: Mapping[str, str] | None = None) -> str:
    """`base_url` + `path` + `?params`; an absolute `path` is re-homed onto `base_url`'s host."""
    parts = urlsplit(path)
    if parts.scheme:  # an absolute URL (e.g. from a manifest): keep its path and query only
        path = urlunsplit(("", "", parts.path, parts.query, ""))
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    return url
