"""Shared fixtures: the real data folder (skipped when absent) and throwaway warehouses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stopsearch.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STOPSEARCH_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_STOPS = SHARED_DATA / "police" / "stop-and-search" / "west-midlands"


@pytest.fixture
def shared_data() -> Path:
    """The real public data in ../shared/data; tests using it skip cleanly when it is absent."""
    if not REAL_STOPS.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


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
