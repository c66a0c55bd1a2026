"""What parsing produces (rows of text fields by physical line, rejects, warnings) and its helpers.

The readers are `csv_rows` and `api_json`. Files whose bytes are not valid UTF-8 are decoded line
by line (bad lines as cp1252) and flagged, so a stray latin-1 byte never stops a load.

A file whose bytes are all ASCII (every real month so far) takes a fast path: ASCII is valid UTF-8,
so nothing is decoded to check it, pyarrow skips its UTF-8 check, and a rejected line's text is
cut from the bytes alone. The results are the same as the exact path's (the property tests
compare the two on corrupted files).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from stopsearch.errors import IngestError
from stopsearch.police_files import CSV_HEADER

# Column names of the staging table, in CSV order; the API adds street and person fields.
RAW_COLUMNS = (
    "type",
    "date",
    "part_of_operation",
    "operation_name",
    "latitude",
    "longitude",
    "gender",
    "age_range",
    "self_defined",
    "officer_defined",
    "legislation",
    "object_of_search",
    "outcome",
    "outcome_linked",
    "removal",
)
API_EXTRA_COLUMNS = ("street_id", "street_name", "involved_person")
ALL_COLUMNS = RAW_COLUMNS + API_EXTRA_COLUMNS
_TEXT = pa.string()
_LF = 10


@dataclass(frozen=True)
class Reject:
    """A row that cannot be a record."""

    line: int
    field: str | None
    reason: str
    raw_line: str


@dataclass(frozen=True)
class Warning_:
    """A field-level fault that did not lose the record."""

    line: int | None
    field: str
    code: str
    detail: str


# A file keeps its first REJECTS_IN_FULL rejects (by line) in full: line, field, reason and text.
# The rest are only counted, in one summary row (ingest/load.py): a hostile file of millions of
# junk lines must not become millions of Python objects and warehouse rows.
REJECTS_IN_FULL = 50_000


@dataclass
class ParsedFile:
    """Rows as text (`table`: ALL_COLUMNS plus `line`), rejects, warnings and the raw lines."""

    table: pa.Table
    rejects: list[Reject]
    warnings: list[Warning_]
    rows_read: int
    raw_lines: dict[int, str] = field(default_factory=dict)
    data_lines: int | None = None  # the independent count of physical data lines (CSV)
    _data: bytes | None = None
    _ascii: bool = False  # `_data` is all ASCII: lines are cut from the bytes, none decoded
    _line_ends: np.ndarray | None = None  # offsets of the LFs in `_data` (ASCII only)
    normalised: Any = None  # set by the loader's worker threads (ingest.normalise.Normalised)
    # Lines of rejects counted but not made into Reject objects (all past the first
    # REJECTS_IN_FULL of the file; counted in rows_read), in order.
    omitted: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def raw_line(self, line: int) -> str:
        """The published text of a physical line (decoded), for rejected rows."""
        if self._ascii and self._data is not None and line not in self.raw_lines:
            return self._ascii_line(self._data, line)
        if line not in self.raw_lines and self._data is not None:
            lines = self._data.decode("utf-8").split("\n")
            self.raw_lines.update((i + 1, text) for i, text in enumerate(lines))
            self._data = None
        return self.raw_lines.get(line, "")

    def _ascii_line(self, data: bytes, line: int) -> str:
        """Line `line` of ASCII bytes, as `data.decode().split("\\n")[line - 1]` would give it."""
        if self._line_ends is None:
            self._line_ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _LF)
        ends = self._line_ends
        if not 1 <= line <= len(ends) + 1:
            return ""
        start = int(ends[line - 2]) + 1 if line > 1 else 0
        end = int(ends[line - 1]) if line <= len(ends) else len(data)
        return data[start:end].decode("ascii")


def decode_lines(data: bytes) -> tuple[bytes, list[Warning_]]:
    """Valid UTF-8 with the same LF-separated lines; a line that is not is decoded as cp1252."""
    try:
        data.decode("utf-8")
        return data, []
    except UnicodeDecodeError:
        pass
    warnings = []
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
            lines.append(raw)
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace").encode("utf-8"))
            warnings.append(
                Warning_(number, "(line)", "encoding", "bytes not valid UTF-8; decoded as cp1252")
            )
    return b"\n".join(lines), warnings


def _shown(labels: list[str], most: int = 5, width: int = 60) -> str:
    """A list of labels for a message, cut short so a hostile header cannot flood the report."""
    cut = [label if len(label) <= width else label[:width] + "..." for label in labels[:most]]
    more = f" and {len(labels) - most} more" if len(labels) > most else ""
    return f"{cut}{more}"


def check_header(first_line: str, source: str) -> None:
    """IngestError naming the file unless line 1 is the data.police.uk header."""
    fields = next(csv.reader([first_line]), []) if first_line else []
    cleaned = tuple(f.strip() for f in fields)
    if cleaned != CSV_HEADER:
        missing = [c for c in CSV_HEADER if c not in cleaned]
        extra = [c for c in cleaned if c not in CSV_HEADER]
        detail = []
        if missing:
            detail.append(f"missing {_shown(missing, most=15)}")
        if extra:
            detail.append(f"unexpected {_shown(extra)}")
        if not detail:
            detail.append("columns out of order")
        raise IngestError(
            f"{source}: line 1: not the data.police.uk stop-and-search header"
            f" ({'; '.join(detail)}); expected: {','.join(CSV_HEADER)}"
        )


def blank_api_columns(n: int) -> list[pa.Array]:
    """Null text columns for the API-only fields of CSV rows."""
    return [pa.nulls(n, _TEXT) for _ in API_EXTRA_COLUMNS]
