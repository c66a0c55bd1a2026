"""Shared fixtures: the real data folder (skipped when absent) and throwaway warehouses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from stopsearch.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
# The real public data: $STOPSEARCH_SHARED_DATA, else ../shared/data beside the repository (the
# committed manifest reads the same variable through its `data_root_env`, with the same default).
SHARED_DATA = Path(
    os.environ.get("STOPSEARCH_SHARED_DATA") or REPO.parent / "shared" / "data"
).resolve()
REAL_STOPS = SHARED_DATA / "police" / "stop-and-search" / "west-midlands"
REAL_MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"

# Property tests draw the same examples on every run (a fixed seed, no example database), so
# that they cannot pass on one run and fail on the next.
settings.register_profile("stopsearch", derandomize=True, database=None)
settings.load_profile("stopsearch")


def require_shared_data() -> Path:
    """The real data folder, or a clean skip when it (or any file the tests read) is absent."""
    if not REAL_STOPS.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set STOPSEARCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def shared_data() -> Path:
    """The real public data in ../shared/data; tests using it skip cleanly when it is absent."""
    return require_shared_data()


@pytest.fixture(scope="session")
def real_manifest() -> Path:
    """The committed West Midlands manifest, whose files resolve in SHARED_DATA."""
    from stopsearch.geography import load_manifest

    shared = require_shared_data()
    manifest = load_manifest(REAL_MANIFEST)  # the manifest must find the data the tests found
    assert manifest.root == shared, f"manifest reads {manifest.root}, tests read {shared}"
    return REAL_MANIFEST


@pytest.fixture(scope="session")
def real_warehouse_path(real_manifest, tmp_path_factory) -> Path:
    """A warehouse file with the 10 real months ingested, joined and its metrics built, once per
    session (open it read-only)."""
    from stopsearch.pipeline import prepare

    path = tmp_path_factory.mktemp("real-warehouse") / "real.duckdb"
    with connect(path) as connection:
        prepare(connection, [REAL_STOPS], real_manifest)
    return path


@pytest.fixture
def con():
    """A fresh in-memory warehouse at the current schema."""
    connection = connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The fictional demo dataset, generated once per test session."""
    from stopsearch.demo import generate_demo

    out = tmp_path_factory.mktemp("demo-data")
    generate_demo(out)
    return out


@pytest.fixture(scope="session")
def demo_warehouse_path(demo_dir, tmp_path_factory) -> Path:
    """A warehouse file with the demo ingested, joined and its metrics built (read it only)."""
    from stopsearch.pipeline import prepare

    path = tmp_path_factory.mktemp("demo-warehouse") / "demo.duckdb"
    with connect(path) as connection:
        prepare(connection, [demo_dir / "records"], demo_dir / "boundaries" / "manifest.toml")
    return path
