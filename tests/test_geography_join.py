"""Area assignment: tie-break on shared edges and vertices, outside points, distances, scope."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stopsearch.geography import assign_areas, join
from stopsearch.warehouse import connect
from tests.geo_factories import box, clear, insert_searches, load_polygons, polygon_layer

X0, Y0, D = -1.9, 52.4, 0.01  # a grid of 0.01-degree cells in the West Midlands


@pytest.fixture(scope="module")
def module_con():
    """One warehouse for the module (opening one costs more than the tests)."""
    con = connect(":memory:")
    yield con
    con.close()


@pytest.fixture
def wcon(module_con):
    """The module's warehouse, emptied."""
    return clear(module_con)


def _grid_wards() -> dict[str, shapely.Geometry]:
    """Two squares sharing an edge, and three wards meeting at one vertex above them.

    Codes are chosen so that the smaller code is listed second: the tie-break cannot be
    'first in the file'.
    """
    x1, x2, y1, y2, ym = X0 + D, X0 + 2 * D, Y0 + D, Y0 + 2 * D, Y0 + 1.5 * D
    return {
        "E05000009": box(X0, Y0, x1, y1),  # A: left square
        "E05000002": box(x1, Y0, x2, y1),  # B: right square, shares edge x = x1 with A
        "E05000007": box(X0, y1, x1, y2),  # C: upper left
        "E05000005": box(x1, ym, x2, y2),  # D: upper right, top half
        "E05000006": box(x1, y1, x2, ym),  # E: upper right, bottom half
    }


def _ward_of(con, ids: list[int]) -> list[str | None]:
    rows = dict(con.execute("SELECT search_id, ward_code FROM search_areas").fetchall())
    return [rows.get(i) for i in ids]


def test_point_on_shared_edge_takes_the_smallest_code(wcon, tmp_path):
    load_polygons(wcon, tmp_path, polygon_layer("wards", _grid_wards()))
    x1 = X0 + D
    ids = insert_searches(wcon, [(x1, Y0 + D / 2), (x1, Y0), (x1 - D / 4, Y0 + D / 2)])
    report = assign_areas(wcon)
    assert _ward_of(wcon, ids) == ["E05000002", "E05000002", "E05000009"]
    candidates = wcon.execute(
        "SELECT ward_candidates FROM search_areas ORDER BY search_id"
    ).fetchall()
    assert [c for (c,) in candidates] == [2, 2, 1]
    assert report.tie_broken == 2 and report.in_ward == 3 and report.outside_area == 0


def test_vertex_shared_by_three_wards_takes_the_smallest_code(wcon, tmp_path):
    load_polygons(wcon, tmp_path, polygon_layer("wards", _grid_wards()))
    vertex = (X0 + D, Y0 + 1.5 * D)  # corner of C's edge, D and E
    top_of_a_and_b = (X0 + D, Y0 + D)  # shared by A, B, C and E
    ids = insert_searches(wcon, [vertex, top_of_a_and_b])
    assign_areas(wcon)
    assert _ward_of(wcon, ids) == ["E05000005", "E05000002"]
    counts = wcon.execute("SELECT ward_candidates FROM search_areas ORDER BY search_id").fetchall()
    assert counts == [(3,), (4,)]


def test_result_does_not_depend_on_file_order(wcon, tmp_path):
    wards = _grid_wards()
    reversed_wards = dict(reversed(list(wards.items())))
    points = [(X0 + D, Y0 + 1.5 * D), (X0 + D, Y0 + D / 3), (X0 + D, Y0 + D)]
    load_polygons(wcon, tmp_path, polygon_layer("wards", wards))
    ids = insert_searches(wcon, points)
    assign_areas(wcon)
    first = _ward_of(wcon, ids)
    clear(wcon)
    load_polygons(wcon, tmp_path, polygon_layer("wards", reversed_wards))
    ids = insert_searches(wcon, points)
    assign_areas(wcon)
    assert _ward_of(wcon, ids) == first


def test_outside_points_no_location_and_views(wcon, tmp_path):
    load_polygons(wcon, tmp_path, polygon_layer("wards", _grid_wards()))
    east = X0 + 2 * D
    points = [
        (east + 0.005, Y0 + D / 2),
        (east + 0.5, Y0 + D / 2),
        (None, None),
        (X0 + D / 2, Y0 + D / 2),
    ]
    ids = insert_searches(wcon, points)
    report = assign_areas(wcon)
    assert (report.located, report.in_ward, report.outside_area, report.no_location) == (3, 1, 2, 1)
    rows = {
        r[0]: r[1:]
        for r in wcon.execute(
            "SELECT search_id, outside_area, ward_code, boundary_distance_m, near_boundary"
            " FROM search_areas"
        ).fetchall()
    }
    assert ids[2] not in rows  # no coordinates: no row, counted from searches
    near_outside = rows[ids[0]]
    assert near_outside[0] is True and near_outside[1] is None
    assert near_outside[2] == pytest.approx(
        0.005 * 111_320 * np.cos(np.radians(Y0 + D / 2)), rel=0.01
    )
    assert rows[ids[1]][:3] == (True, None, None)  # more than 1 km from any ward
    summary = wcon.execute(
        "SELECT records, located, no_location, in_ward, outside_area, unassigned"
        " FROM location_summary"
    ).fetchall()
    assert summary == [(4, 3, 1, 1, 2, 0)]


