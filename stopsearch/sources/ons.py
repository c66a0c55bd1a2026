"""ONS boundaries (ArcGIS REST GeoJSON query URLs, or boundary files) and census tables, cached.

A GeoJSON query whose answer says `exceededTransferLimit` is paged with `resultOffset` and the
pages merged into one FeatureCollection. Zipped shapefiles, GeoPackages and KML files are
streamed to disk and checked. Cached files are not requested again unless `refresh`.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stopsearch.sources.base import join_url
from stopsearch.sources.cache import Cache, ons_key
from stopsearch.sources.errors import FetchError
from stopsearch.sources.fetch import (
    CACHED,
    FETCHED,
    NOT_MODIFIED,
    FetchResult,
    download_to_cache,
    failed_result,
    fetch_to_cache,
)
from stopsearch.sources.http import FileValidator, HttpClient

MAX_PAGES = 1000


class UrlSource:
    """A source addressed by full URLs (e.g. from a manifest); `base_url` re-homes them."""

    def __init__(self, client: HttpClient | None = None, base_url: str | None = None):
        self.client = client or HttpClient()
        self.base_url = base_url or ""

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """`path` as is (with `params`), or on `base_url`'s host when one is set."""
        if self.base_url:
            return join_url(self.base_url, path, params)
        if not urlsplit(path).scheme:
            raise ValueError(f"{path}: an absolute URL is needed when no base_url is set")
        return path + (("&" if "?" in path else "?") + urlencode(params) if params else "")


def validate_geojson(body: bytes) -> None:
    """ValueError unless the body is a GeoJSON FeatureCollection (not an ArcGIS error)."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if isinstance(payload, dict) and "error" in payload:
        raise ValueError(f"ArcGIS error: {payload['error']}")
    if not isinstance(payload, dict) or payload.get("type") != "FeatureCollection":
        raise ValueError("not a GeoJSON FeatureCollection")
    if not isinstance(payload.get("features"), list):
        raise ValueError("FeatureCollection without a features list")


def validate_csv(body: bytes) -> None:
    """ValueError unless the body looks like a CSV table (text with a header, not an HTML page)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("cp1252", errors="replace")
    head = text.lstrip()[:200].lower()
    if not head:
        raise ValueError("empty table")
    if head.startswith("<") or "<html" in head:
        raise ValueError("an HTML page, not a CSV table")
    if "," not in text.split("\n", 1)[0]:
        raise ValueError("first line has no comma: not a CSV header")


def _file_head(path: Path, size: int = 4096) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def validate_zip(path: Path) -> None:
    """ValueError unless the file is a zip archive (a zipped shapefile)."""
    if not zipfile.is_zipfile(path):
        raise ValueError("not a zip archive")


def validate_gpkg(path: Path) -> None:
    """ValueError unless the file is an SQLite database (a GeoPackage)."""
    if not _file_head(path, 16).startswith(b"SQLite format 3\0"):
        raise ValueError("not a GeoPackage (SQLite) file")


def validate_kml(path: Path) -> None:
    """ValueError unless the file starts like a KML document (not an HTML error page)."""
    head = _file_head(path).lower()
    if b"<kml" not in head or b"<html" in head:
        raise ValueError("not a KML document")


# A downloaded boundary file of each format: (cache file extension, validator).
FILE_KINDS: dict[str, tuple[str, FileValidator]] = {
    "shapefile": ("zip", validate_zip),
    "gpkg": ("gpkg", validate_gpkg),
    "kml": ("kml", validate_kml),
}


def download_file(
    source: UrlSource | HttpClient,
    cache: Cache,
    name: str,
    url: str,
    fmt: str,
    *,
    refresh: bool = False,
) -> FetchResult:
    """Download a boundary file (zipped shapefile, GeoPackage, KML) once into `ons/<name>.<ext>`.

    Streamed through a temp file and checked before it replaces the cached copy; a cached
    copy is not requested again unless `refresh` (then conditionally). Never raises FetchError.
    """
    if not isinstance(source, UrlSource):
        source = UrlSource(source)
    ext, validate = FILE_KINDS[fmt]
    key = ons_key(name, ext)
    return download_to_cache(
        source.client, cache, key, source.url(url), validate=validate, refresh=refresh
    )


