"""Records of a saved `/api/stops-force` response (a JSON list), with the JSON limits enforced.

Nesting deeper than the limit refuses the file before it is parsed (so the parser's recursion is
never at risk); a number with more digits than the limit, or a field longer than the field limit,
rejects only its record. `line` is the record's 1-based position in the list.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pyarrow as pa

from stopsearch.errors import IngestError
from stopsearch.ingest.parse import ALL_COLUMNS, ParsedFile, Reject, decode_lines
from stopsearch.ingest.read import RawText
from stopsearch.thresholds import Limits

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))
# Where each column comes from in an API record, as named in rejections.
API_FIELDS = {
    "type": "type",
    "date": "datetime",
    "part_of_operation": "operation",
    "operation_name": "operation_name",
    "latitude": "location.latitude",
    "longitude": "location.longitude",
    "gender": "gender",
    "age_range": "age_range",
    "self_defined": "self_defined_ethnicity",
    "officer_defined": "officer_defined_ethnicity",
    "legislation": "legislation",
    "object_of_search": "object_of_search",
    "outcome": "outcome",
    "outcome_linked": "outcome_linked_to_object_of_search",
    "removal": "removal_of_more_than_outer_clothing",
    "street_id": "location.street.id",
    "street_name": "location.street.name",
    "involved_person": "involved_person",
}


class _LongNumber(str):
    """A JSON number with more digits than the limit, kept as its text (never converted)."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings ignored)."""
    outside = _STRING.sub('""', text).encode("utf-8")
    codes = np.frombuffer(outside, dtype=np.uint8)
    brackets = codes[np.isin(codes, _OPEN + _CLOSE)]
    if not len(brackets):
        return 0
    steps = np.where(np.isin(brackets, _OPEN), 1, -1)
    return max(0, int(np.cumsum(steps).max()))


def _load(text: str, source: str, limits: Limits) -> tuple[Any, bool]:
    """The parsed JSON and whether any number was too long; IngestError for per-file faults."""
    depth = nesting_depth(text)
    if depth > limits.json_depth:
        raise IngestError(
            f"{source}: JSON nested {depth} deep, deeper than the limit of {limits.json_depth};"
            " refused"
        )
    long_numbers = False

    def number(kind: type) -> Any:
        def convert(digits: str) -> Any:
            nonlocal long_numbers
            if sum(c.isdigit() for c in digits) > limits.json_number_digits:
                long_numbers = True
                return _LongNumber(digits[:20] + "...")
            return kind(digits)

        return convert

    try:
        payload = json.loads(text, parse_int=number(int), parse_float=number(float))
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"{source}: line {exc.lineno}: not valid JSON ({exc.msg}); expected the JSON list"
            " returned by /api/stops-force"
        ) from exc
    except RecursionError as exc:  # unreachable below the depth limit; kept as a backstop
        raise IngestError(f"{source}: JSON nested too deep to read; refused") from exc
    return payload, long_numbers


def _long_number_at(value: Any, path: str = "") -> str | None:
    """The key path of the first too-long number in a record, None when there is none."""
    if isinstance(value, _LongNumber):
        return path or "(record)"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _long_number_at(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for position, item in enumerate(value):
            found = _long_number_at(item, f"{path}[{position}]")
            if found:
                return found
    return None


def _api_text(value: object) -> str:
    """API JSON values as the CSV would write them: booleans True/False, null as empty."""
    if value is None:
        return ""
    if value is True:
        return "True"
    if value is False:
        return "False"
    return str(value)


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _row(record: dict) -> dict[str, object]:
    """The columns of one API record (ALL_COLUMNS), before they become text."""
    location = _object(record.get("location"))
    street = _object(location.get("street"))
    outcome = record.get("outcome")
    if isinstance(outcome, dict):
        outcome = outcome.get("name")
    if outcome is False:
        outcome = None  # `false` means no outcome recorded: unknown, never "no further action"
    return {
        "type": record.get("type"),
        "date": record.get("datetime"),
        "part_of_operation": record.get("operation"),
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


def _field_too_long(row: dict[str, str], limit: int) -> str | None:
    """The first column whose text is longer than `limit` bytes in UTF-8, if any."""
    for column, text in row.items():
        # a UTF-8 character is at most 4 bytes, so short texts need no encoding to be cleared
        if len(text) * 4 > limit and len(text.encode("utf-8")) > limit:
            return column
    return None


def parse_api_json(raw: RawText, source: str, limits: Limits, *, exact: bool = False) -> ParsedFile:
    """Records of an `/api/stops-force` response; IngestError when the file cannot be one.

    ASCII bytes skip the UTF-8 check (the fast path of `parse`) unless `exact`.
    """
    is_ascii = not exact and raw.data.isascii()
    clean, warnings = (raw.data, []) if is_ascii else decode_lines(raw.data)
    payload, long_numbers = _load(clean.decode("utf-8"), source, limits)
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
        where = _long_number_at(record) if long_numbers else None
        if where is not None:
            reason = f"number with more than {limits.json_number_digits} digits"
            rejects.append(Reject(index, where, reason, raw_lines[index]))
            continue
        row = {column: _api_text(value) for column, value in _row(record).items()}
        too_long = _field_too_long(row, limits.field_bytes)
        if too_long is not None:
            size = len(row[too_long].encode("utf-8"))
            reason = f"field longer than {limits.field_bytes:,} bytes ({size:,} bytes)"
            rejects.append(Reject(index, API_FIELDS[too_long], reason, raw_lines[index]))
            continue
        for column in ALL_COLUMNS:
            values[column].append(row[column])
        numbers.append(index)
    columns = [pa.array(values[c], pa.string()) for c in ALL_COLUMNS]
    columns.append(pa.array(numbers, pa.int64()))
    table = pa.Table.from_arrays(columns, names=[*ALL_COLUMNS, "line"])
    parsed = ParsedFile(table, rejects, warnings, len(payload))
    parsed.raw_lines = raw_lines
    return parsed
