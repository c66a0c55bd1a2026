"""Rows of a data.police.uk CSV, one record per physical line, resynchronising after a bad line.

A record is one physical line (see `linecount`): a fault anywhere in a line (a quote left open at
its end, text after a closing quote, the wrong number of fields, a field or line past its limit)
rejects that line with its number, field and reason, and reading goes on at the next line. So one
stray quote costs one row, never the rest of the file.

Lines without a quote (all of them in real files) are parsed by pyarrow with quoting off, so its
rows and the non-empty lines correspond one to one; the rare lines holding a quote are parsed one
by one with the csv module in strict mode.

`parse_csv(..., exact=True)` takes the exact path even for ASCII bytes (see `parse`); the tests
compare the two.
"""

from __future__ import annotations

import csv
import io
import re
from array import array

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from stopsearch.ingest.parse import (
    ALL_COLUMNS,
    CSV_HEADER,
    RAW_COLUMNS,
    REJECTS_IN_FULL,
    ParsedFile,
    Reject,
    blank_api_columns,
    check_header,
    decode_lines,
)
from stopsearch.ingest.read import LongLine, RawText
from stopsearch.thresholds import Limits

_TEXT = pa.string()
_QUOTED_FIELD = re.compile(r'"[^"]*(?:""[^"]*)*"')
_LF = 10
_QUOTE = 34


def _wrong_count(actual: int) -> str:
    return f"wrong number of fields: {actual} (expected {len(RAW_COLUMNS)})"


def _quote_fault(text: str, error: csv.Error) -> tuple[str | None, str]:
    """(field, reason) of the first quoting fault in a line strict csv would not read."""
    position, index = 0, 0
    while index < len(CSV_HEADER):
        if text.startswith('"', position):
            match = _QUOTED_FIELD.match(text, position)
            if match is None:
                return CSV_HEADER[index], (
                    "quote opened in this field is not closed on the same line (a record is one"
                    " line; reading goes on at the next line)"
                )
            position = match.end()
            if position < len(text) and text[position] != ",":
                return CSV_HEADER[index], "text after the closing quote of this field"
        comma = text.find(",", position)
        if comma < 0:
            break
        position, index = comma + 1, index + 1
    return None, f"malformed line ({error})"


def _line_rows(
    lines: list[tuple[int, str]],
) -> tuple[list[list[str]], list[int], list[Reject]]:
    """Parse lines one at a time (strict csv): (rows, their line numbers, rejects)."""
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejects: list[Reject] = []
    for number, text in lines:
        try:
            fields = next(csv.reader([text], strict=True), [])
        except csv.Error as error:
            field, reason = _quote_fault(text, error)
            rejects.append(Reject(number, field, reason, text))
            continue
        if len(fields) != len(RAW_COLUMNS):
            rejects.append(Reject(number, None, _wrong_count(len(fields)), text))
            continue
        rows.append(fields)
        numbers.append(number)
    return rows, numbers, rejects


def _rows_table(rows: list[list[str]], numbers: list[int]) -> pa.Table:
    columns = (
        [pa.array(list(column), _TEXT) for column in zip(*rows, strict=True)]
        if rows
        else [pa.array([], _TEXT) for _ in RAW_COLUMNS]
    )
    columns.append(pa.array(numbers, pa.int64()))
    return pa.Table.from_arrays(columns, names=[*RAW_COLUMNS, "line"])


