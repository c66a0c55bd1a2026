"""The CSV reader resynchronises: a bad line costs that line only, and every line is counted."""

from __future__ import annotations

import random
from datetime import date

import pytest
from click.testing import CliRunner

from stopsearch.cli import EXIT_REJECTED, main
from stopsearch.ingest import SourceFile, ingest_paths, ingest_sources
from stopsearch.ingest import load as load_module
from stopsearch.ingest.linecount import DataLineCounter, count_data_lines
from tests.corruptions import plain_data_lines
from tests.factories import csv_bytes, row, write_csv
from tests.golden import golden

REAL_2016_09 = "police/stop-and-search/west-midlands/2016-09-west-midlands-stop-and-search.csv"
REAL_2016_09_ROWS = golden("rows_per_month")["2016-09"]


def _rejected(con):
    return con.execute(
        "SELECT line, field, reason, raw_line FROM rejected ORDER BY line"
    ).fetchall()


def _loaded_lines(con):
    return [r[0] for r in con.execute("SELECT source_line FROM searches ORDER BY 1").fetchall()]


def _with_quote_before_legislation(data: bytes, data_row: int) -> bytes:
    """One `"` inserted before the Legislation field (the 11th) of a data row (1-based)."""
    lines = data.split(b"\r\n")
    fields = lines[data_row].split(b",")
    fields[10] = b'"' + fields[10]
    lines[data_row] = b",".join(fields)
    return b"\r\n".join(lines)


@pytest.mark.realdata
def test_a_stray_quote_in_the_real_2016_09_file_costs_one_row(con, tmp_path, shared_data):
    data = (shared_data / REAL_2016_09).read_bytes()
    path = tmp_path / "2016-09-west-midlands-stop-and-search.csv"
    path.write_bytes(_with_quote_before_legislation(data, 3))
    [result] = ingest_paths(con, [path]).files
    rows = REAL_2016_09_ROWS
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (rows, rows - 1, 1)
    assert result.lines_counted == rows and not result.lines_disagree
    [(line, field, reason, raw)] = _rejected(con)
    assert (line, field) == (4, "Legislation")
    assert "not closed on the same line" in reason
    assert raw == data.split(b"\r\n")[3].decode().replace(",Misuse", ',"Misuse')
    assert _loaded_lines(con) == [n for n in range(2, rows + 2) if n != 4]


@pytest.mark.realdata
def test_the_stray_quote_through_the_cli_exits_3(tmp_path, shared_data):
    data = (shared_data / REAL_2016_09).read_bytes()
    path = tmp_path / "2016-09-west-midlands-stop-and-search.csv"
    path.write_bytes(_with_quote_before_legislation(data, 3))
    result = CliRunner().invoke(
        main, ["--db", str(tmp_path / "w.duckdb"), "ingest", "--json", str(path)]
    )
    assert result.exit_code == EXIT_REJECTED
    loaded = REAL_2016_09_ROWS - 1
    assert f'"rows_loaded": {loaded}' in result.output and '"rows_rejected": 1' in result.output


