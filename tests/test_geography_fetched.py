"""Layers declared by their source: police-API neighbourhoods (vintages) and URL files.

Everything runs against the local fake police API (tests/fake_police.py); nothing here needs
the network.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import shapely

from stopsearch.errors import GeographyError
from stopsearch.geography import load_boundaries, load_manifest
from stopsearch.geography.fetched import build_fetched_layers
from stopsearch.geography.police import boundary_geometry, clean_name, split_rings
from stopsearch.geography.register import (
    Register,
    StoredVintage,
    is_due,
    periods,
    record,
    register_key,
)
from stopsearch.pipeline import manifest_fingerprint, prepare
from stopsearch.sources import Cache, PoliceAPI
from stopsearch.warehouse import connect
from tests.fake_police import (
    RATE_LIMIT,
    SERVER_ERROR,
    TRUNCATE,
    FakePoliceServer,
    api_boundary,
    fast_client,
)
from tests.geo_factories import box, write_geojson, write_manifest

FORCE = "testshire"
DAY = date(2024, 3, 4)
WEST = box(-1.3, 52.4, -1.2, 52.5)
EAST = box(-1.2, 52.4, -1.1, 52.5)


def pts(*lat_lon: tuple[float, float]) -> list[dict]:
    """Boundary points as the API writes them: latitude first, as strings."""
    return [{"latitude": str(lat), "longitude": str(lon)} for lat, lon in lat_lon]


def police_entry(**fields: object) -> dict:
    return {
        "id": "nb",
        "kind": "neighbourhood",
        "name": "Testshire neighbourhoods",
        "source": "police-api",
        "force": FORCE,
        **fields,
    }


@pytest.fixture
def server():
    with FakePoliceServer() as fake:
        yield fake


@pytest.fixture
def api(server):
    return PoliceAPI(fast_client(), base_url=server.url)


def built(tmp_path: Path, api: PoliceAPI, today: date = DAY, **fields: object):
    manifest = load_manifest(write_manifest(tmp_path / "manifest.toml", [police_entry(**fields)]))
    return build_fetched_layers(manifest, Cache(tmp_path / "cache"), api, today=today)


def windows(result) -> list[tuple[str, date | None, date | None]]:
    return [(layer.id, layer.valid_from, layer.valid_to) for layer in result.manifest.layers]


# ---- boundary answers ----------------------------------------------------------------------


def test_points_are_latitude_longitude_and_an_open_ring_is_closed():
    geometry = boundary_geometry(pts((52.4, -1.3), (52.5, -1.3), (52.5, -1.2)), "b")
    assert geometry.geom_type == "Polygon"
    assert list(geometry.exterior.coords) == [
        (-1.3, 52.4),
        (-1.3, 52.5),
        (-1.2, 52.5),
        (-1.3, 52.4),
    ]


def test_rings_split_where_they_return_to_their_start():
    two = shapely.MultiPolygon([WEST, box(-1.0, 52.4, -0.9, 52.5)])
    geometry = boundary_geometry(api_boundary(two), "b")
    assert geometry.geom_type == "MultiPolygon" and geometry.equals(two)
    closed = boundary_geometry(api_boundary(two, close_last=True), "b")
    assert closed.equals(two)


def test_a_ring_inside_another_is_a_hole_and_an_island_in_it_a_polygon():
    outer, inner, island = box(0, 50, 3, 53), box(1, 51, 2, 52), box(1.4, 51.4, 1.6, 51.6)
    expected = shapely.MultiPolygon([shapely.Polygon(outer.exterior, [inner.exterior]), island])
    # rings in any order: the nesting, not the order, makes holes
    points = api_boundary(island, close_last=True)
    points += pts(*[(y, x) for x, y in outer.exterior.coords])
    points += pts(*[(y, x) for x, y in inner.exterior.coords])
    geometry = boundary_geometry(points, "b")
    assert geometry.equals(expected) and geometry.area == pytest.approx(9 - 1 + 0.04)


def test_empty_boundary_is_none_and_too_few_points_are_refused():
    assert boundary_geometry([], "b") is None
    with pytest.raises(GeographyError, match="fewer than 3 distinct"):
        boundary_geometry(pts((52.4, -1.3), (52.5, -1.3), (52.4, -1.3)), "b")
    square = api_boundary(WEST, close_last=True)
    with pytest.raises(GeographyError, match="points from #6 on do not form a ring"):
        boundary_geometry(square + pts((53.0, -1.0)), "b")
    with pytest.raises(GeographyError, match='point #2 is not {"latitude"'):
        boundary_geometry([{"latitude": "52", "longitude": "-1"}, {"lat": 1}], "b")


def test_repeated_points_do_not_make_rings():
    doubled = [(0.0, 0.0), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (1.0, 1.0), (0.0, 0.0)]
    assert split_rings(doubled, "b") == [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]]


def test_names_lose_their_html_entities():
    assert clean_name("Kings Norton &amp; Stirchley", "x") == "Kings Norton & Stirchley"
    assert clean_name("St John&#039;s  \n Wood", "x") == "St John's Wood"
    assert clean_name("", "N1") == "N1" and clean_name(None, "N1") == "N1"


# ---- the manifest --------------------------------------------------------------------------


def test_police_layer_declaration_and_its_defaults(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(
        '[[layer]]\nid = "nb"\nkind = "neighbourhood"\nname = "N"\nsource = "police-api"\n'
        f'force = "{FORCE}"\n',
        encoding="utf-8",
    )
    manifest = load_manifest(path)
    assert manifest.layers == () and [layer.id for layer in manifest.fetched] == ["nb"]
    layer = manifest.fetched[0]
    assert (layer.refresh_days, layer.licence, layer.series) == (7, "OGL-UK-3.0", "neighbourhood")
    assert "data.police.uk" in layer.attribution


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"force": None}, "field 'force': is missing"),
        ({"kind": "ward"}, "field 'kind': must be \"neighbourhood\""),
        ({"file": "x.json"}, "field 'file': give either file or source"),
        ({"code_field": "id"}, "field 'code_field': is not used"),
        ({"refresh_days": -1}, "field 'refresh_days': must be a whole number"),
        ({"source": "ftp://example.org/x.zip"}, "field 'source': must be \"police-api\""),
        ({"population_method": "lookup"}, "field 'population_method'"),
    ],
)
def test_police_layer_mistakes_name_the_field(tmp_path, fields, message):
    entry = {k: v for k, v in police_entry(**fields).items() if v is not None}
    with pytest.raises(GeographyError, match=message):
        load_manifest(write_manifest(tmp_path / "m.toml", [entry]))


def test_url_layer_format_and_references(tmp_path):
    url = (
        "https://example.org/arcgis/rest/services/WD23/FeatureServer/0/query?where=1%3D1&f=geojson"
    )
    entry = {"id": "w", "kind": "ward", "name": "W", "source": url, "code_field": "WD23CD"}
    layer = load_manifest(write_manifest(tmp_path / "m.toml", [entry])).fetched[0]
    assert (layer.format, layer.refresh_days) == ("geojson", None)
    for source, message in (
        ("https://example.org/w.shp", "give the URL of a .zip"),
        ("https://example.org/download", "cannot tell the format"),
    ):
        with pytest.raises(GeographyError, match=message):
            load_manifest(write_manifest(tmp_path / "m.toml", [{**entry, "source": source}]))
    with pytest.raises(GeographyError, match="field 'refresh_days': is only used with source"):
        load_manifest(
            write_manifest(
                tmp_path / "m.toml",
                [
                    {
                        "id": "f",
                        "kind": "ward",
                        "name": "F",
                        "file": "m.toml",
                        "code_field": "c",
                        "refresh_days": 3,
                    }
                ],
            )
        )
    lookup = {
        "id": "lk",
        "from_layer": "sa",
        "to_layer": "nb",
        "file": "m.toml",
        "from_field": "a",
        "to_field": "b",
    }
    small = {
        "id": "sa",
        "kind": "small_area",
        "name": "S",
        "file": "m.toml",
        "code_field": "c",
        "format": "geojson",
    }
    with pytest.raises(GeographyError, match="built from the police API in vintages"):
        load_manifest(write_manifest(tmp_path / "m.toml", [small, police_entry()], lookup=[lookup]))


# ---- vintages (pure) ------------------------------------------------------------------------


def _v(day: date, digest: str) -> StoredVintage:
    return StoredVintage(f"nb.{day}", day, digest, f"k/{digest}", 2)


def test_record_keeps_unchanged_sets_and_starts_changed_ones_from_the_fetch_date():
    register = Register("nb", "police-api", FORCE)
    register, what, _ = record(register, "a", "k/a", 2, DAY)
    assert what == "new" and [v.id for v in register.vintages] == [f"nb.{DAY}"]
    later = DAY + timedelta(days=9)
    same, what, _ = record(register, "a", "k/a", 2, later)
    assert what == "unchanged" and same.vintages == register.vintages
    assert same.checked_on == later
    changed, what, previous = record(same, "b", "k/b", 3, later)
    assert what == "changed" and previous == register.vintages[0]
    assert [v.id for v in changed.vintages] == [f"nb.{DAY}", f"nb.{later}"]
    again, what, _ = record(changed, "c", "k/c", 3, later)  # a second change the same day
    assert what == "replaced" and [v.sha256 for v in again.vintages] == ["a", "c"]
    assert again.vintages[-1].id == f"nb.{later}"


def test_periods_cover_earlier_days_with_the_oldest_and_respect_declared_dates():
    d1, d2, d3 = date(2024, 1, 10), date(2024, 2, 1), date(2024, 3, 5)
    register = Register("nb", "police-api", FORCE, d3, [_v(d1, "a"), _v(d2, "b"), _v(d3, "c")])
    spans = [(v.sha256, start, end) for v, start, end in periods(register, None, None)]
    assert spans == [
        ("a", None, date(2024, 1, 31)),
        ("b", d2, date(2024, 3, 4)),
        ("c", d3, None),
    ]
    declared = [(v.sha256, s, e) for v, s, e in periods(register, date(2024, 2, 15), d3)]
    assert declared == [("b", date(2024, 2, 15), date(2024, 3, 4)), ("c", d3, d3)]
    assert [v.sha256 for v, _, _ in periods(register, None, date(2024, 1, 31))] == ["a"]


def test_a_check_is_due_after_refresh_days():
    register = Register("nb", "police-api", FORCE, DAY, [_v(DAY, "a")])
    assert not is_due(register, 7, DAY + timedelta(days=6))
    assert is_due(register, 7, DAY + timedelta(days=7))
    assert is_due(register, 0, DAY) and not is_due(register, None, DAY + timedelta(days=999))
    assert is_due(Register("nb", "police-api", FORCE), None, DAY)


# ---- fetching from the fake API ------------------------------------------------------------


def test_ids_are_percent_encoded_names_unescaped_empty_boundaries_left_out(tmp_path, server, api):
    bow_tie = pts((52.6, -1.3), (52.7, -1.2), (52.6, -1.2), (52.7, -1.3))
    server.set_neighbourhoods(
        FORCE,
        {
            "55.CR3001": api_boundary(WEST),
            "Abbey Ward": api_boundary(EAST),
            "X1": [],
            "bow": bow_tie,
        },
        {"55.CR3001": "Kings Norton &amp; Stirchley", "Abbey Ward": "Abbey &#039;Ward&#039;"},
    )
    result = built(tmp_path, api)
    targets = {r.target for r in server.requests}
    assert f"/api/{FORCE}/Abbey%20Ward/boundary" in targets
    assert f"/api/{FORCE}/55.CR3001/boundary" in targets
    assert not result.failed and windows(result) == [(f"nb.{DAY}", None, None)]
    lines = "\n".join(result.lines)
    assert "3 neighbourhoods: first vintage" in lines
    assert "1 neighbourhood(s) without a boundary left out: X1" in lines
    assert "1 invalid boundary(ies), repaired when loaded: bow (Self-intersection" in lines
    con = connect(":memory:")
    report = load_boundaries(con, result.manifest)
    assert report.repaired == {f"nb.{DAY}": ["bow"]}
    rows = con.execute("SELECT code, name, repaired FROM areas ORDER BY code").fetchall()
    assert rows == [
        ("55.CR3001", "Kings Norton & Stirchley", False),
        ("Abbey Ward", "Abbey 'Ward'", False),
        ("bow", "bow", True),
    ]
    west = con.execute("SELECT ST_AsText(geom) FROM areas WHERE code = '55.CR3001'").fetchone()
    assert shapely.from_wkt(west[0]).equals(WEST)  # longitude is x


def test_second_run_uses_the_cache_then_asks_conditionally(tmp_path, server, api):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST), "N2": api_boundary(EAST)})
    first = built(tmp_path, api)
    assert len(server.requests) == 3 and first.outcomes[0].requests == 3
    second = built(tmp_path, api, DAY + timedelta(days=6))
    assert len(server.requests) == 3 and second.outcomes[0].status == "cached"
    assert windows(second) == windows(first)
    assert manifest_fingerprint(second.manifest) == manifest_fingerprint(first.manifest)
    third = built(tmp_path, api, DAY + timedelta(days=7))
    asked = server.requests[3:]
    assert len(asked) == 3 and all(r.headers.get("if-none-match") for r in asked)
    assert third.outcomes[0].status == "unchanged" and windows(third) == windows(first)
    assert manifest_fingerprint(third.manifest) == manifest_fingerprint(first.manifest)


def test_a_changed_boundary_starts_a_vintage_and_changes_the_fingerprint(tmp_path, server, api):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST), "N2": api_boundary(EAST)})
    first = built(tmp_path, api, refresh_days=0)
    server.set_boundary(FORCE, "N2", api_boundary(box(-1.2, 52.4, -1.05, 52.5)))
    later = DAY + timedelta(days=1)
    second = built(tmp_path, api, later, refresh_days=0)
    assert second.outcomes[0].status == "changed"
    assert windows(second) == [(f"nb.{DAY}", None, DAY), (f"nb.{later}", later, None)]
    assert manifest_fingerprint(second.manifest) != manifest_fingerprint(first.manifest)
    stored = json.loads(Cache(tmp_path / "cache").read(register_key("nb")))
    assert [v["first_fetched"] for v in stored["vintages"]] == [str(DAY), str(later)]


def test_transient_faults_are_retried_and_the_layer_is_built(tmp_path, server, api):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST), "N2": api_boundary(EAST)})
    server.fault(server.neighbourhoods_path(FORCE), RATE_LIMIT, retry_after="2")
    server.fault(server.boundary_path(FORCE, "N1"), SERVER_ERROR, times=2)
    server.fault(server.boundary_path(FORCE, "N2"), TRUNCATE)
    result = built(tmp_path, api)
    assert not result.failed and result.outcomes[0].requests == 3 + 1 + 2 + 1
    assert windows(result) == [(f"nb.{DAY}", None, None)]


def test_a_boundary_that_fails_fails_the_layer_and_keeps_the_previous_vintage(
    tmp_path, server, api
):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST), "N 2": api_boundary(EAST)})
    first = built(tmp_path, api, refresh_days=0)
    server.set_boundary(FORCE, "N1", api_boundary(box(-1.3, 52.4, -1.25, 52.5)))  # changed
    server.fault(server.boundary_path(FORCE, "N 2"), SERVER_ERROR, times=None)
    later = DAY + timedelta(days=3)
    second = built(tmp_path, api, later, refresh_days=0)
    assert [o.layer_id for o in second.failed] == ["nb"]
    assert windows(second) == windows(first)  # no half layer: N1's new boundary is not used
    line = second.lines[0]
    assert "1 of 2 boundaries could not be fetched: neighbourhood 'N 2':" in line
    assert "failed after 4 attempts (HTTP 500" in line
    assert f"the previous vintage nb.{DAY} (fetched {DAY}) stays in use" in line
    server.clear_faults()  # the next run, the next day: both boundaries, and N1's change, land
    third = built(tmp_path, api, later + timedelta(days=1), refresh_days=0)
    assert third.outcomes[0].status == "changed" and len(windows(third)) == 2


def test_without_any_vintage_a_failed_layer_is_left_out(tmp_path, server, api):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST), "N2": api_boundary(EAST)})
    server.remove_boundary(FORCE, "N2")
    result = built(tmp_path, api)
    assert result.manifest.layers == () and result.manifest.fetched == ()
    assert "HTTP 404 Not Found" in result.lines[0]
    assert result.lines[0].endswith(
        "no vintage was fetched before, so the layer is left out of this run"
    )
    server.fault(server.neighbourhoods_path(FORCE), SERVER_ERROR, times=None)
    listing = built(tmp_path, api)
    assert "the neighbourhood list could not be fetched" in listing.lines[0]


def test_refused_repairs_and_collapsed_boundaries_fail_the_layer(tmp_path, server, api):
    bow_tie = pts((52.6, -1.3), (52.7, -1.2), (52.6, -1.2), (52.7, -1.3))
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST), "bow": bow_tie})
    refused = built(tmp_path, api, repair="refuse")
    assert (
        refused.failed
        and "invalid geometry in 1 area(s): bow (Self-intersection" in refused.lines[0]
    )
    flat = pts((52.6, -1.3), (52.7, -1.3), (52.8, -1.3))  # three points on one line
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST), "flat": flat})
    (tmp_path / "other").mkdir()
    collapsed = built(tmp_path / "other", api)
    assert collapsed.failed and "collapses to nothing" in collapsed.lines[0]


def test_stored_vintages_are_checked(tmp_path, server, api):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST)})
    built(tmp_path, api, refresh_days=0)
    server.set_boundary(FORCE, "N1", api_boundary(EAST))
    later = DAY + timedelta(days=1)
    second = built(tmp_path, api, later, refresh_days=0)
    older, newer = (layer.path for layer in second.manifest.layers)
    newer.write_bytes(newer.read_bytes().replace(b"-1.1", b"-1.0"))  # the newest, damaged
    asked = len(server.requests)
    healed = built(tmp_path, api, later + timedelta(days=1), refresh_days=30)  # not due, but
    assert len(server.requests) == asked + 2  # the damaged newest vintage is fetched again
    assert healed.outcomes[0].status == "unchanged" and Cache(tmp_path / "cache").verify() == []
    older.write_bytes(b"{}")
    with pytest.raises(GeographyError, match="cannot be fetched again: restore the cache"):
        built(tmp_path, api, later + timedelta(days=2), refresh_days=30)


def test_a_register_of_another_force_is_refused(tmp_path, server, api):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST)})
    server.set_neighbourhoods("otherforce", {"N1": api_boundary(EAST)})
    built(tmp_path, api)
    with pytest.raises(GeographyError, match="give the layer a new id"):
        built(tmp_path, api, force="otherforce")


def test_prepare_without_fetching_leaves_the_layer_out_with_a_note(tmp_path):
    write_geojson(tmp_path / "wards.geojson", {"W1": WEST})
    ward = {"id": "w", "kind": "ward", "name": "W", "file": "wards.geojson", "code_field": "code"}
    path = write_manifest(tmp_path / "manifest.toml", [ward, police_entry()])
    con = connect(":memory:")
    report = prepare(con, [], path)
    assert any("layer 'nb': declared by its source and not fetched" in n for n in report.notes)
    assert con.execute("SELECT layer_id FROM boundary_layers").fetchall() == [("w",)]


# ---- URL sources ---------------------------------------------------------------------------


def _url_manifest(tmp_path: Path, url: str, **fields: object) -> Path:
    write_geojson(tmp_path / "sa.geojson", {"S1": WEST, "S2": EAST})
    (tmp_path / "lookup.csv").write_text("sa,ward\nS1,W1\nS2,W1\n", encoding="utf-8")
    small = {
        "id": "sa",
        "kind": "small_area",
        "name": "S",
        "file": "sa.geojson",
        "code_field": "code",
    }
    ward = {
        "id": "wards",
        "kind": "ward",
        "name": "Wards",
        "source": url,
        "code_field": "code",
        "name_field": "name",
        **fields,
    }
    lookup = {
        "id": "lk",
        "from_layer": "sa",
        "to_layer": "wards",
        "file": "lookup.csv",
        "from_field": "sa",
        "to_field": "ward",
    }
    return write_manifest(tmp_path / "manifest.toml", [small, ward], lookup=[lookup])


def test_a_url_layer_is_downloaded_once_and_read_like_a_file(tmp_path, server, api):
    body = (write_geojson(tmp_path / "w.geojson", {"W1": WEST.union(EAST)})).read_bytes()
    server.set_file("/ons/wards.geojson", body, "application/geo+json")
    manifest = load_manifest(_url_manifest(tmp_path, f"{server.url}/ons/wards.geojson"))
    cache = Cache(tmp_path / "cache")
    first = build_fetched_layers(manifest, cache, api, today=DAY)
    assert first.lines == [f"layer 'wards' ({server.url}/ons/wards.geojson): fetched"]
    con = connect(":memory:")
    report = load_boundaries(con, first.manifest)
    assert report.lookups == {"lk": 2}
    assert con.execute("SELECT code FROM areas WHERE kind = 'ward'").fetchall() == [("W1",)]
    again = build_fetched_layers(manifest, cache, api, today=DAY + timedelta(days=400))
    assert len(server.requests) == 1 and again.outcomes[0].status == "cached"
    assert manifest_fingerprint(again.manifest) == manifest_fingerprint(first.manifest)


def test_a_url_layer_that_fails_keeps_its_copy_or_is_left_out_with_its_lookups(
    tmp_path, server, api
):
    body = (write_geojson(tmp_path / "w.geojson", {"W1": WEST})).read_bytes()
    server.set_file("/ons/wards.geojson", body, "application/geo+json")
    url = f"{server.url}/ons/wards.geojson"
    manifest = load_manifest(_url_manifest(tmp_path, url, refresh_days=1))
    cache = Cache(tmp_path / "cache", now=lambda: f"{DAY}T02:30:00Z")
    build_fetched_layers(manifest, cache, api, today=DAY)
    unchanged = build_fetched_layers(manifest, cache, api, today=DAY + timedelta(days=1))
    assert unchanged.outcomes[0].status == "not-modified"  # due: asked conditionally
    assert server.requests[-1].headers.get("if-none-match")
    server.fault("/ons/wards.geojson", SERVER_ERROR, times=None)
    kept = build_fetched_layers(manifest, cache, api, today=DAY + timedelta(days=2))
    assert kept.failed and [layer.id for layer in kept.manifest.layers] == ["sa", "wards"]
    assert f"the copy fetched on {DAY} stays in use" in kept.lines[0]
    empty = Cache(tmp_path / "empty")
    gone = build_fetched_layers(manifest, empty, api, today=DAY)
    assert [layer.id for layer in gone.manifest.layers] == ["sa"]
    assert gone.manifest.lookups == () and "lookup 'lk': left out with its layer" in gone.lines
    assert "nothing cached, so the layer is left out of this run" in gone.lines[0]


def test_a_url_file_that_is_not_what_it_claims_is_refused(tmp_path, server, api):
    server.set_file("/ons/wards.zip", b"<html>Service unavailable</html>", "text/html")
    manifest = load_manifest(_url_manifest(tmp_path, f"{server.url}/ons/wards.zip"))
    result = build_fetched_layers(manifest, Cache(tmp_path / "cache"), api, today=DAY)
    assert result.failed and "invalid file: not a zip archive" in result.lines[0]


def test_fetched_layer_ids_may_not_clash(tmp_path, server, api):
    server.set_neighbourhoods(FORCE, {"N1": api_boundary(WEST)})
    write_geojson(tmp_path / "n.geojson", {"N1": WEST})
    clash = {
        "id": f"nb.{DAY}",
        "kind": "ward",
        "name": "W",
        "file": "n.geojson",
        "code_field": "code",
    }
    manifest = load_manifest(write_manifest(tmp_path / "m.toml", [clash, police_entry()]))
    with pytest.raises(GeographyError, match="clash"):
        build_fetched_layers(manifest, Cache(tmp_path / "cache"), api, today=DAY)
    assert replace(manifest.fetched[0], file="x").fetched is False
