"""The site builds from the real West Midlands data in ../shared/data (skipped when absent)."""

from __future__ import annotations

import re

import pytest

from stopsearch.warehouse import connect
from tests.golden import golden
from tests.site_support import (
    CSP,
    codes_without_names,
    csp_of,
    external_urls,
    shared_real_site,
    visible_text,
)

pytestmark = pytest.mark.realdata

COUNCILS = ("Birmingham", "Coventry", "Dudley", "Sandwell", "Solihull", "Walsall", "Wolverhampton")

OVERVIEW_LIMIT = 1_500_000


@pytest.fixture(scope="module")
def real_site(real_warehouse_path, tmp_path_factory):
    return shared_real_site(real_warehouse_path, tmp_path_factory)


def test_real_data_site(real_site):
    site, report = real_site
    wards = sorted((site / "areas" / "ward").glob("*.html"))
    assert len(wards) == golden("wards")
    csvs = sorted(p.stem for p in (site / "downloads" / "areas" / "ward").glob("*.csv"))
    current = [stem for stem in csvs if not stem.endswith("-2016")]
    assert len(current) == golden("wards")  # one per ward; 2016, a closed year, beside it
    closed = [stem.removesuffix("-2016") for stem in csvs if stem.endswith("-2016")]
    assert closed and set(closed) <= set(current)  # wards with figures in 2016 (all but one)
    assert report.overview_bytes <= OVERVIEW_LIMIT
    overview = (site / "index.html").read_text(encoding="utf-8")
    assert "fictional demonstration data" not in overview.lower()
    assert "Contains public sector information licensed under the Open Government" in overview
    table_page = (site / "table-ward-latest-12.html").read_text(encoding="utf-8")
    table = table_page.split('id="t-ward-latest-12"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr data-code=") == golden("wards")
    for page in [site / "index.html", site / "map.html", wards[0], site / "methodology.html"]:
        html = page.read_text(encoding="utf-8")
        assert csp_of(html) == [CSP]
        assert external_urls(html) == []
    print(
        f"real site: {len(report.pages)} pages, {report.total_bytes} bytes, overview "
        f"{report.overview_bytes} bytes, built in {report.seconds} s"
    )


def test_real_site_names_every_area(real_warehouse_path, real_site):
    """Every council page is titled by its name, and no page shows an area code without its
    name near it (titles, breadcrumbs, tables, tooltips' labels)."""
    site, _ = real_site
    with connect(real_warehouse_path, read_only=True) as con:
        names = dict(
            con.execute(
                "SELECT DISTINCT area_code, area_name FROM published_metrics"
                " WHERE area_kind IN ('ward', 'local_authority')"
            ).fetchall()
        )
    titles = []
    for page in sorted((site / "areas" / "local_authority").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        title = html.split("<title>", 1)[1].split(" | ", 1)[0]
        assert html.split("<h1>", 1)[1].split("</h1>", 1)[0] == title
        titles.append(title)
    assert tuple(sorted(titles)) == COUNCILS
    index = (site / "areas" / "index.html").read_text(encoding="utf-8")
    for council in COUNCILS:
        assert f'.html">{council}</a>' in index
    bare = {}
    for page in sorted(site.rglob("*.html")):
        found = codes_without_names(visible_text(page.read_text(encoding="utf-8")), names)
        if found:
            bare[str(page.relative_to(site))] = found[:3]
    assert bare == {}
    ward = (site / "areas" / "ward" / "E05001179.html").read_text(encoding="utf-8")
    assert '<li><a href="../local_authority/E08000025.html">Birmingham</a></li>' in ward
    assert "Aston is a ward in" in ward
    # No council layer in the manifest: the map draws councils merged from their wards.
    assert '<option value="local_authority">Local authorities</option>' in (
        site / "map.html"
    ).read_text(encoding="utf-8")
    councils = (site / "table-local_authority-latest-12.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'\.html">([^<]+)</a></th>', councils)) == list(COUNCILS)
