"""The site builds from the real West Midlands data in ../shared/data (skipped when absent)."""

from __future__ import annotations

import pytest

from stopsearch.outputs.site import build_site
from stopsearch.warehouse import connect
from tests.golden import golden
from tests.site_support import CSP, csp_of, external_urls

pytestmark = pytest.mark.realdata

OVERVIEW_LIMIT = 1_500_000


def test_real_data_site(real_warehouse_path, tmp_path):
    with connect(real_warehouse_path, read_only=True) as con:
        report = build_site(con, tmp_path / "site", demo=False)
    site = tmp_path / "site"
    wards = sorted((site / "areas" / "ward").glob("*.html"))
    assert len(wards) == golden("wards")
    assert len(list((site / "downloads" / "areas" / "ward").glob("*.csv"))) == golden("wards")
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
