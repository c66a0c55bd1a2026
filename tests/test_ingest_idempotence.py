"""Loading twice changes nothing; a re-supplied month replaces its rows whole; crashes roll back."""

from __future__ import annotations

import zipfile

import pytest

import stopsearch.ingest.load as load_module
from stopsearch.ingest import ingest_paths
from stopsearch.warehouse import connect
from tests.factories import api_record, csv_bytes, row, write_csv, write_json


def _snapshot(con):
    return {
        table: con.execute(f"SELECT * EXCLUDE (loaded_at) FROM {table} ORDER BY ALL").fetchall()
        if table in ("loads", "load_history")
        else con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in (
            "searches",
            "rejected",
            "warnings",
            "unmapped_labels",
            "loads",
            "load_history",
        )
    }


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    path = write_csv(tmp_path, [row(), row(Date="bad"), row(Latitude="x")])
    db = tmp_path / "w.duckdb"
    with connect(db) as con:
        first = ingest_paths(con, [path])
        before = _snapshot(con)
    with connect(db) as con:
        second = ingest_paths(con, [path])
        after = _snapshot(con)
    assert [f.action for f in first.files] == ["new"]
    assert [f.action for f in second.files] == ["unchanged"]
    assert before == after


def test_resupplied_month_replaces_rows_in_one_go(con, tmp_path):
    path = write_csv(tmp_path, [row(), row(), row(Date="bad")])
    other = write_csv(tmp_path, [row()], month="2023-02")
    ingest_paths(con, [path, other])
    path.write_bytes(csv_bytes([row(Type="Vehicle search")] * 5))
    report = ingest_paths(con, [path, other])
    assert [f.action for f in report.files] == ["resupplied", "unchanged"]
    per_month = con.execute(
        "SELECT strftime(month, '%Y-%m'), count(*), count(DISTINCT load_id) FROM searches "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert per_month == [("2023-01", 5, 1), ("2023-02", 1, 1)]
    assert con.execute("SELECT count(*) FROM rejected").fetchone()[0] == 0  # old reject gone
    history = con.execute(
        "SELECT strftime(month, '%Y-%m'), action, previous_sha256 IS NOT NULL FROM load_history "
        "ORDER BY load_id"
    ).fetchall()
    assert history == [
        ("2023-01", "new", False),
        ("2023-02", "new", False),
        ("2023-01", "resupplied", True),
    ]
    assert con.execute("SELECT count(*) FROM loads").fetchone()[0] == 2


def test_a_crash_mid_load_leaves_the_previous_state(con, tmp_path, monkeypatch):
    path = write_csv(tmp_path, [row(), row()])
    ingest_paths(con, [path])
    before = _snapshot(con)
    path.write_bytes(csv_bytes([row()] * 7))
    real_run_sql = load_module.run_sql

    def failing(con_, package, name, params=None):
        real_run_sql(con_, package, name, params)
        if name == "write.sql":
            raise OSError("disk full (injected)")

    monkeypatch.setattr(load_module, "run_sql", failing)
    with pytest.raises(OSError, match="injected"):
        ingest_paths(con, [path])
    assert _snapshot(con) == before
    monkeypatch.setattr(load_module, "run_sql", real_run_sql)
    ingest_paths(con, [path])
    assert con.execute("SELECT count(*) FROM searches").fetchone()[0] == 7


def test_archive_zip_layout(con, tmp_path):
    archive = tmp_path / "2023-02.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("2023-01/2023-01-testshire-stop-and-search.csv", csv_bytes([row()] * 3))
        zf.writestr("2023-02/2023-02-testshire-stop-and-search.csv", csv_bytes([row()] * 2))
        zf.writestr("2023-02/2023-02-testshire-street.csv", b"not ours")
    report = ingest_paths(con, [archive])
    assert [(f"{f.month:%Y-%m}", f.rows_loaded) for f in report.files] == [
        ("2023-01", 3),
        ("2023-02", 2),
    ]
    assert report.files[0].source == f"{archive}:2023-01/2023-01-testshire-stop-and-search.csv"


def test_api_json_records(con, tmp_path):
    records = [
        api_record(),
        api_record(outcome=False, outcome_object=None, location=None),
        api_record(outcome=None, operation=True, operation_name="Op Fictional"),
        api_record(type="Unknown type"),
        "not a record",
    ]
    [result] = ingest_paths(con, [write_json(tmp_path, records)]).files
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 3, 2)
    got = con.execute(
        "SELECT source_line, outcome_class, latitude, street_id, street_name, part_of_operation, "
        "operation_name, involved_person FROM searches ORDER BY source_line"
    ).fetchall()
    assert got == [
        (1, "no further action", 52.48, 1234567, "On or near Fictional Street", False, None, True),
        (2, "unknown", None, None, None, False, None, True),
        (3, "unknown", 52.48, 1234567, "On or near Fictional Street", True, "Op Fictional", True),
    ]
    rejected = con.execute("SELECT line, field FROM rejected ORDER BY line").fetchall()
    assert rejected == [(4, "Type"), (5, None)]


def test_invalid_json_is_refused_with_its_line(con, tmp_path):
    path = tmp_path / "2023-01-testshire-stop-and-search.json"
    path.write_text('[{"type": "Person search"},\n {"broken": ')
    [result] = ingest_paths(con, [path]).files
    assert result.action == "refused"
    assert f"{path}: line 2: not valid JSON" in result.error


def test_json_starting_with_a_nul_byte_is_refused_not_a_crash(con, tmp_path):
    """Found by the property test: json.loads(bytes) guesses UTF-16 from a leading NUL."""
    path = tmp_path / "2023-01-testshire-stop-and-search.json"
    path.write_bytes(b"\x00[{}]\r\n")
    [result] = ingest_paths(con, [path]).files
    assert result.action == "refused"
    assert "not valid JSON" in result.error
