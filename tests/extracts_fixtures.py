"""Shared fixtures of the extracts tests: one demo export per run, read-only warehouse.

Import the fixtures into a test module (`from tests.extracts_fixtures import demo_export,
warehouse  # noqa: F401`); the export itself runs once per test run, shared by xdist workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from stopsearch.outputs.extracts import ExportReport, export
from stopsearch.warehouse import connect
from tests.shared import build_once

AREA_STEMS = ("wards", "neighbourhoods", "priority_areas", "local_authorities")


@dataclass(frozen=True)
class DemoExport:
    """The downloads folder of a demo export and its report."""

    folder: Path
    report: ExportReport


@pytest.fixture(scope="session")
def demo_export(demo_warehouse_path, tmp_path_factory) -> DemoExport:
    """Export of the demo warehouse (record level, demo), run once per test run (read it only)."""

    def build(folder: Path) -> ExportReport:
        with connect(demo_warehouse_path, read_only=True) as con:
            return export(con, folder / "downloads", record_level=True, demo=True)

    folder, report = build_once(tmp_path_factory, "demo-export", build)
    return DemoExport(folder / "downloads", report)


@pytest.fixture(scope="module")
def warehouse(demo_warehouse_path):
    """A read-only connection to the demo warehouse (spatial loaded)."""
    con = connect(demo_warehouse_path, read_only=True)
    yield con
    con.close()


def month_files(folder: Path, kind: str = "parquet") -> list[Path]:
    """The record-level month files of a downloads folder (`kind` parquet or csv), by month."""
    top = "searches" if kind == "parquet" else "searches-csv"
    return sorted((folder / top).glob(f"month=*/part-0.{kind}"))


def read_records(folder: Path, columns: list[str] | None = None) -> pa.Table:
    """Every month's Parquet file read as one table (pyarrow.dataset; month from the files)."""
    return ds.dataset(folder / "searches", format="parquet").to_table(columns=columns)


def geo_metadata(path: Path) -> dict:
    """The `geo` key-value metadata of a Parquet file."""
    return json.loads(pq.read_schema(path).metadata[b"geo"])
