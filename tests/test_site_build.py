"""The static site: pages, same bytes twice, escaping, no other origins, CSP, size, geometry."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
from pathlib import Path

import pytest
import shapely

from stopsearch.outputs.site import build_site, csp
from stopsearch.outputs.site.geometry import rounded, simplify_layer
from stopsearch.warehouse import connect
from tests.site_support import (
    CSP,
    build_demo_site,
    csp_of,
    external_urls,
    html_pages,
    shared_demo_site,
)

HOSTILE = "<script>alert(1)</script>"
HOSTILE_CATEGORY = '<img src=x onerror="alert(2)">'
OVERVIEW_LIMIT = 1_500_000
WARD = "D05000020"


@pytest.fixture(scope="module")
def demo_site(demo_warehouse_path, tmp_path_factory):
    return shared_demo_site(demo_warehouse_path, tmp_path_factory)


@pytest.fixture(scope="module")
def published(demo_warehouse_path):
    with connect(demo_warehouse_path, read_only=True) as con:
        codes = {
            kind: sorted(
                c
                for (c,) in con.execute(
                    "SELECT DISTINCT area_code FROM published_metrics WHERE area_kind = ?", [kind]
                ).fetchall()
            )
            for kind in ("ward", "neighbourhood", "priority_area", "local_authority", "force")
        }
        rows = con.execute(
            "SELECT count(*) FROM published_metrics WHERE area_kind = 'ward' AND area_code = ?",
            [WARD],
        ).fetchone()[0]
        vintage = con.execute(
            "SELECT count(*) FROM areas WHERE layer_id = 'demo-wards-2024'"
        ).fetchone()[0]
    return {"codes": codes, "ward_rows": rows, "latest_wards": vintage}


def test_every_page_type_is_built(demo_site, published):
    out, report = demo_site
    for page in (
        "index.html",
        "map.html",
        "methodology.html",
        "coverage.html",
        "downloads.html",
        "about.html",
        "areas/index.html",
    ):
        assert (out / page).is_file(), page
        assert page in report.pages
    for kind in ("ward", "neighbourhood", "priority_area", "local_authority"):
        codes = published["codes"][kind]
        assert codes, kind
        built = sorted(p.stem for p in (out / "areas" / kind).glob("*.html"))
        assert built == codes, kind
        for code in codes:
            assert (out / "downloads" / "areas" / kind / f"{code}.csv").is_file()
    assert sorted(report.pages) == sorted(str(p.relative_to(out)) for p in html_pages(out))
    assert (out / "assets" / "leaflet" / "leaflet.js").is_file()
    assert (out / "assets" / "leaflet" / "images" / "layers.png").is_file()
    assert not (out / "assets" / "jquery").exists()  # folium lists it; nothing uses it
    assert report.total_bytes == sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert report.overview_bytes == (out / "index.html").stat().st_size


def test_two_builds_are_byte_identical(demo_site, demo_warehouse_path, tmp_path):
    out, _ = demo_site
    again = tmp_path / "again"
    # The export step's own downloads survive a rebuild; stale pages of an earlier build do not.
    (again / "downloads").mkdir(parents=True)
    (again / "downloads" / "records.csv").write_text("a,b\n", encoding="utf-8")
    (again / "areas" / "ward").mkdir(parents=True)
    (again / "areas" / "ward" / "stale.html").write_text("old", encoding="utf-8")
    build_demo_site(demo_warehouse_path, again)
    assert (again / "downloads" / "records.csv").read_text(encoding="utf-8") == "a,b\n"
    (again / "downloads" / "records.csv").unlink()
    first = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    second = sorted(str(p.relative_to(again)) for p in again.rglob("*") if p.is_file())
    assert first == second
    different = [rel for rel in first if (out / rel).read_bytes() != (again / rel).read_bytes()]
    assert different == []


def test_no_page_loads_anything_from_another_origin(demo_site):
    out, _ = demo_site
    for page in html_pages(out):
        assert external_urls(page.read_text(encoding="utf-8")) == [], page
    for sheet in (out / "assets").rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", sheet.read_text()), sheet


def test_every_page_has_the_csp_the_banner_and_a_skip_link(demo_site):
    out, _ = demo_site
    for page in html_pages(out):
        html = page.read_text(encoding="utf-8")
        assert csp_of(html) == [CSP], page
        assert '<html lang="en-GB">' in html
        assert 'class="demo-banner"' in html
        assert "fictional demonstration data" in html.lower()
        assert 'href="#main"' in html and 'id="main"' in html
        assert "user-scalable=no" not in html


def test_no_page_repeats_an_id(demo_site):
    """Ids are unique in each page: labels, skip links, aria-labelledby and the chart/table
    pairs all point at one element (the overview once gave two charts the id trend-rate)."""
    out, _ = demo_site
    repeated = {}
    for page in html_pages(out):
        ids = re.findall(r'\sid="([^"]+)"', page.read_text(encoding="utf-8"))
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            repeated[page.relative_to(out).as_posix()] = twice[:5]
    assert repeated == {}


def test_csp_allows_a_configured_tile_server_only_for_images():
    policy = csp("https://tiles.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://tiles.example.org;" in policy
    assert "script-src 'self' 'unsafe-inline';" in policy


def test_overview_page_is_within_budget(demo_site):
    _, report = demo_site
    assert report.overview_bytes <= OVERVIEW_LIMIT


def test_map_has_one_row_and_feature_per_ward_of_the_layer_in_force(demo_site, published):
    # The map's figures and boundaries are static files (fetched by map.js), and its table is a
    # page of its own: the map and overview pages carry neither.
    out, _ = demo_site
    html = (out / "map.html").read_text(encoding="utf-8")
    assert 'id="t-ward-latest-12"' not in html and '"FeatureCollection"' not in html
    assert 'href="table-ward-latest-12.html" data-ss-table-link' in html
    table_page = (out / "table-ward-latest-12.html").read_text(encoding="utf-8")
    table = table_page.split('id="t-ward-latest-12"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr data-code=") == published["latest_wards"]
    config = json.loads(html.split('id="ss-map-config">', 1)[1].split("</script>", 1)[0])
    spec = config["geos"]["ward"]["latest-12"]
    shapes = json.loads((out / config["layers"][spec["layer"]]["url"]).read_text())
    figures = json.loads((out / config["tables"][spec["table"]]["data"]).read_text())
    codes = sorted(re.findall(r'<tr data-code="([^"]+)"', table))
    assert sorted(f["properties"]["code"] for f in shapes["features"]) == codes
    assert sorted(figures["rows"]) == codes
    for code in codes:  # every figure of the map is the table page's
        row = table.split(f'<tr data-code="{code}">', 1)[1].split("</tr>", 1)[0]
        for metric, (cls, value, _ci, _counts, _imprecise) in figures["rows"][code][1].items():
            cell = row.split(f'<td data-m="{metric}" data-c="{cls}"', 1)[1].split("</td>", 1)[0]
            assert f">{value}</span>" in cell
    assert "assets/leaflet/leaflet.js" in html and "map.js" in html
    assert "jquery" not in html.lower()


def test_area_page_content_and_extract(demo_site, published):
    out, _ = demo_site
    html = (out / "areas" / "ward" / f"{WARD}.html").read_text(encoding="utf-8")
    for heading in (
        "Searches by month",
        "Outcomes",
        "Legislation (power used)",
        "Object of search",
        "Age",
        "Self-defined ethnicity (person searches)",
        "Disproportionality ratios",
        "Officer-defined ethnicity (shown separately)",
        "Boundaries and location uncertainty",
    ):
        assert f">{heading}</h" in html, heading
    assert f"../../downloads/areas/ward/{WARD}.csv" in html
    assert html.count('<svg class="chart"') >= 4
    # The ward's rows: the current file and, linked beside it, the closed year 2023's file.
    assert f"../../downloads/areas/ward/{WARD}-2023.csv" in html
    files = ("", "-2023")
    tables = [
        list(
            csv.reader(
                io.StringIO(
                    (out / "downloads" / "areas" / "ward" / f"{WARD}{suffix}.csv").read_text(
                        encoding="utf-8"
                    )
                )
            )
        )
        for suffix in files
    ]
    assert tables[0][0] == tables[1][0]
    kind, end = tables[0][0].index("period_kind"), tables[0][0].index("period_end")
    # The year 2023 with its quarters and the trend windows ending in it; none of them in the
    # current file.
    assert "2023" in {r[3] for r in tables[1][1:]}
    assert {(r[kind], r[end][:4]) for r in tables[1][1:]} <= {
        ("year", "2023"),
        ("quarter", "2023"),
        ("window", "2023"),
    }
    assert not [r for r in tables[0][1:] if r[kind] != "month" and r[end][:4] == "2023"]
    rows = [tables[0][0], *tables[0][1:], *tables[1][1:]]
    assert rows[0][:3] == ["area_kind", "area_code", "area_name"]
    assert len(rows) - 1 == published["ward_rows"]
    reason, value = rows[0].index("reason"), rows[0].index("value")
    assert "ethnic_group" in rows[0] and "grp" not in rows[0]  # as in every other extract
    withheld = [r for r in rows[1:] if r[reason]]
    assert withheld and all(r[value] == "" for r in withheld)


def test_methodology_states_methods_and_caveats(demo_site):
    out, _ = demo_site
    html = (out / "methodology.html").read_text(encoding="utf-8")
    for phrase in (
        "Wilson score 95% intervals",
        "<strong>wald</strong>",
        "months actually present",
        "person searches",
        "self-defined ethnicity",
        "Officer-defined ethnicity",
        "snap points",
        "not the people who pass through",
        "Census 2021",
        "Open Government Licence v3.0",
        "record-level extract",
        "small_count",
        "ratio_insufficient_data",
        "Fictional demonstration data generated by stopsearch",
    ):
        assert phrase in html, phrase


def test_hostile_text_is_escaped_and_overrides_apply(demo_warehouse_path, tmp_path):
    copy = tmp_path / "hostile.duckdb"
    shutil.copyfile(demo_warehouse_path, copy)
    with connect(copy) as con:
        con.execute(
            "UPDATE published_metrics SET area_name = ? WHERE area_kind = 'ward' AND area_code = ?",
            [HOSTILE, WARD],
        )
        con.execute("UPDATE areas SET name = ? WHERE kind = 'ward' AND code = ?", [HOSTILE, WARD])
        con.execute(
            "UPDATE published_metrics SET category = ? WHERE breakdown = 'legislation' "
            "AND category = 'Firearms Act 1968 (section 47)'",
            [HOSTILE_CATEGORY],
        )
        con.execute("UPDATE boundary_layers SET attribution = ?", [HOSTILE])
        con.execute("UPDATE postcode_lookups SET attribution = ?", [HOSTILE])  # (issue 16)
        con.execute("UPDATE reference_figures SET attribution = ?, note = ?", [HOSTILE, HOSTILE])
        custom = tmp_path / "templates"
        custom.mkdir()
        (custom / "about.html").write_text(
            '{% extends "base.html" %}{% block main %}<h1>About</h1>'
            "<p>Our own about page</p>{% endblock %}",
            encoding="utf-8",
        )
        build_site(
            con,
            tmp_path / "site",
            demo=False,
            template_dirs=[custom],
            downloads=[
                {
                    "name": "records.csv",
                    "title": HOSTILE,
                    "bytes": 2048,
                    "sha256": "0" * 64,
                    "description": "One row per search",
                }
            ],
            changelog=[{"published_at": "2025-01-31", "lines": [HOSTILE, "Added 2024-12"]}],
            record_level=False,
            generated_for="Published for <b>testing</b>",
            tile_url="tiles/{z}/{x}/{y}.png",
            tile_attribution="Test tiles <i>self-hosted</i>",
        )
    site = tmp_path / "site"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for page in html_pages(site):
        html = page.read_text(encoding="utf-8")
        assert HOSTILE not in html, page
        assert HOSTILE_CATEGORY not in html, page
        assert "<b>testing</b>" not in html, page
        assert "fictional demonstration data" not in html.lower(), page
    ward = (site / "areas" / "ward" / f"{WARD}.html").read_text(encoding="utf-8")
    assert f"<h1>{escaped}</h1>" in ward
    assert "&lt;img src=x onerror=" in ward
    map_page = (site / "map.html").read_text(encoding="utf-8")
    assert escaped in map_page
    assert "L.tileLayer(\n" in map_page or "L.tileLayer(" in map_page
    assert '"tiles/{z}/{x}/{y}.png"' in map_page
    assert "Base map: Test tiles &lt;i&gt;self-hosted&lt;/i&gt;" in map_page
    assert escaped in (site / "downloads.html").read_text(encoding="utf-8")
    coverage = (site / "coverage.html").read_text(encoding="utf-8")
    assert "2025-01-31" in coverage and escaped in coverage
    assert "Our own about page" in (site / "about.html").read_text(encoding="utf-8")
    methodology = (site / "methodology.html").read_text(encoding="utf-8")
    assert "record-level extract is not published" in methodology
    assert "Published for &lt;b&gt;testing&lt;/b&gt;" in methodology


def _holes(geom) -> list:
    polys = [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
    return [shapely.Polygon(ring) for poly in polys for ring in poly.interiors]


def _new_holes(original, simplified, min_area):
    """Holes of the simplified union where the original union had area (gaps it opened)."""
    before = shapely.union_all(original)
    return [
        h
        for h in _holes(shapely.union_all(simplified))
        if h.area > min_area and before.contains(h.representative_point())
    ]


def _jagged_grid(n: int = 5, wiggle: float = 0.0006) -> list[shapely.Polygon]:
    """An n x n coverage of cells whose shared edges zigzag (many vertices, exactly shared)."""
    step = 0.01

    def edge(a: tuple, b: tuple, seed: int) -> list[tuple[float, float]]:
        dx, dy = (b[0] - a[0]) / step, (b[1] - a[1]) / step  # unit direction
        pts = [a]
        for i in range(1, 40):
            t = i / 40
            off = wiggle * math.sin(seed * 7.1 + i * 1.3) * math.sin(math.pi * t)
            pts.append((a[0] + dx * step * t - dy * off, a[1] + dy * step * t + dx * off))
        return [*pts, b]

    xs = [i * step for i in range(n + 1)]
    h_edges = {
        (i, j): edge((xs[i], xs[j]), (xs[i + 1], xs[j]), i * 31 + j)
        for i in range(n)
        for j in range(n + 1)
    }
    v_edges = {
        (i, j): edge((xs[i], xs[j]), (xs[i], xs[j + 1]), i * 17 + j * 3 + 500)
        for i in range(n + 1)
        for j in range(n)
    }
    cells = []
    for i in range(n):
        for j in range(n):
            ring = (
                h_edges[(i, j)][:-1]
                + v_edges[(i + 1, j)][:-1]
                + list(reversed(h_edges[(i, j + 1)]))[:-1]
                + list(reversed(v_edges[(i, j)]))
            )
            shift = 11 + (i * 7 + j * 13) % 60  # start each ring mid-edge, as real data does
            cells.append(shapely.Polygon(ring[shift:] + ring[:shift]))
    return cells


def test_coverage_simplification_opens_no_gaps_between_neighbours(demo_warehouse_path):
    cells = _jagged_grid()
    assert shapely.coverage_is_valid(cells)
    tolerance = 0.0005
    simplified = [rounded(g) for g in simplify_layer(cells, tolerance)]
    assert sum(shapely.get_num_coordinates(simplified)) < sum(shapely.get_num_coordinates(cells))
    assert _new_holes(cells, simplified, 1e-12) == []
    # Simplifying each polygon on its own would open gaps: the check above is meaningful.
    naive = [rounded(g) for g in shapely.simplify(cells, tolerance, preserve_topology=True)]
    assert _new_holes(cells, naive, 1e-12) != []
    # The demo's ward layers stay gap-free too.
    with connect(demo_warehouse_path, read_only=True) as con:
        layers = con.execute(
            "SELECT layer_id, list(ST_AsWKB(geom) ORDER BY code) FROM areas "
            "WHERE kind = 'ward' GROUP BY layer_id ORDER BY layer_id"
        ).fetchall()
    for _layer, blobs in layers:
        original = [shapely.from_wkb(bytes(b)) for b in blobs]
        simple = [rounded(g) for g in simplify_layer(original, 0.0005)]
        assert _new_holes(original, simple, 1e-12) == []


def test_site_builds_when_the_warehouse_is_empty(tmp_path):
    with connect(":memory:") as con:
        report = build_site(con, tmp_path / "empty", demo=True)
    assert "index.html" in report.pages and "map.html" in report.pages
    html = (tmp_path / "empty" / "index.html").read_text(encoding="utf-8")
    assert "No published figures yet" in html


@pytest.mark.parametrize("page", ["index.html", "map.html"])
def test_folium_ids_are_stable(demo_site, page):
    out, _ = demo_site
    html = (out / page).read_text(encoding="utf-8")
    assert re.search(r"\b[0-9a-f]{32}\b", html) is None
    assert "var map_main = L.map(" in html


def test_paths_are_relative_to_each_page(demo_site):
    out, _ = demo_site
    ward = (out / "areas" / "ward" / f"{WARD}.html").read_text(encoding="utf-8")
    assert 'href="../../assets/site.css"' in ward
    assert 'href="../../methodology.html"' in ward
    for page in html_pages(out):
        html = page.read_text(encoding="utf-8")
        depth = len(page.relative_to(out).parts) - 1
        assert f'href="{"../" * depth}assets/site.css"' in html, page


def test_templates_folder_is_found():
    from stopsearch.outputs.site import DEFAULT_TEMPLATES

    assert (DEFAULT_TEMPLATES / "base.html").is_file()
    assert isinstance(DEFAULT_TEMPLATES, Path)


def test_ratio_headlines_follow_the_precision_and_withheld_rate_rules(
    demo_site, demo_warehouse_path
):
    """A ward's ratio headline: labelled imprecise when the metrics flag it (one precision rule),
    and never headlined where the Black or White search rate behind it is withheld; a ward whose
    rate is withheld says why and links to its council."""
    out, _ = demo_site
    with connect(demo_warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT area_code, measure, grp, value, imprecise, ci_high, reason, display"
            " FROM published_metrics WHERE area_kind = 'ward' AND period = 'latest-12'"
            " AND basis = 'self_defined' AND breakdown = 'total'"
            " AND measure IN ('disproportionality_ratio', 'search_rate')"
        ).fetchall()
    figs = {(code, m, grp): (v, wide, hi, r, d) for code, m, grp, v, wide, hi, r, d in rows}
    seen = {"imprecise": 0, "not headlined": 0, "headlined": 0, "withheld note": 0}
    for code in sorted({code for code, _, _ in figs}):
        html = (out / "areas" / "ward" / f"{code}.html").read_text(encoding="utf-8")
        item = html.split("<dt>Black/White disproportionality ratio</dt>", 1)[1].split("</dd>")[0]
        value, wide, _, reason, display = figs[(code, "disproportionality_ratio", "Black")]
        rates_shown = all(
            figs.get((code, "search_rate", g), (None,) * 4 + ("",))[3] is None
            for g in ("Black", "White")
        )
        if reason is None and rates_shown:
            assert f'<span class="headline-value">{display}' in item, code
            assert ("imprecise" in item) == bool(wide), code
            seen["imprecise" if wide else "headlined"] += 1
        else:
            assert f'<span class="headline-value">{display}' not in item or reason, code
            assert "withheld" in item, code
            if reason is None:
                assert "not headlined" in item, code
                seen["not headlined"] += 1
        all_rate = figs[(code, "search_rate", "All")]
        if all_rate[3] is not None:
            assert 'class="withheld-note"' in html and "../local_authority/" in html, code
            seen["withheld note"] += 1
        else:
            assert 'class="withheld-note"' not in html, code
    assert seen["headlined"] and seen["imprecise"] + seen["not headlined"], seen


def test_bare_area_codes_are_found():
    """The real-data check (no code without its name) can fail."""
    from tests.site_support import codes_without_names, visible_text

    names = {"E08000025": "Birmingham"}
    assert codes_without_names(visible_text("<p>Birmingham (E08000025)</p>"), names) == []
    assert codes_without_names(visible_text("<p>Council E08000025</p>"), names)
    assert codes_without_names(visible_text('<a title="E08000025">x</a>'), names)
    assert codes_without_names(visible_text("<script>E08000025</script>"), names) == []
