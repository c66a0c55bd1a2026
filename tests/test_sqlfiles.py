"""The one SQL-file loader: named sections, statement splitting, parameters and slots."""

from __future__ import annotations

import pkgutil
from importlib import resources

import duckdb
import pytest

import stopsearch
from stopsearch.sqlfiles import SqlFile, parse_sql

TEXT = """-- A file header comment.

-- name: make
-- Two statements under one name, run in order.
CREATE TEMP TABLE t (k INTEGER, v VARCHAR);
INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');

-- name: pick
SELECT v FROM t WHERE k >= $low
-- name: newest_first
ORDER BY k DESC

-- name: wide
SELECT /* columns */ FROM t WHERE k = $k;
"""


def test_sections_split_at_names_and_line_final_semicolons():
    sections = parse_sql(TEXT, "test.sql")
    assert [(s.name, len(s.statements)) for s in sections] == [
        ("make", 2),
        ("pick", 1),
        ("newest_first", 1),
        ("wide", 1),
    ]
    make = sections[0].statements
    assert make[0].sql == "CREATE TEMP TABLE t (k INTEGER, v VARCHAR)"
    assert make[1].sql.startswith("INSERT INTO t VALUES") and not make[1].sql.endswith(";")
    assert sections[1].statements[0].params == frozenset({"low"})
    assert "--" not in "".join(s.sql for sec in sections for s in sec.statements)


def test_a_file_without_names_is_one_unnamed_section():
    (section,) = parse_sql("SELECT 1;\n-- comment\nSELECT 2;\n")
    assert section.name is None
    assert [s.sql for s in section.statements] == ["SELECT 1", "SELECT 2"]


def test_repeated_or_empty_names_are_refused():
    with pytest.raises(ValueError, match="used twice"):
        parse_sql("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")
    with pytest.raises(ValueError, match="has no statement"):
        parse_sql("-- name: a\n-- only a comment\n-- name: b\nSELECT 1;\n")


@pytest.fixture
def sql_file(tmp_path, monkeypatch):
    package = tmp_path / "sqlpkg_for_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "q.sql").write_text(TEXT)
    monkeypatch.syspath_prepend(str(tmp_path))
    return SqlFile("sqlpkg_for_test", "q.sql")


def test_execute_binds_only_the_parameters_a_statement_names(sql_file):
    con = duckdb.connect()
    sql_file.execute(con, "make", {"unused": 1})
    rows = sql_file.execute(con, "pick", {"low": 2, "also_unused": "x"}).fetchall()
    assert sorted(rows) == [("b",), ("c",)]
    ordered = con.execute(sql_file["pick"] + "\n" + sql_file["newest_first"], {"low": 1})
    assert ordered.fetchall() == [("c",), ("b",), ("a",)]
    with pytest.raises(KeyError, match=r"no value for parameters \['low'\]"):
        sql_file.execute(con, "pick", {})
    with pytest.raises(KeyError, match="no statement '-- name: nothing'"):
        sql_file.execute(con, "nothing")
    with pytest.raises(ValueError, match="holds 2 statements"):
        sql_file["make"]


def test_slots_take_generated_sql_but_never_parameters(sql_file):
    con = duckdb.connect()
    sql_file.execute(con, "make")
    cursor = sql_file.execute(con, "wide", {"k": 2}, slots={"columns": "v, k * 10 AS k10"})
    assert cursor.fetchall() == [("b", 20)]
    with pytest.raises(ValueError, match="must not hold"):
        sql_file.execute(con, "wide", {"k": 2}, slots={"columns": "$k"})
    with pytest.raises(KeyError, match="no slot"):
        sql_file.execute(con, "wide", {"k": 2}, slots={"other": "v"})


def _packaged_sql_files():
    for module in pkgutil.walk_packages(stopsearch.__path__, "stopsearch."):
        if not module.ispkg:
            continue
        for entry in resources.files(module.name).iterdir():
            if entry.name.endswith(".sql"):
                yield module.name, entry.name
    for entry in resources.files("stopsearch").iterdir():
        if entry.name.endswith(".sql"):
            yield "stopsearch", entry.name


@pytest.mark.parametrize(("package", "filename"), sorted(set(_packaged_sql_files())))
def test_every_shipped_sql_file_parses(package, filename):
    sections = SqlFile(package, filename).sections
    assert sections and all(section.statements for section in sections)
