"""Build the layers a manifest declares by their source: police-API neighbourhoods and URL files.

`source = "police-api"`: the force's neighbourhood list and every boundary are fetched through
the fetch stage (rate limit, retries, checksummed cache, conditional requests) when a check is
due (every `refresh_days`, default 7; a run in between makes no request). A boundary set that
differs from the newest vintage (codes, names or polygons) starts a new vintage from the fetch
date (see stopsearch.geography.register); an unchanged one keeps the vintage, so nothing is
reloaded or re-joined. Any neighbourhood that fails to download, or whose boundary cannot be
used, fails the layer for this run: no vintage is recorded, the previous one stays in use and
the report says why. Never a half layer. A neighbourhood whose boundary is empty is left out
and reported; invalid polygons are stored as fetched, and repaired and reported on loading, as
for files.

`source = "https://..."`: the file (GeoJSON, also an ArcGIS query; zipped shapefile;
GeoPackage; KML) is downloaded once into the cache (again, conditionally, after `refresh_days`
when given) and read like a file layer. A failed download keeps the cached copy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import shapely
import shapely.geometry

from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import POLICE_API, Layer, Manifest, without_layers
from stopsearch.geography.police import boundary_geometry, clean_name
from stopsearch.geography.register import (
    Register,
    StoredVintage,
    is_due,
    read_register,
    record,
    vintage_key,
    vintage_layers,
    write_register,
)
from stopsearch.geography.repair import check_geometries
from stopsearch.sources import (
    CACHED,
    Cache,
    FetchError,
    HttpClient,
    NeighbourhoodReport,
    PoliceAPI,
    UrlSource,
    download_file,
    fetch_neighbourhoods,
    fetch_ons,
)
from stopsearch.sources.cache import boundary_key, ons_key
from stopsearch.sources.ons import FILE_KINDS

LISTED_FAILURES = 5  # failed neighbourhoods named in a report line; the rest are counted


def london_today() -> date:
    """Today's date in Europe/London: the calendar the join dates searches by."""
    try:
        from zoneinfo import ZoneInfo

        return datetime.now(ZoneInfo("Europe/London")).date()
    except (ImportError, KeyError, OSError):  # no time-zone database: UTC is at most 1 h off
        return datetime.now(UTC).date()


@dataclass
class LayerOutcome:
    """What fetching one declared layer did, in lines for the run report."""

    layer_id: str
    status: str  # new | changed | replaced | unchanged | cached | fetched | not-modified | failed
    lines: list[str] = field(default_factory=list)
    requests: int = 0  # HTTP attempts made

    @property
    def failed(self) -> bool:
        """True when the layer could not be brought up to date in this run."""
        return self.status == "failed"


@dataclass
class FetchedLayers:
    """The manifest with its fetched layers built into file layers, and what each did."""

    manifest: Manifest
    outcomes: list[LayerOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        """Every report line, layer by layer."""
        return [line for outcome in self.outcomes for line in outcome.lines] + self.notes

    @property
    def failed(self) -> list[LayerOutcome]:
        """Layers that could not be brought up to date (their previous state stays in use)."""
        return [o for o in self.outcomes if o.failed]


@dataclass(frozen=True)
class BoundarySet:
    """One complete fetch of a force's neighbourhoods as a canonical GeoJSON document."""

    body: bytes
    sha256: str
    areas: int
    left_out: list[str]  # neighbourhoods without a boundary
    repaired: list[str]  # "id (reason)" of invalid polygons (repaired when loaded)


class LayerFailed(GeographyError):
    """The layer cannot be brought up to date in this run."""


def _listing(items: list[str]) -> str:
    more = len(items) - LISTED_FAILURES
    return "; ".join(items[:LISTED_FAILURES]) + (f"; and {more} more" if more > 0 else "")


def boundary_set(declared: Layer, report: NeighbourhoodReport, cache: Cache) -> BoundarySet:
    """The layer's areas from a complete fetch in the cache; LayerFailed when one is unusable."""
    rows: list[tuple[str, str, shapely.Geometry]] = []
    left_out = []
    for nid in report.ids:
        key = boundary_key(report.force, nid)
        where = f"neighbourhood {nid!r}"
        if not cache.is_intact(key):
            raise LayerFailed(f"{where}: the cached boundary does not match its checksum")
        try:
            points = json.loads(cache.read(key))
        except ValueError as exc:
            raise LayerFailed(f"{where}: cached boundary is not JSON: {exc}") from None
        try:
            geometry = boundary_geometry(points, where)
        except GeographyError as exc:
            raise LayerFailed(str(exc)) from None
        if geometry is None:
            left_out.append(nid)
            continue
        rows.append((nid, clean_name(report.names.get(nid), nid), geometry))
    if not rows:
        raise LayerFailed(f"none of the {len(report.ids)} neighbourhoods listed has a boundary")
    rows.sort(key=lambda row: row[0])
    codes = np.array([r[0] for r in rows], dtype=object)
    raw = np.array([r[2] for r in rows], dtype=object)
    try:
        _, repaired = check_geometries(raw.copy(), codes, declared.repair, f"layer '{declared.id}'")
    except GeographyError as exc:
        raise LayerFailed(str(exc)) from None
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name},
            "geometry": shapely.geometry.mapping(geometry),
        }
        for code, name, geometry in rows
    ]
    document = {"type": "FeatureCollection", "features": features}
    body = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data = body.encode("utf-8")
    reasons = [
        f"{code} ({shapely.is_valid_reason(geometry)})"
        for code, geometry in zip(codes[repaired], raw[repaired], strict=True)
    ]
    return BoundarySet(data, hashlib.sha256(data).hexdigest(), len(rows), left_out, reasons)


