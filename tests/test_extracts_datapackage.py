"""datapackage.json: Frictionless-valid, checksums right, stable schemas, deterministic bytes."""

from __future__ import annotations

import hashlib
import json

import frictionless
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from stopsearch.metrics.contract import MEASURES
from stopsearch.metrics.suppression import REASONS
from stopsearch.outputs.extracts import SCHEMA_VERSION, export
from stopsearch.outputs.extracts import schema as schema_mod
from stopsearch.outputs.extracts.columns import REASON_CODES
from stopsearch.warehouse import connect
from tests.extracts_fixtures import demo_export, month_files  # noqa: F401


@pytest.fixture
def package(demo_export):  # noqa: F811
    return json.loads((demo_export.folder / "datapackage.json").read_text(encoding="utf-8"))


def test_frictionless_validate_passes(demo_export):  # noqa: F811
    report = frictionless.validate(demo_export.folder / "datapackage.json")
    problems = report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])
    assert report.valid, problems[:20]
    by_name = {task.name: task for task in report.tasks}
    months = [f for f in demo_export.report.files if f.month and f.name.endswith(".csv")]
    assert len(months) == 24
    for file in months:  # every month's CSV validated row by row
        assert by_name[f"searches-{file.month}-csv"].stats["rows"] == file.rows
    assert {task.type for task in report.tasks} >= {"table", "file", "json", "text"}


