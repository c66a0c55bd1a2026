"""The site builds from the real West Midlands data in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stopsearch.outputs.site import build_site
from stopsearch.pipeline import prepare
from stopsearch.warehouse import connect
from tests.site_support import CSP, csp_of, external_urls

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"
OVERVIEW_LIMIT = 1_500_000


def test_real_data_site(shared_data, tmp_path):
    with connect(tmp_path / "real.duckdb") as con:
        prepare(con, [shared_data / "police" / "stop-and-search" / "west-midlands"], MANIFEST)
        report = build_site(con, tmp_path / "site", demo=False)
    site = tmp_path / "site"
    wards = sorted((site / "areas" / "ward").glob("*.html"))
    assert len(wards) == 163
    assert len(list((site / "downloads" / "areas" / "ward").glob("*.csv"))) == 163
    assert report.overview_bytes <= OVERVIEW_LIMIT
    overview = (site / "index.html").read_text(encoding="utf-8")
    assert "fictional demonstration data" not in overview.lower()
    assert "Contains public sector information licensed under the Open Government" in overview
    table = overview.split('id="t-ward-latest-12"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr data-code=") == 163
    for page in [site / "index.html", site / "map.html", wards[0], site / "methodology.html"]:
        html = page.read_text(encoding="utf-8")
        assert csp_of(html) == [CSP]
        assert external_urls(html) == []
    print(
        f"real site: {len(report.pages)} pages, {report.total_bytes} bytes, overview "
        f"{report.overview_bytes} bytes, built in {report.seconds} s"
    )