def _fetch_set(declared: Layer, api: PoliceAPI, cache: Cache) -> tuple[BoundarySet, str]:
    """Fetch every boundary: (the set, the listing's URL); LayerFailed on any failure."""
    assert declared.force is not None
    try:
        report = fetch_neighbourhoods(api, cache, declared.force)
    except FetchError as exc:
        raise LayerFailed(f"the neighbourhood list could not be fetched: {exc}") from None
    failures = [f"neighbourhood {nid!r}: {r.error}" for nid, r in report.failures()]
    if failures:
        raise LayerFailed(
            f"{len(failures)} of {len(report.ids)} boundaries could not be fetched: "
            + _listing(failures)
        )
    return boundary_set(declared, report, cache), report.listing.url


def _kept(declared: Layer, register: Register, reason: str, requests: int) -> LayerOutcome:
    latest = register.latest
    if latest is not None:
        after = (
            f"the previous vintage {latest.id} (fetched {latest.first_fetched.isoformat()})"
            " stays in use"
        )
    else:
        after = "no vintage was fetched before, so the layer is left out of this run"
    line = f"layer '{declared.id}': FAILED: {reason}; {after}"
    return LayerOutcome(declared.id, "failed", [line], requests)


def _changed_lines(
    declared: Layer,
    what: str,
    register: Register,
    built: BoundarySet,
    previous: StoredVintage | None,
) -> list[str]:
    latest = register.latest
    assert latest is not None
    head = f"layer '{declared.id}': {built.areas} neighbourhoods"
    if what == "unchanged":
        lines = [f"{head}, unchanged: vintage {latest.id} stays in use"]
    elif what == "new":
        lines = [f"{head}: first vintage {latest.id}"]
    elif what == "replaced":
        lines = [f"{head}: changed again on the day it was first fetched: {latest.id} replaced"]
    else:
        old = previous.id if previous else "?"
        day = latest.first_fetched
        lines = [
            f"{head}: boundaries changed: new vintage {latest.id} from {day.isoformat()};"
            f" {old} now ends {(day - timedelta(days=1)).isoformat()}"
        ]
    if what != "unchanged" and built.left_out:
        lines.append(
            f"layer '{declared.id}': {len(built.left_out)} neighbourhood(s) without a boundary"
            f" left out: {_listing(built.left_out)}"
        )
    if what != "unchanged" and built.repaired:
        lines.append(
            f"layer '{declared.id}': {len(built.repaired)} invalid boundary(ies), repaired when"
            f" loaded: {_listing(built.repaired)}"
        )
    return lines


