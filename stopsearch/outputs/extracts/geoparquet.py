"""GeoParquet 1.1 writing with pyarrow: `geo` metadata, bbox covering, zstd, fixed row groups.

DuckDB's own Parquet writer records no covering, so geopandas cannot filter its output by bbox;
writing with pyarrow lets us declare the covering and the geometry types. No `crs` is written:
GeoParquet's default is OGC:CRS84 (WGS 84, longitude first), which is what the extracts hold, and
the metadata then never depends on the installed PROJ version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stopsearch.outputs.extracts.columns import BBOX, GEOMETRY

GEOPARQUET_VERSION = "1.1.0"
ROW_GROUP_SIZE = 100_000
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 6

Bounds = tuple[float, float, float, float]


def geo_metadata(geometry_types: Sequence[str], bbox: Bounds | None) -> dict:
    """The GeoParquet 1.1 `geo` metadata for one WKB column with a bbox covering column."""
    column: dict = {
        "encoding": "WKB",
        "geometry_types": sorted(set(geometry_types)),
        "edges": "planar",
        "covering": {
            "bbox": {
                "xmin": [BBOX, "xmin"],
                "ymin": [BBOX, "ymin"],
                "xmax": [BBOX, "xmax"],
                "ymax": [BBOX, "ymax"],
            }
        },
    }
    if bbox is not None:
        column["bbox"] = [float(v) for v in bbox]
    return {
        "version": GEOPARQUET_VERSION,
        "primary_column": GEOMETRY,
        "columns": {GEOMETRY: column},
    }


def write_parquet(
    table: pa.Table,
    path: Path,
    *,
    geo: dict | None = None,
    row_group_size: int = ROW_GROUP_SIZE,
) -> None:
    """Write `table` with zstd and fixed-size row groups; `geo` becomes the `geo` metadata."""
    metadata = dict(table.schema.metadata or {})
    if geo is not None:
        metadata[b"geo"] = json.dumps(geo, separators=(",", ":")).encode()
    table = table.replace_schema_metadata(metadata or None)
    pq.write_table(
        table,
        path,
        row_group_size=row_group_size,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        write_statistics=True,
    )
