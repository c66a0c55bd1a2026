"""Funnel plots on the areas index and the "unusual" marks of area pages (demo site)."""

from __future__ import annotations

import re

import pytest

from stopsearch.outputs.site.funnel import UNUSUAL
from stopsearch.warehouse import connect
from tests.site_support import shared_demo_site


@pytest.fixture(scope="module")
def site(demo_warehouse_path, tmp_path_factory):
    out, _ = shared_demo_site(demo_warehouse_path, tmp_path_factory)
    with connect(demo_warehouse_path, read_only=True) as con:
        rows = con.sql(
            "SELECT area_kind, area_code, measure, grp, unusual FROM metrics_funnel"
            " WHERE period = 'latest-12'"
        ).fetchall()
    return out, rows


def _section(page: str) -> str:
    start = page.index('<section aria-labelledby="funnels-heading">')
    return page[start : page.index("</section>", start)]


def test_one_svg_and_one_table_per_funnel_with_every_published_point(site):
    out, rows = site
    page = (out / "areas" / "index.html").read_text("utf-8")
    section = _section(page)
    funnels = sorted({(k, m, g) for k, _c, m, g, _u in rows})
    assert len(funnels) == 6  # wards and neighbourhoods x rate, Black/White, Asian/White
    svgs = re.findall(r'<svg class="chart funnel" id="([^"]+)-svg"', section)
    assert len(svgs) == len(funnels)
    assert svgs[0] == "funnel-ward-search-rate-all"  # wards first
    for chart in svgs:
        start = section.index(f'id="{chart}-svg"')
        svg = section[start : section.index("</svg>", start)]
        assert f'aria-labelledby="{chart}-t {chart}-d"' in svg
        assert f'<title id="{chart}-t">Funnel plot: ' in svg
        assert f"The table with id {chart}-table gives every figure" in svg
        kind, measure, grp = next(
            f for f in funnels
            if chart == f"funnel-{f[0]}-{f[1]}-{f[2]}".lower().replace("_", "-")
        )
        codes = sorted(c for k, c, m, g, _u in rows if (k, m, g) == (kind, measure, grp))
        links = re.findall(r'<a href="([^"]+)"><title>', svg)
        assert sorted(links) == sorted(f"{kind}/{c}.html" for c in codes)
        for link in links:
            assert (out / "areas" / link).is_file()
        table = section[section.index(f'<table id="{chart}-table"') :]
        table = table[: table.index("</table>")]
        assert table.count('<tr><th scope="row"><a href=') == len(codes)
        flagged = sum(1 for k, c, m, g, u in rows if (k, m, g) == (kind, measure, grp) and u)
        assert svg.count("<rect ") == flagged  # squares: the unusual areas
        assert table.count(UNUSUAL) == flagged
    cleaned = section.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in cleaned and "https://" not in cleaned  # no third-party request


def test_area_pages_say_unusual_exactly_when_the_funnel_does(site):
    out, rows = site
    unusual = {(k, c) for k, c, _m, _g, u in rows if u}
    assert unusual, "the demo plants areas far from the force figure"
    for kind in ("ward", "neighbourhood"):
        for page in sorted((out / "areas" / kind).glob("*.html")):
            html = page.read_text("utf-8")
            marked = '<p class="unusual"><strong>' in html and UNUSUAL in html
            assert marked == ((kind, page.stem) in unusual), page.name


def test_methodology_lists_both_dispersion_figures_with_inputs(site):
    out, _rows = site
    page = (out / "methodology.html").read_text("utf-8")
    assert '<h2 id="funnel">' in page and '<h2 id="dispersion">' in page
    assert "Dispersion figures of the latest period, with their inputs" in page
    assert "within areas, over time (phi_t)" in page
    assert "between areas (phi_b)" in page
