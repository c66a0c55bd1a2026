"""Stable schemas: the columns of every extract are recorded in `schemas/*.json` (committed).

Changing a column (name, order or type) changes the published files for everyone who scripts
against them, so it needs a schema version bump: raise SCHEMA_VERSION, then re-record with

    python -m stopsearch.outputs.extracts

which refuses to overwrite a changed schema unless the version was raised. The test suite fails
while the recorded and live schemas differ.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from stopsearch.outputs.extracts.columns import (
    AREA_COLUMNS,
    METRIC_COLUMNS,
    SEARCH_COLUMNS,
    Column,
    csv_columns,
)

SCHEMA_VERSION = 4

# Recorded schema file -> the files it describes and their columns ("searches.parquet" and
# "searches.csv": every month's file, searches/month=YYYY-MM/part-0.parquet and the CSV twin;
# "metrics.parquet" and "metrics.csv": every period's file, metrics/<period>.parquet and
# metrics-csv/<period>.csv).
SCHEMA_FILES: dict[str, dict[str, tuple[Column, ...]]] = {
    "searches": {
        "searches.parquet": SEARCH_COLUMNS,
        "searches.csv": csv_columns(SEARCH_COLUMNS, wkt=False),
    },
    "metrics": {
        "metrics.parquet": METRIC_COLUMNS,
        "metrics.csv": csv_columns(METRIC_COLUMNS, wkt=False),
    },
    "areas": {
        "<layer>.parquet": AREA_COLUMNS,
        "<layer>.csv": csv_columns(AREA_COLUMNS, wkt=True),
    },
}


def _describe(columns: tuple[Column, ...], *, arrow: bool) -> list[dict[str, str]]:
    return [{"name": c.name, "type": str(c.arrow) if arrow else c.table_type} for c in columns]


def live_schemas() -> dict[str, dict]:
    """The schemas the code writes now: {schema file stem: {file: [{name, type}]}}."""
    return {
        stem: {
            name: _describe(columns, arrow=name.endswith(".parquet"))
            for name, columns in files.items()
        }
        for stem, files in SCHEMA_FILES.items()
    }


def schema_dir() -> Path:
    """Folder of the recorded schemas (inside the package)."""
    return Path(str(resources.files("stopsearch.outputs.extracts").joinpath("schemas")))


def recorded_schemas(folder: Path | None = None) -> dict[str, dict]:
    """The recorded schemas: {stem: {"schema_version": n, "files": {...}}}."""
    folder = folder or schema_dir()
    return {
        stem: json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
        for stem in SCHEMA_FILES
        if (folder / f"{stem}.json").exists()
    }


def record(folder: Path | None = None) -> list[str]:
    """Write the live schemas; refuses a changed schema whose version was not raised."""
    folder = folder or schema_dir()
    folder.mkdir(parents=True, exist_ok=True)
    recorded = recorded_schemas(folder)
    written = []
    for stem, files in live_schemas().items():
        entry = recorded.get(stem)
        if entry and entry["files"] != files and entry["schema_version"] >= SCHEMA_VERSION:
            raise SystemExit(
                f"{stem}: columns changed; raise SCHEMA_VERSION above"
                f" {entry['schema_version']} before recording"
            )
        payload = {"schema_version": SCHEMA_VERSION, "files": files}
        text = json.dumps(payload, indent=1) + "\n"
        target = folder / f"{stem}.json"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target.name)
    return written
