"""The DuckDB warehouse: one file, a versioned schema, the spatial extension loaded offline."""

from stopsearch.warehouse.connection import (
    DEFAULT_DB,
    SCHEMA_VERSION,
    connect,
    load_spatial,
    spatial_extension_path,
)

__all__ = ["DEFAULT_DB", "SCHEMA_VERSION", "connect", "load_spatial", "spatial_extension_path"]
