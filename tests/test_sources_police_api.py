"""data.police.uk API fetch: availability, months under faults, re-supply, ingest of the cache."""

from __future__ import annotations

import json
from datetime import date

import pytest

from stopsearch.ingest import ingest_paths
from stopsearch.sources import (
    DISAPPEARED,
    FAILED,
    FETCHED,
    NOT_MODIFIED,
    UNAVAILABLE,
    Cache,
    FetchError,
    PoliceAPI,
    available_months,
    fetch_force,
    fetch_neighbourhoods,
    fetch_stops,
    retry_policy,
)
from stopsearch.sources.cache import stops_folder_key, stops_key
from stopsearch.sources.police_api import parse_availability
from stopsearch.warehouse import connect
from tests.factories import csv_bytes, row, write_csv
from tests.fake_police import (
    HANG,
    INVALID_JSON,
    RATE_LIMIT,
    SERVER_ERROR,
    TRUNCATE,
    FakeClock,
    FakePoliceServer,
    csv_to_api_json,
    fast_client,
)

FORCE = "testshire"
JAN, FEB, MAR = date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)


def month_rows(n: int, month: date) -> list[dict[str, str]]:
    """n varied, valid CSV rows dated in `month`."""
    stamp = f"{month:%Y-%m}-05T14:32:00+00:00"
    variants = [
        row(date=stamp),
        row(date=stamp, type="Vehicle search", gender="", age_range="", self_defined_ethnicity=""),
        row(date=stamp, latitude="", longitude="", outcome="Arrest"),
        row(date=stamp, part_of_a_policing_operation="True", policing_operation="Op Test"),
        row(date=stamp, outcome_linked_to_object_of_search="", gender="Female"),
    ]
    return [variants[i % len(variants)] for i in range(n)]


@pytest.fixture
def server():
    with FakePoliceServer() as fake:
        for month, n in ((JAN, 7), (FEB, 5), (MAR, 4)):
            fake.set_month_csv(FORCE, month, csv_bytes(month_rows(n, month)))
        fake.set_month_csv("otherton", FEB, csv_bytes(month_rows(2, FEB)))
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(server, clock) -> PoliceAPI:
    return PoliceAPI(fast_client(clock, retry=retry_policy(3)), base_url=server.url)


@pytest.fixture
def cache(tmp_path) -> Cache:
    return Cache(tmp_path / "cache")


def test_csv_rows_render_as_api_records():
    records = csv_to_api_json(csv_bytes(month_rows(5, JAN)))
    person, vehicle, no_location, operation, unlinked = records
    assert person["involved_person"] is True and person["type"] == "Person search"
    assert person["outcome_object"] == {
        "id": "bu-no-further-action",
        "name": "A no further action disposal",
    }
    assert person["location"]["latitude"] == "52.480000"
    assert set(person["location"]["street"]) == {"id", "name"}
    assert person["outcome_linked_to_object_of_search"] is False
    assert person["removal_of_more_than_outer_clothing"] is False
    assert person["operation"] is None and person["operation_name"] is None
    assert person["datetime"] == "2023-01-05T14:32:00+00:00"
    assert vehicle["involved_person"] is False and vehicle["gender"] is None
    assert vehicle["age_range"] is None and vehicle["self_defined_ethnicity"] is None
    assert no_location["location"] is None and no_location["outcome_object"]["id"] == "bu-arrest"
    assert operation["operation"] is True and operation["operation_name"] == "Op Test"
    assert unlinked["outcome_linked_to_object_of_search"] is None
    assert len(person) == 16


def test_availability_lists_months_per_force(api):
    assert available_months(api, FORCE) == [JAN, FEB, MAR]
    assert available_months(api, "otherton") == [FEB]
    assert available_months(api, "nowhere") == []
    payload = [{"date": "2023-04", "stop-and-search": [{"id": "a"}, "b"]}, {"date": "2023-05"}]
    assert parse_availability(payload) == {
        date(2023, 4, 1): frozenset({"a", "b"}),
        date(2023, 5, 1): frozenset(),
    }
    with pytest.raises(ValueError):
        parse_availability([{"date": "2023-13", "stop-and-search": []}])
    with pytest.raises(ValueError, match="format changed"):
        parse_availability([{"date": "2023-04", "stops": ["a"]}])


def test_fetch_stops_writes_the_ingest_file_name(api, cache, server):
    result = fetch_stops(api, cache, FORCE, FEB)
    assert result.status == FETCHED and result.month == FEB and result.attempts == 1
    assert result.path.name == "2023-02-testshire-stop-and-search.json"
    assert result.path == cache.path(stops_key(FORCE, FEB))
    assert len(json.loads(result.path.read_bytes())) == 5
    assert server.requests[-1].query == {"force": FORCE, "date": "2023-02"}


