"""Shared fixtures: the real data folder (skipped when absent) and throwaway warehouses."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from stopsearch.warehouse import connect
from tests.shared import REAL_MANIFEST, REAL_STOPS, build_once, require_shared_data

# Property tests draw the same examples on every run (a fixed seed, no example database), so
# that they cannot pass on one run and fail on the next.
settings.register_profile("stopsearch", derandomize=True, database=None)
settings.load_profile("stopsearch")


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
    run (open it read-only)."""
    from stopsearch.pipeline import prepare

    def build(folder: Path) -> None:
        with connect(folder / "real.duckdb") as connection:
            prepare(connection, [REAL_STOPS], real_manifest)

    return build_once(tmp_path_factory, "real-warehouse", build)[0] / "real.duckdb"


@pytest.fixture
def con():
    """A fresh in-memory warehouse at the current schema."""
    connection = connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The fictional demo dataset, generated once per test run (read it only)."""
    from stopsearch.demo import generate_demo

    return build_once(tmp_path_factory, "demo-data", generate_demo)[0]


@pytest.fixture(scope="session")
def demo_warehouse_path(demo_dir, tmp_path_factory) -> Path:
    """A warehouse file with the demo ingested, joined and its metrics built (read it only)."""
    from stopsearch.pipeline import prepare

    def build(folder: Path) -> None:
        with connect(folder / "demo.duckdb") as connection:
            prepare(connection, [demo_dir / "records"], demo_dir / "boundaries" / "manifest.toml")

    return build_once(tmp_path_factory, "demo-warehouse", build)[0] / "demo.duckdb"


@pytest.fixture(scope="session")
def demo30_warehouse_path(tmp_path_factory) -> Path:
    """The demo over 30 months (three calendar years; the site's tests of a longer history),
    ingested, joined and its metrics built (read it only)."""
    from stopsearch.demo import generate_demo
    from stopsearch.pipeline import prepare

    def build(folder: Path) -> None:
        generate_demo(folder / "demo", months=30)
        with connect(folder / "demo.duckdb") as connection:
            demo = folder / "demo"
            prepare(connection, [demo / "records"], demo / "boundaries" / "manifest.toml")

    return build_once(tmp_path_factory, "demo30-warehouse", build)[0] / "demo.duckdb"


@pytest.fixture(scope="session")
def demo_confidential_warehouse_path(demo_dir, tmp_path_factory) -> Path:
    """The demo warehouse built as if its records were not public (``record_level = false``):
    small counts protected across the whole release (read it only)."""
    from stopsearch.pipeline import prepare
    from stopsearch.thresholds import ReleaseRules

    def build(folder: Path) -> None:
        with connect(folder / "demo.duckdb") as connection:
            prepare(
                connection,
                [demo_dir / "records"],
                demo_dir / "boundaries" / "manifest.toml",
                ReleaseRules(record_level=False),
            )

    return build_once(tmp_path_factory, "demo-confidential-warehouse", build)[0] / "demo.duckdb"


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium per test run (per xdist worker), shared by every browser
    test; skipped when chromium or playwright is missing."""
    from tests.site_support import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def demo_site_url(demo_warehouse_path, tmp_path_factory):
    """The shared demo site build (tests.site_support.shared_demo_site), served on 127.0.0.1."""
    from tests.site_support import serve, shared_demo_site

    out, _ = shared_demo_site(demo_warehouse_path, tmp_path_factory)
    with serve(out) as base:
        yield base