class _Invalid:
    """pyarrow's invalid rows: the rank of each, and the first `keep` in full (text, fields).

    Ranks go to a compact array, so millions of junk lines cost bytes, not Python objects.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.ranks = array("q")
        self.rows: list[pacsv.InvalidRow] = []

    def add(self, row: pacsv.InvalidRow) -> None:
        self.ranks.append(row.number or 0)
        if len(self.rows) < self.keep:
            self.rows.append(row)


class _FoundInvalid(Exception):
    """The multithreaded read met an invalid row: read again on one thread to number it."""


def _read_arrow(buffer: bytes, invalid: _Invalid | None, is_ascii: bool) -> pa.Table:
    """pyarrow's rows of `buffer`: on all threads and stopping at the first invalid row when
    `invalid` is None (only a single-threaded read numbers invalid rows), else on one thread
    with every invalid row given to `invalid`."""
    found = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        if invalid is None:
            found.append(True)
            return "error"
        invalid.add(row)
        return "skip"

    try:
        return pacsv.read_csv(
            io.BytesIO(buffer),
            read_options=pacsv.ReadOptions(
                column_names=list(RAW_COLUMNS),
                skip_rows=1,
                use_threads=invalid is None,
                block_size=1 << 22,
            ),
            parse_options=pacsv.ParseOptions(
                quote_char=False, newlines_in_values=False, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: _TEXT for c in RAW_COLUMNS},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=not is_ascii,  # ASCII is valid UTF-8: nothing to check
            ),
        )
    except pa.ArrowInvalid:
        if found:
            raise _FoundInvalid from None
        raise


def _nonempty_lines(buffer: bytes) -> np.ndarray:
    """Physical numbers (1-based) of the lines holding at least one byte, line 1 included."""
    ends = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) == _LF)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(buffer)]))
    return np.flatnonzero(ends > starts) + 1


_Rows = tuple[pa.Table, list[Reject], np.ndarray]


def _arrow_rows(buffer: bytes, empty_lines: int, is_ascii: bool) -> _Rows | None:
    """pyarrow's rows of quote-free text with their line numbers, its rejects (the first
    REJECTS_IN_FULL in full, the lines of the rest); None when it cannot be trusted.

    pyarrow skips empty lines and numbers an invalid row by its rank among the non-empty lines
    (the header is 1); both are mapped back to physical line numbers here.
    """
    invalid = _Invalid(REJECTS_IN_FULL)
    try:
        try:
            table = _read_arrow(buffer, None, is_ascii)
        except _FoundInvalid:
            table = _read_arrow(buffer, invalid, is_ascii)
    except (pa.ArrowException, ValueError):
        return None
    rejects: list[Reject] = []
    omitted = np.empty(0, np.int64)
    if not invalid.ranks and not empty_lines:  # row i is line i + 2: nothing to look up
        lines = np.arange(2, table.num_rows + 2, dtype=np.int64)
    else:
        nonempty = _nonempty_lines(buffer)
        ranks = np.frombuffer(invalid.ranks, dtype=np.int64)
        if len(ranks) and (ranks.min() < 2 or ranks.max() > len(nonempty)):
            return None
        bad = nonempty[ranks - 1]
        lines = nonempty[1:][~np.isin(nonempty[1:], bad)]
        if len(lines) != table.num_rows:
            return None
        rejects = [
            Reject(int(line), None, _wrong_count(row.actual_columns), row.text)
            for line, row in zip(bad[: len(invalid.rows)].tolist(), invalid.rows, strict=True)
        ]
        omitted = bad[len(invalid.rows) :]
    return table.append_column("line", pa.array(lines, pa.int64())), rejects, omitted


def _split_quoted(data: bytes) -> tuple[bytes, list[tuple[int, str]]]:
    """(the text with every line holding a quote emptied, those lines as (number, text))."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == _LF)
    starts = np.concatenate(([0], ends + 1))
    quotes = np.flatnonzero(buffer == _QUOTE)
    quoted = np.unique(np.searchsorted(starts, quotes, side="right") - 1)
    quoted = quoted[quoted > 0]  # line 1 is the header, already checked
    keep = np.ones(len(buffer), dtype=bool)
    lines = []
    for index in quoted.tolist():
        start = int(starts[index])
        end = int(ends[index]) if index < len(ends) else len(data)
        keep[start:end] = False
        lines.append((index + 1, data[start:end].decode("utf-8")))
    return buffer[keep].tobytes(), lines


