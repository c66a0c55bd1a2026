"""Issue 16, "a map you can use": councils outlined and named, popups with the published figures,
the view in the address, one Tab stop with arrow-key moves, the search selecting on the map.

All on the shared demo site build, in the one shared chromium (tests/conftest.py).
"""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from stopsearch.metrics.contract import format_value
from stopsearch.warehouse import connect
from tests.site_support import Visit

pytestmark = pytest.mark.browser

MEASURES = (  # popup label -> (measure, basis, grp), as the map's metrics declare them
    ("Searches", "searches", "none", "All"),
    ("Searches per 1,000 residents", "search_rate", "self_defined", "All"),
    ("Positive-outcome rate", "positive_outcome_rate", "none", "All"),
    ("Asian/White ratio", "disproportionality_ratio", "self_defined", "Asian"),
    ("Black/White ratio", "disproportionality_ratio", "self_defined", "Black"),
    ("Mixed/White ratio", "disproportionality_ratio", "self_defined", "Mixed"),
    ("Other/White ratio", "disproportionality_ratio", "self_defined", "Other"),
)


def _drawn(page, state: str) -> None:
    page.locator(".map-frame").scroll_into_view_if_needed()
    page.wait_for_selector(f'#ss-map-status[data-state="{state}"]')


def _click_area(page, code: str) -> None:
    """Click the area where its label sits (inside it, away from its edges); playwright waits
    until the area is still and is what the pointer would hit there."""
    area = page.locator(f'path.ss-area[data-code="{code}"]')
    box = area.bounding_box()
    x, y = page.evaluate(
        """(code) => {
          const el = document.querySelector(`path.ss-area[data-code="${code}"]`);
          const layer = Object.keys(window).filter(k => k.startsWith("ssLayer_"))
            .map(k => window[k]).find(l => l._map && l.getLayers().some(
              p => p.feature.properties.code === code && p.getElement() === el));
          const path = layer.getLayers().find(p => p.feature.properties.code === code);
          const pt = path._map.latLngToContainerPoint(path.feature.properties.lp);
          const box = path._map.getContainer().getBoundingClientRect();
          return [box.left + pt.x, box.top + pt.y];
        }""",
        code,
    )
    area.click(position={"x": x - box["x"], "y": y - box["y"]})


def _popup(page) -> dict[str, str]:
    page.wait_for_selector(".ss-popup")
    return page.eval_on_selector_all(
        ".ss-popup dd",
        "dds => Object.fromEntries(dds.map(d => [d.dataset.ssFigure, d.innerText]))",
    )


def _published(warehouse, code: str, period: str) -> dict[str, str]:
    """What the popup must say for a ward: published_metrics' display and interval."""
    out = {}
    with connect(warehouse, read_only=True) as con:
        for label, measure, basis, grp in MEASURES:
            display, low, high, reason, imprecise = con.execute(
                "SELECT display, ci_low, ci_high, reason, imprecise FROM published_metrics"
                " WHERE area_kind = 'ward' AND area_code = ? AND period = ? AND measure = ?"
                " AND basis = ? AND grp = ? AND breakdown = 'total'",
                [code, period, measure, basis, grp],
            ).fetchone()
            text = display if reason is None else None
            if text is not None and imprecise:
                text += " (imprecise)"
            if reason is None and low is not None:
                text += f"\n95% CI {format_value(measure, low)} to {format_value(measure, high)}"
            out[label] = text
    return out


