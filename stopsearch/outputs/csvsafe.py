"""Formula-safe CSV: text that a spreadsheet would run as a formula gets a leading apostrophe.

OWASP "CSV injection": a cell starting with = + - @ tab or carriage return is read as a formula
by Excel, LibreOffice and Google Sheets (e.g. `=HYPERLINK(...)`, `=cmd|' /C calc'!A0`). Every
CSV the project writes passes its text through here; numbers are never touched (a longitude of
-1.9 stays a number) and Parquet/GeoJSON keep the text exactly as published.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"
_PATTERN = "^[=+\\-@\t\r]"
DICTIONARY_NOTE = (
    "Formula-safe CSV: in every CSV file, a text value that starts with =, +, -, @, a tab or a"
    " carriage return is written with a leading apostrophe (') so that a spreadsheet shows it"
    " as text instead of running it as a formula; remove that one apostrophe to get the value"
    " as published (the Parquet and GeoJSON files hold it unchanged). Numeric columns are"
    " never changed."
)


def safe_text(value: str) -> str:
    """One text cell made safe to open in a spreadsheet."""
    return PREFIX + value if value.startswith(FORMULA_START) else value


def unsafe_text(value: str) -> str:
    """The published text of a cell written by `safe_text` (for readers and tests)."""
    if value.startswith(PREFIX) and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def _safe_strings(array: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(array, pattern=f"({_PATTERN})", replacement=f"{PREFIX}\\1")


def _safe_array(array: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(array.type) and _is_text(array.type.value_type):
        return pa.DictionaryArray.from_arrays(array.indices, _safe_strings(array.dictionary))
    return _safe_strings(array)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def safe_table(table: pa.Table) -> pa.Table:
    """The table with every text column made formula-safe (other columns as they are)."""
    for index, column in enumerate(table.schema):
        kind = column.type
        if _is_text(kind) or (pa.types.is_dictionary(kind) and _is_text(kind.value_type)):
            chunks = [_safe_array(chunk) for chunk in table.column(index).chunks]
            table = table.set_column(index, column, pa.chunked_array(chunks, type=kind))
    return table