def test_fetch_force_latest_all_and_listed_months(api, cache):
    latest = fetch_force(api, cache, FORCE)
    assert [(r.month, r.status) for r in latest.results] == [(MAR, FETCHED)]
    listed = fetch_force(api, cache, FORCE, ["2023-01", MAR, "2022-12"])
    assert [(r.month, r.status) for r in listed.results] == [
        (date(2022, 12, 1), UNAVAILABLE),
        (JAN, FETCHED),
        (MAR, NOT_MODIFIED),
    ]
    everything = fetch_force(api, cache, FORCE, "all")
    assert [r.status for r in everything.results] == [NOT_MODIFIED, FETCHED, NOT_MODIFIED]
    assert everything.ok and everything.available == [JAN, FEB, MAR]
    with pytest.raises(ValueError):
        fetch_force(api, cache, FORCE, "newest")  # type: ignore[arg-type]


def test_every_fault_is_retried_and_reported(api, cache, server, clock):
    server.fault("/api/crimes-street-dates", SERVER_ERROR)
    server.fault(server.stops_path(FORCE, JAN), RATE_LIMIT, retry_after="3")
    server.fault(server.stops_path(FORCE, JAN), TRUNCATE)
    server.fault(server.stops_path(FORCE, FEB), INVALID_JSON)
    server.fault(server.stops_path(FORCE, MAR), SERVER_ERROR, times=2)
    report = fetch_force(api, cache, FORCE, "all")
    assert [r.status for r in report.results] == [FETCHED, FETCHED, FETCHED] and report.ok
    assert [r.attempts for r in report.results] == [3, 2, 3]
    assert "HTTP 429" in report.results[0].failures[0]
    assert "truncated" in report.results[0].failures[1]
    assert "not valid JSON" in report.results[1].failures[0]
    assert 3.0 in clock.sleeps
    assert "after 3 attempts" in report.lines()[0]
    assert cache.verify() == []


def test_a_failed_month_keeps_its_previous_version_and_is_reported(api, cache, server):
    fetch_force(api, cache, FORCE, "all")
    before = cache.entry(stops_key(FORCE, FEB))
    server.set_month_csv(FORCE, FEB, csv_bytes(month_rows(9, FEB)))  # a re-supply...
    server.fault(server.stops_path(FORCE, FEB), TRUNCATE, times=None)  # ...that never arrives
    report = fetch_force(api, cache, FORCE, "all")
    failed = report.failed
    assert not report.ok and [r.month for r in failed] == [FEB]
    assert failed[0].attempts == 3 and "truncated" in failed[0].error
    assert failed[0].sha256 == before.sha256 and failed[0].path == cache.path(before.key)
    assert cache.entry(before.key) == before and cache.verify() == []
    assert len(json.loads(cache.read(before.key))) == 5  # the old, complete month
    line = next(x for x in report.lines() if "2023-02" in x)
    assert line.startswith("testshire 2023-02: failed: ") and "after 3 attempts" in line
    folder = cache.path(stops_folder_key(FORCE))
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no partial temp file


def test_hung_connection_fails_the_month_only(server, cache, clock):
    client = fast_client(clock, timeout=0.5, retry=retry_policy(2))
    api = PoliceAPI(client, base_url=server.url)
    server.fault(server.stops_path(FORCE, MAR), HANG, times=None, hang=10)
    report = fetch_force(api, cache, FORCE, [FEB, MAR])
    assert [(r.month, r.status) for r in report.results] == [(FEB, FETCHED), (MAR, FAILED)]
    assert "timed out after 0.5 s" in report.results[1].error
    assert not cache.has(stops_key(FORCE, MAR))


def test_unreachable_availability_raises(api, cache, server):
    server.fault("/api/crimes-street-dates", SERVER_ERROR, times=None)
    with pytest.raises(FetchError, match="crimes-street-dates"):
        fetch_force(api, cache, FORCE)