def test_a_click_opens_the_published_figures_and_the_address_keeps_the_view(
    demo_site_url, browser, demo_warehouse_path
):
    visit = Visit(browser, demo_site_url + "map.html")
    page = visit.page
    try:
        _drawn(page, "ward|search_rate|latest-12")
        assert page.url == demo_site_url + "map.html"  # nothing chosen yet: a plain address
        code = "D05000016"
        _click_area(page, code)
        shown = _popup(page)
        expected = _published(demo_warehouse_path, code, "latest-12")
        assert {k: v for k, v in expected.items() if v is not None} == shown
        link = page.locator(".ss-popup a")
        assert link.get_attribute("href") == f"areas/ward/{code}.html"
        assert page.url.endswith(f"#geo=ward&measure=search_rate&period=latest-12&area={code}")
        # Closing the popup clears the selection from the address.
        page.click(".leaflet-popup-close-button")
        page.wait_for_function("() => !location.hash.includes('area=')")
        # Another measure and period, then the address is shared and opened again.
        page.select_option("#ss-metric", "positive_outcome_rate")
        page.select_option("#ss-period", "2023")
        _drawn(page, "ward|positive_outcome_rate|2023")
        _click_area(page, "D05000020")
        wanted = "#geo=ward&measure=positive_outcome_rate&period=2023&area=D05000020"
        assert page.url == demo_site_url + "map.html" + wanted
        assert _popup(page) == {
            k: v for k, v in _published(demo_warehouse_path, "D05000020", "2023").items() if v
        }
        page.reload()
        _drawn(page, "ward|positive_outcome_rate|2023")
        page.wait_for_selector('path.ss-ward[data-code="D05000020"][data-selected="true"]')
        assert page.inner_text(".ss-popup strong") == "Marramwick (fictional)"
        assert page.eval_on_selector("#ss-metric", "s => s.value") == "positive_outcome_rate"
        assert page.eval_on_selector("#ss-period", "s => s.value") == "2023"
        assert page.url == demo_site_url + "map.html" + wanted
        assert visit.errors == []
        assert visit.foreign(demo_site_url) == []
    finally:
        page.close()


def test_the_keyboard_crosses_the_map_in_two_tabs_and_moves_between_areas(demo_site_url, browser):
    visit = Visit(browser, demo_site_url + "map.html")
    page = visit.page
    try:
        _drawn(page, "ward|search_rate|latest-12")
        # Councils: outlined, and named at the first view; ward names only closer in.
        councils = page.eval_on_selector_all(".ss-label-council", "ls => ls.map(l => l.innerText)")
        assert sorted(councils) == [
            "Gullhaven (fictional)",
            "Northmere (fictional)",
            "Skerrydale (fictional)",
        ]
        assert page.locator("path.ss-council").count() == 3
        assert page.locator(".ss-label-ward").count() == 0
        assert page.locator('.ss-label[aria-hidden="true"]').count() == 3
        assert page.locator('path.ss-ward[tabindex="0"]').count() == 1

        page.focus(".skip-map")
        page.keyboard.press("Tab")
        first = page.evaluate("document.activeElement.getAttribute('data-code')")
        assert first and page.evaluate("document.activeElement.closest('.map-frame') !== null")
        page.keyboard.press("Tab")
        assert page.evaluate(
            """() => {
              const frame = document.querySelector(".map-frame");
              const now = document.activeElement;
              return !frame.contains(now)
                && !!(frame.compareDocumentPosition(now) & Node.DOCUMENT_POSITION_FOLLOWING);
            }"""
        )
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.getAttribute('data-code')") == first

        visited = [first]
        for key in ("ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"):
            page.keyboard.press(key)
            now = page.evaluate("document.activeElement.getAttribute('data-code')")
            said = page.inner_text("#ss-map-announce")
            if now != visited[-1]:
                label = page.locator(f'path.ss-ward[data-code="{now}"]').get_attribute("aria-label")
                name, value = label.split(": ", 1)
                assert said == f"{name}: Searches per 1,000 residents {value}."
                visited.append(now)
            else:
                assert said.startswith("No area further")
        assert len(set(visited)) >= 3
        assert page.locator('path.ss-ward[tabindex="0"]').count() == 1  # still one Tab stop

        page.keyboard.press("Enter")
        page.wait_for_selector(".ss-popup")
        assert (
            page.inner_text(".ss-popup strong")
            == page.locator(f'path.ss-ward[data-code="{visited[-1]}"]')
            .get_attribute("aria-label")
            .split(": ", 1)[0]
        )
        assert page.evaluate("document.activeElement.getAttribute('data-code')") == visited[-1]
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.querySelectorAll('.ss-popup').length === 0")

        zoom = page.evaluate("window.ssLayer_demo_wards_2024._map.getZoom()")
        page.keyboard.press("+")
        page.wait_for_function(f"() => window.ssLayer_demo_wards_2024._map.getZoom() >= {zoom + 1}")
        page.wait_for_selector(".ss-label-ward span")
        page.wait_for_function(  # (the council names go once the zoom has ended)
            "() => document.querySelectorAll('.ss-label-council').length === 0"
        )
        assert visit.errors == []
    finally:
        page.close()


