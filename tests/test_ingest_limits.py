"""Limits enforced while streaming: a value past one rejects its row, a file past one is refused
alone, and a small zip member that expands to a huge line never takes the memory."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from datetime import date
from typing import Any

import pytest

from stopsearch.ingest import (
    DEFAULT_LIMITS,
    Limits,
    SourceFile,
    ingest_paths,
    ingest_sources,
)
from stopsearch.ingest.api_json import nesting_depth
from stopsearch.police_files import CSV_HEADER
from tests.factories import api_record, csv_bytes, row, write_csv, write_json


def _one(con, data: bytes, kind: str = "csv", limits: Limits = DEFAULT_LIMITS):
    ext = "csv" if kind == "csv" else "json"
    source = SourceFile.from_bytes(
        f"2023-01-limitshire-stop-and-search.{ext}", "limitshire", date(2023, 1, 1), kind, data
    )
    [result] = ingest_sources(con, [source], limits=limits).files
    return result


def _rejected(con):
    return con.execute("SELECT line, field, reason FROM rejected ORDER BY line").fetchall()


def test_an_unquoted_field_of_9_mib_rejects_its_line_only(con):
    result = _one(con, csv_bytes([row(), row(Policing_operation="y" * (9 * 1024 * 1024)), row()]))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    [(line, field, reason)] = _rejected(con)
    assert (line, field) == (3, None)
    assert reason.startswith("line longer than 65,536 bytes (9,437,")


def test_a_field_past_16_kib_rejects_its_row_naming_the_field(con):
    at_limit = row(Policing_operation="z" * 16 * 1024)
    past = row(Object_of_search="z" * (16 * 1024 + 1))
    result = _one(con, csv_bytes([at_limit, past, row()]))
    assert (result.rows_loaded, result.rows_rejected) == (2, 1)
    assert _rejected(con) == [
        (3, "Object of search", "field longer than 16,384 bytes (16,385 bytes)")
    ]
    raw = con.execute("SELECT raw_line FROM rejected").fetchone()[0]
    assert raw.startswith("Person search,") and len(raw) > 16 * 1024


def test_a_field_past_the_limit_in_a_quoted_line_is_rejected_too(con):
    data = csv_bytes([row(Policing_operation="Op, " + "q" * 17_000), row()])
    result = _one(con, data)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert _rejected(con)[0][:2] == (2, "Policing operation")


def test_limits_are_configurable_and_the_boundary_is_inclusive(con):
    op = "o" * 80  # lines longer than the header, and the longest field
    law = row()["Legislation"]
    base = len(csv_bytes([row(Policing_operation=op)]).split(b"\r\n")[1])
    limits = Limits(line_bytes=base + 1, field_bytes=len(op))
    rows = [
        row(Policing_operation=op),
        row(Policing_operation=op, Legislation=law + "p"),  # a line of exactly the limit
        row(Policing_operation=op, Legislation=law + "pp"),  # one byte past it
        row(Policing_operation=op + "o"),  # a field one byte past its limit
    ]
    result = _one(con, csv_bytes(rows), limits=limits)
    assert (result.rows_loaded, result.rows_rejected) == (2, 2)
    assert [r[:2] for r in _rejected(con)] == [(4, None), (5, "Policing operation")]
    assert _rejected(con)[0][2].startswith(f"line longer than {base + 1:,} bytes")


def test_a_header_line_past_the_limit_refuses_the_file(con):
    data = ",".join(CSV_HEADER).encode() + b"x" * 70_000 + b"\r\n"
    result = _one(con, data)
    assert result.action == "refused"
    assert "line 1 is longer than 65,536 bytes" in result.error


def test_a_file_growing_past_the_expanded_limit_is_refused(con):
    data = csv_bytes([row()] * 50)
    result = _one(con, data, limits=Limits(expanded_bytes=len(data) - 1))
    assert result.action == "refused"
    assert f"larger than {len(data) - 1:,} bytes when read" in result.error
    assert _one(con, data, limits=Limits(expanded_bytes=len(data))).action == "new"


def test_limits_must_be_positive_whole_numbers():
    with pytest.raises(ValueError, match="json_depth"):
        Limits(json_depth=0)
    fraction: Any = 1.5
    with pytest.raises(ValueError, match="line_bytes"):
        Limits(line_bytes=fraction)


def _bomb(path, member: str, header: bool, line_bytes: int) -> None:
    """A zip whose member is (the header and) one line of `line_bytes` bytes, stored deflated."""
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(member, "w", force_zip64=True) as out,
    ):
        if header:
            out.write(",".join(CSV_HEADER).encode() + b"\r\n")
        block = b"A" * (1 << 20)
        for _ in range(line_bytes >> 20):
            out.write(block)


@pytest.mark.parametrize("header", [False, True])
def test_a_small_zip_member_expanding_to_one_huge_line_stays_small_in_memory(con, tmp_path, header):
    """64 MiB of one line from a ~64 KiB member: Python never holds more than a few MiB of it."""
    archive = tmp_path / "archive.zip"
    member = "2023-01/2023-01-bombshire-stop-and-search.csv"
    _bomb(archive, member, header, 64 << 20)
    assert archive.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        report = ingest_paths(con, [archive])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    [result] = report.files
    if header:
        assert (result.action, result.rows_loaded, result.rows_rejected) == ("new", 0, 1)
        assert _rejected(con)[0][2].startswith("line longer than 65,536 bytes")
    else:
        assert result.action == "refused"
        assert "line 1 is longer than" in result.error


def test_a_zip_member_declaring_more_than_the_expanded_limit_is_refused_unread(con, tmp_path):
    archive = tmp_path / "archive.zip"
    _bomb(archive, "2023-01-bombshire-stop-and-search.csv", True, 4 << 20)
    good = write_csv(tmp_path, [row()], month="2023-02", force="bombshire")
    report = ingest_paths(con, [archive, good], limits=Limits(expanded_bytes=1 << 20))
    assert [f.action for f in report.files] == ["refused", "new"]
    size = zipfile.ZipFile(archive).infolist()[0].file_size
    assert f"expands to {size:,} bytes, more than the limit of 1,048,576" in report.files[0].error
    assert report.needs_attention


def test_a_date_with_a_superscript_digit_is_a_rejected_row_not_a_crash(con):
    result = _one(con, csv_bytes([row(), row(Date="2016-09-01T0\u00b9:09:00+00:00"), row()]))
    assert (result.action, result.rows_loaded, result.rows_rejected) == ("new", 2, 1)
    assert _rejected(con)[0][:2] == (3, "Date")


def test_a_20_digit_street_id_is_a_warning_and_the_record_loads(con):
    street = {"id": 12345678901234567890, "name": "On or near X"}
    records = [api_record(location={"street": street, "latitude": "52.4", "longitude": "-1.9"})]
    result = _one(con, json.dumps(records + [api_record()]).encode(), "api-json")
    assert (result.rows_loaded, result.rows_rejected, result.warnings) == (2, 0, 1)
    assert con.execute("SELECT street_id FROM searches ORDER BY source_line").fetchall() == [
        (None,),
        (1234567,),
    ]
    assert con.execute("SELECT line, field, code FROM warnings").fetchall() == [
        (1, "location.street.id", "bad_street_id")
    ]


@pytest.mark.parametrize("digits", [65, 5000])
def test_a_json_number_past_64_digits_rejects_its_record(con, digits):
    good = json.dumps(api_record()).encode()
    data = b"[" + good + b', {"age_range": ' + b"7" * digits + b"}, " + good + b"]"
    result = _one(con, data, "api-json")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert _rejected(con) == [(2, "age_range", "number with more than 64 digits")]


def test_a_json_number_of_64_digits_is_not_a_fault(con):
    data = b'[{"type": "Person search", "datetime": "2023-01-05T14:32:00+00:00", "x": 1' + (
        b"0" * 63 + b"}]"
    )
    result = _one(con, data, "api-json")
    assert (result.rows_loaded, result.rows_rejected) == (1, 0)


def test_json_nested_100000_deep_refuses_that_file_and_the_others_load(con, tmp_path):
    deep = tmp_path / "2023-01-deepshire-stop-and-search.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    good = write_json(tmp_path, [api_record()], month="2023-02", force="deepshire")
    report = ingest_paths(con, [deep, good])
    assert [f.action for f in report.files] == ["refused", "new"]
    assert "JSON nested 100000 deep, deeper than the limit of 64" in report.files[0].error


def test_nesting_depth_ignores_brackets_inside_strings():
    assert nesting_depth('[{"a": "[[[[{{{", "b": [1, "]]]\\"[["]}]') == 3
    assert nesting_depth("[" * 64 + "]" * 64) == 64
    assert nesting_depth("") == 0


def test_a_json_string_past_the_field_limit_rejects_its_record(con):
    records = [api_record(legislation="L" * (16 * 1024 + 1)), api_record()]
    result = _one(con, json.dumps(records).encode(), "api-json")
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert _rejected(con) == [(1, "legislation", "field longer than 16,384 bytes (16,385 bytes)")]


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_a_utf16_file_is_refused_with_the_reason(con, bom):
    result = _one(con, bom + "Type,Date".encode("utf-16-le"))
    assert result.action == "refused"
    assert "UTF-16 or UTF-32 encoded; expected UTF-8" in result.error