def test_distance_to_ward_edge_matches_british_national_grid(wcon, tmp_path):
    wards = _grid_wards()
    load_polygons(wcon, tmp_path, polygon_layer("wards", wards))
    rng = np.random.default_rng(7)
    xs = rng.uniform(X0, X0 + 2 * D, 200)
    ys = rng.uniform(Y0, Y0 + 2 * D, 200)
    ids = insert_searches(wcon, list(zip(xs, ys, strict=True)))
    assign_areas(wcon)
    got = dict(
        wcon.execute(
            "SELECT search_id, ward_code || '|' || boundary_distance_m FROM search_areas"
        ).fetchall()
    )
    frame = gpd.GeoDataFrame(
        {"code": list(wards)}, geometry=list(wards.values()), crs="EPSG:4326"
    ).to_crs("EPSG:27700")
    edges = dict(zip(frame["code"], frame.geometry.boundary, strict=True))
    points = gpd.GeoSeries(gpd.points_from_xy(xs, ys), crs="EPSG:4326").to_crs("EPSG:27700")
    for search_id, point in zip(ids, points, strict=True):
        code, distance = got[search_id].split("|")
        assert float(distance) == pytest.approx(edges[code].distance(point), abs=0.5)
    near = wcon.execute(
        "SELECT bool_and(near_boundary = (boundary_distance_m < 50)) FROM search_areas"
    ).fetchone()[0]
    assert near is True
    shares = wcon.execute("SELECT sum(records) FROM ward_boundary_uncertainty").fetchone()[0]
    assert shares == 200


def test_small_area_neighbourhood_priority_and_force(wcon, tmp_path):
    wards = {"W1": box(X0, Y0, X0 + 2 * D, Y0 + D)}
    small = {
        "S1": box(X0, Y0, X0 + D / 2, Y0 + D),
        "S2": box(X0 + D / 2, Y0, X0 + D, Y0 + D),
        "S3": box(X0 + D, Y0, X0 + 2 * D, Y0 + D),
    }
    neighbourhoods = {"N1": box(X0, Y0, X0 + 2 * D, Y0 + D)}
    other_force = {"N0": box(X0, Y0, X0 + 2 * D, Y0 + D)}
    priority_csv = tmp_path / "priority.csv"
    priority_csv.write_text(
        "area,area_name,lsoa,from,to\n"
        "P1,Centre,S1,2017-01-01,\nP1,Centre,S2,2017-01-01,\n"
        "P2,East,S2,2017-06-01,2017-12-31\nP2,East,S3,2017-06-01,2017-12-31\n"
    )
    priority = {
        "id": "priority",
        "kind": "priority_area",
        "name": "Priority areas",
        "file": "priority.csv",
        "code_field": "area",
        "name_field": "area_name",
        "small_area_layer": "small",
        "small_area_field": "lsoa",
        "designated_from_field": "from",
        "designated_to_field": "to",
    }
    load_polygons(
        wcon,
        tmp_path,
        polygon_layer("wards", wards, parent="LA9"),
        polygon_layer("small", small, kind="small_area"),
        polygon_layer("nbh", neighbourhoods, kind="neighbourhood", force="testshire"),
        polygon_layer(
            "nbh-other", other_force, kind="neighbourhood", force="elsewhere", series="o"
        ),
        priority,
    )
    s2 = (X0 + 0.75 * D, Y0 + D / 2)
    ids = insert_searches(
        wcon,
        [s2, s2, (X0 + 1.5 * D, Y0 + D / 2)],
        when=[datetime(2017, 3, 1, 12), datetime(2017, 7, 1, 12), datetime(2018, 2, 1, 12)],
    )
    assign_areas(wcon)
    rows = wcon.execute(
        "SELECT ward_code, small_area_code, neighbourhood_code, la_code FROM search_areas"
        " ORDER BY search_id"
    ).fetchall()
    assert rows == [("W1", "S2", "N1", "LA9"), ("W1", "S2", "N1", "LA9"), ("W1", "S3", "N1", "LA9")]
    priority_rows = wcon.execute(
        "SELECT search_id, priority_code FROM search_priority_areas ORDER BY ALL"
    ).fetchall()
    assert priority_rows == [(ids[0], "P1"), (ids[1], "P1"), (ids[1], "P2")]


