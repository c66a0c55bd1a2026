"""The per-area CSV files the warehouse makes (area_files.sql) are byte for byte what Python's csv
writer makes of the same rows with area_files.csv_value, split into files by area_csv_parts: on
every published row of the demo, and on made-up rows with the awkward values (formula text,
quotes, commas, line breaks, NaN, negative zero, large and tiny numbers)."""

from __future__ import annotations

import math
from datetime import date

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from stopsearch.metrics.contract import PUBLISHED_COLUMNS
from stopsearch.outputs.site import area_files
from stopsearch.outputs.site.area_files import area_csv, area_csv_parts
from stopsearch.warehouse import connect

TYPES = {
    "period_start": "DATE",
    "period_end": "DATE",
    "months_present": "INTEGER",
    "value": "DOUBLE",
    "ci_low": "DOUBLE",
    "ci_high": "DOUBLE",
    "numerator": "DOUBLE",
    "denominator": "DOUBLE",
    "imprecise": "BOOLEAN",
}


# Every published row in the order of the site's reads (data.sql 'published', which leaves out
# the figures no page shows: the CSVs hold them all).
ALL_ROWS = f"""
SELECT {", ".join(PUBLISHED_COLUMNS)} FROM published_metrics
ORDER BY area_kind, area_code, period, basis, grp, breakdown, category, measure
"""


def _compare(con: duckdb.DuckDBPyConnection, latest_year: int | None = None) -> int:
    """Files made in SQL equal Python's, file by file, with every area's rows split as
    area_csv_parts splits them, and each line the SQL made equals Python's line of its row;
    returns how many lines the SQL made."""
    rows = con.execute(ALL_ROWS).fetchall()
    by_area: dict[tuple[str, str], list[tuple]] = {}
    for row in rows:
        by_area.setdefault((row[0], row[1]), []).append(row)
    parts = {}
    for (kind, code), mine in by_area.items():
        for year, part in area_csv_parts(mine, latest_year).items():
            parts[area_files.AreaFile(kind, code, year, len(part), "").rel] = part
    files = area_files.fingerprints(con, sorted({kind for kind, _ in by_area}), latest_year)
    assert {f.rel: f.rows for f in files} == {rel: len(part) for rel, part in parts.items()}
    made = {f.rel: content for f, content in area_files.contents(con, files, latest_year)}
    assert made == {rel: area_csv(part) for rel, part in parts.items()}
    count = 0
    for file, lines in area_files.lines(con, files, latest_year):
        for row, line in zip(parts[file.rel], lines, strict=True):
            if line is not None:
                assert area_csv([(*row, line)]) == area_csv([row]), row
                count += 1
            else:  # left to Python: only past 1e15 (and NaN, which DuckDB orders above all)
                assert any(v is not None and not abs(v) < 1e15 for v in row[15:20]), row
    return count


def test_every_demo_row_gives_the_same_line(demo_warehouse_path, demo_confidential_warehouse_path):
    for path in (demo_warehouse_path, demo_confidential_warehouse_path):
        with connect(path, read_only=True) as con:
            made = _compare(con)
            assert made > 10_000
            latest = con.execute("SELECT year(max(period_end)) FROM published_metrics").fetchone()
            assert _compare(con, latest[0]) == made  # the closed years in files of their own
            assert made == con.execute("SELECT count(*) FROM published_metrics").fetchone()[0]


def _table(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    columns = ", ".join(f"{c} {TYPES.get(c, 'VARCHAR')}" for c in PUBLISHED_COLUMNS)
    con.execute(f"CREATE TABLE published_metrics ({columns})")
    marks = ", ".join("?" for _ in PUBLISHED_COLUMNS)
    if rows:
        con.executemany(f"INSERT INTO published_metrics VALUES ({marks})", rows)
    return con


def _row(i: int, text: str | None, number: float | None, flag: bool | None) -> tuple:
    return (
        "ward", f"W{i:06d}", text, "2024", text, "year", date(2024, 1, 1), date(2024, 12, 1),
        12, text, "none", "All", "total", text, "searches",
        number, number, None, number, number, flag, text, text,
    )  # fmt: skip


AWKWARD_TEXT = ["", "=SUM(A1)", "+1", "-2", "@x", "\tt", "\rr", 'say "hi"', "a,b", "l1\nl2", "é ø"]
AWKWARD_NUMBERS = [
    None, math.nan, 0.0, -0.0, 1.0, -3.0, 0.5, 1e15, 1e15 - 1, 123456789.123456789,
    0.0000004, 0.0000005, 0.0000015, -0.0000001, 2.675, 1 / 3, 1e-320, 9.999999999,
]  # fmt: skip


def test_awkward_values_give_the_same_line():
    """Every awkward value is written by SQL, and as Python would."""
    rows = [
        _row(i, text, number, flag)
        for i, (text, number, flag) in enumerate(
            (t, n, f) for t in AWKWARD_TEXT for n in AWKWARD_NUMBERS for f in (None, True, False)
        )
    ]
    assert _compare(_table(rows)) == len(rows) - 2 * 3 * len(AWKWARD_TEXT)  # 1e15, NaN


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.text(max_size=12)),
            st.one_of(st.none(), st.floats(allow_infinity=False, width=64)),
            st.one_of(st.none(), st.booleans()),
        ),
        max_size=20,
    )
)
def test_any_values_give_the_same_line(values):
    rows = [
        _row(i, t.replace("\x00", ""), n, f) if t else _row(i, t, n, f)
        for i, (t, n, f) in enumerate(values)
    ]
    _compare(_table(rows))
