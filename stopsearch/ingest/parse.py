"""Turn raw file bytes into rows of text fields with their physical line numbers.

CSV parsing is pyarrow's (fast, in C); a row with the wrong field count becomes a rejection with
its line number. Files whose bytes are not valid UTF-8 are decoded line by line (bad lines as
cp1252) and flagged, so a stray latin-1 byte never stops a load.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

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


@dataclass
class ParsedFile:
    """Rows as text (`table`: ALL_COLUMNS plus `line`), rejects, warnings and the raw lines."""

    table: pa.Table
    rejects: list[Reject]
    warnings: list[Warning_]
    rows_read: int
    raw_lines: dict[int, str] = field(default_factory=dict)
    _data: bytes | None = None
    normalised: Any = None  # set by the loader's worker threads (ingest.normalise.Normalised)

    def raw_line(self, line: int) -> str:
        """The published text of a physical line (decoded), for rejected rows."""
        if line not in self.raw_lines and self._data is not None:
            lines = self._data.decode("utf-8").split("\n")
            self.raw_lines.update((i + 1, text) for i, text in enumerate(lines))
            self._data = None
        return self.raw_lines.get(line, "")


def _decode(data: bytes) -> tuple[bytes, list[Warning_]]:
    """UTF-8 bytes with BOM removed and line endings made LF; bad lines re-decoded as cp1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
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


def _check_header(first_line: str, source: str) -> None:
    fields = next(csv.reader([first_line])) if first_line else []
    cleaned = tuple(f.strip() for f in fields)
    if cleaned != CSV_HEADER:
        missing = [c for c in CSV_HEADER if c not in cleaned]
        extra = [c for c in cleaned if c not in CSV_HEADER]
        detail = []
        if missing:
            detail.append(f"missing {missing}")
        if extra:
            detail.append(f"unexpected {extra}")
        if not detail:
            detail.append("columns out of order")
        raise IngestError(
            f"{source}: line 1: not the data.police.uk stop-and-search header"
            f" ({'; '.join(detail)}); expected: {','.join(CSV_HEADER)}"
        )


def _blank_api_columns(n: int) -> list[pa.Array]:
    return [pa.nulls(n, _TEXT) for _ in API_EXTRA_COLUMNS]


def _read_arrow(data: bytes, threads: bool, rejects: list[Reject]) -> pa.Table:
    def on_invalid(row: pacsv.InvalidRow) -> str:
        rejects.append(
            Reject(
                row.number or 0,
                None,
                f"wrong number of fields: {row.actual_columns} (expected {row.expected_columns})",
                row.text,
            )
        )
        return "skip"

    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            column_names=list(RAW_COLUMNS), skip_rows=1, use_threads=threads, block_size=1 << 22
        ),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={c: _TEXT for c in RAW_COLUMNS},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _parse_csv_fast(data: bytes) -> ParsedFile | None:
    """pyarrow parse when no field is quoted, so rows and physical lines correspond one to one."""
    rejects: list[Reject] = []
    table = _read_arrow(data, True, rejects)
    if rejects:  # only a single-threaded read reports the line numbers of bad rows
        rejects = []
        table = _read_arrow(data, False, rejects)
    if not rejects and b"\n\n" not in data:  # one row per line from line 2: no need to count
        candidate = np.arange(2, table.num_rows + 2, dtype=np.int64)
        return _fast_result(table, candidate, rejects, data)
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == 10)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(data)]))
    numbers = np.arange(1, len(starts) + 1, dtype=np.int64)
    candidate = numbers[(ends > starts) & (numbers > 1)]
    if rejects:
        candidate = candidate[~np.isin(candidate, [r.line for r in rejects])]
    if len(candidate) != table.num_rows:
        return None  # the fast mapping does not hold; let the exact reader do it
    return _fast_result(table, candidate, rejects, data)


def _fast_result(
    table: pa.Table, lines: np.ndarray, rejects: list[Reject], data: bytes
) -> ParsedFile:
    columns = list(table.columns) + _blank_api_columns(table.num_rows)
    columns.append(pa.array(lines, pa.int64()))
    out = pa.Table.from_arrays(columns, names=[*ALL_COLUMNS, "line"])
    return ParsedFile(out, rejects, [], table.num_rows + len(rejects), _data=data)


