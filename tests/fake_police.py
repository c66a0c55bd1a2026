"""A fake data.police.uk on 127.0.0.1 with fault injection, for the fetch and publish tests.

    with FakePoliceServer() as server:
        server.set_month_csv("testshire", "2023-01", csv_bytes)
        server.fault(server.stops_path("testshire", "2023-01"), RATE_LIMIT, retry_after="2")
        api = PoliceAPI(fast_client(), base_url=server.url)

Serves `/api/crimes-street-dates`, `/api/stops-force`, `/data/archive/<name>.zip`,
`/api/<force>/neighbourhoods`, `/api/<force>/<id>/boundary` and any path set with `set_file`,
with ETag / Last-Modified (304 on match). Faults apply to matching requests, `times` times.
"""

from __future__ import annotations

import contextlib
import csv
import email.utils
import gzip
import hashlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from urllib3.util import Retry

from stopsearch.police_files import archive_member
from stopsearch.sources.http import RETRY_AFTER_MAX, HttpClient, TokenBucket, retry_policy

RATE_LIMIT = "429"  # answer 429 Too Many Requests (with Retry-After when given)
SERVER_ERROR = "500"  # answer `status` (default 500)
HANG = "hang"  # accept the request and send nothing until `hang` seconds pass or the server stops
TRUNCATE = "truncate"  # send headers with the full Content-Length, then half the body, then close
INVALID_JSON = "invalid-json"  # send half the body with a matching Content-Length: bad JSON
RESET = "reset"  # close the connection without answering
FAULT_KINDS = (RATE_LIMIT, SERVER_ERROR, HANG, TRUNCATE, INVALID_JSON, RESET)

BodySource = bytes | Callable[[Mapping[str, str]], bytes]


class FakeClock:
    """A clock whose `sleep` only advances time: instant backoff and rate-limit waits."""

    def __init__(self, epoch: float = 1_700_000_000.0) -> None:
        self.now = 0.0  # monotonic seconds (small, so float steps stay exact enough)
        self.epoch = epoch  # wall-clock time at now == 0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """The current fake monotonic time."""
        return self.now

    def time(self) -> float:
        """The fake wall-clock time (for Retry-After HTTP dates)."""
        return self.epoch + self.now

    def sleep(self, seconds: float) -> None:
        """Advance the clock and record the wait."""
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


def fast_client(
    clock: FakeClock | None = None,
    *,
    timeout: float = 2.0,
    retry: Retry | None = None,
    retry_after_max: float = RETRY_AFTER_MAX,
    rate: float = 15.0,
    burst: int = 30,
) -> HttpClient:
    """An HttpClient for tests: no proxies, fake sleeps (instant), no jitter, short timeout."""
    clock = clock or FakeClock()
    return HttpClient(
        timeout=timeout,
        retry=retry or retry_policy(4, jitter=0.0),
        retry_after_max=retry_after_max,
        limiter=TokenBucket(rate, burst, clock=clock.monotonic, sleep=clock.sleep),
        clock=clock.monotonic,
        sleep=clock.sleep,
        use_env_proxies=False,
    )


@dataclass
class Fault:
    """A fault injected into requests matching `target` (path, plus query params to match)."""

    target: str
    kind: str
    times: int | None = 1  # None: every matching request
    retry_after: str | None = None  # RATE_LIMIT: seconds or an HTTP date
    status: int = 500  # SERVER_ERROR: the status to send
    hang: float = 30.0  # HANG: seconds to hold the connection open
    hits: int = 0  # requests this fault has affected

    def matches(self, path: str, query: Mapping[str, str]) -> bool:
        """True when the request has the target's path and every one of its query params."""
        parts = urlsplit(self.target)
        wanted = dict(parse_qsl(parts.query))
        return parts.path == path and all(query.get(k) == v for k, v in wanted.items())


@dataclass(frozen=True)
class Resource:
    """A servable body with its validators."""

    body: bytes
    content_type: str
    last_modified: float
    etag: str = field(default="")

    @staticmethod
    def make(body: bytes, content_type: str, last_modified: float) -> Resource:
        """A resource with an ETag derived from its bytes."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return Resource(body, content_type, last_modified, etag)


@dataclass(frozen=True)
class SeenRequest:
    """A request the server received, for assertions."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    target: str = ""  # the request target as sent (still percent-encoded)


def _month(month: date | str) -> str:
    return month if isinstance(month, str) else f"{month.year:04d}-{month.month:02d}"


