"""Issue 19's lean row: label texts stored as append-only integer ids read back exactly.

Any text (unicode, empty, very long, quotes, NUL) in any of the seven label columns, and any
published timestamp text (stored only when it is not the canonical one), must come back through
the view `searches` exactly as written, and ids never change: across two loads and
a re-supply of the first month, every (field, id, label) written stays, ids stay dense per field
(the view decodes by list position) and no text gets two ids.
"""

from __future__ import annotations

import io
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stopsearch.ingest.csv_rows import parse_csv
from stopsearch.ingest.labels import LABEL_FIELDS
from stopsearch.ingest.load import _delete_load, write_records
from stopsearch.ingest.normalise import normalise
from stopsearch.ingest.read import read_text
from stopsearch.thresholds import DEFAULT_LIMITS
from stopsearch.warehouse import connect
from tests.factories import csv_bytes, row

ROWS = 4
AWKWARD = ("", " ", "'", '"', "O'Neil \"x\"", "a,b\r\nc", "\x00", "é😀", "x" * 70_000)
TEXT = st.one_of(st.none(), st.sampled_from(AWKWARD), st.text(max_size=40))
# The base records' timestamp is 2023-01-05 14:32: its canonical text is not stored (the view
# renders it), any other text is.
PUBLISHED = st.one_of(
    st.sampled_from(
        ("2023-01-05T14:32:00+00:00", "2023-01-05T14:32:00Z", "2023-01-05T15:32:00+01:00", "")
    ),
    st.text(max_size=30),
)
FILE = st.lists(
    st.tuples(*[TEXT] * len(LABEL_FIELDS), PUBLISHED), min_size=ROWS, max_size=ROWS
)  # ROWS records x (the seven label columns, the published timestamp text)


@pytest.fixture(scope="module")
def warehouse():
    con = connect(":memory:")
    yield con
    con.close()


@pytest.fixture(scope="module")
def base() -> pa.Table:
    """ROWS normalised records (lines 2..ROWS+1) whose label columns the test replaces."""
    data = csv_bytes([row() for _ in range(ROWS)])
    raw = read_text(lambda: io.BytesIO(data), "t.csv", DEFAULT_LIMITS, csv=True)
    return normalise(parse_csv(raw, "t.csv", DEFAULT_LIMITS).table).records


def _records(base: pa.Table, labels: list[tuple], dictionary: bool) -> pa.Table:
    out = base
    for index, field in enumerate(LABEL_FIELDS):
        column = pa.array([r[index] for r in labels], pa.string())
        if dictionary:
            column = pc.dictionary_encode(column)
        out = out.set_column(out.schema.get_field_index(field), field, column)
    published = pa.array([r[-1] for r in labels], pa.string())
    index = out.schema.get_field_index("datetime_published")
    return out.set_column(index, "datetime_published", published)


def _load(con, load_id: int, month: date, records: pa.Table) -> None:
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "INSERT INTO loads VALUES (?, 'testshire', ?, 'f.csv', 'csv', '', ?, ?, 0,"
        " now()::TIMESTAMP, '')",
        [load_id, month, records.num_rows, records.num_rows],
    )
    write_records(con, load_id, records)
    con.execute("COMMIT")


def _labels(con) -> set[tuple]:
    return set(con.execute("SELECT field, label_id, label FROM search_labels").fetchall())


def _read(con, load_id: int) -> list[tuple]:
    columns = ", ".join([*LABEL_FIELDS, "datetime_published"])
    return con.execute(
        f"SELECT {columns} FROM searches WHERE load_id = ? ORDER BY source_line", [load_id]
    ).fetchall()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=FILE, second=FILE, resupply=FILE, dictionary=st.booleans())
def test_any_label_text_survives_and_ids_are_append_only(
    warehouse, base, first, second, resupply, dictionary
):
    con = warehouse
    for table in ("search_rows", "search_labels", "loads"):
        con.execute(f"DELETE FROM {table}")
    _load(con, 1, date(2023, 1, 1), _records(base, first, dictionary))
    after_first = _labels(con)
    _load(con, 2, date(2023, 2, 1), _records(base, second, not dictionary))
    after_second = _labels(con)
    con.execute("BEGIN TRANSACTION")
    _delete_load(con, 1)  # a re-supply of January replaces load 1 by load 3
    con.execute("COMMIT")
    _load(con, 3, date(2023, 1, 1), _records(base, resupply, dictionary))
    after_resupply = _labels(con)

    assert _read(con, 3) == resupply and _read(con, 2) == second and _read(con, 1) == []
    assert after_first <= after_second <= after_resupply  # no id changed, none went away
    for field in LABEL_FIELDS:
        ids = sorted(i for f, i, _ in after_resupply if f == field)
        texts = [t for f, _, t in after_resupply if f == field]
        assert ids == list(range(1, len(ids) + 1)) and len(set(texts)) == len(texts)
        seen = {r[LABEL_FIELDS.index(field)] for r in first + second + resupply} - {None}
        assert set(texts) == seen  # exactly the texts ever loaded, each once