def police_layer(
    declared: Layer, api: PoliceAPI, cache: Cache, today: date
) -> tuple[list[Layer], LayerOutcome]:
    """The vintage layers of a police-API layer, fetching the boundaries when a check is due."""
    register = read_register(cache, declared)
    latest = register.latest
    damaged = latest is not None and not cache.is_intact(latest.key)
    if not damaged and not is_due(register, declared.refresh_days, today):
        assert latest is not None and register.checked_on is not None
        days = declared.refresh_days
        due = register.checked_on + timedelta(days=days) if days is not None else None
        line = (
            f"layer '{declared.id}': vintage {latest.id} from the cache, no request (checked"
            f" {register.checked_on.isoformat()}"
            + (f"; next check on or after {due.isoformat()})" if due else ")")
        )
        return vintage_layers(declared, register, cache), LayerOutcome(
            declared.id, CACHED, [line]
        )
    before = api.client.requests_made
    try:
        built, url = _fetch_set(declared, api, cache)
    except LayerFailed as exc:
        made = api.client.requests_made - before
        return vintage_layers(declared, register, cache), _kept(declared, register, str(exc), made)
    key = vintage_key(declared.id, built.sha256)
    if not cache.is_intact(key):
        cache.put(key, built.body, url=url)
    register, what, previous = record(register, built.sha256, key, built.areas, today)
    write_register(cache, register)
    lines = _changed_lines(declared, what, register, built, previous)
    outcome = LayerOutcome(declared.id, what, lines, api.client.requests_made - before)
    return vintage_layers(declared, register, cache), outcome


def _fetched_on(fetched_at: str) -> date:
    try:
        return date.fromisoformat(fetched_at[:10])
    except ValueError:
        return date.min


def url_layer(
    declared: Layer, client: HttpClient, cache: Cache, today: date
) -> tuple[list[Layer], LayerOutcome]:
    """The layer of a URL source: downloaded once (again after `refresh_days`), then cached."""
    assert declared.source is not None
    fmt = declared.format
    key = ons_key(declared.id, "geojson" if fmt == "geojson" else FILE_KINDS[fmt][0])
    entry = cache.entry(key)
    days = declared.refresh_days
    refresh = (
        entry is not None
        and days is not None
        and today >= _fetched_on(entry.fetched_at) + timedelta(days=days)
    )
    source = UrlSource(client)
    if fmt == "geojson":
        result = fetch_ons(source, cache, declared.id, declared.source, refresh=refresh)
    else:
        result = download_file(source, cache, declared.id, declared.source, fmt, refresh=refresh)
    layer = replace(declared, file=key, path=cache.path(key))
    head = f"layer '{declared.id}' ({declared.source})"
    if result.ok:
        line = f"{head}: {result.status}" + (" (no request)" if result.status == CACHED else "")
        return [layer], LayerOutcome(declared.id, result.status, [line], result.attempts)
    if result.path is not None and entry is not None:
        kept = f"the copy fetched on {entry.fetched_at[:10]} stays in use"
        line = f"{head}: FAILED: {result.error}; {kept}"
        return [layer], LayerOutcome(declared.id, "failed", [line], result.attempts)
    line = f"{head}: FAILED: {result.error}; nothing cached, so the layer is left out of this run"
    return [], LayerOutcome(declared.id, "failed", [line], result.attempts)


def build_fetched_layers(
    manifest: Manifest,
    cache: Cache,
    api: PoliceAPI | None = None,
    *,
    today: date | None = None,
) -> FetchedLayers:
    """The manifest with every layer declared by a source built into file layers.

    `api` is the police API (its client also fetches URL sources: one rate limit); `today` is
    the fetch date that starts new vintages (default: today in Europe/London). Raises
    GeographyError only for a damaged store of earlier vintages or clashing layer ids.
    """
    if not manifest.fetched:
        return FetchedLayers(manifest)
    api = api or PoliceAPI()
    today = today or london_today()
    built: list[Layer] = []
    outcomes = []
    missing = set()
    for declared in manifest.fetched:
        if declared.source == POLICE_API:
            layers, outcome = police_layer(declared, api, cache, today)
        else:
            layers, outcome = url_layer(declared, api.client, cache, today)
        if not layers:
            missing.add(declared.id)
        built += layers
        outcomes.append(outcome)
    clash = sorted({layer.id for layer in manifest.layers} & {layer.id for layer in built})
    if clash:
        raise GeographyError(f"{manifest.path}: fetched layer id(s) {clash} clash with others")
    resolved = replace(manifest, layers=(*manifest.layers, *built), fetched=())
    resolved, notes = without_layers(resolved, missing, None)  # its outcome says why
    return FetchedLayers(resolved, outcomes, notes)