def test_the_map_page_search_selects_and_zooms(demo_site_url, browser):
    visit = Visit(browser, demo_site_url + "map.html")
    page = visit.page
    try:
        _drawn(page, "ward|search_rate|latest-12")
        zoom = page.evaluate("window.ssLayer_demo_wards_2024._map.getZoom()")
        box = page.locator("#ss-search-input")
        box.click()
        box.press_sequentially("Marr")
        page.wait_for_selector("#ss-search-list [role=option]")
        box.press("ArrowDown")
        box.press("Enter")
        page.wait_for_selector('path.ss-ward[data-code="D05000020"][data-selected="true"]')
        assert page.url.endswith(
            "map.html#geo=ward&measure=search_rate&period=latest-12&area=D05000020"
        )
        assert page.inner_text(".ss-popup strong") == "Marramwick (fictional)"
        assert page.evaluate("document.activeElement.getAttribute('data-code')") == "D05000020"
        page.wait_for_function(f"() => window.ssLayer_demo_wards_2024._map.getZoom() > {zoom}")
        page.wait_for_function(  # the area (where its label and popup sit) is in view
            """() => {
              const layer = window.ssLayer_demo_wards_2024;
              const path = layer.getLayers().find(p => p.feature.properties.code === "D05000020");
              return layer._map.getBounds().contains(path.feature.properties.lp);
            }"""
        )
        # A council switches the map to councils.
        box.click()
        box.fill("")
        box.press_sequentially("Gullhaven")
        page.wait_for_selector('#ss-search-list [data-code="D06000002"]')
        page.click('#ss-search-list [data-code="D06000002"]')
        _drawn(page, "local_authority|search_rate|latest-12")
        page.wait_for_selector(
            'path.ss-local_authority[data-code="D06000002"][data-selected="true"]'
        )
        assert page.eval_on_selector("#ss-geo", "s => s.value") == "local_authority"
        assert visit.errors == []
    finally:
        page.close()


TILES = "https://tiles.example.test/{z}/{x}/{y}.png"  # .test: a name that never resolves


def _png() -> bytes:
    """A 1 x 1 grey PNG, the tile server's answer to every request."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xc0")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def tiled_site(demo_warehouse_path, tmp_path_factory):
    """The demo site built once more, with a background map (shared by xdist workers)."""
    from tests.shared import build_once
    from tests.site_support import build_demo_site, serve

    folder, _ = build_once(
        tmp_path_factory,
        "demo-site-tiles",
        lambda out: build_demo_site(
            demo_warehouse_path, out / "site", tile_url=TILES, tile_attribution="Test tiles"
        ),
    )
    with serve(folder / "site") as base:
        yield base


def test_a_configured_tile_server_is_the_only_other_origin(tiled_site, browser):
    from tests.site_support import csp_of

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.route(
        "https://tiles.example.test/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=_png()),
    )
    try:
        page.goto(tiled_site + "map.html", wait_until="load")
        (policy,) = csp_of(page.content())
        assert "img-src 'self' data: https://tiles.example.test;" in policy
        _drawn(page, "ward|search_rate|latest-12")
        page.wait_for_selector("img.leaflet-tile-loaded")
        tiles = [u for u in requests if u.startswith("https://tiles.example.test/")]
        assert tiles and all(
            re.fullmatch(r"https://tiles\.example\.test/\d+/\d+/\d+\.png", u) for u in tiles
        )
        assert [u for u in requests if u not in tiles and not u.startswith(tiled_site)] == []
        assert "Base map: Test tiles" in page.inner_text(".map-credit")
        assert errors == []
    finally:
        page.close()
