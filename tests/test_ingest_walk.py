"""Walking the inputs: no symlink loop followed, no FIFO, socket or device opened, everything left
out said, and a force-month supplied twice refused whole."""

from __future__ import annotations

import os
import socket
import threading
import zipfile

import pytest
from click.testing import CliRunner

from stopsearch.cli import EXIT_REJECTED, main
from stopsearch.errors import IngestError
from stopsearch.ingest import find_inputs, ingest_paths
from stopsearch.ingest.discover import open_regular
from tests.factories import csv_bytes, row, write_csv

MONTH = "2023-01-testshire-stop-and-search.csv"


def _in_thread(function, *args):
    """Run `function` where a hang cannot stall the suite (a FIFO opened would block for ever)."""
    box: dict = {}

    def target():
        try:
            box["value"] = function(*args)
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "hung: the walk opened something it should not"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_a_symlink_to_the_folder_itself_is_not_followed_and_is_reported(con, tmp_path):
    write_csv(tmp_path, [row(), row()])
    (tmp_path / "again").symlink_to(".")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")
    report = _in_thread(ingest_paths, con, [tmp_path])
    assert [(f.action, f.rows_loaded) for f in report.files] == [("new", 2)]
    assert sorted((s.path, s.reason.split(",")[0]) for s in report.inputs.skipped) == [
        (str(tmp_path / "again"), f"leads to the folder {tmp_path}"),
        (str(tmp_path / "sub" / "up"), f"leads to the folder {tmp_path}"),
    ]
    assert not report.needs_attention


def test_a_linked_month_folder_is_followed_once(con, tmp_path):
    months = tmp_path / "months"
    months.mkdir()
    write_csv(months, [row()])
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "a").symlink_to(months)
    (inputs / "b").symlink_to(months)
    report = ingest_paths(con, [inputs])
    assert [(f.source, f.action) for f in report.files] == [(str(inputs / "a" / MONTH), "new")]
    [skipped] = report.inputs.skipped
    assert skipped.path == str(inputs / "b")


def test_a_fifo_in_a_folder_is_skipped_unopened(con, tmp_path):
    write_csv(tmp_path, [row()])
    os.mkfifo(tmp_path / "2023-02-testshire-stop-and-search.csv")
    report = _in_thread(ingest_paths, con, [tmp_path])
    assert [f.action for f in report.files] == ["new"]
    [skipped] = report.inputs.skipped
    assert skipped.reason == "a FIFO (named pipe); not opened"
    assert f"skipped: {skipped.path}: a FIFO (named pipe); not opened" in report.notes()


def test_a_fifo_named_on_the_command_line_exits_3_without_blocking(tmp_path):
    fifo = tmp_path / MONTH
    os.mkfifo(fifo)
    args = ["--db", str(tmp_path / "w.duckdb"), "ingest", str(fifo)]
    result = _in_thread(CliRunner().invoke, main, args)
    assert result.exit_code == EXIT_REJECTED
    assert f"skipped: {fifo}: a FIFO (named pipe); not opened" in result.output


def test_sockets_devices_and_broken_links_are_skipped(con, tmp_path, monkeypatch):
    write_csv(tmp_path, [row()])
    server = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(tmp_path)  # bind a relative name: socket paths are limited to 107 bytes
    try:
        server.bind("2023-03-testshire-stop-and-search.csv")
        (tmp_path / "2023-04-testshire-stop-and-search.csv").symlink_to("/dev/zero")
        (tmp_path / "2023-05-testshire-stop-and-search.csv").symlink_to(tmp_path / "gone")
        report = _in_thread(ingest_paths, con, [tmp_path])
    finally:
        server.close()
    assert [f.action for f in report.files] == ["new"]
    assert [s.reason for s in report.inputs.skipped] == [
        "a socket; not opened",
        "a character device; not opened",
        "a symlink to nothing (broken link)",
    ]


def test_open_regular_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(IngestError, match="a FIFO"):
        _in_thread(open_regular, fifo)


def test_a_very_deep_folder_tree_is_walked_without_recursion(con, tmp_path):
    folders = [tmp_path / "d"]
    for _ in range(1199):
        folders.append(folders[-1] / "d")
    for folder in folders:
        folder.mkdir()
    month = write_csv(folders[-1], [row()])
    try:
        assert [s.name for s in find_inputs([tmp_path]).sources] == [str(month)]
    finally:  # removed bottom up here: a recursive removal would itself run out of stack
        month.unlink()
        for folder in reversed(folders):
            folder.rmdir()


