"""Extracts for the scrutiny panel: GeoParquet, CSV and GeoJSON files with a data package.

The work is done in `export.py` (what is written, atomically), `tables.py` (the rows, from the
warehouse), `columns.py` and `schema.py` (the declared columns and their recorded schemas),
`geoparquet.py` and `formats.py` (the file formats) and `package.py` (datapackage.json and the
README).
"""

from stopsearch.outputs.extracts.export import ExportedFile, ExportReport, export
from stopsearch.outputs.extracts.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "ExportReport", "ExportedFile", "export"]