def test_an_unclosed_quote_rejects_its_line_and_the_next_line_loads(con, tmp_path):
    data = _with_quote_before_legislation(csv_bytes([row(), row(), row()]), 2)
    path = tmp_path / "2023-01-testshire-stop-and-search.csv"
    path.write_bytes(data)
    [result] = ingest_paths(con, [path]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert [(r[0], r[1]) for r in _rejected(con)] == [(3, "Legislation")]
    assert _loaded_lines(con) == [2, 4]


def test_a_10_mb_quoted_field_costs_its_line_only(con, tmp_path):
    path = write_csv(tmp_path, [row(), row(Policing_operation="x, " * 3_500_000), row()])
    [result] = ingest_paths(con, [path]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    [(line, field, reason, raw)] = _rejected(con)
    assert (line, field) == (3, None)
    assert reason.startswith("line longer than 65,536 bytes (10,500,")
    assert len(raw) < 1000  # only the first bytes of the line are kept
    assert _loaded_lines(con) == [2, 4]


def test_text_after_a_closing_quote_names_the_field(con, tmp_path):
    data = csv_bytes([row(), row()]).replace(b"Controlled drugs", b'"Controlled" drugs', 1)
    path = tmp_path / "2023-01-testshire-stop-and-search.csv"
    path.write_bytes(data)
    ingest_paths(con, [path])
    [(line, field, reason, _)] = _rejected(con)
    assert (line, field, reason) == (
        2,
        "Object of search",
        "text after the closing quote of this field",
    )
    assert _loaded_lines(con) == [3]


def test_quoted_fields_with_doubled_quotes_and_commas_load(con, tmp_path):
    name = 'Op "North", South'
    path = write_csv(tmp_path, [row(Policing_operation=name), row()])
    assert b'"Op ""North"", South"' in path.read_bytes()
    ingest_paths(con, [path])
    got = con.execute("SELECT source_line, operation_name FROM searches ORDER BY 1").fetchall()
    assert got == [(2, name), (3, None)]


def test_empty_lines_are_not_data_lines_and_a_blank_line_of_spaces_is(con, tmp_path):
    data = csv_bytes([row(), row(), row()]).split(b"\r\n")
    data[2:2] = [b"", b"", b"   "]  # lines 3-5: two empty lines and one of spaces
    data.insert(7, b",,,")  # line 8: three commas, four fields
    path = tmp_path / "2023-01-testshire-stop-and-search.csv"
    path.write_bytes(b"\r\n".join(data))
    [result] = ingest_paths(con, [path]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 3, 2)
    assert result.lines_counted == 5
    assert [(r[0], r[2]) for r in _rejected(con)] == [
        (5, "wrong number of fields: 1 (expected 15)"),
        (8, "wrong number of fields: 4 (expected 15)"),
    ]
    assert _loaded_lines(con) == [2, 6, 7]


@pytest.mark.parametrize("ending", [b"\r", b"\n\r", b"\r\r\n"])
def test_odd_line_endings_keep_physical_line_numbers(con, tmp_path, ending):
    data = ending.join(csv_bytes([row(), row(Type="Horse search"), row()]).split(b"\r\n"))
    path = tmp_path / "2023-01-testshire-stop-and-search.csv"
    path.write_bytes(data)
    [result] = ingest_paths(con, [path]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    step = 2 if ending in (b"\n\r", b"\r\r\n") else 1  # each of these ends two lines
    assert _rejected(con)[0][0] == 1 + 2 * step
    assert _loaded_lines(con) == [1 + step, 1 + 3 * step]


def test_a_disagreement_with_the_line_count_is_flagged(con, tmp_path, monkeypatch):
    """Fault injection: a reader that drops a row is caught by the independent count."""
    real_parse = load_module.parse_csv

    def losing_parse(raw, source, limits):
        parsed = real_parse(raw, source, limits)
        parsed.table = parsed.table.slice(0, parsed.table.num_rows - 1)
        parsed.rows_read -= 1
        return parsed

    monkeypatch.setattr(load_module, "parse_csv", losing_parse)
    path = write_csv(tmp_path, [row(), row(), row()])
    report = ingest_paths(con, [path])
    [result] = report.files
    assert (result.rows_read, result.lines_counted, result.lines_disagree) == (2, 3, True)
    assert report.needs_attention
    assert report.notes() == [
        f"line count: {path}: read 2 rows but the file has 3 physical data lines"
    ]
    assert con.execute("SELECT line, field, code FROM warnings").fetchall() == [
        (None, "(file)", "line_count")
    ]


def test_the_line_counter_agrees_with_splitlines_however_the_bytes_are_chunked():
    rng = random.Random(11)
    for _ in range(300):
        pieces = [b"\n", b"\n\n", b"a", b"bc,", b" ", b"\x00", b"d\n"]
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        counter = DataLineCounter()
        position = 0
        while position < len(data):
            step = rng.randint(1, 5)
            counter.feed(data[position : position + step])
            position += step
        assert counter.data_lines == count_data_lines(data) == plain_data_lines(data), data


def test_rows_read_balance_for_a_source_in_memory(con):
    data = csv_bytes([row(), row(Date="2016-09-01T0\u00b9:09:00+00:00"), row()])
    source = SourceFile.from_bytes(
        "2016-09-memshire-stop-and-search.csv", "memshire", date(2016, 9, 1), "csv", data
    )
    [result] = ingest_sources(con, [source]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert result.lines_counted == 3
