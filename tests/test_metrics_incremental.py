"""Adding a month recomputes only the periods it touches, and gives what a full build gives.

Issue 19: the grouping counts are kept per force-month (metrics_monthly) and counted again only
for new, re-supplied or withdrawn force-months, and only the units of periods whose inputs
changed are recomputed. Every incremental build here is compared with a cold build of the same
warehouse by the same code (every cache emptied), table by table and bit for bit.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from stopsearch.ingest.load import _delete_load
from stopsearch.metrics.build import build_metrics, stale_force_months
from stopsearch.pipeline import prepare
from stopsearch.thresholds import ReleaseRules
from stopsearch.warehouse import connect

TABLES = ("metrics", "published_metrics")
BUILT = ("metrics", "published_metrics", "metrics_dispersion", "metrics_funnel")
CACHES = ("metrics_units", "metrics_monthly", "metrics_monthly_sources")
DEMO_MONTHS = 24


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def _frames(con) -> dict[str, pd.DataFrame]:
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in BUILT}


def _cold(path: Path, folder: Path, rules=None) -> dict[str, pd.DataFrame]:
    """The four tables of a cold metrics build of a copy of `path` (every cache emptied: each
    force-month counted again, each period computed)."""
    folder.mkdir(exist_ok=True)
    copy = folder / "cold.duckdb"
    shutil.copyfile(path, copy)
    with connect(copy) as con:
        for table in CACHES:
            con.execute(f"DELETE FROM {table}")
        loads = con.execute("SELECT count(*) FROM loads").fetchone()[0]
        report = build_metrics(con, rules) if rules is not None else build_metrics(con)
        assert report.force_months_counted == loads
        return _frames(con)


def _assert_same(incremental: dict[str, pd.DataFrame], cold: dict[str, pd.DataFrame]) -> None:
    for table in BUILT:
        assert len(cold[table]) > 0 or table == "metrics_funnel", table
        pd.testing.assert_frame_equal(incremental[table], cold[table], check_exact=True)


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
    con.execute("CHECKPOINT")  # the file alone holds everything: tests copy it
    yield con, before, report, folder
    con.close()


@pytest.fixture
def grown_copy(grown, tmp_path):
    """A writable copy of the grown warehouse (24 months, caches filled incrementally)."""
    copy = tmp_path / "w.duckdb"
    shutil.copyfile(grown[3] / "w.duckdb", copy)
    with connect(copy) as con:
        yield con, copy


def test_incremental_build_equals_a_full_rebuild(grown, demo_warehouse_path):
    """The 24th month added to 23 gives exactly what the shared demo warehouse holds: all 24
    months prepared in one cold run (a different warehouse file, so nothing is shared)."""
    con, _, report, _ = grown
    assert report.metrics_rebuilt
    incremental = {t: _rows(con, t) for t in TABLES}
    with connect(demo_warehouse_path, read_only=True) as full:
        assert {t: _rows(full, t) for t in TABLES} == incremental


def test_a_new_month_counts_one_force_month_and_equals_a_cold_build(grown, tmp_path):
    """The counts SQL read the records of the new force-month only (its facts view holds one
    month), and every table equals a cold build's, bit for bit."""
    con, _, report, folder = grown
    assert report.metrics.force_months_counted == 1
    assert con.execute("SELECT DISTINCT month FROM _m_facts").fetchall() == [(date(2024, 12, 1),)]
    assert con.execute("SELECT count(*) FROM metrics_monthly_sources").fetchone()[0] == 24
    # The latest 12 months with their 12 months, the window a year earlier and 2024-Q4 with
    # 2023-Q4 (the changes on a year earlier: 16); last night's latest 12 months (now the
    # window 12m-2024-11), the month that left them (2023-12), 2024, and last night's quarter
    # pair 2024-Q3 and 2023-Q3 (no change row any more): 21 of 47 periods.
    assert report.metrics.periods_computed == 21
    _assert_same(_frames(con), _cold(folder / "w.duckdb", tmp_path))


def test_only_touched_periods_changed(grown):
    con, before, _, _ = grown
    after = _rows(con, "published_metrics")
    period = 3  # column index of `period`
    old_2023 = [r for r in before["published_metrics"] if r[period] == "2023"]
    new_2023 = [r for r in after if r[period] == "2023"]
    assert old_2023 == new_2023 and old_2023  # a closed year is reused untouched
    assert any(r[period] == "2024-12" for r in after)
    assert not any(r[period] == "2024-12" for r in before["published_metrics"])


