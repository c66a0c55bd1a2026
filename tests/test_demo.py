"""The fictional demo dataset: determinism, real formats, planted truth and exact geometry."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tomllib
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from stopsearch.demo import DEFAULT_SEED, generate_demo
from stopsearch.demo import vocab as V

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "data" / "demo"
HEADER_LINE = (",".join(V.HEADER) + "\r\n").encode()
LEGACY_LABELS = {g.legacy_label for g in V.GROUPS} | {V.NOT_STATED_LEGACY, V.NFA_LEGACY} | set(
    V.POSITIVE_LEGACY
)
CURRENT_LABELS = (
    {g.current_label for g in V.GROUPS}
    | {g.current_label.replace("Black/African/", "Black/ African/", 1) for g in V.GROUPS}
    | {V.NOT_STATED_CURRENT, V.NFA_CURRENT}
    | (set(V.POSITIVE_CURRENT) - {""})
)


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(demo_dir) -> Path:
    """The session's demo, generated with the default seed (tests here only read it)."""
    return demo_dir


@pytest.fixture(scope="module")
def truth(demo) -> dict:
    return json.loads((demo / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def records(demo) -> dict[str, list[list[str]]]:
    out = {}
    for path in sorted((demo / "records").glob("*/*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        out[path.parent.name] = rows[1:]
    return out


@pytest.fixture(scope="module")
def snaps(demo) -> list[dict[str, str]]:
    with open(demo / "snap_points.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _layer(demo: Path, name: str, code: str) -> dict[str, shapely.Geometry]:
    frame = gpd.read_file(demo / "boundaries" / name)
    return dict(zip(frame[code], frame.geometry, strict=True))


def test_same_seed_is_byte_identical(demo, tmp_path):
    summary = generate_demo(tmp_path)
    assert _hashes(tmp_path) == _hashes(demo)
    assert summary.total_rows == sum(summary.rows_per_month)
    assert summary.months[0] == "2023-01" and summary.months[-1] == "2024-12"
    assert len(summary.record_files) == 24


def test_different_seed_differs(demo, tmp_path):
    generate_demo(tmp_path, seed=DEFAULT_SEED + 1, months=1)
    fresh = _hashes(tmp_path)
    base = _hashes(demo)
    for rel in ("boundaries/small-areas.geojson", "snap_points.csv",
                "records/2023-01/2023-01-demoshire-stop-and-search.csv"):
        assert fresh[rel] != base[rel]


def test_record_files_have_exact_format(demo, truth):
    paths = sorted((demo / "records").glob("*/*.csv"))
    assert [p.parent.name for p in paths] == truth["month_labels"]
    for path in paths:
        assert path.name == f"{path.parent.name}-demoshire-stop-and-search.csv"
        data = path.read_bytes()
        assert data.startswith(HEADER_LINE)
        assert not data.startswith(b"\xef\xbb\xbf")
        assert data.endswith(b"\r\n")
        assert data.count(b"\n") == data.count(b"\r\n")
        assert data.count(b"\r") == data.count(b"\r\n")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        assert all(len(r) == 15 for r in rows)


def test_rows_per_month_match_truth(records, truth):
    per_month = {m: len(rows) for m, rows in records.items()}
    assert per_month == truth["counts"]["rows_per_month"]
    assert sum(per_month.values()) == truth["counts"]["total_rows"]
    assert all(1500 <= n <= 2500 for n in per_month.values())
    by_kind = truth["counts"]["rows_by_kind"]
    assert sum(by_kind.values()) == truth["counts"]["total_rows"]
    vehicle = sum(sum(r[0] == "Vehicle search" for r in rows) for rows in records.values())
    assert vehicle == by_kind["vehicle"]


def test_vocabulary_eras(records, truth):
    for index, month in enumerate(truth["month_labels"], start=1):
        values = {r[8] for r in records[month]} | {r[12] for r in records[month]}
        values.discard("")
        if index <= 12:
            assert values <= LEGACY_LABELS, values - LEGACY_LABELS
        else:
            assert values <= CURRENT_LABELS, values - CURRENT_LABELS
        stray = any(r[8].startswith("Black/ African/") for r in records[month])
        assert stray == (index in truth["model"]["vocabulary"]["stray_space_months"])


def test_rows_without_location_match_truth(records, truth):
    by_month = {c["month"]: c for c in truth["counts"]["by_month"]}
    total = 0
    for month, rows in records.items():
        missing = [r for r in rows if r[4] == "" or r[5] == ""]
        assert all(r[4] == "" and r[5] == "" for r in missing)
        assert len(missing) == by_month[month]["rows_without_location"]
        total += len(missing)
    assert total == truth["counts"]["rows_without_location"]
    assert 0.03 < total / truth["counts"]["total_rows"] < 0.05


def test_record_fields_follow_the_rules(records, truth):
    for month, rows in records.items():
        first_day = f"{month}-01"
        for r in rows:
            assert r[1].endswith("+00:00") and len(r[1]) == 25
            if r[1][:10] < first_day:
                assert r[1][11:13] == "23"
            if r[0] == "Vehicle search":
                assert r[6] == r[7] == r[8] == r[9] == r[14] == ""
            else:
                assert r[6] in V.GENDERS and r[7] in V.AGE_RANGES
        late = sum(r[1][:10] < first_day for r in rows)
        by_month = {c["month"]: c for c in truth["counts"]["by_month"]}
        assert late == by_month[month]["late_rows_dated_previous_month"] >= 1


def test_records_use_snap_points(records, snaps):
    points = {(s["latitude"], s["longitude"]): s for s in snaps}
    used_edge = 0
    for rows in records.values():
        for r in rows:
            if r[4]:
                used_edge += points[(r[4], r[5])]["on_edge"] == "true"
    assert used_edge >= 24 * 3


def test_interior_snap_points_lie_strictly_inside_their_areas(demo, snaps):
    small = _layer(demo, "small-areas.geojson", "SA21CD")
    neighbourhoods = _layer(demo, "neighbourhoods.kml", "Name")
    for vintage in ("2023", "2024"):
        wards = _layer(demo, f"wards-{vintage}.geojson", f"WD{vintage[-2:]}CD")
        codes = list(wards)
        tree = shapely.STRtree(list(wards.values()))
        for s in snaps:
            pt = shapely.Point(float(s["longitude"]), float(s["latitude"]))
            hits = [codes[i] for i in tree.query(pt, predicate="intersects")]
            if s["on_edge"] == "false":
                assert hits == [s[f"ward_code_{vintage}"]]
                assert wards[hits[0]].contains_properly(pt)
            else:
                assert len(hits) >= 2
                assert s[f"ward_code_{vintage}"] in hits
                assert all(wards[h].touches(pt) for h in hits)
    for s in snaps:
        if s["on_edge"] == "false":
            pt = shapely.Point(float(s["longitude"]), float(s["latitude"]))
            assert small[s["small_area_code"]].contains_properly(pt)
            assert neighbourhoods[s["neighbourhood_code"]].contains_properly(pt)


def test_on_edge_points_include_a_three_ward_vertex(demo, snaps):
    edge = [s for s in snaps if s["on_edge"] == "true"]
    assert 8 <= len(edge) <= 14
    wards = _layer(demo, "wards-2023.geojson", "WD23CD")
    tree = shapely.STRtree(list(wards.values()))
    counts = [
        len(tree.query(shapely.Point(float(s["longitude"]), float(s["latitude"])),
                       predicate="intersects"))
        for s in edge
    ]
    assert max(counts) >= 3


def test_ward_vintages_cover_the_county_without_overlap(demo):
    county = shapely.union_all(list(_layer(demo, "local-authorities.geojson", "LAD23CD").values()))
    small = shapely.union_all(list(_layer(demo, "small-areas.geojson", "SA21CD").values()))
    assert abs(small.area - county.area) <= 1e-9 * county.area
    for vintage in ("2023", "2024"):
        geoms = list(_layer(demo, f"wards-{vintage}.geojson", f"WD{vintage[-2:]}CD").values())
        assert all(g.is_valid for g in geoms)
        union = shapely.union_all(geoms)
        total = sum(g.area for g in geoms)
        assert abs(total - union.area) <= 1e-9 * union.area
        assert abs(union.area - county.area) <= 1e-9 * county.area
        assert 30 <= len(geoms) <= 45
    lon0, lat0, lon1, lat1 = county.bounds
    assert 0.9 <= lon0 < lon1 <= 1.6 and 53.9 <= lat0 < lat1 <= 54.2


def test_neighbourhoods_do_not_nest_in_wards(demo):
    wards = list(_layer(demo, "wards-2023.geojson", "WD23CD").values())
    neighbourhoods = list(_layer(demo, "neighbourhoods.kml", "Name").values())
    assert 12 <= len(neighbourhoods) <= 20
    crossing = [
        sum(shapely.intersection(n, w).area > 1e-9 for w in wards) for n in neighbourhoods
    ]
    assert max(crossing) > 1


def test_population_columns_sum_to_total(demo):
    columns = json.loads(
        (demo / "population" / "small-area-ethnic-group.columns.json").read_text("utf-8")
    )
    with open(demo / "population" / "small-area-ethnic-group.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(columns["columns"]) == 19
    assert len(rows[0]) == 3 + 1 + 5 + 19
    small = _layer(demo, "small-areas.geojson", "SA21CD")
    assert sorted(r[columns["code_column"]] for r in rows) == sorted(small)
    county = dict.fromkeys(columns["columns"], 0)
    for r in rows:
        parts = [int(r[c]) for c in columns["columns"]]
        assert sum(parts) == int(r[columns["total_column"]])
        assert 1000 <= int(r[columns["total_column"]]) <= 3000
        for subtotal, broad in columns["broad_subtotal_columns"].items():
            members = [c for c, m in columns["columns"].items() if m["broad"] == broad]
            assert int(r[subtotal]) == sum(int(r[c]) for c in members)
        for c in columns["columns"]:
            county[c] += int(r[c])
    assert all(v > 0 for v in county.values())
    assert any(0 < int(r[c]) < 5 for r in rows for c in columns["columns"])


def test_manifest_describes_every_layer(demo):
    manifest = tomllib.loads((demo / "boundaries" / "manifest.toml").read_text("utf-8"))
    kinds = [layer["kind"] for layer in manifest["layer"]]
    assert sorted(set(kinds)) == [
        "local_authority", "neighbourhood", "priority_area", "small_area", "ward"
    ]
    for entry in manifest["layer"] + manifest["lookup"] + manifest["population"]:
        assert (demo / "boundaries" / entry["file"]).is_file()
        assert entry["attribution"] == V.ATTRIBUTION
        assert entry["source_url"] == "generated by stopsearch demo"
    wards = [layer for layer in manifest["layer"] if layer["kind"] == "ward"]
    assert [(w["valid_from"].isoformat(), w.get("valid_to")) for w in wards] == [
        ("2022-01-01", date(2023, 12, 31)), ("2024-01-01", None)
    ]
    assert [lk["to_field"] for lk in manifest["lookup"]] == ["ward_code_2023", "ward_code_2024"]


def test_planted_ratio_is_recovered_within_areas(truth):
    """Mantel-Haenszel-style pooled ratio over small areas: close to the planted ratio."""
    areas = truth["small_areas"].values()
    for group, planted in truth["model"]["expected_disproportionality_vs_white"].items():
        if group == "White":
            continue
        num = sum(a["rows_by_kind"][group] * a["residents_by_broad_group"]["White"]
                  / a["residents"] for a in areas)
        den = sum(a["rows_by_kind"]["White"] * a["residents_by_broad_group"][group]
                  / a["residents"] for a in areas)
        assert num / den == pytest.approx(planted, rel=0.12)


def test_committed_copy_is_golden(tmp_path):
    generate_demo(tmp_path, records=False)
    assert not (tmp_path / "records").exists()
    fresh = _hashes(tmp_path)
    committed = _hashes(COMMITTED)
    hint = "regenerate: generate_demo(Path('data/demo'), records=False)"
    assert sorted(committed) == sorted(fresh), hint
    assert committed == fresh, hint
    assert sum(p.stat().st_size for p in COMMITTED.rglob("*") if p.is_file()) < 2_000_000