def test_force_month_rerun_replaces_only_that_month(wcon, tmp_path):
    load_polygons(wcon, tmp_path, polygon_layer("wards", _grid_wards()))
    inside_a = (X0 + D / 2, Y0 + D / 2)
    jan = insert_searches(wcon, [inside_a] * 3, when=datetime(2017, 1, 10, 9))
    feb = insert_searches(wcon, [inside_a] * 2, when=datetime(2017, 2, 10, 9), first_id=100)
    assign_areas(wcon)
    move = (
        "UPDATE search_rows SET longitude = longitude + ?"
        " WHERE load_id::BIGINT * 10000000 + source_line = ?"
    )
    wcon.execute(move, [D, feb[0]])
    wcon.execute(move, [D, jan[0]])
    report = assign_areas(wcon, "testshire", "2017-02")
    assert report.located == 2
    got = dict(wcon.execute("SELECT search_id, ward_code FROM search_areas").fetchall())
    assert got[feb[0]] == "E05000002"  # re-assigned
    assert got[jan[0]] == "E05000009"  # January untouched by a February run
    assert wcon.execute("SELECT count(*) FROM search_areas").fetchone()[0] == 5
    with pytest.raises(ValueError, match="force together with month"):
        assign_areas(wcon, month="2017-02")


# --- property test: the DuckDB assignment equals a shapely `covers` check with the same rule ---


def _tessellation(data: st.DataObject) -> tuple[dict[str, shapely.Polygon], np.ndarray]:
    """A grid of quadrilaterals with jittered shared vertices (so edges are diagonal)."""
    nx, ny = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))
    jitter = data.draw(st.floats(0, 0.35))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(nx + 1, dtype=float), np.arange(ny + 1, dtype=float))
    inner = (gx > 0) & (gx < nx) & (gy > 0) & (gy < ny)
    gx = gx + np.where(inner, rng.uniform(-jitter, jitter, gx.shape), 0)
    gy = gy + np.where(inner, rng.uniform(-jitter, jitter, gy.shape), 0)
    lon, lat = X0 + gx * D, Y0 + gy * D
    codes = [f"E05{n:06d}" for n in rng.permutation(nx * ny)]
    keep = data.draw(st.lists(st.booleans(), min_size=nx * ny, max_size=nx * ny))
    polygons = {}
    for j in range(ny):
        for i in range(nx):
            if keep[j * nx + i] or not any(keep):
                ring = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
                polygons[codes[j * nx + i]] = shapely.Polygon(
                    [(lon[b, a], lat[b, a]) for a, b in ring]
                )
    vertices = np.column_stack([lon.ravel(), lat.ravel()])
    return polygons, vertices


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_assignment_equals_shapely_covers(module_con, monkeypatch, data):
    con = clear(module_con)
    polygons, vertices = _tessellation(data)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    edges = [
        (ring[k], ring[k + 1])
        for poly in polygons.values()
        for ring in [list(poly.exterior.coords)]
        for k in range(len(ring) - 1)
    ]
    on_edges = []
    for a, b in [edges[k] for k in rng.integers(0, len(edges), 20)]:
        t = (
            data.draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]))
            if rng.uniform() < 0.5
            else rng.uniform()
        )
        on_edges.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    (x0, y0), (x1, y1) = vertices.min(axis=0), vertices.max(axis=0)
    uniform = np.column_stack(
        [rng.uniform(x0 - D / 4, x1 + D / 4, 30), rng.uniform(y0 - D / 4, y1 + D / 4, 30)]
    )
    points = [tuple(p) for p in vertices] + on_edges + [tuple(p) for p in uniform]
    with tempfile.TemporaryDirectory() as folder:
        load_polygons(con, Path(folder), polygon_layer("wards", polygons))
    ids = insert_searches(con, points)
    codes = sorted(polygons)
    geoms = [polygons[c] for c in codes]
    expected = []
    for x, y in points:
        covering = [c for c, g in zip(codes, geoms, strict=True) if g.covers(shapely.Point(x, y))]
        expected.append(covering[0] if covering else None)
    for shared_below in (0.0, 2.0):  # each search its own key, then keys shared by point
        monkeypatch.setattr(join, "SHARED_BELOW", shared_below)
        assign_areas(con)
        assert _ward_of(con, ids) == expected


def test_empty_scopes_and_no_boundaries(wcon):
    report = assign_areas(wcon)
    assert (report.located, report.no_location) == (0, 0)
    insert_searches(wcon, [(X0, Y0), (None, None)])
    report = assign_areas(wcon)
    assert (report.located, report.outside_area, report.no_location) == (1, 1, 1)
    assert assign_areas(wcon, "nowhere", "2017-01").located == 0
    assert wcon.execute("SELECT count(*) FROM search_areas").fetchone()[0] == 1
