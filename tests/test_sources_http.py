"""HTTP client: rate limit, retries, backoff, timeouts, truncation, validation, conditional GET."""

from __future__ import annotations

import email.utils
import json
import socket
import time

import pytest

from stopsearch import __version__
from stopsearch.errors import StopsearchError
from stopsearch.sources import FetchError, PoliceAPI, Source, TokenBucket, retry_policy
from stopsearch.sources.base import join_url
from stopsearch.sources.fetch import json_validator
from stopsearch.sources.http import USER_AGENT, HttpClient
from tests.fake_police import (
    HANG,
    INVALID_JSON,
    RATE_LIMIT,
    RESET,
    SERVER_ERROR,
    TRUNCATE,
    FakeClock,
    FakePoliceServer,
    fast_client,
)

PATH = "/data/thing.json"
BODY = json.dumps([{"n": i, "text": "x" * 50} for i in range(200)]).encode()
as_list = json_validator(list, dict)


@pytest.fixture
def server():
    with FakePoliceServer() as fake:
        fake.set_file(PATH, BODY, "application/json")
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_token_bucket_60_requests_at_15_per_second_burst_30_take_2_seconds():
    clock = FakeClock()
    bucket = TokenBucket(15, 30, clock=clock.monotonic, sleep=clock.sleep)
    start = clock.now
    waits = [bucket.acquire() for _ in range(60)]
    assert waits[:30] == [0.0] * 30  # the burst goes at once
    assert all(w == pytest.approx(1 / 15) for w in waits[30:])
    assert clock.now - start >= 2.0 - 1e-9


def test_token_bucket_refills_while_idle():
    clock = FakeClock()
    bucket = TokenBucket(10, 5, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(5):
        bucket.acquire()
    clock.now += 0.3  # three tokens back
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire() == pytest.approx(0.1)
    with pytest.raises(ValueError):
        TokenBucket(0, 1)


def test_every_attempt_goes_through_the_rate_limiter(server, clock):
    class Counting(TokenBucket):
        calls = 0

        def acquire(self) -> float:
            Counting.calls += 1
            return super().acquire()

    limiter = Counting(2, 1, clock=clock.monotonic, sleep=clock.sleep)
    policy = retry_policy(backoff_factor=0.01, jitter=0.0)
    client = HttpClient(
        limiter=limiter, retry=policy, sleep=clock.sleep, use_env_proxies=False, timeout=2
    )
    server.fault(PATH, SERVER_ERROR, times=2)
    client.get(server.url + PATH)
    assert Counting.calls == client.requests_made == server.hits(PATH) == 3
    # No backoff after the first failure (urllib3), a rate wait, 2 x 0.01 backoff, a rate wait.
    assert clock.sleeps == pytest.approx([0.5, 0.02, 0.48])


def test_backoff_is_exponential_with_bounded_jitter_and_capped():
    retry = retry_policy(10, backoff_factor=1.0, backoff_max=8.0, jitter=0.5)
    for failures in range(1, 8):
        retry = retry.increment("GET", "http://x/", error=ConnectionError("down"))
        nominal = 0.0 if failures == 1 else min(8.0, 2.0 ** (failures - 1))
        assert nominal <= retry.get_backoff_time() <= min(8.0, nominal + 0.5)
    retry = retry_policy(10, backoff_factor=0.5, jitter=0.0)
    waits = []
    for _ in range(4):
        retry = retry.increment("GET", "http://x/", error=ConnectionError("down"))
        waits.append(retry.get_backoff_time())
    assert waits == [0.0, 1.0, 2.0, 4.0]


def test_unreadable_or_past_retry_after_falls_back_to_backoff(server, clock):
    server.fault(PATH, RATE_LIMIT, times=2, retry_after="soon")
    client = fast_client(clock, retry=retry_policy(backoff_factor=1.0, jitter=0.0))
    assert client.get(server.url + PATH).attempts == 3
    assert clock.sleeps == [2.0]  # the backoff: nothing after the 1st failure, 2 s after the 2nd
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    server.fault(PATH, RATE_LIMIT, times=2, retry_after=past)
    clock.sleeps.clear()
    assert client.get(server.url + PATH).attempts == 3
    assert clock.sleeps == [2.0]


def test_429_honours_retry_after_seconds(server, clock):
    server.fault(PATH, RATE_LIMIT, times=2, retry_after="7")
    response = fast_client(clock).get(server.url + PATH)
    assert response.body == BODY
    assert response.attempts == 3
    assert len(response.failures) == 2 and "HTTP 429" in response.failures[0]
    assert clock.sleeps.count(7.0) == 2
    assert server.hits(PATH) == 3


def test_429_honours_retry_after_http_date(server, clock):
    when = email.utils.formatdate(time.time() + 20, usegmt=True)  # urllib3 reads the real clock
    server.fault(PATH, RATE_LIMIT, retry_after=when)
    fast_client(clock).get(server.url + PATH)
    assert any(s == pytest.approx(20, abs=2) for s in clock.sleeps)


def test_retry_after_is_capped(server, clock):
    server.fault(PATH, RATE_LIMIT, retry_after="86400")
    client = fast_client(clock, retry=retry_policy(3, jitter=0.0), retry_after_max=30)
    client.get(server.url + PATH)
    assert 30.0 in clock.sleeps and max(clock.sleeps) == 30.0


def test_429_without_retry_after_backs_off(server, clock):
    server.fault(PATH, RATE_LIMIT, times=2)
    client = fast_client(clock, retry=retry_policy(backoff_factor=2.0, jitter=0.5))
    assert client.get(server.url + PATH).attempts == 3
    assert len(clock.sleeps) == 1 and 4.0 <= clock.sleeps[0] <= 4.5


def test_500_three_times_then_ok_backs_off_exponentially(server, clock):
    server.fault(PATH, SERVER_ERROR, times=3)
    policy = retry_policy(5, backoff_factor=1.0, jitter=0.5)
    response = fast_client(clock, retry=policy).get(server.url + PATH)
    assert response.attempts == 4 and response.status == 200
    assert len(clock.sleeps) == 2  # none after the 1st failure, then 2 s and 4 s (+ jitter)
    for n, wait in enumerate(clock.sleeps, start=1):
        assert 2**n <= wait <= 2**n + 0.5


def test_persistent_5xx_gives_up_with_every_failure_listed(server, clock):
    server.fault(PATH, SERVER_ERROR, times=None, status=503)
    client = fast_client(clock, retry=retry_policy(4))
    with pytest.raises(FetchError) as caught:
        client.get(server.url + PATH)
    error = caught.value
    assert isinstance(error, OSError) and isinstance(error, StopsearchError)
    assert error.status == 503 and len(error.failures) == 4
    assert "failed after 4 attempts" in str(error) and "HTTP 503" in str(error)
    assert server.hits(PATH) == 4
    assert len(clock.sleeps) == 2  # 2 s and 4 s: none after the 1st failure nor the last


def test_404_is_not_retried(server, clock):
    with pytest.raises(FetchError) as caught:
        fast_client(clock).get(server.url + "/nothing-here")
    assert caught.value.status == 404
    assert server.hits("/nothing-here") == 1 and clock.sleeps == []


def test_hung_connection_times_out_and_is_retried(server, clock):
    """The server holds the first answer back far longer than the client's timeout: only a
    client that gave up on it (and retried) gets the body on its second attempt."""
    server.fault(PATH, HANG, hang=60)
    response = fast_client(clock, timeout=0.5).get(server.url + PATH)
    assert response.body == BODY and response.attempts == 2
    assert "timed out after 0.5 s" in response.failures[0]
    assert server.hits(PATH) == 2


def test_truncated_body_is_a_failed_attempt(server, clock):
    server.fault(PATH, TRUNCATE, times=2)
    response = fast_client(clock).get(server.url + PATH)
    assert response.body == BODY and response.attempts == 3
    assert "truncated" in response.failures[0]


def test_always_truncated_body_raises(server, clock):
    server.fault(PATH, TRUNCATE, times=None)
    with pytest.raises(FetchError, match="truncated"):
        fast_client(clock).get(server.url + PATH)


def test_invalid_json_fails_the_validator_and_is_retried(server, clock):
    server.fault(PATH, INVALID_JSON)
    response = fast_client(clock).get(server.url + PATH, validate=as_list)
    assert response.attempts == 2 and "not valid JSON" in response.failures[0]
    assert json.loads(response.body)[0]["n"] == 0


def test_validator_rejects_wrong_shape():
    with pytest.raises(ValueError, match="expected a JSON list"):
        as_list(b'{"a": 1}')
    with pytest.raises(ValueError, match="element 1"):
        as_list(b'[{"a": 1}, 2]')
    with pytest.raises(ValueError, match="lacks"):
        json_validator(list, dict, ("id",))(b'[{"name": "x"}]')


def test_connection_reset_and_refused_are_retried(server, clock):
    server.fault(PATH, RESET)
    assert fast_client(clock).get(server.url + PATH).attempts == 2
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match="connection failed"):
        fast_client(clock).get(f"http://127.0.0.1:{port}/x")