def _exceeded(payload: dict) -> bool:
    """True when ArcGIS says more features remain (top level or in `properties`)."""
    props = payload.get("properties")
    in_props = isinstance(props, dict) and props.get("exceededTransferLimit") is True
    return payload.get("exceededTransferLimit") is True or in_props


def _with_offset(url: str, offset: int) -> str:
    """`url` with `resultOffset=offset` set."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "resultOffset"
    ]
    query.append(("resultOffset", str(offset)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def fetch_ons(
    source: UrlSource | HttpClient,
    cache: Cache,
    name: str,
    url: str,
    *,
    kind: Literal["geojson", "csv"] | None = None,
    refresh: bool = False,
) -> FetchResult:
    """Download a GeoJSON layer or CSV table once into `ons/<name>.<kind>`; never raises."""
    if not isinstance(source, UrlSource):
        source = UrlSource(source)
    kind = kind or ("csv" if urlsplit(url).path.lower().endswith(".csv") else "geojson")
    key = ons_key(name, kind)
    full = source.url(url)
    entry = cache.entry(key)
    if entry is not None and not refresh and cache.is_intact(key):
        return FetchResult(
            key, full, CACHED, cache.path(key), entry.sha256, entry.sha256, entry.size
        )
    if kind == "csv":
        return fetch_to_cache(source.client, cache, key, full, validate=validate_csv)
    return _fetch_geojson(source.client, cache, key, full)


def _fetch_geojson(client: HttpClient, cache: Cache, key: str, url: str) -> FetchResult:
    """Fetch a GeoJSON query, paging while the server reports exceededTransferLimit."""
    entry = cache.entry(key)
    intact = entry is not None and cache.is_intact(key)
    previous = entry.sha256 if intact and entry else None
    try:
        first = client.get(
            url,
            validate=validate_geojson,
            etag=entry.etag if intact and entry else None,
            last_modified=entry.last_modified if intact and entry else None,
        )
        if first.not_modified and not intact:
            raise FetchError(f"{url}: 304 Not Modified but no cached copy", url=url, status=304)
        body, attempts, etag, modified = first.body, first.attempts, first.etag, first.last_modified
        if not first.not_modified:
            payload = json.loads(body)
            if _exceeded(payload):
                body, pages = _all_pages(client, url, payload)
                attempts += pages
                etag = modified = None  # validators of page 1 say nothing about the rest
    except FetchError as exc:
        return failed_result(cache, key, url, exc, previous, None)
    if first.not_modified or hashlib.sha256(body).hexdigest() == previous:
        entry = cache.touch(key, url=url, etag=etag, last_modified=modified)
        return FetchResult(
            key, url, NOT_MODIFIED, cache.path(key), entry.sha256, previous, entry.size, attempts
        )
    entry = cache.put(key, body, url=url, etag=etag, last_modified=modified)
    return FetchResult(
        key, url, FETCHED, cache.path(key), entry.sha256, previous, entry.size, attempts
    )


def _all_pages(client: HttpClient, url: str, payload: dict) -> tuple[bytes, int]:
    """The merged FeatureCollection of every page, and the attempts the extra pages took."""
    features = list(payload["features"])
    attempts = 0
    for _ in range(MAX_PAGES):
        page = client.get(_with_offset(url, len(features)), validate=validate_geojson)
        attempts += page.attempts
        data = json.loads(page.body)
        features.extend(data["features"])
        if not data["features"] or not _exceeded(data):
            break
    else:
        raise FetchError(f"{url}: more than {MAX_PAGES} pages", url=url)
    payload = dict(payload, features=features)
    payload.pop("exceededTransferLimit", None)
    if isinstance(payload.get("properties"), dict):
        payload["properties"] = {
            k: v for k, v in payload["properties"].items() if k != "exceededTransferLimit"
        }
    return json.dumps(payload, separators=(",", ":")).encode("utf-8"), attempts
