"""Ingest: data.police.uk stop-and-search files (CSV or API JSON) into the warehouse."""

from stopsearch.ingest.discover import SourceFile, discover, parse_file_name
from stopsearch.ingest.load import (
    FileResult,
    IngestReport,
    UnmappedLabel,
    ingest_paths,
    ingest_sources,
)
from stopsearch.ingest.parse import CSV_HEADER

__all__ = [
    "CSV_HEADER",
    "FileResult",
    "IngestReport",
    "SourceFile",
    "UnmappedLabel",
    "discover",
    "ingest_paths",
    "ingest_sources",
    "parse_file_name",
]