def test_two_members_for_one_force_month_in_a_zip_are_both_refused(con, tmp_path):
    first = write_csv(tmp_path, [row()] * 3, month="2023-01")
    ingest_paths(con, [first])
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(f"2023-01/{MONTH}", csv_bytes([row()]))
        out.writestr(f"copy/{MONTH}", csv_bytes([row()] * 2))
    report = ingest_paths(con, [archive])
    assert [f.action for f in report.files] == ["refused", "refused"]
    for f in report.files:
        assert f"{archive}:2023-01/{MONTH} and {archive}:copy/{MONTH}" in f.error
        assert "testshire 2023-01 is supplied 2 times in this run" in f.error
    assert con.execute("SELECT count(*) FROM searches").fetchone()[0] == 3  # as before
    assert report.needs_attention


def test_the_same_force_month_in_two_folders_is_refused(con, tmp_path):
    for folder, rows in (("a", [row()]), ("b", [row(), row()])):
        (tmp_path / folder).mkdir()
        write_csv(tmp_path / folder, rows)
    report = ingest_paths(con, [tmp_path])
    assert [f.action for f in report.files] == ["refused", "refused"]
    assert con.execute("SELECT count(*) FROM searches").fetchone()[0] == 0


def test_a_folder_where_nothing_matched_exits_3_and_lists_what_was_ignored(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "2023-01-testshire-street.csv").write_text("x")
    (folder / "notes.txt").write_text("x")
    args = ["--db", str(tmp_path / "w.duckdb"), "ingest", str(folder)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_REJECTED
    lines = result.output.splitlines()
    assert f"no stop-and-search file in {folder}" in lines[-3]
    assert "2 other file(s) ignored:" in lines[-3]
    assert lines[-2:] == [
        f"    ignored: {folder / '2023-01-testshire-street.csv'}",
        f"    ignored: {folder / 'notes.txt'}",
    ]


def test_a_zip_where_nothing_matched_is_reported_too(con, tmp_path):
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("2023-01/2023-01-testshire-street.csv", "x")
    report = ingest_paths(con, [archive])
    assert report.inputs.empty == [str(archive)]
    assert report.inputs.ignored == {
        str(archive): [f"{archive}:2023-01/2023-01-testshire-street.csv"]
    }
    assert report.needs_attention


def test_a_year_0_file_name_is_refused_and_the_others_load(con, tmp_path):
    bad = tmp_path / "0000-01-west-midlands-stop-and-search.csv"
    bad.write_bytes(csv_bytes([row()]))
    write_csv(tmp_path, [row()])
    report = ingest_paths(con, [tmp_path])
    assert [f.action for f in report.files] == ["new"]
    assert [(r.path, r.reason) for r in report.inputs.refused] == [
        (str(bad), f"{bad}: year 0000 is not a calendar year")
    ]
    assert report.needs_attention


def test_a_misnamed_data_file_is_refused_not_silently_ignored(con, tmp_path):
    bad = tmp_path / "2023-1-testshire-stop-and-search.csv"
    bad.write_bytes(csv_bytes([row()]))
    write_csv(tmp_path, [row()])
    report = ingest_paths(con, [tmp_path])
    assert [r.path for r in report.inputs.refused] == [str(bad)]
    assert "not a stop-and-search file name" in report.inputs.refused[0].reason


def test_a_broken_zip_is_refused_and_the_others_load(con, tmp_path):
    (tmp_path / "archive.zip").write_bytes(b"PK\x03\x04 not really")
    write_csv(tmp_path, [row()])
    report = ingest_paths(con, [tmp_path])
    assert [f.action for f in report.files] == ["new"]
    [refused] = report.inputs.refused
    assert refused.reason.startswith("not a readable zip archive")


def test_a_damaged_zip_member_is_refused_alone(con, tmp_path):
    archive = tmp_path / "archive.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr(f"2023-01/{MONTH}", csv_bytes([row()] * 200))
        out.writestr("2023-02/2023-02-testshire-stop-and-search.csv", csv_bytes([row()]))
    data = bytearray(archive.read_bytes())
    start = data.index(b"PK\x03\x04") + 30 + len(f"2023-01/{MONTH}")
    data[start + 20 : start + 40] = b"\xff" * 20  # inside the first member's deflated bytes
    archive.write_bytes(bytes(data))
    report = ingest_paths(con, [archive])
    assert [f.action for f in report.files] == ["refused", "new"]
    assert report.files[0].error.startswith(f"{archive}:2023-01/{MONTH}: cannot be read (")
