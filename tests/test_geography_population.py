"""Population: census column mappings, and aggregation from small areas with a declared method."""

from __future__ import annotations

import pandas as pd
import pytest

from stopsearch.errors import GeographyError
from stopsearch.geography import load_population, totals_by_parent
from stopsearch.geography.census import (
    CENSUS2011_LSOA14,
    CENSUS2011_QS201EW,
    CENSUS2021_TS021,
    custom_mapping,
    to_long,
)
from stopsearch.warehouse import connect
from tests.geo_factories import box, clear, load_polygons, polygon_layer

X0, Y0, D = -1.9, 52.4, 0.01
LSOA14 = [c for c, _, _ in CENSUS2011_LSOA14.groups]


def _lsoa14_row(code: str, persons: int, counts: list[int]) -> dict:
    return {"LSOA": code, "Persons": persons, **dict(zip(LSOA14, counts, strict=True))}


def _ts021(rows: dict[str, list[int]]) -> pd.DataFrame:
    """A Census 2021 TS021 table as ONS publishes it: broad and detailed columns, total."""
    out = []
    for code, counts in rows.items():
        row = {"date": 2021, "geography": code, "geography code": code}
        detailed = dict(zip((c for c, _, _ in CENSUS2021_TS021.groups), counts, strict=True))
        row["Ethnic group: Total: All usual residents"] = sum(counts)
        for column, broad in CENSUS2021_TS021.broad_checks:
            row[f"Ethnic group: {column}"] = sum(
                detailed[c] for c, b, _ in CENSUS2021_TS021.groups if b == broad
            )
        row.update({f"Ethnic group: {c}": n for c, n in detailed.items()})
        out.append(row)
    return pd.DataFrame(out)


def test_census2011_lsoa14_puts_the_residual_in_gypsy_or_irish_traveller():
    frame = pd.DataFrame(
        [_lsoa14_row("E01", 1000, [500, 10, 20, 30, 100, 200, 50, 5, 10, 20, 30, 5, 3, 2])]
    )
    long = to_long(frame, CENSUS2011_LSOA14, "test")
    by_detail = long.set_index("detailed_group")["persons"]
    assert by_detail["White - Gypsy or Irish Traveller"] == 1000 - 985
    assert long.groupby("broad_group")["persons"].sum().to_dict() == {
        "Asian": 365.0,
        "Black": 55.0,
        "Mixed": 30.0,
        "Other": 5.0,
        "White": 545.0,
    }
    assert long.loc[long["broad_group"] == "Mixed", "detailed_group"].isna().all()
    over = pd.DataFrame([_lsoa14_row("E01", 10, [500] + [0] * 13)])
    with pytest.raises(GeographyError, match="sum to more than 'Persons'"):
        to_long(over, CENSUS2011_LSOA14, "test")


def test_census2021_ts021_has_19_groups_and_checks_totals():
    counts = list(range(1, 20))
    long = to_long(_ts021({"E01": counts}), CENSUS2021_TS021, "ts021")
    assert len(long) == 19 and long["detailed_group"].notna().all()
    assert long["persons"].sum() == sum(counts)
    assert "White - Roma" in set(long["detailed_group"])
    broken = _ts021({"E01": counts})
    broken["Ethnic group: Total: All usual residents"] += 1
    with pytest.raises(GeographyError, match="E01: the groups sum to 190 but"):
        to_long(broken, CENSUS2021_TS021, "ts021")
    broken = _ts021({"E01": counts})
    broken["Ethnic group: White"] += 1
    with pytest.raises(GeographyError, match="White groups sum to"):
        to_long(broken, CENSUS2021_TS021, "ts021")
    with pytest.raises(GeographyError, match="needs column"):
        to_long(
            _ts021({"E01": counts}).drop(columns=["Ethnic group: White: Roma"]),
            CENSUS2021_TS021,
            "ts021",
        )


def test_qs201ew_nomis_headers():
    groups = [c for c, _, _ in CENSUS2011_QS201EW.groups]
    row = {"geography code": "E08000025", **{g: 10 for g in groups}}
    row["All categories: Ethnic group"] = 180
    row.update(
        {
            b: 10 * sum(1 for _, bb, _ in CENSUS2011_QS201EW.groups if bb == b)
            for b in ("White", "Mixed", "Asian", "Black", "Other")
        }
    )
    frame = pd.DataFrame([row]).rename(
        columns=lambda c: c if c == "geography code" else f"Ethnic Group: {c}; measures: Value"
    )
    long = to_long(frame, CENSUS2011_QS201EW, "qs201ew")
    assert long["persons"].sum() == 180 and len(long) == 18


def test_custom_mapping_and_bad_values():
    mapping = custom_mapping(
        {
            "code": "area",
            "total": "all",
            "groups": {"w": "White", "b": "Black/African/Caribbean/Black British - African"},
        },
        "m",
    )
    frame = pd.DataFrame({"area": ["X"], "all": [3], "w": [2], "b": [1]})
    assert to_long(frame, mapping, "m")["persons"].tolist() == [2.0, 1.0]
    with pytest.raises(GeographyError, match="unknown ethnic group 'Martian'"):
        custom_mapping({"code": "area", "groups": {"w": "Martian"}}, "m")
    frame["w"] = ["two"]
    with pytest.raises(GeographyError, match="column 'w' row 2: 'two' is not a count"):
        to_long(frame, mapping, "m")


@pytest.fixture(scope="module")
def module_con():
    con = connect(":memory:")
    yield con
    con.close()


