"""GeoParquet 1.1 writing with pyarrow: `geo` metadata, bbox covering, zstd, fixed row groups.

DuckDB's own Parquet writer records no covering, so geopandas cannot filter its output by bbox;
writing with pyarrow lets us declare the covering, the CRS as PROJJSON and the geometry types.
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

# OGC:CRS84 (WGS 84, longitude first) as PROJJSON, fixed here so the bytes never depend on the
# installed PROJ version. Equivalent to EPSG:4326 with lon/lat axis order.
CRS84_PROJJSON: dict = {
    "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
    "type": "GeographicCRS",
    "name": "WGS 84 (CRS84)",
    "datum_ensemble": {
        "name": "World Geodetic System 1984 ensemble",
        "members": [
            {
                "name": "World Geodetic System 1984 (Transit)",
                "id": {"authority": "EPSG", "code": 1166},
            },
            {
                "name": "World Geodetic System 1984 (G730)",
                "id": {"authority": "EPSG", "code": 1152},
            },
            {
                "name": "World Geodetic System 1984 (G873)",
                "id": {"authority": "EPSG", "code": 1153},
            },
            {
                "name": "World Geodetic System 1984 (G1150)",
                "id": {"authority": "EPSG", "code": 1154},
            },
            {
                "name": "World Geodetic System 1984 (G1674)",
                "id": {"authority": "EPSG", "code": 1155},
            },
            {
                "name": "World Geodetic System 1984 (G1762)",
                "id": {"authority": "EPSG", "code": 1156},
            },
            {
                "name": "World Geodetic System 1984 (G2139)",
                "id": {"authority": "EPSG", "code": 1309},
            },
            {
                "name": "World Geodetic System 1984 (G2296)",
                "id": {"authority": "EPSG", "code": 1383},
            },
        ],
        "ellipsoid": {
            "name": "WGS 84",
            "semi_major_axis": 6378137,
            "inverse_flattening": 298.257223563,
        },
        "accuracy": "2.0",
        "id": {"authority": "EPSG", "code": 6326},
    },
    "coordinate_system": {
        "subtype": "ellipsoidal",
        "axis": [
            {
                "name": "Geodetic longitude",
                "abbreviation": "Lon",
                "direction": "east",
                "unit": "degree",
            },
            {
                "name": "Geodetic latitude",
                "abbreviation": "Lat",
                "direction": "north",
                "unit": "degree",
            },
        ],
    },
    "scope": "Not known.",
    "area": "World.",
    "bbox": {
        "south_latitude": -90,
        "west_longitude": -180,
        "north_latitude": 90,
        "east_longitude": 180,
    },
    "id": {"authority": "OGC", "code": "CRS84"},
}

Bounds = tuple[float, float, float, float]


def geo_metadata(geometry_types: Sequence[str], bbox: Bounds | None) -> dict:
    """The GeoParquet 1.1 `geo` metadata for one WKB column with a bbox covering column."""
    column: dict = {
        "encoding": "WKB",
        "geometry_types": sorted(set(geometry_types)),
        "crs": CRS84_PROJJSON,
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
