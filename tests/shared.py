"""What several test modules share: where the real data are, and builds made once per run."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
# The real public data: $STOPSEARCH_SHARED_DATA, else ../shared/data beside the repository (the
# committed manifest reads the same variable through its `data_root_env`, with the same default).
SHARED_DATA = Path(
    os.environ.get("STOPSEARCH_SHARED_DATA") or REPO.parent / "shared" / "data"
).resolve()
REAL_STOPS = SHARED_DATA / "police" / "stop-and-search" / "west-midlands"
REAL_MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"


def build_once(tmp_path_factory, name: str, build: Callable[[Path], Any]) -> tuple[Path, Any]:
    """`build(folder)` once per test run, shared by all pytest-xdist workers; returns the folder
    and what `build` returned (pickled beside it). Readers must not change the folder (copy it).

    The first worker to get here builds under a file lock while the others wait for it, so an
    expensive setup costs one build, not one per worker.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    folder, done = base / f"shared-{name}", base / f"shared-{name}.pickle"
    with (base / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            done.write_bytes(pickle.dumps(build(folder)))
    return folder, pickle.loads(done.read_bytes())


def require_shared_data() -> Path:
    """The real data folder, or a clean skip when it (or any file the tests read) is absent."""
    if not REAL_STOPS.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set STOPSEARCH_SHARED_DATA)")
    return SHARED_DATA
