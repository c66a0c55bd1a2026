"""Real West Midlands data (../shared/data, skipped when absent): the export works end to end."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pytest

from stopsearch.outputs.extracts import export
from stopsearch.pipeline import prepare
from stopsearch.warehouse import connect

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.realdata


def test_real_export(shared_data, tmp_path):
    folder = tmp_path / "downloads"
    with connect(tmp_path / "real.duckdb") as con:
        prepare(
            con,
            [shared_data / "police" / "stop-and-search" / "west-midlands"],
            REPO / "boundaries" / "west-midlands-2013.toml",
        )
        records = con.execute("SELECT count(*) FROM searches").fetchone()[0]
        report = export(con, folder, record_level=True, demo=False)
    wards = gpd.read_parquet(folder / "wards.parquet")
    assert len(wards) == 163
    assert wards.code.is_unique and wards.geometry.notna().all()
    assert report.file("wards.parquet").rows == 163
    assert pq.ParquetFile(folder / "searches.parquet").metadata.num_rows == records
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["demo"] is False and package["licenses"][0]["name"] == "OGL-UK-3.0"
    assert "Martin Chorley" in package["attribution"]
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "FICTIONAL" not in readme
    # No local-authority polygons in this manifest: their figures stay in metrics.parquet.
    assert not (folder / "local_authorities.parquet").exists()
    assert "No boundaries were loaded for: local authorities" in readme
