"""Nothing beyond what data.police.uk publishes; record-level only when allowed; suppression."""

from __future__ import annotations

import json

import frictionless
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from stopsearch.metrics.suppression import REASONS
from stopsearch.outputs.extracts import export
from stopsearch.outputs.extracts.columns import WIDE_METRICS
from stopsearch.warehouse import connect
from tests.extracts_fixtures import (  # noqa: F401
    AREA_STEMS,
    demo_export,
    month_files,
    read_records,
    warehouse,
)

# Every column searches.parquet may carry. Adding one is a deliberate, reviewed change: it must
# be a field data.police.uk publishes, an area code, a location flag or provenance.
SEARCHES_WHITELIST = [
    "search_id",
    "force",
    "month",
    "source_file",
    "source_line",
    "datetime_published",
    "datetime",
    "type",
    "is_person_search",
    "part_of_operation",
    "operation_name",
    "latitude",
    "longitude",
    "location_issue",
    "street_id",
    "street_name",
    "gender",
    "age_range",
    "self_defined_ethnicity_raw",
    "self_defined_ethnicity",
    "self_defined_group",
    "officer_defined_ethnicity",
    "officer_defined_group",
    "legislation",
    "object_of_search",
    "object_group",
    "outcome_raw",
    "outcome_class",
    "is_positive",
    "outcome_linked",
    "removal_more_than_outer",
    "involved_person",
    "no_location",
    "outside_area",
    "near_boundary",
    "ward_code",
    "ward_layer_id",
    "neighbourhood_code",
    "small_area_code",
    "la_code",
    "la_name",
    "priority_code",
    "priority_layer_id",
    "geometry",
    "bbox",
]


def test_searches_column_whitelist(demo_export):  # noqa: F811
    parquets, csvs = month_files(demo_export.folder), month_files(demo_export.folder, "csv")
    assert len(parquets) == len(csvs) == 24
    for path in parquets:
        assert pq.read_schema(path).names == SEARCHES_WHITELIST
    for path in csvs:
        header = path.open(encoding="utf-8").readline()
        assert header.strip().replace('"', "").split(",") == SEARCHES_WHITELIST[:-2]


def test_no_operator_path_anywhere(demo_export, demo_dir):  # noqa: F811
    sources = read_records(demo_export.folder, columns=["source_file"])
    names = set(sources.column("source_file").to_pylist())
    assert names and all("/" not in n and "\\" not in n for n in names)
    assert all(n.endswith("-stop-and-search.csv") for n in names)
    needles = [str(demo_dir).encode(), str(demo_dir.parent).encode()]
    for path in sorted(p for p in demo_export.folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert not any(needle in data for needle in needles), path.name


def test_locations_are_the_published_ones_only(demo_export, warehouse):  # noqa: F811
    table = read_records(demo_export.folder, columns=["latitude", "longitude"])
    published = set(
        warehouse.execute("SELECT DISTINCT latitude, longitude FROM searches").fetchall()
    )
    pairs = zip(
        table.column("latitude").to_pylist(), table.column("longitude").to_pylist(), strict=True
    )
    assert set(pairs) == published  # no other (e.g. unsnapped) coordinates


def test_every_withheld_area_value_is_null_with_a_reason(demo_export, warehouse):  # noqa: F811
    kinds = {
        "wards": "ward",
        "neighbourhoods": "neighbourhood",
        "priority_areas": "priority_area",
        "local_authorities": "local_authority",
    }
    withheld = 0
    for stem in AREA_STEMS:
        table = pq.read_table(demo_export.folder / f"{stem}.parquet")
        for m in WIDE_METRICS:
            value = table.column(m.name)
            reason = table.column(f"{m.name}_reason")
            assert pc.all(pc.equal(pc.is_null(value), pc.is_valid(reason))).as_py(), m.name
            assert set(reason.drop_null().to_pylist()) <= set(REASONS)
            if m.with_ci:
                for bound in ("ci_low", "ci_high"):
                    ci = table.column(f"{m.name}_{bound}")
                    assert ci.filter(pc.is_valid(reason)).null_count == len(reason.drop_null()), (
                        f"{m.name}_{bound}"
                    )
            withheld += len(reason.drop_null())
        # Every withheld published cell of the period is withheld, with its reason, here too.
        rows = warehouse.execute(
            "SELECT area_code, basis, grp, breakdown, category, measure, reason"
            " FROM published_metrics WHERE area_kind = ? AND period = 'latest-12'"
            " AND reason IS NOT NULL",
            [kinds[stem]],
        ).fetchall()
        wide = {(m.basis, m.grp, m.breakdown, m.category, m.measure): m.name for m in WIDE_METRICS}
        by_code = {r["code"]: r for r in table.to_pylist()}
        for code, *key, reason in rows:
            name = wide.get(tuple(key))
            if name:
                assert by_code[code][name] is None
                assert by_code[code][f"{name}_reason"] == reason
    assert withheld > 100


def test_withheld_metrics_rows_carry_no_figures(demo_export):  # noqa: F811
    table = pq.read_table(demo_export.folder / "metrics")  # every period's file
    suppressed = table.filter(pc.is_valid(table.column("reason")))
    assert suppressed.num_rows > 0
    for column in ("value", "ci_low", "ci_high", "numerator", "denominator"):
        assert suppressed.column(column).null_count == suppressed.num_rows, column
    shown = table.filter(pc.is_null(table.column("reason")))
    assert shown.column("value").null_count == 0


@pytest.fixture(scope="module")
def aggregates_only(demo_warehouse_path, tmp_path_factory):
    """A non-demo export without the record-level file, into a folder holding stale ones."""
    folder = tmp_path_factory.mktemp("aggregates") / "downloads"
    folder.mkdir()
    (folder / "searches.parquet").write_bytes(b"stale")  # the layout before month files
    (folder / "searches.csv").write_text("stale")
    for top, name in (("searches", "part-0.parquet"), ("searches-csv", "part-0.csv")):
        (folder / top / "month=2023-01").mkdir(parents=True)
        (folder / top / "month=2023-01" / name).write_bytes(b"stale")
    with connect(demo_warehouse_path, read_only=True) as con:
        report = export(con, folder, record_level=False, demo=False, period_label="2023 and 2024")
    return folder, report


def test_record_level_off_writes_no_record_files(aggregates_only):
    folder, report = aggregates_only
    names = {p.name for p in folder.iterdir()}
    assert not any(n.startswith("searches") for n in names)
    assert not any(f.name.startswith("searches") for f in report.files)
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["record_level"] is False
    assert not any(r["path"].startswith("searches") for r in package["resources"])
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "Record-level file: no" in readme
    files = readme.split("Files\n")[1].split("QGIS")[0]
    assert "searches/" not in files and "searches-csv" not in files and "month=" not in files
    assert "metrics/latest-12.parquet  " in files  # the metrics are listed file by file
    assert not (folder / "searches").exists() and not (folder / "searches-csv").exists()


def test_non_demo_package_licence_and_attribution(aggregates_only):
    folder, _ = aggregates_only
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["demo"] is False
    assert package["licenses"][0]["name"] == "OGL-UK-3.0"
    assert package["attribution"].startswith(
        "Contains public sector information licensed under the Open Government Licence v3.0."
    )
    assert package["period"]["label"] == "2023 and 2024"
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "FICTIONAL" not in readme and "FICTIONAL" not in package["title"]
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["taskName", "type", "note"])[:10]