def _all_lines(data: bytes) -> list[tuple[int, str]]:
    text = data.decode("utf-8").split("\n")
    return [(number, line) for number, line in enumerate(text[1:], start=2) if line]


def _over_long_fields(table: pa.Table, limit: int) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """Rows with a field past `limit` bytes taken out: (kept rows, [(line, field, reason)])."""
    too_long = None
    for column in RAW_COLUMNS:
        lengths = pc.binary_length(table.column(column))
        if (pc.max(lengths).as_py() or 0) > limit:
            over = pc.greater(lengths, limit)
            too_long = over if too_long is None else pc.or_(too_long, over)
    if too_long is None:
        return table, []
    found = []
    for record in table.filter(too_long).to_pylist():
        for column, name in zip(RAW_COLUMNS, CSV_HEADER, strict=True):
            size = len(record[column].encode("utf-8"))
            if size > limit:
                reason = f"field longer than {limit:,} bytes ({size:,} bytes)"
                found.append((record["line"], name, reason))
                break
    return table.filter(pc.invert(too_long)), found


def _long_line_reject(long: LongLine, limit: int) -> Reject:
    return Reject(
        long.line,
        None,
        f"line longer than {limit:,} bytes ({long.length:,} bytes); the line was skipped and"
        " reading went on at the next line",
        long.head.decode("utf-8", errors="replace") + "...",
    )


def _rows_and_rejects(raw: RawText, data: bytes, is_ascii: bool) -> _Rows:
    """Every non-empty line after the header as a row (RAW_COLUMNS and `line`) or a reject (the
    lines of the rejects past the first REJECTS_IN_FULL of pyarrow's apart)."""
    quoted: list[tuple[int, str]] = []
    buffer = data
    if b'"' in data:
        buffer, quoted = _split_quoted(data)
    arrow = _arrow_rows(buffer, raw.empty_lines + len(quoted), is_ascii)
    if arrow is None:  # pyarrow could not be trusted with this text: read every line ourselves
        quoted = _all_lines(data)
        arrow = (_rows_table([], []), [], np.empty(0, np.int64))
    table, rejects, omitted = arrow
    if quoted:
        rows, numbers, line_rejects = _line_rows(quoted)
        rejects += line_rejects
        table = pa.concat_tables([table, _rows_table(rows, numbers)]).sort_by("line")
    return table, rejects, omitted


def parse_csv(raw: RawText, source: str, limits: Limits, *, exact: bool = False) -> ParsedFile:
    """Rows of a data.police.uk stop-and-search CSV; IngestError when its header is wrong.

    ASCII bytes take the fast path unless `exact`: no decoding, no UTF-8 check in pyarrow.
    """
    is_ascii = not exact and raw.data.isascii()
    data, warnings = (raw.data, []) if is_ascii else decode_lines(raw.data)
    header, _, _ = data[: limits.line_bytes + 1].partition(b"\n")
    check_header(header.decode("utf-8"), source)
    table, rejects, omitted = _rows_and_rejects(raw, data, is_ascii)
    rejects += [_long_line_reject(long, limits.line_bytes) for long in raw.long_lines]
    table, too_long = _over_long_fields(table, limits.field_bytes)
    n = table.num_rows
    columns = [table.column(c) for c in RAW_COLUMNS] + blank_api_columns(n)
    columns.append(table.column("line"))
    out = pa.Table.from_arrays(columns, names=[*ALL_COLUMNS, "line"])
    parsed = ParsedFile(out, [], warnings, n + len(rejects) + len(too_long) + len(omitted))
    parsed.omitted = omitted
    parsed.data_lines = raw.data_lines
    parsed._data = data
    parsed._ascii = is_ascii
    rejects += [Reject(line, name, why, parsed.raw_line(line)) for line, name, why in too_long]
    parsed.rejects = sorted(rejects, key=lambda r: r.line)
    return parsed