def test_nothing_changed_reads_no_records(grown_copy):
    con, _ = grown_copy
    before = _frames(con)
    report = build_metrics(con)
    assert (report.force_months_counted, report.periods_computed) == (0, 0)
    _assert_same(_frames(con), before)


RARE = "Criminal Justice Act 1988 (section 139B)"  # under no demo record


def _records(
    demo_dir: Path,
    folder: Path,
    short: str | None = None,
    rare: dict[str, int] | None = None,
    months: int = DEMO_MONTHS,
) -> Path:
    """A records folder of the first `months` demo months: month `short` re-supplied without
    its last 40 records; each month of `rare` re-supplied with that many records' legislation
    RARE."""
    folder.mkdir()
    rare = rare or {}
    for month in sorted((demo_dir / "records").iterdir())[:months]:
        if month.name != short and month.name not in rare:
            (folder / month.name).symlink_to(month)
            continue
        (folder / month.name).mkdir()
        for source in month.iterdir():
            with source.open(encoding="utf-8", newline="") as handle:
                rows = list(csv.reader(handle))
            if month.name == short:
                rows = rows[:-40]
            column = rows[0].index("Legislation")
            for row in rows[1 : 1 + rare.get(month.name, 0)]:
                row[column] = RARE
            with (folder / month.name / source.name).open("w", encoding="utf-8", newline="") as out:
                csv.writer(out).writerows(rows)
    return folder


def test_a_resupplied_older_month(grown_copy, demo_dir, tmp_path):
    """A re-supplied 2023-07 (its last 40 records gone) counts that force-month alone, and the
    result equals a cold build's."""
    con, path = grown_copy
    records = _records(demo_dir, tmp_path / "records", "2023-07")
    report = prepare(con, [records], demo_dir / "boundaries" / "manifest.toml")
    assert [f.action for f in report.ingest.files if f.action != "unchanged"] == ["resupplied"]
    assert report.metrics.force_months_counted == 1
    con.execute("CHECKPOINT")
    _assert_same(_frames(con), _cold(path, tmp_path))


def test_a_withdrawn_month(grown_copy, tmp_path):
    """A force-month withdrawn (2024-02, inside the latest 12 months) counts nothing again: its
    kept counts go, and every period holding it is recomputed."""
    con, path = grown_copy
    month = date(2024, 2, 1)
    (load_id,) = con.execute("SELECT load_id FROM loads WHERE month = ?", [month]).fetchone()
    con.execute("BEGIN TRANSACTION")
    _delete_load(con, load_id)
    con.execute("COMMIT")
    report = build_metrics(con)
    assert report.force_months_counted == 0
    kept = con.execute("SELECT count(DISTINCT month) FROM metrics_monthly").fetchone()[0]
    assert kept == DEMO_MONTHS - 1
    con.execute("CHECKPOINT")
    _assert_same(_frames(con), _cold(path, tmp_path))


def test_a_changed_population(grown_copy, tmp_path):
    """Residents are shared by every period: all are recomputed, no record is counted again."""
    con, path = grown_copy
    con.execute("UPDATE population SET persons = persons * 1.5 WHERE area_code = ?", ["D05000001"])
    report = build_metrics(con)
    assert report.force_months_counted == 0
    assert (
        report.periods_computed
        == con.execute("SELECT count(DISTINCT period) FROM metrics").fetchone()[0]
    )
    con.execute("CHECKPOINT")
    _assert_same(_frames(con), _cold(path, tmp_path))


def test_a_changed_priority_area_counts_everything_again(grown_copy, tmp_path):
    """A designation date is part of the geography every force-month's counts rest on."""
    con, path = grown_copy
    con.execute(
        "UPDATE areas SET valid_from = DATE '2023-10-01' WHERE kind = 'priority_area'"
        " AND code = 'DS-P02'"
    )
    report = build_metrics(con)
    assert report.force_months_counted == DEMO_MONTHS
    con.execute("CHECKPOINT")
    _assert_same(_frames(con), _cold(path, tmp_path))


def _sources(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["force", "month", "load_id", "sha256", "joined"])
    return frame


