"""Readers: GeoJSON, GeoPackage, shapefile (zipped or not), KML, police JSON, small-area CSV."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from stopsearch.errors import GeographyError
from stopsearch.geography import load_boundaries, load_manifest, read_layer
from stopsearch.warehouse import connect
from tests.geo_factories import box, write_geojson, write_manifest

X0, Y0, D = -1.9, 52.4, 0.01
SQUARES = {"A1": box(X0, Y0, X0 + D, Y0 + D), "A2": box(X0 + D, Y0, X0 + 2 * D, Y0 + D)}


def _layer(folder: Path, **entry: object):
    """The single layer of a manifest written with these fields."""
    fields = {"id": "layer", "kind": "neighbourhood", "name": "Test layer", **entry}
    return load_manifest(write_manifest(folder / "manifest.toml", [fields])).layers[0]


def _frame(polygons: dict[str, shapely.Geometry], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"code": list(polygons), "label": [f"Area {c}" for c in polygons], "la": "LA1"},
        geometry=list(polygons.values()),
        crs="EPSG:4326",
    )
    return frame.to_crs(crs)


def _same_areas(frame: gpd.GeoDataFrame, polygons: dict[str, shapely.Geometry], tol=1e-7):
    assert list(frame.columns) == [
        "code",
        "name",
        "parent_code",
        "parent_name",
        "valid_from",
        "valid_to",
        "repaired",
        "geometry",
    ]
    assert frame.crs.to_epsg() == 4326
    assert sorted(frame["code"]) == sorted(polygons)
    for code, geom in zip(frame["code"], frame.geometry, strict=True):
        assert geom.normalize().equals_exact(polygons[code].normalize(), tol), code


def test_geojson(tmp_path):
    write_geojson(tmp_path / "wards.geojson", SQUARES, parent="E08000025")
    layer = _layer(
        tmp_path, file="wards.geojson", code_field="code", name_field="name", parent_field="parent"
    )
    frame = read_layer(layer)
    _same_areas(frame, SQUARES)
    assert set(frame["parent_code"]) == {"E08000025"}
    assert set(frame["name"]) == {"Area A1", "Area A2"}


def test_geopackage_in_british_national_grid_is_reprojected(tmp_path):
    _frame(SQUARES, "EPSG:27700").to_file(tmp_path / "areas.gpkg", layer="wards", driver="GPKG")
    _frame(SQUARES).to_file(tmp_path / "areas.gpkg", layer="other", driver="GPKG")
    unnamed = _layer(tmp_path, file="areas.gpkg", code_field="code")
    with pytest.raises(GeographyError, match="holds layers .*layer_name = 'wards'"):
        read_layer(unnamed)
    layer = _layer(
        tmp_path, file="areas.gpkg", layer_name="wards", code_field="code", name_field="label"
    )
    _same_areas(read_layer(layer), SQUARES, tol=1e-6)


def test_shapefile_plain_and_zipped(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    _frame(SQUARES, "EPSG:27700").to_file(folder / "wards.shp")
    plain = _layer(tmp_path, file="shp/wards.shp", code_field="code", parent_field="la")
    _same_areas(read_layer(plain), SQUARES, tol=1e-6)
    with zipfile.ZipFile(tmp_path / "wards.zip", "w") as archive:
        for part in folder.iterdir():
            archive.write(part, f"inner/{part.name}")
    zipped = _layer(tmp_path, file="wards.zip", code_field="code")
    assert zipped.format == "shapefile"
    _same_areas(read_layer(zipped), SQUARES, tol=1e-6)


def test_shapefile_without_crs_needs_one_declared(tmp_path):
    _frame(SQUARES, "EPSG:27700").to_file(tmp_path / "wards.shp")
    (tmp_path / "wards.prj").unlink()
    with pytest.raises(GeographyError, match='declares no CRS.*crs = "EPSG:27700"'):
        read_layer(_layer(tmp_path, file="wards.shp", code_field="code"))
    declared = _layer(tmp_path, file="wards.shp", code_field="code", crs="EPSG:27700")
    _same_areas(read_layer(declared), SQUARES, tol=1e-6)


def _kml_placemark(name: str, geom: shapely.Polygon) -> str:
    coords = " ".join(f"{x},{y},0" for x, y in geom.exterior.coords)
    return (
        f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing>"
        f"<coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
    )


def _kml(*placemarks: str, folders: bool = False) -> str:
    body = "".join(
        f"<Folder><name>f{n}</name>{p}</Folder>" if folders else p for n, p in enumerate(placemarks)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}</Document></kml>'
    )


def test_kml_file_with_folders(tmp_path):
    text = _kml(*(_kml_placemark(c, g) for c, g in SQUARES.items()), folders=True)
    (tmp_path / "nbh.kml").write_text(text)
    frame = read_layer(_layer(tmp_path, file="nbh.kml", code_field="Name"))
    _same_areas(frame, SQUARES)  # KML Z coordinates are dropped


def test_kml_folder_and_zip_named_by_file(tmp_path):
    """data.police.uk neighbourhood.zip holds <force>/<neighbourhood id>.kml files."""
    folder = tmp_path / "west-midlands"
    folder.mkdir()
    for code, geom in SQUARES.items():
        (folder / f"{code}.kml").write_text(_kml(_kml_placemark("boundary", geom)))
    by_folder = _layer(tmp_path, file="west-midlands", format="kml", code_field="@filename")
    _same_areas(read_layer(by_folder), SQUARES)
    with zipfile.ZipFile(tmp_path / "neighbourhood.zip", "w") as archive:
        for part in folder.iterdir():
            archive.write(part, f"west-midlands/{part.name}")
        archive.writestr("dorset/X9.kml", _kml(_kml_placemark("x", box(0, 50, 0.01, 50.01))))
    zipped = _layer(
        tmp_path,
        file="neighbourhood.zip",
        format="kml",
        layer_name="west-midlands",
        code_field="@filename",
    )
    _same_areas(read_layer(zipped), SQUARES)


def _police_boundary(geom: shapely.Polygon) -> list[dict[str, str]]:
    """An /api/{force}/{id}/boundary answer: strings, ring not closed."""
    return [{"latitude": f"{y:.6f}", "longitude": f"{x:.6f}"} for x, y in geom.exterior.coords[:-1]]


def test_police_json_folder_with_names(tmp_path):
    folder = tmp_path / "boundaries"
    folder.mkdir()
    for code, geom in SQUARES.items():
        (folder / f"{code}.json").write_text(json.dumps(_police_boundary(geom)))
    names = tmp_path / "neighbourhoods.json"
    names.write_text(json.dumps([{"id": "A1", "name": "Aston"}, {"id": "A2", "name": "Bordesley"}]))
    layer = _layer(
        tmp_path,
        file="boundaries",
        format="police-json",
        code_field="id",
        name_field="name",
        names_file="neighbourhoods.json",
    )
    frame = read_layer(layer)
    _same_areas(frame, SQUARES, tol=1e-6)
    assert dict(zip(frame["code"], frame["name"], strict=True)) == {
        "A1": "Aston",
        "A2": "Bordesley",
    }


def test_police_json_bad_point_is_refused(tmp_path):
    (tmp_path / "NC1.json").write_text(json.dumps([{"latitude": "52.4"}]))
    layer = _layer(tmp_path, file="NC1.json", format="police-json", code_field="@filename")
    with pytest.raises(GeographyError, match=r"point #1 is not"):
        read_layer(layer)


def test_invalid_geometry_is_repaired_and_reported(tmp_path):
    bow_tie = shapely.Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D)])
    write_geojson(tmp_path / "bad.geojson", {"B1": bow_tie, **SQUARES})
    layer = _layer(tmp_path, file="bad.geojson", code_field="code", kind="ward")
    frame = read_layer(layer)
    repaired = frame.set_index("code")["repaired"]
    assert repaired.to_dict() == {"B1": True, "A1": False, "A2": False}
    fixed = frame.set_index("code").geometry["B1"]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(D * D / 2)
    con = connect(":memory:")
    report = load_boundaries(con, load_manifest(tmp_path / "manifest.toml"))
    assert report.repaired == {"layer": ["B1"]}
    assert "repaired invalid geometry of 1 area(s): B1" in report.notes[0]
    row = con.execute("SELECT repaired, areas FROM boundary_layers").fetchone()
    assert row == (1, 3)


def test_invalid_geometry_can_be_refused(tmp_path):
    bow_tie = shapely.Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0 + D, Y0), (X0, Y0 + D)])
    write_geojson(tmp_path / "bad.geojson", {"B1": bow_tie})
    layer = _layer(tmp_path, file="bad.geojson", code_field="code", repair="refuse")
    with pytest.raises(GeographyError, match=r"invalid geometry in 1 area\(s\): B1 \(Self-inter"):
        read_layer(layer)


def test_points_duplicates_and_missing_fields_are_refused(tmp_path):
    write_geojson(tmp_path / "points.geojson", {"P1": shapely.Point(X0, Y0)})
    with pytest.raises(GeographyError, match="not polygons: P1 \\(Point\\)"):
        read_layer(_layer(tmp_path, file="points.geojson", code_field="code"))
    gpd.GeoDataFrame(
        {"code": ["A1", "A1"]}, geometry=[SQUARES["A1"], SQUARES["A2"]], crs="EPSG:4326"
    ).to_file(tmp_path / "dup.geojson")
    with pytest.raises(GeographyError, match="more than one feature: A1.*merge_duplicates"):
        read_layer(_layer(tmp_path, file="dup.geojson", code_field="code"))
    merged = read_layer(
        _layer(tmp_path, file="dup.geojson", code_field="code", merge_duplicates=True)
    )
    assert len(merged) == 1 and merged.geometry.iloc[0].area == pytest.approx(2 * D * D)
    with pytest.raises(GeographyError, match=r"code_field 'WD13CD' is not a field.*'code'"):
        read_layer(_layer(tmp_path, file="dup.geojson", code_field="WD13CD"))


def test_small_area_csv_is_dissolved(tmp_path):
    small = {
        "S1": SQUARES["A1"],
        "S2": SQUARES["A2"],
        "S3": box(X0 + 2 * D, Y0, X0 + 3 * D, Y0 + D),
    }
    write_geojson(tmp_path / "small.geojson", small)
    (tmp_path / "priority.csv").write_text(
        "code,name,lsoa,designated\nP1,West,S1,2017-01-01\nP1,West,S2,2017-01-01\n"
        "P2,East,S3,2018-03-01\n"
    )
    (tmp_path / "bad.csv").write_text("code,name,lsoa\nP1,West,S9\n")
    entries = [
        {
            "id": "small",
            "kind": "small_area",
            "name": "LSOA",
            "file": "small.geojson",
            "code_field": "code",
        },
        {
            "id": "priority",
            "kind": "priority_area",
            "name": "Priority",
            "file": "priority.csv",
            "code_field": "code",
            "name_field": "name",
            "small_area_layer": "small",
            "small_area_field": "lsoa",
            "designated_from_field": "designated",
        },
        {
            "id": "bad",
            "kind": "priority_area",
            "name": "Bad",
            "file": "bad.csv",
            "code_field": "code",
            "small_area_layer": "small",
            "small_area_field": "lsoa",
        },
    ]
    manifest = load_manifest(write_manifest(tmp_path / "manifest.toml", entries))
    small_frame = read_layer(manifest.layer("small"))
    frame = read_layer(manifest.layer("priority"), small_frame).set_index("code")
    assert frame.geometry["P1"].equals(box(X0, Y0, X0 + 2 * D, Y0 + D))
    assert str(frame["valid_from"]["P2"]) == "2018-03-01"
    with pytest.raises(GeographyError, match="not in layer 'small', e.g. 'S9'"):
        read_layer(manifest.layer("bad"), small_frame)
    con = connect(":memory:")
    load_boundaries(con, dataclasses.replace(manifest, layers=manifest.layers[:2]))
    members = con.execute("SELECT code, member_code FROM area_members ORDER BY ALL").fetchall()
    assert members == [("P1", "S1"), ("P1", "S2"), ("P2", "S3")]
    stored = con.execute(
        "SELECT code, valid_from, round(area_m2 / 1e6, 3) FROM areas WHERE kind = 'priority_area'"
        " ORDER BY code"
    ).fetchall()
    expected = _frame({"P1": frame.geometry["P1"]}, "EPSG:27700").area.iloc[0] / 1e6
    assert stored[0][2] == pytest.approx(expected, rel=1e-3)
    assert str(stored[1][1]) == "2018-03-01"