def test_checksums_and_sizes_match_files(demo_export, package):  # noqa: F811
    folder = demo_export.folder
    described = {r["path"]: r for r in package["resources"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert sum(1 for name in on_disk if name.startswith(("searches/", "searches-csv/"))) == 48
    assert on_disk == set(described) | {"datapackage.json"}
    reported = {f.name: f for f in demo_export.report.files}
    assert set(reported) == on_disk
    for path, resource in described.items():
        data = (folder / path).read_bytes()
        assert resource["bytes"] == len(data) == reported[path].bytes
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert reported[path].sha256 == hashlib.sha256(data).hexdigest()
    own = (folder / "datapackage.json").read_bytes()
    assert reported["datapackage.json"].sha256 == hashlib.sha256(own).hexdigest()


def test_every_field_typed_and_described_as_in_the_files(demo_export, package):  # noqa: F811
    folder = demo_export.folder
    for resource in package["resources"]:
        if resource["format"] not in ("csv", "parquet"):
            continue
        fields = resource["schema"]["fields"]
        assert all(f["type"] and f["description"] for f in fields), resource["name"]
        names = [f["name"] for f in fields]
        path = folder / resource["path"]
        if resource["format"] == "parquet":
            assert names == pq.read_schema(path).names
        else:
            assert names == pacsv.read_csv(path).column_names
    searches = {
        f["name"]: f
        for r in package["resources"]
        if r["name"] == "searches-2024-12-csv"
        for f in r["schema"]["fields"]
    }
    assert searches["latitude"]["unit"].startswith("degrees")
    assert searches["self_defined_group"]["constraints"]["enum"][:2] == ["Asian", "Black"]
    wards = {
        f["name"]: f
        for r in package["resources"]
        if r["name"] == "wards-parquet"
        for f in r["schema"]["fields"]
    }
    assert wards["search_rate_black"]["unit"] == MEASURES["search_rate"].unit
    assert wards["dr_black_reason"]["constraints"]["enum"] == list(REASONS)


def test_package_says_demo_licence_period_and_version(demo_export, package):  # noqa: F811
    assert package["schema_version"] == SCHEMA_VERSION
    assert package["demo"] is True and package["record_level"] is True
    assert package["title"].startswith("FICTIONAL DEMONSTRATION DATA")
    assert "FICTIONAL DEMONSTRATION DATA" in package["description"]
    assert [lic["name"] for lic in package["licenses"]] == ["CC0-1.0"]
    assert package["period"]["first_month"] == "2023-01"
    assert package["period"]["latest_12_last_month"] == "2024-12"
    assert package["period"]["label"] == "January 2023 to December 2024 (24 months with data)"
    assert package["period"]["latest_12_label"] == "Latest 12 months (Jan 2024 to Dec 2024)"
    assert package["period"]["latest_12_months_with_data"] == "2024-01/2024-12"
    assert {m["name"] for m in package["measures"]} == set(MEASURES)
    assert set(package["reason_codes"]) == set(REASONS) == set(REASON_CODES)
    assert all("/" not in p["file"] for p in package["provenance"])
    readme = (demo_export.folder / "README.txt").read_text(encoding="utf-8")
    assert readme.startswith("*** FICTIONAL DEMONSTRATION DATA")
    for tool in ("QGIS", "R (sfarrow", "pandas / geopandas", "DuckDB"):
        assert tool in readme


def test_export_is_deterministic(demo_export, demo_warehouse_path, tmp_path):  # noqa: F811
    with connect(demo_warehouse_path, read_only=True) as con:
        again = export(con, tmp_path / "again", record_level=True, demo=True)
    first = {f.name: f.sha256 for f in demo_export.report.files}
    assert {f.name: f.sha256 for f in again.files} == first


# -- schema stability -----------------------------------------------------------------------


def schema_problems(folder=None) -> list[str]:
    """Why the recorded schemas (of `folder`) do not match the code; empty when they do."""
    record = "python -m stopsearch.outputs.extracts"
    version = schema_mod.SCHEMA_VERSION
    problems = []
    recorded = schema_mod.recorded_schemas(folder)
    for stem, files in schema_mod.live_schemas().items():
        entry = recorded.get(stem)
        if entry is None:
            problems.append(f"{stem}: no recorded schema; run {record}")
        elif entry["files"] != files and entry["schema_version"] >= version:
            problems.append(
                f"{stem}: columns changed without a schema version bump: raise SCHEMA_VERSION"
                f" above {entry['schema_version']} in {schema_mod.__name__}, then run {record}"
            )
        elif entry["files"] != files:
            problems.append(
                f"{stem}: SCHEMA_VERSION is {version} but the schema recorded at version"
                f" {entry['schema_version']} is stale: run {record}"
            )
        elif entry["schema_version"] != version:
            problems.append(
                f"{stem}: recorded at version {entry['schema_version']}, code is at {version}:"
                f" run {record}"
            )
    return problems


def test_recorded_schemas_match_the_code():
    assert schema_problems() == []


def test_written_files_match_the_recorded_schemas(demo_export):  # noqa: F811
    recorded = schema_mod.recorded_schemas()
    folder = demo_export.folder
    for stem, layer in (("searches", "searches"), ("metrics", "metrics"), ("areas", "wards")):
        files = recorded[stem]["files"]
        parquet = files[f"{'<layer>' if stem == 'areas' else stem}.parquet"]
        csv = files[f"{'<layer>' if stem == 'areas' else stem}.csv"]
        # The recorded "searches.parquet"/"searches.csv" describe every month's file, and
        # "metrics.parquet"/"metrics.csv" every period's.
        pairs = (
            zip(month_files(folder), month_files(folder, "csv"), strict=True)
            if stem == "searches"
            else zip(
                sorted((folder / "metrics").iterdir()),
                sorted((folder / "metrics-csv").iterdir()),
                strict=True,
            )
            if stem == "metrics"
            else [(folder / f"{layer}.parquet", folder / f"{layer}.csv")]
        )
        for parquet_path, csv_path in pairs:
            schema = pq.read_schema(parquet_path)
            assert [{"name": f.name, "type": str(f.type)} for f in schema] == parquet
            header = pacsv.read_csv(csv_path).column_names
            assert header == [c["name"] for c in csv]


def test_schema_change_needs_a_version_bump(tmp_path, monkeypatch):
    folder = tmp_path / "schemas"
    schema_mod.record(folder)
    assert schema_problems(folder) == []
    # A column changes (simulated by editing what was recorded): the test fails until bumped.
    path = folder / "searches.json"
    entry = json.loads(path.read_text())
    entry["files"]["searches.parquet"][0]["type"] = "int32"
    path.write_text(json.dumps(entry))
    problems = schema_problems(folder)
    assert len(problems) == 1 and "without a schema version bump" in problems[0]
    with pytest.raises(SystemExit):
        schema_mod.record(folder)  # refuses to re-record without a bump
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    assert any("stale" in p for p in schema_problems(folder))
    schema_mod.record(folder)
    assert schema_problems(folder) == []
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION + 1


def test_empty_warehouse_exports_valid_empty_files(con, tmp_path):
    # No month has records and no period has figures, so there is no month or period file (the
    # record files are one per month, the metrics files one per period).
    report = export(con, tmp_path / "downloads", record_level=True, demo=False)
    assert [f.name for f in report.files] == ["README.txt", "datapackage.json"]
    assert report.months == [] and report.periods == []
    assert frictionless.validate(tmp_path / "downloads" / "datapackage.json").valid


def test_write_datapackage_encodes_a_shared_field_list_once_and_the_same_bytes(tmp_path):
    """Resources sharing one field list (the month and period files) give the bytes of encoding
    each resource in full; text that looks like the splice marker stays text."""
    from stopsearch.outputs.extracts.package import write_datapackage

    fields = [{"name": "month", "type": "date", "description": 'é "@@fields@@"'}]
    resources = [
        {"name": f"r{i}", "description": '"@@fields@@"', "schema": {"fields": fields}}
        for i in range(3)
    ] + [{"name": "readme", "schema": "not a dict"}, {"name": "plain"}]
    descriptor = {"name": "p", "resources": resources}
    path = tmp_path / "datapackage.json"
    write_datapackage(path, descriptor)
    lines = ",\n  ".join(
        json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) for r in resources
    )
    assert path.read_text(encoding="utf-8") == (
        f'{{\n "name": "p",\n "resources": [\n  {lines}\n ]\n}}\n'
    )
    assert json.loads(path.read_text(encoding="utf-8")) == descriptor