SMALL = {  # four small areas in a row; wards W1 = S1+S2 (+ half of S3's area), W2 = rest
    "S1": box(X0, Y0, X0 + D, Y0 + D),
    "S2": box(X0 + D, Y0, X0 + 2 * D, Y0 + D),
    "S3": box(X0 + 2 * D, Y0, X0 + 3 * D, Y0 + D),
    "S4": box(X0 + 3 * D, Y0, X0 + 4 * D, Y0 + D),
}
WARDS = {
    "W1": box(X0, Y0, X0 + 2.5 * D, Y0 + D),
    "W2": box(X0 + 2.5 * D, Y0, X0 + 4 * D, Y0 + D),
}
COUNTS = {"S1": 1, "S2": 2, "S3": 3, "S4": 4}  # every group gets this many persons


def test_aggregation_methods_are_declared_and_stored(module_con, tmp_path):
    con = clear(module_con)
    _ts021({code: [n] * 19 for code, n in COUNTS.items()}).to_csv(
        tmp_path / "ts021.csv", index=False
    )
    (tmp_path / "lookup.csv").write_text("LSOA21CD,WD22CD\nS1,W1\nS2,W1\nS3,W2\nS4,W2\nS9,W1\n")
    (tmp_path / "priority.csv").write_text("code,lsoa\nP1,S2\nP1,S3\n")
    (tmp_path / "pwc.csv").write_text(
        f"code,longitude,latitude\nS1,{X0 + 0.1 * D},{Y0 + D / 2}\nS2,{X0 + 1.5 * D},{Y0 + D / 2}\n"
        f"S3,{X0 + 2.9 * D},{Y0 + D / 2}\nS4,{X0 + 3.5 * D},{Y0 + D / 2}\n"
    )
    source = {"source_url": "https://example.org", "licence": "CC0-1.0", "attribution": "test"}
    manifest = load_polygons(
        con,
        tmp_path,
        polygon_layer("small", SMALL, kind="small_area"),
        polygon_layer("wards", WARDS, parent="LA1", population_method="lookup"),
        polygon_layer(
            "nbh-centroid", WARDS, kind="neighbourhood", series="a", population_method="centroid"
        ),
        polygon_layer(
            "nbh-area", WARDS, kind="neighbourhood", series="b", population_method="area_weighted"
        ),
        polygon_layer(
            "nbh-pwc",
            WARDS,
            kind="neighbourhood",
            series="c",
            population_method="population_weighted_centroid",
            centroids_file="pwc.csv",
        ),
        {
            "id": "priority",
            "kind": "priority_area",
            "name": "P",
            "file": "priority.csv",
            "code_field": "code",
            "small_area_layer": "small",
            "small_area_field": "lsoa",
        },
        lookup=[
            {
                "id": "lk",
                "from_layer": "small",
                "to_layer": "wards",
                "file": "lookup.csv",
                "from_field": "LSOA21CD",
                "to_field": "WD22CD",
                **source,
            }
        ],
        population=[
            {
                "id": "c21",
                "file": "ts021.csv",
                "columns": "census2021-ts021",
                "census_year": 2021,
                "layer": "small",
                **source,
            }
        ],
    )
    report = load_population(con, manifest)
    methods = {m["layer_id"]: m["method"] for m in report.methods}
    assert methods == {
        "small": "direct",
        "wards": "lookup",
        "nbh-centroid": "centroid",
        "nbh-area": "area_weighted",
        "nbh-pwc": "population_weighted_centroid",
        "priority": "nested",
    }
    stored = dict(con.execute("SELECT layer_id, population_method FROM boundary_layers").fetchall())
    assert stored == methods
    totals = {
        (layer, code): persons / 19
        for layer, code, persons in con.execute(
            "SELECT layer_id, area_code, sum(persons) FROM population GROUP BY ALL"
        ).fetchall()
    }
    assert totals[("wards", "W1")] == 3 and totals[("wards", "W2")] == 7  # S3 whole to W2
    assert totals[("nbh-centroid", "W1")] == 3 + 3  # S3's point on surface lies in W1
    assert totals[("nbh-area", "W1")] == pytest.approx(1 + 2 + 1.5, rel=1e-3)
    assert totals[("nbh-area", "W2")] == pytest.approx(1.5 + 4, rel=1e-3)
    assert totals[("nbh-pwc", "W2")] == 3 + 4  # S3's given centroid lies in W2
    assert totals[("priority", "P1")] == 5
    assert totals[("small", "S4")] == 4
    by_parent = totals_by_parent(con, "c21", "wards")
    assert by_parent["persons"].sum() == 10 * 19
    assert set(by_parent["parent_code"]) == {"LA1"}
    rows = con.execute("SELECT DISTINCT census_year, layer_kind FROM population ORDER BY 2")
    assert rows.fetchall() == [
        (2021, "neighbourhood"),
        (2021, "priority_area"),
        (2021, "small_area"),
        (2021, "ward"),
    ]


def test_missing_small_area_population_is_refused(module_con, tmp_path):
    con = clear(module_con)
    _ts021({"S1": [1] * 19}).to_csv(tmp_path / "ts021.csv", index=False)
    source = {"source_url": "https://example.org", "licence": "CC0-1.0", "attribution": "test"}
    manifest = load_polygons(
        con,
        tmp_path,
        polygon_layer("small", SMALL, kind="small_area"),
        population=[
            {
                "id": "c21",
                "file": "ts021.csv",
                "columns": "census2021-ts021",
                "census_year": 2021,
                "layer": "small",
                **source,
            }
        ],
    )
    with pytest.raises(GeographyError, match="3 area\\(s\\) of 'small' have no population row"):
        load_population(con, manifest)
    assert con.execute("SELECT count(*) FROM population").fetchone()[0] == 0