class FakePoliceServer:
    """A threaded fake of data.police.uk on 127.0.0.1 (ephemeral port); a context manager."""

    def __init__(self, *, gzip_json: bool = False, clock: Callable[[], float] = time.time):
        self.gzip_json = gzip_json  # gzip JSON answers when the client accepts gzip
        self._clock = clock
        self._lock = threading.RLock()
        self._stops: dict[tuple[str, str], Resource] = {}
        self._files: dict[str, tuple[BodySource, str, float]] = {}
        self.faults: list[Fault] = []
        self.requests: list[SeenRequest] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._last_modified = 0.0

    # ---- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> FakePoliceServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1 and serve on a background thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Wake hung handlers, stop serving and join every thread."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321."""
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---- content ---------------------------------------------------------------------------
    def _stamp(self) -> float:
        """A Last-Modified time that strictly increases by whole seconds on each update."""
        with self._lock:
            self._last_modified = max(float(int(self._clock())), self._last_modified + 1.0)
            return self._last_modified

    def set_month(self, force: str, month: date | str, records: list | bytes) -> None:
        """Publish (or re-supply) a force-month: listed as available, served by stops-force."""
        body = records if isinstance(records, bytes) else json.dumps(records).encode("utf-8")
        resource = Resource.make(body, "application/json", self._stamp())
        with self._lock:
            self._stops[(force, _month(month))] = resource

    def set_month_csv(self, force: str, month: date | str, csv_data: bytes) -> int:
        """Publish a force-month given as a data.police.uk CSV; returns the record count."""
        records = csv_to_api_json(csv_data)
        self.set_month(force, month, records)
        return len(records)

    def withdraw_month(self, force: str, month: date | str) -> None:
        """Make a force-month disappear: unlisted by crimes-street-dates, 404 from stops-force."""
        with self._lock:
            self._stops.pop((force, _month(month)), None)

    def set_file(
        self, path: str, body: BodySource, content_type: str = "application/octet-stream"
    ) -> None:
        """Serve `body` (bytes, or a function of the query params) at `path`."""
        stamp = self._stamp()
        with self._lock:
            self._files[path] = (body, content_type, stamp)

    def set_archive(self, name: str, data: bytes) -> None:
        """Serve an archive zip at `/data/archive/<name>.zip` (name YYYY-MM or latest)."""
        self.set_file(f"/data/archive/{name}.zip", data, "application/zip")

    def set_neighbourhoods(
        self,
        force: str,
        boundaries: Mapping[str, list[dict]],
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Serve a force's neighbourhood list and each `<id>/boundary` (lists of lat/lng).

        Names are served exactly as given (the real API sends HTML entities such as `&amp;`);
        an id may hold dots and spaces (requests for it arrive percent-encoded).
        """
        names = names or {}
        listing = [{"id": nid, "name": names.get(nid, nid)} for nid in boundaries]
        self.set_file(
            self.neighbourhoods_path(force), json.dumps(listing).encode(), "application/json"
        )
        for nid, points in boundaries.items():
            self.set_boundary(force, nid, points)

    def set_boundary(self, force: str, neighbourhood_id: str, points: list[dict]) -> None:
        """Serve (or change) one neighbourhood's boundary."""
        body = json.dumps(points).encode()
        self.set_file(self.boundary_path(force, neighbourhood_id), body, "application/json")

    def remove_boundary(self, force: str, neighbourhood_id: str) -> None:
        """Keep the neighbourhood listed but answer 404 for its boundary."""
        self.remove_file(self.boundary_path(force, neighbourhood_id))

    @staticmethod
    def neighbourhoods_path(force: str) -> str:
        """The neighbourhood list's path, for `fault()` and `hits()`."""
        return f"/api/{force}/neighbourhoods"

    @staticmethod
    def boundary_path(force: str, neighbourhood_id: str) -> str:
        """One boundary's path (as the server sees it, decoded), for `fault()` and `hits()`."""
        return f"/api/{force}/{neighbourhood_id}/boundary"

    def remove_file(self, path: str) -> None:
        """Stop serving `path` (404 from now on)."""
        with self._lock:
            self._files.pop(path, None)

    @staticmethod
    def stops_path(force: str, month: date | str) -> str:
        """The stops-force request target of a force-month, for `fault()` and `hits()`."""
        return "/api/stops-force?" + urlencode({"force": force, "date": _month(month)})

    # ---- faults and introspection -----------------------------------------------------------
    def fault(self, target: str, kind: str, *, times: int | None = 1, **options: object) -> Fault:
        """Inject a fault into the next `times` requests matching `target` (None: all of them)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        fault = Fault(target, kind, times, **options)  # type: ignore[arg-type]
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        with self._lock:
            self.faults.clear()

    def hits(self, target: str) -> int:
        """How many requests matched `target` (path plus any query params it names)."""
        probe = Fault(target, RESET)
        return sum(1 for r in self.requests if probe.matches(r.path, r.query))

    def _take_fault(self, path: str, query: Mapping[str, str]) -> Fault | None:
        """The first active fault for a request, counting it down."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(path, query) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    fault.hits += 1
                    return fault
        return None

    def _availability(self) -> bytes:
        """The crimes-street-dates answer built from the published force-months."""
        months: dict[str, list[str]] = {}
        with self._lock:
            for force, month in self._stops:
                months.setdefault(month, []).append(force)
        listing = [
            {"date": m, "stop-and-search": sorted(months[m])} for m in sorted(months, reverse=True)
        ]
        return json.dumps(listing).encode("utf-8")

    def resolve(self, path: str, query: Mapping[str, str]) -> Resource | None:
        """The resource a request names, or None for 404."""
        if path == "/api/crimes-street-dates":
            with self._lock:
                stamp = max((r.last_modified for r in self._stops.values()), default=0.0)
            return Resource.make(self._availability(), "application/json", stamp)
        if path == "/api/stops-force":
            with self._lock:
                return self._stops.get((query.get("force", ""), query.get("date", "")))
        with self._lock:
            found = self._files.get(path)
        if found is None:
            return None
        body, content_type, stamp = found
        data = body(query) if callable(body) else body
        return Resource.make(data, content_type, stamp)


class _Handler(BaseHTTPRequestHandler):
    """Answers one request of the fake server."""

    fake: FakePoliceServer
    server_version = "FakePoliceUK/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: tests read `fake.requests` instead."""

    def handle(self) -> None:
        """Handle, ignoring clients that hang up (e.g. after their own timeout)."""
        with contextlib.suppress(ConnectionError, TimeoutError):
            super().handle()

    def do_GET(self) -> None:  # noqa: N802
        """Record the request, apply any fault, else answer (with 304 on matching validators)."""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.fake.requests.append(SeenRequest(path, query, headers, self.path))
        fault = self.fake._take_fault(path, query)
        if fault is not None and fault.kind in (HANG, RESET):
            if fault.kind == HANG:
                self.fake._stopping.wait(fault.hang)
            self.close_connection = True
            return
        if fault is not None and fault.kind == RATE_LIMIT:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send(429, b"Too Many Requests", "text/plain", extra)
            return
        if fault is not None and fault.kind == SERVER_ERROR:
            self._send(fault.status, b"Internal Server Error", "text/plain")
            return
        resource = self.fake.resolve(path, query)
        if resource is None:
            self._send(404, b"Not Found", "text/plain")
            return
        validators = {
            "ETag": resource.etag,
            "Last-Modified": email.utils.formatdate(resource.last_modified, usegmt=True),
        }
        if fault is None and _not_modified(headers, resource):
            self._send(304, b"", None, validators)
            return
        body = resource.body
        accepts_gzip = "gzip" in headers.get("accept-encoding", "")
        if self.fake.gzip_json and accepts_gzip and resource.content_type == "application/json":
            body = gzip.compress(body)
            validators["Content-Encoding"] = "gzip"
        if fault is not None and fault.kind == INVALID_JSON:
            body = body[: len(body) // 2]
        if fault is not None and fault.kind == TRUNCATE:
            self._send(200, body[: len(body) // 2], resource.content_type, validators, len(body))
            return
        self._send(200, body, resource.content_type, validators)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: Mapping[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        """Write status, headers and body; `length` overrides Content-Length (truncation)."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if body:
            self.wfile.write(body)
        self.wfile.flush()


def _not_modified(headers: Mapping[str, str], resource: Resource) -> bool:
    """True when If-None-Match matches the ETag, or (without it) If-Modified-Since is not older."""
    match = headers.get("if-none-match")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return "*" in tags or resource.etag in tags
    since = headers.get("if-modified-since")
    if since:
        try:
            when = email.utils.parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(resource.last_modified) <= when
    return False


# ---- data.police.uk formats ---------------------------------------------------------------
def api_boundary(geometry: object, *, close_last: bool = False, decimals: int = 6) -> list[dict]:
    """A shapely (Multi)Polygon as `/api/{force}/{id}/boundary` answers it.

    One flat list of {"latitude", "longitude"} strings (latitude first, as the API writes
    them): every ring of every polygon in turn (shell, then holes), each closed by repeating
    its first point except the last, left open unless `close_last`.
    """
    import shapely

    rings = []
    for polygon in shapely.get_parts(geometry):
        rings.append(list(polygon.exterior.coords))
        rings += [list(hole.coords) for hole in polygon.interiors]
    if not close_last:
        rings[-1] = rings[-1][:-1]
    return [
        {"latitude": f"{lat:.{decimals}f}", "longitude": f"{lon:.{decimals}f}"}
        for ring in rings
        for lon, lat in ring
    ]


OUTCOME_IDS = {
    "A no further action disposal": "bu-no-further-action",
    "Arrest": "bu-arrest",
    "Summons / charged by post": "bu-summons",
    "Caution (simple or conditional)": "bu-caution",
    "Khat or Cannabis warning": "bu-khat-or-cannabis-warning",
    "Penalty Notice for Disorder": "bu-penalty-notice",
    "Community resolution": "bu-community-resolution",
}


def _text(value: str | None) -> str | None:
    """A CSV field as the API writes it: empty becomes null."""
    value = (value or "").strip()
    return value or None


def _flag(value: str | None) -> bool | None:
    """'True'/'False' (any case) as a JSON boolean; empty or other text as null."""
    value = (value or "").strip().lower()
    return {"true": True, "false": False}.get(value)


def _street(latitude: str, longitude: str) -> dict:
    """A stable made-up snap-point street for a coordinate (the CSV has none)."""
    street_id = int(hashlib.sha256(f"{latitude},{longitude}".encode()).hexdigest()[:7], 16)
    return {"id": street_id, "name": f"On or near Test Street {street_id}"}


def csv_record_to_api(row: Mapping[str, str]) -> dict:
    """One data.police.uk stop-and-search CSV row as an `/api/stops-force` record."""
    latitude, longitude = _text(row.get("Latitude")), _text(row.get("Longitude"))
    location = None
    if latitude and longitude:
        location = {
            "latitude": latitude,
            "street": _street(latitude, longitude),
            "longitude": longitude,
        }
    outcome = _text(row.get("Outcome"))
    outcome_object = None
    if outcome:
        slug = "-".join("".join(c if c.isalnum() else " " for c in outcome.lower()).split())
        outcome_object = {"id": OUTCOME_IDS.get(outcome, f"bu-{slug}"), "name": outcome}
    search_type = _text(row.get("Type"))
    return {
        "age_range": _text(row.get("Age range")),
        "outcome": outcome,
        "involved_person": bool(search_type and "person" in search_type.lower()),
        "self_defined_ethnicity": _text(row.get("Self-defined ethnicity")),
        "gender": _text(row.get("Gender")),
        "legislation": _text(row.get("Legislation")),
        "outcome_linked_to_object_of_search": _flag(row.get("Outcome linked to object of search")),
        "datetime": _text(row.get("Date")),
        "removal_of_more_than_outer_clothing": _flag(
            row.get("Removal of more than just outer clothing")
        ),
        "outcome_object": outcome_object,
        "location": location,
        "operation": _flag(row.get("Part of a policing operation")),
        "officer_defined_ethnicity": _text(row.get("Officer-defined ethnicity")),
        "type": search_type,
        "operation_name": _text(row.get("Policing operation")),
        "object_of_search": _text(row.get("Object of search")),
    }


def csv_to_api_json(csv_bytes: bytes) -> list[dict]:
    """A data.police.uk stop-and-search CSV rendered as the API's JSON records (one per row).

    Empty fields become null; `operation` is a boolean, or null when the CSV field is empty.
    """
    text = csv_bytes.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return [
        csv_record_to_api(row)
        for row in reader
        if any(isinstance(v, str) and v.strip() for v in row.values())
    ]


def archive_zip(files: Mapping[tuple[str, date | str], bytes]) -> bytes:
    """An archive-style zip: `YYYY-MM/YYYY-MM-<force>-stop-and-search.csv` per (force, month)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for (force, month), data in sorted(
            files.items(), key=lambda kv: (_month(kv[0][1]), kv[0][0])
        ):
            first_day = month if isinstance(month, date) else date.fromisoformat(f"{month}-01")
            archive.writestr(archive_member(force, first_day), data)
    return buffer.getvalue()
