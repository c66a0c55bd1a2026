"""Issue 16: the postcode lookup of the boundary manifest ([[postcodes]], ONS Postcode Directory
column names) is read strictly, and the demo ships a fictional one that the warehouse loads."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from stopsearch.errors import GeographyError
from stopsearch.geography import load_manifest
from stopsearch.geography.manifest import PostcodeLookup
from stopsearch.geography.postcodes import read_postcodes
from stopsearch.warehouse import connect
from tests.geo_factories import SOURCE, write_manifest

HEADER = "pcd,pcds,doterm,lsoa11\n"
KNOWN = {"E01000001", "E01000002"}


def _lookup(path: Path, **fields: str) -> PostcodeLookup:
    values = {
        "postcode_field": "pcds",
        "small_area_field": "lsoa11",
        "end_field": "doterm",
        **fields,
    }
    return PostcodeLookup(
        id="onspd",
        file=path.name,
        path=path,
        small_area_layer="lsoa",
        small_area_field=values["small_area_field"],
        postcode_field=values["postcode_field"],
        end_field=values["end_field"],
        **SOURCE,
    )


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "onspd.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_postcodes_in_force_and_in_the_layer_are_read_in_one_form(tmp_path):
    path = _file(
        tmp_path,
        HEADER
        + "B6 4AA,B6 4AA,,E01000001\n"
        + "B64 5AB,b645ab,,E01000002\n"  # any case and spacing: one form
        + "B6 4AB,B6 4AB,201805,E01000001\n"  # terminated
        + "B1 1AA,B1 1AA,,E01999999\n"  # another force's small area
        + "B1 1AB,B1 1AB,,\n"  # no small area
        + "\n",
    )
    read = read_postcodes(_lookup(path), KNOWN)
    assert read.rows == [("B6 4AA", "E01000001"), ("B64 5AB", "E01000002")]
    assert (read.terminated, read.outside) == (1, 2)
    # Without an end column every postcode counts as in force.
    path.write_text("pcds,lsoa21\nB6 4AB,E01000001\n", encoding="utf-8")
    read = read_postcodes(_lookup(path, small_area_field="lsoa21"), KNOWN)
    assert read.rows == [("B6 4AB", "E01000001")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pcd,doterm,lsoa11\n", "line 1: no column 'pcds' (postcodes 'onspd'); the columns are"),
        (HEADER + "B6 4AA,B6 4AA,,E01000001\nx,NOT A CODE,,E01000001\n", "line 3, field 'pcds':"
         " 'NOT A CODE' is not a postcode (for example: B6 4AA)"),
        (HEADER + "B6 4AA,B6 4AA,E01000001\n", "line 2: 3 fields where the header has 4"),
        (
            HEADER + "B6 4AA,B6 4AA,,E01000001\nB64AA,B64AA,,E01000002\n",
            "line 3, field 'lsoa11': B6 4AA is in 'E01000002' here but in 'E01000001' on line 2",
        ),
        (HEADER + "B6 4AA,B6 4AA,," + "E" * 80 + "\n", "line 2, field 'lsoa11': 'EEEE"),
    ],
)
def test_bad_lookup_input_names_file_line_and_field(tmp_path, text, message):
    path = _file(tmp_path, text)
    with pytest.raises(GeographyError) as raised:
        read_postcodes(_lookup(path), KNOWN)
    assert str(raised.value).startswith(f"{path}, line ")
    assert message in str(raised.value)


def test_a_lookup_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "onspd.csv"
    path.write_bytes(b"pcds,lsoa11\nB6 4AA,E01\xe9\n")
    with pytest.raises(GeographyError, match=r"onspd.csv: not UTF-8 text"):
        read_postcodes(_lookup(path), KNOWN)


def _square(path: Path) -> Path:
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"LSOA11CD":"E01000001"},"geometry":{"type":"Polygon","coordinates":'
        "[[[-1.9,52.4],[-1.8,52.4],[-1.8,52.5],[-1.9,52.5],[-1.9,52.4]]]}}]}",
        encoding="utf-8",
    )
    return path


def test_the_manifest_declares_postcodes_for_a_small_area_layer(tmp_path):
    _square(tmp_path / "lsoa.geojson")
    _file(tmp_path, HEADER)
    small = {"id": "lsoa", "kind": "small_area", "name": "LSOAs", "file": "lsoa.geojson",
             "code_field": "LSOA11CD"}
    ward = {**small, "id": "wards", "kind": "ward", "name": "Wards"}
    entry = {"id": "onspd", "file": "onspd.csv", "small_area_layer": "lsoa",
             "small_area_field": "lsoa11"}
    manifest = load_manifest(write_manifest(tmp_path / "m.toml", [small, ward], postcodes=[entry]))
    (lookup,) = manifest.postcodes
    assert (lookup.postcode_field, lookup.end_field, lookup.path) == (
        "pcds", "doterm", tmp_path / "onspd.csv"
    )
    bad = {**entry, "small_area_layer": "wards"}
    with pytest.raises(GeographyError, match="field 'small_area_layer': layer 'wards' is a ward"):
        load_manifest(write_manifest(tmp_path / "m.toml", [small, ward], postcodes=[bad]))
    with pytest.raises(GeographyError, match=r"postcodes #1: unknown field\(s\) postcode"):
        load_manifest(
            write_manifest(tmp_path / "m.toml", [small], postcodes=[{**entry, "postcode": "x"}])
        )
    with pytest.raises(GeographyError, match="postcodes 'onspd', field 'file': file not found"):
        load_manifest(
            write_manifest(tmp_path / "m.toml", [small], postcodes=[{**entry, "file": "no.csv"}])
        )


def test_the_demo_postcodes_are_loaded_with_their_small_areas(demo_dir, demo_warehouse_path):
    with (demo_dir / "boundaries" / "postcodes.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    in_force = sorted((r["pcds"], r["lsoa21"]) for r in rows if not r["doterm"])
    assert len(rows) == 930 and len(in_force) == 910
    assert all(r["pcds"].startswith("DS") for r in rows)  # no real postcode area is DS
    with connect(demo_warehouse_path, read_only=True) as con:
        loaded = con.execute(
            "SELECT postcode, small_area_code FROM postcodes ORDER BY postcode"
        ).fetchall()
        counts = con.execute(
            "SELECT postcodes, terminated, outside FROM postcode_lookups"
        ).fetchall()
    assert loaded == in_force
    assert counts == [(910, 20, 0)]
