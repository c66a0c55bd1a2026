"""Manifest: fields validated with messages naming file, entry and field, paths and data_root."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stopsearch.errors import GeographyError
from stopsearch.geography import load_manifest
from tests.geo_factories import SOURCE, write_manifest
from tests.shared import REAL_MANIFEST, SHARED_DATA

WARD = {
    "id": "wards-2013",
    "kind": "ward",
    "name": "Wards",
    "file": "wards.geojson",
    "code_field": "WD13CD",
    "valid_from": date(2004, 6, 10),
    "valid_to": "2018-05-02",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "wards.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    return tmp_path


def _load(folder: Path, layers: list[dict], **sections: list[dict]):
    return load_manifest(write_manifest(folder / "manifest.toml", layers, **sections))


def test_valid_manifest(folder):
    manifest = _load(folder, [WARD])
    layer = manifest.layer("wards-2013")
    assert layer.path == (folder / "wards.geojson").resolve()
    assert layer.format == "geojson" and layer.series == "ward" and layer.repair == "make_valid"
    assert (layer.valid_from, layer.valid_to) == (date(2004, 6, 10), date(2018, 5, 2))
    assert layer.attribution == SOURCE["attribution"]
    assert manifest.layers_of("ward") == (layer,)


def test_data_root_and_root_override(tmp_path):
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    (data / "wards.geojson").write_text("{}")
    manifests = tmp_path / "repo" / "boundaries"
    manifests.mkdir(parents=True)
    path = write_manifest(manifests / "m.toml", [WARD])
    path.write_text('data_root = "../../shared/data"\n' + path.read_text())
    assert load_manifest(path).layer("wards-2013").path == data / "wards.geojson"
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "wards.geojson").write_text("{}")
    assert load_manifest(path, root=other).layer("wards-2013").path == other / "wards.geojson"


def test_data_root_env_overrides_data_root_when_set(tmp_path, monkeypatch):
    """An operator points the committed manifest at their own data folder with a variable."""
    manifests = tmp_path / "repo" / "boundaries"
    manifests.mkdir(parents=True)
    path = write_manifest(manifests / "m.toml", [WARD])
    path.write_text(
        'data_root = "../../shared/data"\ndata_root_env = "MY_DATA"\n' + path.read_text()
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "wards.geojson").write_text("{}")
    monkeypatch.setenv("MY_DATA", str(elsewhere))
    assert load_manifest(path).layer("wards-2013").path == elsewhere / "wards.geojson"
    monkeypatch.chdir(tmp_path)  # a relative value is relative to the working directory
    monkeypatch.setenv("MY_DATA", "elsewhere")
    assert load_manifest(path).root == elsewhere
    other = tmp_path / "other"
    other.mkdir()
    (other / "wards.geojson").write_text("{}")
    assert load_manifest(path, root=other).root == other  # an explicit root still wins
    monkeypatch.setenv("MY_DATA", str(tmp_path / "missing"))
    with pytest.raises(GeographyError, match=r"folder not found: .*missing \(from \$MY_DATA\)"):
        load_manifest(path)
    monkeypatch.delenv("MY_DATA")  # unset: data_root as written, which is absent here
    with pytest.raises(GeographyError, match="folder not found") as unset:
        load_manifest(path)
    assert f"folder not found: {tmp_path / 'shared' / 'data'}" in str(unset.value)
    assert "$MY_DATA" not in str(unset.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"kind": "county"},
            r"layer 'wards-2013', field 'kind': must be one of ward, .*"
            r"\(for example: kind = \"ward\"\)",
        ),
        ({"code_field": None}, r"field 'code_field': is missing \(for example: code_field = "),
        ({"valid_to": "2018/05/02"}, r"field 'valid_to': must be a date YYYY-MM-DD"),
        ({"valid_to": "2001-01-01"}, r"field 'valid_to': 2001-01-01 is before valid_from"),
        ({"file": "missing.geojson"}, r"field 'file': file not found: .*missing.geojson"),
        ({"file": "wards.xyz"}, r"field 'format': cannot tell the format of 'wards.xyz'"),
        ({"colour": "red"}, r"layer #1: unknown field\(s\) colour; allowed fields are"),
        ({"id": "Wards 2013"}, r"field 'id': must be lower-case letters"),
        ({"repair": "ignore"}, r"field 'repair': must be one of make_valid, refuse"),
        ({"licence": ""}, r"field 'licence': must be a non-empty string"),
    ],
)
def test_field_errors_name_file_layer_and_field(folder, change, message):
    layer = {**WARD, **change}
    layer = {k: v for k, v in layer.items() if v is not None}
    with pytest.raises(GeographyError, match=message) as error:
        _load(folder, [layer])
    assert str(folder / "manifest.toml") in str(error.value)


def test_structural_errors(folder):
    with pytest.raises(GeographyError, match="duplicate id 'wards-2013'"):
        _load(folder, [WARD, WARD])
    with pytest.raises(GeographyError, match="declares no layer"):
        _load(folder, [])
    with pytest.raises(GeographyError, match="not valid TOML"):
        (folder / "broken.toml").write_text("[[layer]\n")
        load_manifest(folder / "broken.toml")
    with pytest.raises(GeographyError, match="manifest not found"):
        load_manifest(folder / "absent.toml")


def test_references_between_entries(folder):
    (folder / "lookup.csv").write_text("a,b\n")
    lookup = {
        "id": "lk",
        "from_layer": "lsoa",
        "to_layer": "wards-2013",
        "file": "lookup.csv",
        "from_field": "a",
        "to_field": "b",
    }
    with pytest.raises(GeographyError, match="lookup 'lk', field 'from_layer': no layer with id"):
        _load(folder, [WARD], lookup=[lookup])
    with pytest.raises(GeographyError, match="is a ward, not a small_area"):
        _load(folder, [WARD], lookup=[{**lookup, "from_layer": "wards-2013"}])
    priority = {
        "id": "p",
        "kind": "priority_area",
        "name": "P",
        "file": "lookup.csv",
        "code_field": "a",
    }
    with pytest.raises(GeographyError, match="field 'small_area_layer': is missing"):
        _load(folder, [WARD, priority])
    with pytest.raises(GeographyError, match="'lookup' needs a \\[\\[lookup\\]\\] with to_layer"):
        _load(folder, [{**WARD, "population_method": "lookup"}])


def test_population_entries(folder):
    (folder / "pop.csv").write_text("LSOA\n")
    table = {"id": "pop", "file": "pop.csv", "columns": "census2011-lsoa14", "census_year": 2011}
    with pytest.raises(GeographyError, match="field 'layer_kind': is missing"):
        _load(folder, [WARD], population=[table])
    with pytest.raises(GeographyError, match="unknown preset 'census1901'"):
        _load(folder, [WARD], population=[{**table, "columns": "census1901", "layer": "x"}])
    direct = _load(folder, [WARD], population=[{**table, "layer_kind": "local_authority"}])
    assert direct.populations[0].layer_kind == "local_authority"
    custom = {**table, "layer_kind": "ward", "columns": {"code": "LSOA"}}
    assert _load(folder, [WARD], population=[custom]).populations[0].columns == {"code": "LSOA"}


def test_real_manifest_parses_without_the_data():
    manifest = load_manifest(REAL_MANIFEST, check_files=False)
    ward = manifest.layer("wm-wards-2013")
    assert (ward.kind, ward.code_field, ward.parent_field) == ("ward", "WD13CD", "LAD13CD")
    assert ward.valid_to == date(2018, 5, 2)
    assert "Open Government Licence" in ward.attribution
    assert manifest.root == SHARED_DATA  # ../shared/data, or $STOPSEARCH_SHARED_DATA when set
    assert [p.id for p in manifest.populations] == ["census2011-lsoa", "census2011-la"]


@pytest.mark.realdata
def test_real_manifest_finds_the_shared_files(shared_data):
    for manifest in (load_manifest(REAL_MANIFEST), load_manifest(REAL_MANIFEST, root=shared_data)):
        assert manifest.root == shared_data  # $STOPSEARCH_SHARED_DATA or ../shared/data
        assert all(layer.path.is_file() for layer in manifest.layers)
        assert all(table.path.is_file() for table in manifest.populations)
