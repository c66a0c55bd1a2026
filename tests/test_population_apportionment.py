"""Area-weighted apportionment of small-area residents to every layer, and finer points.

Golden: an area that is an exact union of small areas gets exactly their population sum, even
with irregular shared edges at full float precision. Split small areas are shared by land (or by
the residents of declared finer points), slivers under one part in a million are noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from stopsearch.errors import GeographyError
from stopsearch.geography import load_population
from stopsearch.geography.census import CENSUS2021_TS021
from stopsearch.geography.population import METHOD_DETAIL, NOISE
from stopsearch.warehouse import connect
from tests.geo_factories import box, clear, load_polygons, polygon_layer

X0, Y0, D = -1.9, 52.4, 0.01
SOURCE = {"source_url": "https://example.org", "licence": "CC0-1.0", "attribution": "test"}
GROUPS = [c for c, _, _ in CENSUS2021_TS021.groups]


@pytest.fixture(scope="module")
def module_con():
    con = connect(":memory:")
    yield con
    con.close()


def _ts021(rows: dict[str, list[int]]) -> pd.DataFrame:
    """A TS021-shaped table: per small area its 19 detailed counts, broad subtotals, total."""
    out = []
    for code, counts in rows.items():
        detailed = dict(zip(GROUPS, counts, strict=True))
        row = {"date": 2021, "geography": code, "geography code": code}
        row["Ethnic group: Total: All usual residents"] = sum(counts)
        for column, broad in CENSUS2021_TS021.broad_checks:
            row[f"Ethnic group: {column}"] = sum(
                detailed[c] for c, b, _ in CENSUS2021_TS021.groups if b == broad
            )
        row.update({f"Ethnic group: {c}": n for c, n in detailed.items()})
        out.append(row)
    return pd.DataFrame(out)


def _population(code: str = "c21") -> dict:
    return {
        "id": code,
        "file": "ts021.csv",
        "columns": "census2021-ts021",
        "census_year": 2021,
        "layer": "small",
        **SOURCE,
    }


def _jittered_grid(cols: int, rows: int, seed: int) -> dict[str, shapely.Polygon]:
    """Quadrilateral small areas sharing irregular vertices (full float precision)."""
    rng = np.random.default_rng(seed)
    xs = np.arange(cols + 1, dtype=float)[:, None] + np.zeros(rows + 1)
    ys = np.zeros(cols + 1)[:, None] + np.arange(rows + 1, dtype=float)
    inner = (slice(1, cols), slice(1, rows))
    xs[inner] += rng.uniform(-0.3, 0.3, xs[inner].shape)
    ys[inner] += rng.uniform(-0.3, 0.3, ys[inner].shape)
    lon, lat = X0 + xs * D / 3.7, Y0 + ys * D / 3.1

    def corner(i: int, j: int) -> tuple[float, float]:
        return (float(lon[i, j]), float(lat[i, j]))

    return {
        f"S{i}{j}": shapely.Polygon(
            [corner(i, j), corner(i + 1, j), corner(i + 1, j + 1), corner(i, j + 1)]
        )
        for i in range(cols)
        for j in range(rows)
    }


def test_exact_unions_get_exactly_the_sum_of_their_small_areas(module_con, tmp_path):
    con = clear(module_con)
    small = _jittered_grid(4, 3, seed=7)
    members = {
        "W1": ["S00", "S01", "S10", "S11"],
        "W2": ["S02", "S12", "S22", "S32"],
        "W3": ["S20", "S21", "S30", "S31"],
    }
    wards = {w: shapely.union_all([small[c] for c in cs]) for w, cs in members.items()}
    rng = np.random.default_rng(11)
    counts = {code: [int(n) for n in rng.integers(0, 400, 19)] for code in small}
    _ts021(counts).to_csv(tmp_path / "ts021.csv", index=False)
    (tmp_path / "lookup.csv").write_text(  # a lookup is declared but not asked for
        "from,to\n" + "".join(f"{c},W1\n" for c in small)
    )
    manifest = load_polygons(
        con,
        tmp_path,
        polygon_layer("small", small, kind="small_area"),
        polygon_layer("wards", wards),
        lookup=[
            {
                "id": "lk",
                "from_layer": "small",
                "to_layer": "wards",
                "file": "lookup.csv",
                "from_field": "from",
                "to_field": "to",
                **SOURCE,
            }
        ],
        population=[_population()],
    )
    report = load_population(con, manifest)
    assert {m["layer_id"]: m["method"] for m in report.methods} == {
        "small": "direct",
        "wards": "area_weighted",
    }
    got = dict(
        con.execute(
            "SELECT area_code, sum(persons) FROM population WHERE layer_id = 'wards' GROUP BY 1"
        ).fetchall()
    )
    expected = {w: float(sum(sum(counts[c]) for c in cs)) for w, cs in members.items()}
    assert got == expected  # exactly, not approximately
    by_group = con.execute(
        "SELECT area_code, detailed_group, persons FROM population WHERE layer_id = 'wards'"
    ).fetchall()
    index = {g: i for i, g in enumerate(GROUPS)}
    labels = {label: column for column, _, label in CENSUS2021_TS021.groups}
    for ward, detailed, persons in by_group:
        column = labels[detailed]
        assert persons == sum(counts[c][index[column]] for c in members[ward])
    assert report.notes == []  # nothing unplaced
    stored = con.execute(
        "SELECT population_method FROM boundary_layers WHERE layer_id = 'wards'"
    ).fetchone()
    assert stored == ("area_weighted",)
    detail = con.execute(
        "SELECT detail FROM population_methods WHERE layer_id = 'wards'"
    ).fetchone()
    assert detail == (METHOD_DETAIL["area_weighted"],)


def test_split_small_areas_are_shared_by_land_and_slivers_are_noise(module_con, tmp_path):
    con = clear(module_con)
    small = {
        "S1": box(X0, Y0, X0 + D, Y0 + D),  # split 30/70 between the wards
        "S2": box(X0 + D, Y0, X0 + 2 * D, Y0 + D),  # all in W2 but a sliver
    }
    sliver = D * NOISE / 10  # a tenth of the noise share of S2's width
    wards = {
        "W1": box(X0, Y0, X0 + 0.3 * D, Y0 + D),
        "W2": box(X0 + 0.3 * D, Y0, X0 + 2 * D - sliver, Y0 + D),
        "W3": box(X0 + 2 * D - sliver, Y0, X0 + 3 * D, Y0 + D),
    }
    _ts021({"S1": [10] * 19, "S2": [20] * 19}).to_csv(tmp_path / "ts021.csv", index=False)
    manifest = load_polygons(
        con,
        tmp_path,
        polygon_layer("small", small, kind="small_area"),
        polygon_layer("wards", wards),
        population=[_population()],
    )
    load_population(con, manifest)
    got = dict(
        con.execute(
            "SELECT area_code, sum(persons) FROM population WHERE layer_id = 'wards' GROUP BY 1"
        ).fetchall()
    )
    # Land is lon/lat area scaled by the cosine of latitude: a lon/lat box keeps its shares.
    assert got["W1"] == pytest.approx(0.3 * 190, rel=1e-6)
    assert got["W1"] + got["W2"] == pytest.approx(190 + 380, abs=1e-6)  # nothing lost
    assert "W3" not in got  # the sliver is boundary noise: S2 goes whole to W2
    assert got["W2"] - (190 - got["W1"]) == pytest.approx(380, abs=1e-9)  # S2 whole


def test_finer_points_share_small_areas_by_where_their_residents_are(module_con, tmp_path):
    con = clear(module_con)
    small = {"S1": box(X0, Y0, X0 + D, Y0 + D), "S2": box(X0 + D, Y0, X0 + 2 * D, Y0 + D)}
    wards = {
        "W1": box(X0, Y0, X0 + 0.5 * D, Y0 + D),
        "W2": box(X0 + 0.5 * D, Y0, X0 + 2 * D, Y0 + D),
    }
    _ts021({"S1": [10] * 19, "S2": [20] * 19}).to_csv(tmp_path / "ts021.csv", index=False)
    y = Y0 + D / 2
    (tmp_path / "oa.csv").write_text(
        "OA,LSOA,Persons,longitude,latitude\n"
        f"O1,S1,30,{X0 + 0.2 * D},{y}\n"  # 30 of S1's 100 point residents in W1
        f"O2,S1,70,{X0 + 0.8 * D},{y}\n"
        f"O3,S2,50,{X0 + 1.5 * D},{y}\n"
        f"O9,S9,99,{X0 + 1.5 * D},{y}\n"  # a small area of another layer: left out
    )
    points = {
        "id": "oa-points",
        "file": "oa.csv",
        "small_area_layer": "small",
        "small_area_field": "LSOA",
        "persons_field": "Persons",
        **SOURCE,
    }
    manifest = load_polygons(
        con,
        tmp_path,
        polygon_layer("small", small, kind="small_area"),
        polygon_layer("wards", wards),
        polygon_layer("nbh", wards, kind="neighbourhood", population_method="area_weighted"),
        population=[_population()],
        population_points=[points],
    )
    report = load_population(con, manifest)
    methods = {m["layer_id"]: m["method"] for m in report.methods}
    assert methods == {"small": "direct", "wards": "finer_points", "nbh": "area_weighted"}
    got = {
        (layer, code): persons
        for layer, code, persons in con.execute(
            "SELECT layer_id, area_code, sum(persons) FROM population GROUP BY ALL"
        ).fetchall()
    }
    assert got[("wards", "W1")] == pytest.approx(0.3 * 190, abs=1e-9)
    assert got[("wards", "W2")] == pytest.approx(0.7 * 190 + 380, abs=1e-9)
    assert got[("nbh", "W1")] == pytest.approx(0.5 * 190, rel=1e-6)  # by land instead

    (tmp_path / "oa.csv").write_text(
        f"OA,LSOA,Persons,longitude,latitude\nO1,S1,30,{X0 + 0.2 * D},{y}\n"
    )
    with pytest.raises(GeographyError, match="1 small area\\(s\\) have no point with residents"):
        load_population(con, manifest)
    (tmp_path / "oa.csv").write_text(
        f"OA,LSOA,Persons,longitude,latitude\nO1,S1,lots,{X0 + 0.2 * D},{y}\n"
    )
    with pytest.raises(GeographyError, match="oa.csv\\), line 2, field 'Persons'"):
        load_population(con, manifest)


def test_finer_points_method_needs_points_declared(tmp_path):
    small = {"S1": box(X0, Y0, X0 + D, Y0 + D)}
    con = connect(":memory:")
    try:
        with pytest.raises(GeographyError, match="'finer_points' needs a \\[\\[population_points"):
            load_polygons(
                con,
                tmp_path,
                polygon_layer("small", small, kind="small_area"),
                polygon_layer("wards", small, population_method="finer_points"),
            )
    finally:
        con.close()
