"""Every extract speaks the same names: ethnic_group (never grp), council names everywhere,
the period label and months with data, and the Home Office comparable rate in the area layers."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq

from stopsearch.warehouse import connect
from tests.extracts_fixtures import demo_export, read_records  # noqa: F401


def test_councils_are_named_in_every_extract(demo_export, demo_warehouse_path):  # noqa: F811
    with connect(demo_warehouse_path, read_only=True) as con:
        names = dict(
            con.execute("SELECT code, name FROM areas WHERE kind = 'local_authority'").fetchall()
        )
    assert len(names) >= 2 and all(names[c] != c for c in names)
    wards = pq.read_table(demo_export.folder / "wards.parquet").to_pandas()
    assert wards["parent_code"].notna().all()
    assert (wards["parent_name"] == wards["parent_code"].map(names)).all()
    records = read_records(demo_export.folder, columns=["la_code", "la_name"]).to_pandas()
    placed = records[records.la_code.notna()]
    assert len(placed) > 1000 and (placed["la_name"] == placed["la_code"].map(names)).all()
    metrics = pq.read_table(
        demo_export.folder / "metrics", columns=["area_kind", "area_code", "area_name"]
    ).to_pandas()
    councils = metrics[metrics.area_kind == "local_authority"].drop_duplicates("area_code")
    assert (councils["area_name"] == councils["area_code"].map(names)).all()


def test_ethnic_group_and_period_columns_in_every_long_table(demo_export):  # noqa: F811
    with (demo_export.folder / "metrics-csv" / "latest-12.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert "ethnic_group" in header and "grp" not in header
    assert header[3:6] == ["period", "period_label", "period_kind"]
    wards = pq.read_table(demo_export.folder / "wards.parquet").to_pandas()
    assert set(wards["period_label"]) == {"Latest 12 months (Jan 2024 to Dec 2024)"}
    assert set(wards["months_with_data"]) == {"2024-01/2024-12"}
    rate = wards["search_rate_all_persons"]
    stated = wards["search_rate_all"]
    shown = rate.notna() & stated.notna()
    assert shown.sum() > 5 and (rate[shown] >= stated[shown]).all()
