"""Adding a month recomputes only the periods it touches, and gives what a full build gives."""

from __future__ import annotations

import pytest

from stopsearch.pipeline import prepare
from stopsearch.warehouse import connect

TABLES = ("metrics", "published_metrics")


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


@pytest.fixture(scope="module")
def grown(demo_dir, tmp_path_factory):
    """A warehouse of 23 demo months, then the 24th added incrementally."""
    folder = tmp_path_factory.mktemp("grow")
    records = folder / "records"
    records.mkdir()
    months = sorted((demo_dir / "records").iterdir())
    for month in months[:-1]:
        (records / month.name).symlink_to(month)
    manifest = demo_dir / "boundaries" / "manifest.toml"
    con = connect(folder / "w.duckdb")
    prepare(con, [records], manifest)
    before = {t: _rows(con, t) for t in TABLES}
    (records / months[-1].name).symlink_to(months[-1])
    report = prepare(con, [records], manifest)
    yield con, before, report, folder
    con.close()


def test_incremental_build_equals_a_full_rebuild(grown, demo_warehouse_path):
    """The 24th month added to 23 gives exactly what the shared demo warehouse holds: all 24
    months prepared in one cold run (a different warehouse file, so nothing is shared)."""
    con, _, report, _ = grown
    assert report.metrics_rebuilt
    incremental = {t: _rows(con, t) for t in TABLES}
    with connect(demo_warehouse_path, read_only=True) as full:
        assert {t: _rows(full, t) for t in TABLES} == incremental


def test_only_touched_periods_changed(grown):
    con, before, _, _ = grown
    after = _rows(con, "published_metrics")
    period = 3  # column index of `period`
    old_2023 = [r for r in before["published_metrics"] if r[period] == "2023"]
    new_2023 = [r for r in after if r[period] == "2023"]
    assert old_2023 == new_2023 and old_2023  # a closed year is reused untouched
    assert any(r[period] == "2024-12" for r in after)
    assert not any(r[period] == "2024-12" for r in before["published_metrics"])