def test_conditional_get_by_etag_and_by_last_modified(server, clock):
    client = fast_client(clock)
    first = client.get(server.url + PATH)
    assert first.status == 200 and first.etag and first.last_modified
    again = client.get(server.url + PATH, etag=first.etag)
    assert again.not_modified and again.body == b"" and again.sha256 is None
    by_date = client.get(server.url + PATH, last_modified=first.last_modified)
    assert by_date.not_modified
    seen = server.requests[-1].headers
    assert seen["if-modified-since"] == first.last_modified
    server.set_file(PATH, BODY + b" ", "application/json")
    changed = client.get(server.url + PATH, etag=first.etag, last_modified=first.last_modified)
    assert changed.status == 200 and changed.sha256 != first.sha256


def test_user_agent_names_the_project_and_version(server, clock):
    fast_client(clock).get(server.url + PATH)
    agent = server.requests[-1].headers["user-agent"]
    assert agent == USER_AGENT and agent.startswith(f"stopsearch/{__version__} (+https://")


def test_gzip_bodies_are_decoded_and_hashed_decoded(clock):
    with FakePoliceServer(gzip_json=True) as fake:
        fake.set_file(PATH, BODY, "application/json")
        response = fast_client(clock).get(fake.url + PATH, validate=as_list)
    assert response.body == BODY
    assert response.size == len(BODY)


def test_download_streams_to_file_and_retries_truncation(server, clock, tmp_path):
    server.fault(PATH, TRUNCATE)
    dest = tmp_path / "thing.json"
    response = fast_client(clock).download(server.url + PATH, dest)
    assert dest.read_bytes() == BODY and response.body == b""
    assert response.attempts == 2 and response.size == len(BODY)


def test_sources_share_a_base_url_that_can_point_anywhere(server, clock):
    api = PoliceAPI(fast_client(clock), base_url=server.url)
    assert isinstance(api, Source)
    assert api.url("/api/stops-force", {"force": "a-b", "date": "2023-01"}) == (
        f"{server.url}/api/stops-force?force=a-b&date=2023-01"
    )
    assert PoliceAPI(HttpClient()).base_url == "https://data.police.uk"
    rehomed = join_url("http://127.0.0.1:9", "https://example.org/arcgis/query?where=1%3D1")
    assert rehomed == "http://127.0.0.1:9/arcgis/query?where=1%3D1"