def test_stale_force_months_new_resupplied_rejoined_withdrawn():
    jan, feb, mar, apr = (date(2024, m, 1) for m in (1, 2, 3, 4))
    cached = _sources(
        [
            ("a", jan, 1, "x", 10),
            ("a", feb, 2, "y", 10),
            ("a", mar, 3, "z", 9),
            ("b", jan, 4, "w", 5),
        ]
    ).assign(shared="s")
    current = _sources(
        [
            ("a", jan, 1, "x", 10),
            ("a", feb, 7, "y2", 10),
            ("a", mar, 3, "z", 10),
            ("a", apr, 8, "v", 1),
        ]
    )
    counted, forget = stale_force_months(current, cached, "s")
    assert list(zip(counted.force, counted.month, counted.load_id, strict=True)) == [
        ("a", feb, 7),
        ("a", mar, 3),
        ("a", apr, 8),
    ]
    assert sorted(zip(forget.force, forget.month, strict=True)) == [
        ("a", feb),
        ("a", mar),
        ("b", jan),
    ]
    counted, forget = stale_force_months(current, cached, "t")  # the shared state changed
    assert len(counted) == 4 and len(forget) == 4
    counted, forget = stale_force_months(current.iloc[:0], cached.iloc[:0], "s")
    assert counted.empty and forget.empty


def _force_rare(con, period: str) -> tuple:
    """(value, reason) of the force's count of RARE searches in `period`."""
    return con.execute(
        "SELECT value, reason FROM published_metrics WHERE area_kind = 'force' AND period = ?"
        " AND measure = 'searches' AND breakdown = 'legislation' AND category = ?",
        [period, RARE],
    ).fetchone()


def test_protected_mode_reuses_closed_years_and_equals_a_cold_build(grown_copy, demo_dir, tmp_path):
    """record_level = false. 2024-03 holds three RARE searches and 2023-02 one: a force count
    of 1 in 2023, withheld in the latest 12 months while they overlap 2023, also on the night
    2023 itself is reused (2024-11 added: 2023 is read as it was kept). 2023-02 re-supplied
    with three: published again there, though no month of the latest 12 changed. Then the
    24th month recomputes the periods overlapping 2024 and the record-level ones, and keeps
    2023. Each night equals a cold protected build bit for bit."""
    con, path = grown_copy
    rules = ReleaseRules(record_level=False)
    manifest = demo_dir / "boundaries" / "manifest.toml"
    con.execute("BEGIN TRANSACTION")
    for (load_id,) in con.execute(
        "SELECT load_id FROM loads ORDER BY month DESC LIMIT 2"
    ).fetchall():
        _delete_load(con, load_id)  # back to 22 months, then protected from nothing
    con.execute("COMMIT")
    assert build_metrics(con, rules).periods_computed == 43

    def night(name: str, rare: dict[str, int], months: int):
        report = prepare(
            con, [_records(demo_dir, tmp_path / name, rare=rare, months=months)], manifest, rules
        )
        con.execute("CHECKPOINT")
        return report.metrics

    one = {"2024-03": 3, "2023-02": 1}
    night("r1", one, 22)
    assert _force_rare(con, "latest-12")[1] is not None  # withheld at force: 1 in 2023
    assert night("r2", one, 23).force_months_counted == 1
    assert _force_rare(con, "latest-12")[1] is not None  # 2023 reused, still 1
    _assert_same(_frames(con), _cold(path, tmp_path / "cold-r2", rules))
    three = {"2024-03": 3, "2023-02": 3}
    assert night("r3", three, 23).force_months_counted == 1
    assert _force_rare(con, "latest-12") == (3.0, None)  # 3 in 2023 and in 2024: published
    _assert_same(_frames(con), _cold(path, tmp_path / "cold-r3", rules))
    before = con.execute("SELECT * FROM published_metrics WHERE period = '2023' ORDER BY ALL").df()
    report = night("r4", three, 24)
    # 2024 and every period overlapping it (latest-12, 4 quarters, 12 months, 11 windows: 29)
    # and the record-level units' 12m-2023-12, 2023-Q3, 2023-Q4 and 2023-12 (see above).
    assert (report.force_months_counted, report.periods_computed) == (1, 33)
    after = con.execute("SELECT * FROM published_metrics WHERE period = '2023' ORDER BY ALL").df()
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    _assert_same(_frames(con), _cold(path, tmp_path / "cold-r4", rules))
