"""Ingest: data.police.uk stop-and-search files (CSV or API JSON) into the warehouse."""

from stopsearch.ingest.discover import (
    Inputs,
    Skipped,
    SourceFile,
    discover,
    find_inputs,
    parse_file_name,
)
from stopsearch.ingest.load import (
    FileResult,
    IngestReport,
    UnmappedLabel,
    ingest_paths,
    ingest_sources,
)
from stopsearch.ingest.parse import CSV_HEADER
from stopsearch.thresholds import DEFAULT_LIMITS, Limits

__all__ = [
    "CSV_HEADER",
    "DEFAULT_LIMITS",
    "FileResult",
    "IngestReport",
    "Inputs",
    "Limits",
    "Skipped",
    "SourceFile",
    "UnmappedLabel",
    "discover",
    "find_inputs",
    "ingest_paths",
    "ingest_sources",
    "parse_file_name",
]
