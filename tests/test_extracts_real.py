"""Real West Midlands data (../shared/data, skipped when absent): the export works end to end."""

from __future__ import annotations

import json

import geopandas as gpd
import pyarrow.parquet as pq
import pytest

from stopsearch.warehouse import connect
from tests.golden import golden
from tests.site_support import shared_real_export

pytestmark = pytest.mark.realdata


def test_real_export(real_warehouse_path, tmp_path_factory):
    folder, report = shared_real_export(real_warehouse_path, tmp_path_factory)
    with connect(real_warehouse_path, read_only=True) as con:
        records = con.execute("SELECT count(*) FROM searches").fetchone()[0]
    assert records == golden("rows")
    wards = gpd.read_parquet(folder / "wards.parquet")
    assert len(wards) == golden("wards")
    assert wards.code.is_unique and wards.geometry.notna().all()
    assert report.file("wards.parquet").rows == golden("wards")
    months = sorted((folder / "searches").glob("month=*/part-0.parquet"))
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in months) == records
    assert len(months) == len(report.months) == len({f.month for f in report.files} - {None})
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["demo"] is False and package["licenses"][0]["name"] == "OGL-UK-3.0"
    assert "Martin Chorley" in package["attribution"]
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "FICTIONAL" not in readme
    # No local-authority polygons in this manifest: their figures stay in metrics.parquet.
    assert not (folder / "local_authorities.parquet").exists()
    assert "No boundaries were loaded for: local authorities" in readme