def test_a_month_that_disappears_is_kept_then_resupplied_with_a_new_checksum(api, cache, server):
    first = fetch_force(api, cache, FORCE, "all")
    old_sha = first.results[1].sha256
    server.withdraw_month(FORCE, FEB)
    gone = fetch_force(api, cache, FORCE, "all")
    assert [(r.month, r.status) for r in gone.results] == [
        (JAN, NOT_MODIFIED),
        (FEB, DISAPPEARED),
        (MAR, NOT_MODIFIED),
    ]
    assert gone.disappeared[0].sha256 == old_sha and cache.is_intact(stops_key(FORCE, FEB))
    assert gone.ok and server.hits(server.stops_path(FORCE, FEB)) == 1
    server.set_month_csv(FORCE, FEB, csv_bytes(month_rows(6, FEB)))
    back = fetch_force(api, cache, FORCE, "all")
    feb = back.results[1]
    assert feb.status == FETCHED and feb.resupplied
    assert feb.previous_sha256 == old_sha and feb.sha256 != old_sha
    assert cache.entry(stops_key(FORCE, FEB)).sha256 == feb.sha256
    assert "(re-supplied)" in back.lines()[1]


def test_fetched_json_ingests_with_the_csv_row_counts(api, cache, tmp_path):
    fetch_force(api, cache, FORCE, "all")
    fetch_force(api, cache, "otherton", "all")
    con = connect(":memory:")
    report = ingest_paths(con, [cache.root])
    assert report.rows_rejected == 0 and report.count("new") == 4
    counts = dict(
        con.execute(
            "SELECT strftime(month, '%Y-%m') || ' ' || force, count(*) FROM searches GROUP BY ALL"
        ).fetchall()
    )
    assert counts == {
        "2023-01 testshire": 7,
        "2023-02 testshire": 5,
        "2023-03 testshire": 4,
        "2023-02 otherton": 2,
    }
    con.close()


def test_api_json_ingests_like_the_csv_it_was_rendered_from(api, cache, tmp_path):
    fetch_stops(api, cache, FORCE, JAN)
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    write_csv(csv_folder, month_rows(7, JAN), month="2023-01", force=FORCE)
    columns = (
        "datetime, type, is_person_search, part_of_operation, operation_name, latitude,"
        " longitude, gender, age_range, self_defined_ethnicity, officer_defined_ethnicity,"
        " legislation, object_of_search, outcome_raw, outcome_class, outcome_linked,"
        " removal_more_than_outer"
    )
    tables = []
    for folder in (cache.path(stops_folder_key()), csv_folder):
        con = connect(":memory:")
        ingest_paths(con, [folder])
        tables.append(
            con.execute(f"SELECT {columns} FROM searches ORDER BY source_line").fetchall()
        )
        con.close()
    assert tables[0] == tables[1] and len(tables[0]) == 7


def test_neighbourhoods_and_boundaries(api, cache, server):
    square = [
        {"latitude": "52.1", "longitude": "-1.1"},
        {"latitude": "52.2", "longitude": "-1.1"},
        {"latitude": "52.2", "longitude": "-1.2"},
    ]
    server.set_neighbourhoods(FORCE, {"N1": square, "55.CR3001": square}, {"N1": "North"})
    server.fault(f"/api/{FORCE}/N1/boundary", SERVER_ERROR)
    report = fetch_neighbourhoods(api, cache, FORCE)
    assert report.ids == ["N1", "55.CR3001"] and report.ok
    assert [r.status for r in report.boundaries] == [FETCHED, FETCHED]
    assert report.boundaries[0].attempts == 2
    folder = cache.path(f"neighbourhoods/{FORCE}")
    assert sorted(p.name for p in folder.glob("*.json")) == ["55.CR3001.json", "N1.json"]
    assert json.loads((folder / "N1.json").read_text()) == square
    names = json.loads(cache.read(f"neighbourhoods/{FORCE}.json"))
    assert names[0] == {"id": "N1", "name": "North"}

    server.set_neighbourhoods(FORCE, {"N1": square})
    again = fetch_neighbourhoods(api, cache, FORCE)
    assert again.disappeared == ["55.CR3001"] and (folder / "55.CR3001.json").exists()
    assert [r.status for r in again.boundaries] == [NOT_MODIFIED]
    pruned = fetch_neighbourhoods(api, cache, FORCE, prune=True)
    assert pruned.disappeared == ["55.CR3001"] and not (folder / "55.CR3001.json").exists()


def test_neighbourhood_boundary_that_stays_broken_is_reported(api, cache, server):
    server.set_neighbourhoods(FORCE, {"N1": [{"latitude": "1", "longitude": "2"}]})
    server.fault(f"/api/{FORCE}/N1/boundary", INVALID_JSON, times=None)
    report = fetch_neighbourhoods(api, cache, FORCE)
    assert not report.ok and report.failed[0].status == FAILED
    assert not cache.has(f"neighbourhoods/{FORCE}/N1.json")
    server.fault(f"/api/{FORCE}/neighbourhoods", SERVER_ERROR, times=None)
    with pytest.raises(FetchError):
        fetch_neighbourhoods(api, cache, FORCE, conditional=False)
