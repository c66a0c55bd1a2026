"""A file keeps its first REJECTS_IN_FULL rejects in full; the rest are counted in one summary row.

A hostile file of millions of junk lines must not become millions of Python objects and rows.
"""

from __future__ import annotations

import io

from stopsearch.ingest import ingest_paths
from stopsearch.ingest.csv_rows import parse_csv
from stopsearch.ingest.parse import REJECTS_IN_FULL
from stopsearch.ingest.read import read_text
from stopsearch.status import integrity_problems
from stopsearch.thresholds import DEFAULT_LIMITS
from tests.factories import csv_bytes, row, write_csv

JUNK = REJECTS_IN_FULL + 5


def _file(tmp_path):
    """Line 2 good, 3 an unclosed quote, 4..JUNK+3 one byte each, then a bad date, then good."""
    good = csv_bytes([row()], newline="\n").split(b"\n")[1]
    bad_date = csv_bytes([row(Date="not a date")], newline="\n").split(b"\n")[1]
    path = write_csv(tmp_path, [])
    header = path.read_bytes()
    path.write_bytes(header + good + b'\n"unclosed,x\n' + b"x\n" * JUNK + bad_date + b"\n" + good)
    return path


def test_rejects_past_the_cap_are_counted_in_one_row_naming_the_file(con, tmp_path):
    path = _file(tmp_path)
    [result] = ingest_paths(con, [path]).files
    total = 1 + JUNK + 1
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (JUNK + 4, 2, total)
    assert result.lines_counted == JUNK + 4
    stored = con.execute(
        "SELECT line, field, reason, raw_line, omitted FROM rejected ORDER BY line"
    ).fetchall()
    assert len(stored) == REJECTS_IN_FULL + 1
    assert stored[0][:2] == (3, "Type") and stored[0][3] == '"unclosed,x'
    assert stored[1:3] == [
        (4, None, "wrong number of fields: 1 (expected 15)", "x", None),
        (5, None, "wrong number of fields: 1 (expected 15)", "x", None),
    ]
    assert stored[-2][0] == REJECTS_IN_FULL + 2  # the last stored in full
    first = REJECTS_IN_FULL + 3
    assert stored[-1] == (
        first,
        None,
        f"{path}: 7 more rejected lines, from line {first:,} on, are counted here and not"
        f" stored one by one (a file keeps its first {REJECTS_IN_FULL:,} rejects in full; this"
        f" one has {total:,})",
        None,
        7,  # six one-byte lines and the bad date (line REJECTS_IN_FULL + 9)
    )
    assert integrity_problems(con) == []


def test_the_ascii_and_exact_paths_cap_alike(tmp_path):
    data = _file(tmp_path).read_bytes()
    raw = read_text(lambda: io.BytesIO(data), "f.csv", DEFAULT_LIMITS, csv=True)
    fast, exact = (parse_csv(raw, "f.csv", DEFAULT_LIMITS, exact=e) for e in (False, True))
    # The parser keeps pyarrow's first REJECTS_IN_FULL rejects (lines 4..REJECTS_IN_FULL + 3) in
    # full, beside the quoted line's; the loader caps the file as a whole.
    assert fast.rejects == exact.rejects and len(fast.rejects) == REJECTS_IN_FULL + 1
    omitted = list(range(REJECTS_IN_FULL + 4, REJECTS_IN_FULL + 9))
    assert fast.omitted.tolist() == exact.omitted.tolist() == omitted
    assert fast.rows_read == exact.rows_read == JUNK + 4
