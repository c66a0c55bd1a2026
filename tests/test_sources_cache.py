"""Cache: stable keys, atomic writes, sidecars, verify(); cached fetches, archive and ONS files."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from stopsearch.ingest import ingest_paths
from stopsearch.sources import (
    CACHED,
    FAILED,
    FETCHED,
    NOT_MODIFIED,
    Cache,
    CacheError,
    PoliceArchive,
    UrlSource,
    fetch_archive,
    fetch_ons,
    retry_policy,
)
from stopsearch.sources.archive import stop_and_search_members
from stopsearch.sources.cache import (
    archive_key,
    boundary_key,
    neighbourhoods_key,
    ons_key,
    stops_key,
)
from stopsearch.sources.fetch import fetch_to_cache, json_validator
from stopsearch.warehouse import connect
from tests.factories import csv_bytes, row
from tests.fake_police import (
    INVALID_JSON,
    SERVER_ERROR,
    TRUNCATE,
    FakeClock,
    FakePoliceServer,
    archive_zip,
    fast_client,
)

PATH = "/data/thing.json"
KEY = "misc/thing.json"
as_list = json_validator(list)


@pytest.fixture
def server():
    with FakePoliceServer() as fake:
        fake.set_file(PATH, json.dumps([1, 2, 3]).encode(), "application/json")
        yield fake


@pytest.fixture
def cache(tmp_path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture
def client():
    return fast_client(FakeClock(), retry=retry_policy(3))


def test_keys_are_stable_paths_named_for_the_ingest():
    assert stops_key("west-midlands", date(2023, 1, 1)) == (
        "police/stops-force/west-midlands/2023-01-west-midlands-stop-and-search.json"
    )
    assert archive_key(date(2024, 2, 1)) == "archive/2024-02.zip"
    assert archive_key("latest") == "archive/latest.zip"
    assert neighbourhoods_key("dorset") == "neighbourhoods/dorset.json"
    assert boundary_key("dorset", "55.CR3001") == "neighbourhoods/dorset/55.CR3001.json"
    assert boundary_key("x", "a/b c") == "neighbourhoods/x/a%2Fb%20c.json"
    assert boundary_key("x", "..") == "neighbourhoods/x/%2E%2E.json"
    assert ons_key("wards-2023") == "ons/wards-2023.geojson"
    assert ons_key("census", "csv") == "ons/census.csv"


@pytest.mark.parametrize("key", ["", "/etc/passwd", "a/../b", "a//b", "./a", "a/b c"])
def test_bad_keys_are_refused(cache, key):
    with pytest.raises(CacheError):
        cache.path(key)


def test_put_writes_file_and_sidecar_atomically(cache):
    entry = cache.put(KEY, b"[1]", url="http://x/1", etag='"e1"', last_modified="Mon")
    path = cache.path(KEY)
    assert path.read_bytes() == b"[1]"
    sidecar = json.loads(path.with_name(path.name + ".meta").read_text())
    assert sidecar["sha256"] == entry.sha256 == hashlib.sha256(b"[1]").hexdigest()
    assert sidecar["size"] == 3 and sidecar["url"] == "http://x/1" and sidecar["etag"] == '"e1"'
    assert sidecar["last_modified"] == "Mon" and sidecar["fetched_at"].endswith("Z")
    cache.put(KEY, b"[1, 2]", url="http://x/1")
    assert cache.read(KEY) == b"[1, 2]"
    assert sorted(p.name for p in path.parent.iterdir()) == ["thing.json", "thing.json.meta"]
    assert cache.keys() == [KEY] and cache.verify() == []


def test_sidecars_do_not_look_like_json_files(cache):
    cache.put(boundary_key("f", "A1"), b"[]", url="u")
    folder = cache.path(boundary_key("f", "A1")).parent
    assert [p.name for p in folder.glob("*.json")] == ["A1.json"]


def test_temp_file_is_removed_when_the_write_fails(cache):
    with pytest.raises(RuntimeError), cache.temp_file(KEY) as temp:
        temp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert list(cache.path(KEY).parent.iterdir()) == []
    assert not cache.has(KEY)


def test_verify_reports_tampered_missing_and_orphan_files(cache):
    cache.put("a/one.json", b"1", url="u")
    cache.put("a/two.json", b"2", url="u")
    cache.put("a/three.json", b"3", url="u")
    cache.path("a/one.json").write_bytes(b"9")  # same size, other bytes
    cache.path("a/two.json").write_bytes(b"22")
    cache.path("a/three.json").unlink()
    cache.path("a/orphan.json").write_bytes(b"x")
    problems = {p.key: p.reason for p in cache.verify()}
    assert set(problems) == {"a/one.json", "a/two.json", "a/three.json", "a/orphan.json"}
    assert "sha256" in problems["a/one.json"] and "size" in problems["a/two.json"]
    assert problems["a/three.json"] == "file missing"
    assert problems["a/orphan.json"] == "no readable sidecar"


def test_conditional_fetch_gives_304_and_does_not_rewrite(server, cache, client):
    first = fetch_to_cache(client, cache, KEY, server.url + PATH, validate=as_list)
    assert first.status == FETCHED and first.previous_sha256 is None
    stat = cache.path(KEY).stat()
    second = fetch_to_cache(client, cache, KEY, server.url + PATH, validate=as_list)
    assert second.status == NOT_MODIFIED and second.sha256 == first.sha256
    assert server.requests[-1].headers["if-none-match"] == cache.entry(KEY).etag
    after = cache.path(KEY).stat()
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_same_bytes_without_validators_are_not_rewritten(server, cache, client):
    fetch_to_cache(client, cache, KEY, server.url + PATH, conditional=False)
    stat = cache.path(KEY).stat()
    again = fetch_to_cache(client, cache, KEY, server.url + PATH, conditional=False)
    assert again.status == NOT_MODIFIED
    assert "if-none-match" not in server.requests[-1].headers
    assert cache.path(KEY).stat().st_ino == stat.st_ino


def test_truncated_or_invalid_body_never_reaches_the_cache(server, cache, client):
    server.fault(PATH, TRUNCATE, times=None)
    failed = fetch_to_cache(client, cache, KEY, server.url + PATH, validate=as_list)
    assert failed.status == FAILED and "truncated" in failed.error and failed.attempts == 3
    assert not cache.path(KEY).parent.exists() or list(cache.path(KEY).parent.iterdir()) == []
    server.clear_faults()
    good = fetch_to_cache(client, cache, KEY, server.url + PATH, validate=as_list)
    server.set_file(PATH, json.dumps([4, 5, 6]).encode(), "application/json")
    server.fault(PATH, INVALID_JSON, times=None)
    kept = fetch_to_cache(client, cache, KEY, server.url + PATH, validate=as_list)
    assert kept.status == FAILED and "not valid JSON" in kept.error
    assert kept.sha256 == good.sha256 and kept.path == cache.path(KEY)
    assert cache.read(KEY) == b"[1, 2, 3]" and cache.verify() == []


def test_a_corrupt_cached_copy_is_refetched_unconditionally(server, cache, client):
    fetch_to_cache(client, cache, KEY, server.url + PATH)
    cache.path(KEY).write_bytes(b"[9, 9, 9]")
    repaired = fetch_to_cache(client, cache, KEY, server.url + PATH)
    assert "if-none-match" not in server.requests[-1].headers
    assert repaired.status == FETCHED and cache.verify() == []


def _archive_bytes() -> tuple[bytes, int]:
    rows = [row(), row(gender="Female"), row(latitude="", longitude="")]
    files = {
        ("testshire", "2023-01"): csv_bytes(rows),
        ("testshire", "2023-02"): csv_bytes(rows[:2]),
        ("otherton", "2023-01"): csv_bytes(rows[:1]),
    }
    return archive_zip(files), 5


def test_archive_downloads_once_then_uses_the_cache(server, cache, client):
    data, testshire_rows = _archive_bytes()
    server.set_archive("2023-02", data)
    archive = PoliceArchive(client, base_url=server.url)
    first = fetch_archive(archive, cache, date(2023, 2, 1))
    assert first.status == FETCHED and cache.read(archive_key(date(2023, 2, 1))) == data
    assert fetch_archive(archive, cache, date(2023, 2, 1)).status == CACHED
    assert server.hits("/data/archive/2023-02.zip") == 1
    refreshed = fetch_archive(archive, cache, date(2023, 2, 1), refresh=True)
    assert refreshed.status == NOT_MODIFIED
    path = cache.path(archive_key(date(2023, 2, 1)))
    assert len(stop_and_search_members(path, "testshire")) == 2
    con = connect(":memory:")
    report = ingest_paths(con, [path])
    assert report.rows_loaded == testshire_rows + 1


def test_truncated_archive_is_retried_and_never_half_written(server, cache, client):
    data, _ = _archive_bytes()
    server.set_archive("2023-03", data)
    server.fault("/data/archive/2023-03.zip", TRUNCATE, times=None)
    archive = PoliceArchive(client, base_url=server.url)
    failed = fetch_archive(archive, cache, date(2023, 3, 1))
    assert failed.status == FAILED and failed.attempts == 3
    folder = cache.path(archive_key(date(2023, 3, 1))).parent
    assert list(folder.iterdir()) == []  # no temp file left behind
    server.clear_faults()
    server.fault("/data/archive/2023-03.zip", SERVER_ERROR)
    ok = fetch_archive(archive, cache, "2023-03")
    assert ok.status == FETCHED and ok.attempts == 2 and ok.month == date(2023, 3, 1)
    assert cache.verify() == []
    with pytest.raises(ValueError):
        fetch_archive(archive, cache, "2023-13")


def test_ons_geojson_is_fetched_once_and_rehomed_to_the_test_server(server, cache, client):
    collection = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": 1}]}
    query = "/arcgis/rest/services/WD23/FeatureServer/0/query"
    server.set_file(query, json.dumps(collection).encode(), "application/geo+json")
    source = UrlSource(client, base_url=server.url)
    url = f"https://services1.arcgis.com{query}?where=1%3D1&outFields=*&f=geojson"
    first = fetch_ons(source, cache, "wards-2023", url)
    assert first.status == FETCHED and first.key == "ons/wards-2023.geojson"
    assert server.requests[-1].query["f"] == "geojson"
    assert fetch_ons(source, cache, "wards-2023", url).status == CACHED
    assert server.hits(query) == 1
    assert fetch_ons(source, cache, "wards-2023", url, refresh=True).status == NOT_MODIFIED


def test_ons_geojson_pages_past_the_transfer_limit(server, cache, client):
    features = [{"type": "Feature", "id": n} for n in range(5)]

    def page(query):
        offset = int(query.get("resultOffset", 0))
        chunk = features[offset : offset + 2]
        body = {"type": "FeatureCollection", "features": chunk}
        if offset + 2 < len(features):
            body["properties"] = {"exceededTransferLimit": True}
        return json.dumps(body).encode()

    server.set_file("/q", page, "application/geo+json")
    result = fetch_ons(
        UrlSource(client, base_url=server.url), cache, "lsoa", "https://x/q?f=geojson"
    )
    assert result.status == FETCHED and result.attempts == 3
    merged = json.loads(cache.read("ons/lsoa.geojson"))
    assert [f["id"] for f in merged["features"]] == [0, 1, 2, 3, 4]
    assert "exceededTransferLimit" not in json.dumps(merged)


def test_ons_census_csv_is_validated(server, cache, client):
    server.set_file("/census.csv", b"<html>Service unavailable</html>", "text/html")
    source = UrlSource(client, base_url=server.url)
    bad = fetch_ons(source, cache, "census", "https://www.nomisweb.co.uk/census.csv")
    assert bad.status == FAILED and "HTML" in bad.error and not cache.has("ons/census.csv")
    server.set_file("/census.csv", b"geography code,All\r\nE01,100\r\n", "text/csv")
    good = fetch_ons(source, cache, "census", "https://www.nomisweb.co.uk/census.csv")
    assert good.status == FETCHED and cache.read("ons/census.csv").startswith(b"geography")
