"""The publish job against a local fake data.police.uk: retries, reports, never a partial month."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from stopsearch.config import PublishConfig
from stopsearch.demo import generate_demo
from stopsearch.publish import EXIT_OK, EXIT_REJECTED, PublishError, run_publish
from stopsearch.release import current_release
from stopsearch.sources import PoliceAPI
from stopsearch.warehouse import connect
from tests.fake_police import (
    INVALID_JSON,
    RATE_LIMIT,
    SERVER_ERROR,
    TRUNCATE,
    FakePoliceServer,
    fast_client,
)

FORCE = "demoshire"


@pytest.fixture(scope="module")
def demo3(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo3")
    generate_demo(out, months=3)
    return out


def _months(folder: Path) -> dict[str, bytes]:
    return {
        p.name: next(p.glob("*.csv")).read_bytes() for p in sorted((folder / "records").iterdir())
    }


def _config(tmp_path: Path, demo3: Path) -> PublishConfig:
    return PublishConfig(
        demo=False,
        force=FORCE,
        months="all",
        police_api=True,
        cache=tmp_path / "cache",
        output=tmp_path / "site",
        warehouse=tmp_path / "w.duckdb",
        manifest=demo3 / "boundaries" / "manifest.toml",
    )


def _loaded(tmp_path: Path) -> dict[str, int]:
    with connect(tmp_path / "w.duckdb") as con:
        return dict(
            con.execute(
                "SELECT strftime(month, '%Y-%m'), rows_loaded FROM loads ORDER BY month"
            ).fetchall()
        )


def test_faults_are_retried_reported_and_a_failed_month_is_never_published(tmp_path, demo3):
    months = _months(demo3)
    names = list(months)
    with FakePoliceServer() as server:
        for month, data in months.items():
            server.set_month_csv(FORCE, month, data)
        server.fault(server.stops_path(FORCE, names[0]), RATE_LIMIT, retry_after=1)
        server.fault(server.stops_path(FORCE, names[1]), SERVER_ERROR, times=2)
        server.fault(server.stops_path(FORCE, names[2]), TRUNCATE, times=None)
        api = PoliceAPI(client=fast_client(), base_url=server.url)
        result = run_publish(_config(tmp_path, demo3), police_api=api)
        assert result.exit_code == EXIT_REJECTED
        lines = "\n".join(result.fetch_lines)
        assert f"{FORCE} {names[0]}: fetched (new) after 2 attempts" in lines
        assert f"{FORCE} {names[1]}: fetched (new) after 3 attempts" in lines
        assert f"{FORCE} {names[2]}: failed" in lines
        assert list(_loaded(tmp_path)) == names[:2]  # the truncated month is not in
        live = current_release(tmp_path / "site")
        assert live is not None
        # The month comes back, first with invalid JSON (retried), and is published next night.
        server.clear_faults()
        server.fault(server.stops_path(FORCE, names[2]), INVALID_JSON, times=1)
        again = run_publish(_config(tmp_path, demo3), police_api=api)
        assert again.exit_code == EXIT_OK
        assert again.changes == [f"new month: {FORCE} {names[2]}"]
        assert list(_loaded(tmp_path)) == names
        assert current_release(tmp_path / "site") != live


def test_a_month_that_disappears_and_comes_back_resupplied(tmp_path, demo3):
    months = _months(demo3)
    names = list(months)
    with FakePoliceServer() as server:
        for month, data in months.items():
            server.set_month_csv(FORCE, month, data)
        api = PoliceAPI(client=fast_client(), base_url=server.url)
        config = _config(tmp_path, demo3)
        assert run_publish(config, police_api=api).exit_code == EXIT_OK
        before = _loaded(tmp_path)
        server.withdraw_month(FORCE, names[1])
        gone = run_publish(config, police_api=api)
        assert f"{FORCE} {names[1]}: disappeared" in "\n".join(gone.fetch_lines)
        assert gone.changed is False  # kept as it was: absence is not a correction
        assert _loaded(tmp_path) == before
        lines = months[names[1]].split(b"\r\n")
        server.set_month_csv(FORCE, names[1], b"\r\n".join(lines[:-3] + [b""]))
        back = run_publish(config, police_api=api)
        assert back.changes == [f"re-supplied month: {FORCE} {names[1]} (figures recomputed)"]
        assert _loaded(tmp_path)[names[1]] == before[names[1]] - 2


def test_the_police_api_without_a_force_is_refused(tmp_path, demo3):
    """A configuration file must name a force with police_api; the command line may not: refused
    (it used to fetch nothing, then fail on a cache folder for a force called 'None')."""
    with FakePoliceServer() as server:
        api = PoliceAPI(client=fast_client(), base_url=server.url)
        config = replace(_config(tmp_path, demo3), force=None)
        with pytest.raises(PublishError, match="force is required with police_api"):
            run_publish(config, police_api=api)
        assert server.requests == []
    assert current_release(tmp_path / "site") is None
