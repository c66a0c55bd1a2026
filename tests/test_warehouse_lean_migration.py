"""Issue 19's lean row: a warehouse written by the release before it migrates in place.

The fixture (tests/fixtures/release_v7, see its README) was written by the code before the lean
row. Every row a reader sees through `searches`, and every load, reject, warning and unmapped
label, must be what the old release had; a metrics build on the migrated warehouse must equal one
on a fresh warehouse of the same inputs.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest

from stopsearch.errors import WarehouseError
from stopsearch.pipeline import prepare
from stopsearch.status import integrity_problems, warehouse_status
from stopsearch.warehouse import SCHEMA_VERSION, connect

FIXTURE = Path(__file__).parent / "fixtures" / "release_v7"
TABLES = ("searches", "loads", "load_history", "rejected", "warnings", "unmapped_labels")
SHAPE = (
    "SELECT column_name, data_type, column_index FROM duckdb_columns()"
    " WHERE table_name = 'searches' ORDER BY column_index"
)


def _old_copy(folder: Path) -> Path:
    """A fresh copy of the old release's warehouse file under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "old.duckdb"
    with gzip.open(FIXTURE / "warehouse.duckdb.gz", "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def _contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every table's rows; `rejected` without the column the migration adds (`omitted`)."""
    columns = {
        table: ", ".join(
            name
            for (name,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ?"
                " AND column_name <> 'omitted' ORDER BY column_index",
                [table],
            ).fetchall()
        )
        for table in TABLES
    }
    return {
        table: con.execute(f"SELECT {columns[table]} FROM {table} ORDER BY ALL").fetchall()
        for table in TABLES
    }


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> tuple[dict, list, Path]:
    """(old contents, old `searches` shape, path of the migrated warehouse)."""
    path = _old_copy(tmp_path_factory.mktemp("lean-migration"))
    with duckdb.connect(str(path), read_only=True) as old:  # the old file, not migrated
        assert old.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 7
        before, shape = _contents(old), old.execute(SHAPE).fetchall()
    connect(path).close()  # migrates in place
    return before, shape, path


def test_every_row_and_count_survives_the_migration(migrated):
    before, shape, path = migrated
    with connect(path, read_only=True) as con:
        after = _contents(con)
        assert con.execute(SHAPE).fetchall() == shape  # names, order, types (ENUMs stay ENUMs)
        kinds = dict(
            con.execute(
                "SELECT table_name, 'table' FROM duckdb_tables() UNION ALL"
                " SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        )
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        labels = con.execute(
            "SELECT field, count(*), min(label_id), max(label_id) FROM search_labels GROUP BY 1"
        ).fetchall()
        problems = integrity_problems(con)
        omitted = con.execute("SELECT count(omitted), count(*) FROM rejected").fetchone()
        months = [(m.month, m.rows_loaded, m.rows_rejected) for m in warehouse_status(con)]
    assert len(before["searches"]) == 6012 and after == before
    assert (kinds["searches"], kinds["search_rows"], kinds["search_labels"]) == (
        "view",
        "table",
        "table",
    )
    assert version == SCHEMA_VERSION
    assert all(low == 1 and high == n for _, n, low, high in labels)  # dense ids per field
    assert problems == [] and omitted == (0, 2)  # no summary rows: both rejects in full
    assert [(f"{m:%Y-%m}", n, r) for m, n, r in months] == [
        ("2023-01", 2002, 0),
        ("2023-02", 1991, 0),
        ("2023-03", 2019, 2),
    ]


def test_a_metrics_build_on_the_migrated_warehouse_equals_a_fresh_one(
    migrated, demo_dir, tmp_path
):
    _, _, path = migrated
    inputs = tmp_path / "inputs"
    with zipfile.ZipFile(FIXTURE / "inputs.zip") as archive:
        archive.extractall(inputs)
    manifest = demo_dir / "boundaries" / "manifest.toml"
    work = tmp_path / "migrated.duckdb"
    shutil.copyfile(path, work)
    query = "SELECT * FROM published_metrics ORDER BY ALL"
    with connect(work) as con:
        report = prepare(con, [inputs], manifest)
        ours = con.execute(query).fetchall()
    assert [f.action for f in report.ingest.files] == ["unchanged"] * 3  # same checksums
    with connect(tmp_path / "fresh.duckdb") as con:
        report = prepare(con, [inputs], manifest)
        fresh = con.execute(query).fetchall()
    assert [f.action for f in report.ingest.files] == ["new"] * 3
    assert len(ours) > 1000 and ours == fresh


def test_a_warehouse_whose_rows_disagree_with_their_loads_is_not_migrated(tmp_path):
    path = _old_copy(tmp_path)
    with duckdb.connect(str(path)) as old:
        old.execute("UPDATE searches SET force = 'elsewhere' WHERE source_line = 7")
    with pytest.raises(WarehouseError, match=r"disagree with their load .* e\.g\. search_id"):
        connect(path)
    with duckdb.connect(str(path), read_only=True) as old:  # rolled back: still the old table
        kinds = old.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'searches'"
        ).fetchone()
        version = old.execute("SELECT max(version) FROM schema_migrations").fetchone()
    assert kinds == (1,) and version == (7,)


def test_published_timestamp_texts_that_are_not_canonical_survive_the_migration(tmp_path):
    path = _old_copy(tmp_path)
    texts = ["2023-01-05T14:32:00Z", "2023-01-05T15:32:00+01:00", " x\u00e9\U0001f600", ""]
    with duckdb.connect(str(path)) as old:
        for line, text in enumerate(texts, start=2):
            old.execute(
                "UPDATE searches SET datetime_published = ? WHERE source_line = ?", [text, line]
            )
        before = old.execute("SELECT * FROM searches ORDER BY search_id").fetchall()
    with connect(path) as con:
        after = con.execute("SELECT * FROM searches ORDER BY search_id").fetchall()
        kept = con.execute(
            "SELECT count(*) FROM search_rows WHERE datetime_odd IS NOT NULL"
        ).fetchone()
    assert after == before and kept == (len(texts) * 3,)  # three months, four lines each
