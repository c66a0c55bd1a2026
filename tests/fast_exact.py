"""The parser's ASCII fast path against its exact path, on one file's bytes (tests and fuzz).

Both parses are compared on everything the loader takes from a `ParsedFile`: the text rows with
their line numbers, the rejects (line, field, reason, raw text), the warnings, the rows read and
the independent line count, the raw text of lines (what a rejected record stores: every line the
normaliser rejects, the first and last lines and about 1,000 more spread over the file), the
refusal message when the file is refused, and the normalised records, rejects, warnings and
unmapped labels made from the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from stopsearch.errors import IngestError
from stopsearch.ingest import SourceFile
from stopsearch.ingest.api_json import parse_api_json
from stopsearch.ingest.csv_rows import parse_csv
from stopsearch.ingest.normalise import RowIssue, normalise
from stopsearch.ingest.parse import ParsedFile
from stopsearch.ingest.read import RawText, read_text
from stopsearch.thresholds import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class Comparison:
    """Whether the file reached the parser as ASCII (None: refused while read, never parsed), and
    the first difference found (None when the two paths agree)."""

    ascii: bool | None
    difference: str | None


def _outcome(raw: RawText, name: str, kind: str, limits: Limits, exact: bool) -> dict[str, Any]:
    parse = parse_csv if kind == "csv" else parse_api_json
    try:
        parsed = parse(raw, name, limits, exact=exact)
    except IngestError as error:
        return {"refused": str(error)}
    normalised = normalise(parsed.table)
    lines = _raw_lines(parsed, raw, normalised.rejects) if kind == "csv" else []
    return {
        "table": parsed.table,
        "rejects": parsed.rejects,
        "omitted": parsed.omitted.tolist(),  # lines of rejects past the first REJECTS_IN_FULL
        "warnings": parsed.warnings,
        "rows_read": parsed.rows_read,
        "data_lines": parsed.data_lines,
        "raw_lines": lines if kind == "csv" else parsed.raw_lines,
        "records": normalised.records,
        "record_rejects": normalised.rejects,
        "record_warnings": normalised.warnings,
        "unmapped": normalised.unmapped,
    }


def _raw_lines(parsed: ParsedFile, raw: RawText, rejects: list[RowIssue]) -> list[str]:
    """The raw text of every line the loader asks for (those the normaliser rejects; a parse
    reject carries its own), of the first and last lines and those just past the end, and of
    about 1,000 lines spread over the file."""
    last = raw.data.count(b"\n") + 1
    wanted = {0, 1, 2, last - 1, last, last + 1, last + 2}
    wanted.update(r.line for r in rejects)
    wanted.update(range(0, last + 1, max(1, last // 1000)))
    return [parsed.raw_line(n) for n in sorted(wanted)]


def _same(a: Any, b: Any) -> bool:
    return a.equals(b) if hasattr(a, "equals") else a == b


def _first(fast: dict[str, Any], exact: dict[str, Any], key: str) -> str:
    """The first differing item of `key` (a list), or both values, cut short for a message."""
    a, b = fast.get(key), exact.get(key)
    if isinstance(a, list) and isinstance(b, list):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):  # lengths compared below
            if x != y:
                return f"item {index}: fast {str(x)[:300]}, exact {str(y)[:300]}"
        return f"fast has {len(a)} items, exact {len(b)}"
    return f"fast {str(a)[:300]}, exact {str(b)[:300]}"


def compare_paths(name: str, kind: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> Comparison:
    """Parse `data` (a source named `name`, kind "csv" or "api-json") both ways and compare."""
    source = SourceFile.from_bytes(name, "fast-exact", date(2016, 9, 1), kind, data)
    try:
        raw = read_text(source.open, name, limits, csv=kind == "csv")
    except IngestError:  # refused while reading, before either parser runs
        return Comparison(None, None)
    fast = _outcome(raw, name, kind, limits, exact=False)
    exact = _outcome(raw, name, kind, limits, exact=True)
    for key in sorted(set(fast) | set(exact)):
        if key not in fast or key not in exact or not _same(fast[key], exact[key]):
            return Comparison(raw.data.isascii(), f"{key} differs: {_first(fast, exact, key)}")
    return Comparison(raw.data.isascii(), None)
