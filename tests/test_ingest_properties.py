"""Property tests: corrupted files never crash the ingest, and every row read is accounted for."""

from __future__ import annotations

import functools
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stopsearch.ingest import SourceFile, ingest_sources
from stopsearch.warehouse import connect
from tests.factories import csv_bytes, row

VALID_ROWS = [
    row(),
    row(Type="Vehicle search", Gender="", Age_range="", Self_defined_ethnicity=""),
    row(Self_defined_ethnicity="Not Stated (NS)", Outcome="Suspect arrested"),
    row(Latitude="", Longitude=""),
    row(Policing_operation="Op Alpha, Beta"),
]


@functools.cache
def _warehouse():
    return connect(":memory:")


def _corrupt(data: bytes, draw) -> bytes:
    operation = draw(
        st.sampled_from(
            [
                "truncate",
                "drop_field",
                "add_field",
                "random_bytes",
                "latin1",
                "line_endings",
                "delete_span",
                "duplicate_line",
            ]
        )
    )
    lines = data.split(b"\r\n")
    if operation == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if operation in ("drop_field", "add_field", "duplicate_line"):
        index = draw(st.integers(0, len(lines) - 1))
        if operation == "drop_field" and b"," in lines[index]:
            lines[index] = lines[index].rsplit(b",", 1)[0]
        elif operation == "add_field":
            lines[index] += b",extra"
        else:
            lines.insert(index, lines[index])
        return b"\r\n".join(lines)
    if operation == "random_bytes":
        position = draw(st.integers(0, len(data)))
        noise = draw(st.binary(min_size=1, max_size=20))
        return data[:position] + noise + data[position:]
    if operation == "latin1":
        return data.replace(b"White", "Whit\u00e9".encode("latin-1"))
    if operation == "line_endings":
        ending = draw(st.sampled_from([b"\n", b"\r", b"\r\n", b"\n\r"]))
        return ending.join(lines)
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, len(data)))
    return data[:start] + data[end:]


@st.composite
def corrupted_files(draw):
    rows = draw(st.lists(st.sampled_from(VALID_ROWS), min_size=0, max_size=12))
    data = csv_bytes(rows)
    for _ in range(draw(st.integers(1, 3))):
        data = _corrupt(data, draw)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=corrupted_files(), as_json=st.booleans())
def test_corrupted_files_never_crash_and_rows_are_conserved(data, as_json):
    con = _warehouse()
    kind = "api-json" if as_json else "csv"
    name = "2023-01-propshire-stop-and-search." + ("json" if as_json else "csv")
    source = SourceFile(name, "propshire", date(2023, 1, 1), kind, lambda: data)
    [result] = ingest_sources(con, [source]).files
    assert result.action in ("new", "resupplied", "unchanged", "refused")
    if result.action == "refused":
        assert result.error and name in result.error
        return
    if result.action == "unchanged":
        return
    assert result.rows_read == result.rows_loaded + result.rows_rejected
    loaded, rejected = con.execute(
        "SELECT (SELECT count(*) FROM searches WHERE force = 'propshire'),"
        " (SELECT count(*) FROM rejected WHERE force = 'propshire' AND load_id IS NOT NULL)"
    ).fetchone()
    assert (loaded, rejected) == (result.rows_loaded, result.rows_rejected)
    stored = con.execute(
        "SELECT rows_read, rows_loaded, rows_rejected FROM loads WHERE force = 'propshire'"
    ).fetchone()
    assert stored == (result.rows_read, result.rows_loaded, result.rows_rejected)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.sampled_from(VALID_ROWS), min_size=0, max_size=30),
    ending=st.sampled_from(["\r\n", "\n", "\r"]),
    bom=st.booleans(),
)
def test_valid_files_load_every_row_whatever_the_line_endings(rows, ending, bom):
    con = _warehouse()
    data = csv_bytes(rows, newline=ending, bom=bom)
    source = SourceFile(
        "2023-02-validshire-stop-and-search.csv",
        "validshire",
        date(2023, 2, 1),
        "csv",
        lambda: data,
    )
    [result] = ingest_sources(con, [source]).files
    if result.action == "unchanged":
        return
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (len(rows), len(rows), 0)
    lines = con.execute(
        "SELECT list_sort(list(source_line)) FROM searches WHERE force = 'validshire'"
    ).fetchone()[0]
    assert (lines or []) == list(range(2, len(rows) + 2))