def _parse_csv_exact(text: str) -> ParsedFile:
    """The csv module, for files with quoted fields (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    lines = text.split("\n")
    previous_end = reader.line_num
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not record:
                continue
            if len(record) != len(RAW_COLUMNS):
                raw = "\n".join(lines[start - 1 : reader.line_num])
                rejects.append(
                    Reject(
                        start,
                        None,
                        f"wrong number of fields: {len(record)} (expected {len(RAW_COLUMNS)})",
                        raw,
                    )
                )
                continue
            rows.append(record)
            numbers.append(start)
    except csv.Error as exc:
        start = previous_end + 1
        rejects.append(Reject(start, None, f"unreadable CSV from here on: {exc}", lines[start - 1]))
    columns = (
        [pa.array(list(col), _TEXT) for col in zip(*rows, strict=True)]
        if rows
        else [pa.array([], _TEXT) for _ in RAW_COLUMNS]
    )
    n = len(rows)
    columns += _blank_api_columns(n)
    columns.append(pa.array(numbers, pa.int64()))
    table = pa.Table.from_arrays(columns, names=[*ALL_COLUMNS, "line"])
    parsed = ParsedFile(table, rejects, [], n + len(rejects))
    parsed.raw_lines = {i + 1: t for i, t in enumerate(lines)}
    return parsed


def parse_csv(data: bytes, source: str) -> ParsedFile:
    """Rows of a data.police.uk stop-and-search CSV; IngestError when the header is wrong."""
    clean, warnings = _decode(data)
    first_line, _, _ = clean[:4096].partition(b"\n")
    _check_header(first_line.decode("utf-8"), source)
    parsed = None
    if b'"' not in clean:
        parsed = _parse_csv_fast(clean)
    if parsed is None:
        parsed = _parse_csv_exact(clean.decode("utf-8"))
    parsed.warnings.extend(warnings)
    return parsed


def _api_text(value: object) -> str:
    """API JSON values as the CSV would write them: booleans True/False, null as empty."""
    if value is None:
        return ""
    if value is True:
        return "True"
    if value is False:
        return "False"
    return str(value)


def parse_api_json(data: bytes, source: str) -> ParsedFile:
    """Records of an `/api/stops-force` response; `line` is the 1-based record index."""
    clean, warnings = _decode(data)
    try:
        payload = json.loads(clean.decode("utf-8"))  # bytes would let json guess UTF-16
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"{source}: line {exc.lineno}: not valid JSON ({exc.msg}); expected the JSON list"
            " returned by /api/stops-force"
        ) from exc
    if not isinstance(payload, list):
        raise IngestError(
            f"{source}: expected a JSON list of stop records, found {type(payload).__name__}"
        )
    values: dict[str, list[str]] = {c: [] for c in ALL_COLUMNS}
    numbers: list[int] = []
    rejects: list[Reject] = []
    raw_lines: dict[int, str] = {}
    for index, record in enumerate(payload, start=1):
        raw_lines[index] = json.dumps(record, sort_keys=True, ensure_ascii=False)
        if not isinstance(record, dict):
            rejects.append(Reject(index, None, "record is not a JSON object", raw_lines[index]))
            continue
        location = record.get("location") or {}
        if not isinstance(location, dict):
            location = {}
        street = location.get("street") or {}
        if not isinstance(street, dict):
            street = {}
        outcome = record.get("outcome")
        if isinstance(outcome, dict):
            outcome = outcome.get("name")
        if outcome is False:
            outcome = None  # `false` means no outcome recorded: unknown, never "no further action"
        operation = record.get("operation")
        row = {
            "type": record.get("type"),
            "date": record.get("datetime"),
            "part_of_operation": operation,
            "operation_name": record.get("operation_name"),
            "latitude": location.get("latitude"),
            "longitude": location.get("longitude"),
            "gender": record.get("gender"),
            "age_range": record.get("age_range"),
            "self_defined": record.get("self_defined_ethnicity"),
            "officer_defined": record.get("officer_defined_ethnicity"),
            "legislation": record.get("legislation"),
            "object_of_search": record.get("object_of_search"),
            "outcome": outcome,
            "outcome_linked": record.get("outcome_linked_to_object_of_search"),
            "removal": record.get("removal_of_more_than_outer_clothing"),
            "street_id": street.get("id"),
            "street_name": street.get("name"),
            "involved_person": record.get("involved_person"),
        }
        for column in ALL_COLUMNS:
            values[column].append(_api_text(row[column]))
        numbers.append(index)
    columns = [pa.array(values[c], _TEXT) for c in ALL_COLUMNS]
    columns.append(pa.array(numbers, pa.int64()))
    table = pa.Table.from_arrays(columns, names=[*ALL_COLUMNS, "line"])
    parsed = ParsedFile(table, rejects, warnings, len(payload))
    parsed.raw_lines = raw_lines
    return parsed


def parse(data: bytes, source: str, kind: str) -> ParsedFile:
    """Dispatch on the file kind ('csv' or 'api-json')."""
    if kind == "csv":
        return parse_csv(data, source)
    if kind == "api-json":
        return parse_api_json(data, source)
    raise IngestError(f"{source}: unknown file kind {kind!r}")
