"""Published label texts as small integer ids (the lean warehouse row, issue 19).

The seven free-text label columns of a record (operation name, street name, the raw
self-defined ethnicity, the officer-defined ethnicity, legislation, object of search, the raw
outcome) are stored in `search_rows` as ids into `search_labels`; the view `searches` decodes
them. Ids are append-only: a text keeps its id for ever, new texts get the next ids of their
field, so ids written earlier (and re-supplies of any month) never need rewriting. Compressing
integers on insert costs DuckDB far less than compressing text.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.ingest", "labels.sql")

# The label columns of `searches`, each stored as `<name>_id` in `search_rows`.
LABEL_FIELDS = (
    "operation_name",
    "street_name",
    "self_defined_ethnicity_raw",
    "officer_defined_ethnicity",
    "legislation",
    "object_of_search",
    "outcome_raw",
)
_WANTED = pa.schema([("field", pa.string()), ("position", pa.int64()), ("label", pa.string())])


def _dictionary(column: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """The column as one dictionary array of strings (texts are not copied when it is one)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    if not pa.types.is_string(array.type.value_type):
        array = pa.DictionaryArray.from_arrays(
            array.indices, pc.cast(array.dictionary, pa.string())
        )
    return array


def lean_records(con: duckdb.DuckDBPyConnection, records: pa.Table) -> pa.Table:
    """`records` with each label column replaced by its id column (`<field>_id`, int32).

    New texts are added to `search_labels` on `con` (inside the caller's transaction).
    """
    encoded: dict[str, tuple[pa.DictionaryArray, pa.Array, int]] = {}
    parts: list[pa.Table] = []
    offset = 0
    for field in LABEL_FIELDS:
        array = _dictionary(records.column(field))
        used = pc.unique(array.indices.drop_null())  # entries the rows use, in first-use order
        used = used.filter(array.dictionary.take(used).is_valid())  # a null entry is no label
        encoded[field] = (array, used, offset)
        count = len(used)
        parts.append(
            pa.Table.from_arrays(
                [
                    pa.array([field] * count, pa.string()),
                    pa.array(range(offset, offset + count), pa.int64()),
                    array.dictionary.take(used),
                ],
                schema=_WANTED,
            )
        )
        offset += count
    ids = _ids(con, pa.concat_tables(parts), offset)
    out = records.drop_columns(list(LABEL_FIELDS))
    for field in LABEL_FIELDS:
        array, used, first = encoded[field]
        # One id per dictionary entry (null for a null entry or one no row uses), then one per
        # row; a null index stays null.
        by_entry = np.zeros(len(array.dictionary), np.int32)
        unset = np.ones(len(array.dictionary), bool)
        where = used.to_numpy()
        by_entry[where] = ids[first : first + len(used)]
        unset[where] = False
        per_entry = pa.array(by_entry, pa.int32(), mask=unset)
        out = out.append_column(f"{field}_id", per_entry.take(array.indices))
    return out


def _ids(con: duckdb.DuckDBPyConnection, wanted: pa.Table, count: int) -> list[int]:
    """The label id of each wanted text (by position), adding the texts not seen before."""
    if count == 0:
        return []
    con.register("_labels_wanted", wanted)
    try:
        SQL.execute(con, "add_labels")
        rows = SQL.execute(con, "label_ids").fetchall()
    finally:
        con.unregister("_labels_wanted")
    if [position for position, _ in rows] != list(range(count)):
        raise RuntimeError("search_labels: a label text found no id (or more than one)")
    return [label_id for _, label_id in rows]

