"""The built demo site in Debian's chromium: clean loads, no other origins, the map works, axe.

Served by a threaded http.server on 127.0.0.1; playwright drives /usr/bin/chromium (skipped when
it is absent). Screenshots of every page type are written under each test's tmp_path.
"""

from __future__ import annotations

import pytest

from tests.site_support import CHROMIUM, Visit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]

PAGE_TYPES = {
    "overview": "index.html",
    "map": "map.html",
    "ward": "areas/ward/D05000020.html",
    "neighbourhood": "areas/neighbourhood/DS-N01.html",
    "priority-area": "areas/priority_area/DS-P04.html",
    "local-authority": "areas/local_authority/D06000001.html",
    "areas": "areas/index.html",
    "methodology": "methodology.html",
    "coverage": "coverage.html",
    "downloads": "downloads.html",
    "about": "about.html",
    "map-table": "table-ward-latest-12.html",
}


@pytest.fixture(scope="module")
def site(demo_site_url):
    """The shared demo site build, served on 127.0.0.1 (one server per run: conftest)."""
    return demo_site_url


def _axe_everything(page):
    """axe-core with every rule it has, including the experimental ones and those off by
    default (e.g. target-size), not only its default set."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page.evaluate(axe.axe_script)
    rules = page.evaluate("axe.getRules().map(r => r.ruleId)")
    experimental = page.evaluate("axe.getRules(['experimental']).map(r => r.ruleId)")
    assert experimental and set(experimental) <= set(rules)
    options = {"runOnly": {"type": "rule", "values": rules}, "resultTypes": ["violations"]}
    return axe.run(page, options=options)


@pytest.mark.parametrize("name", sorted(PAGE_TYPES))
def test_page_type_loads_cleanly_and_passes_axe(name, site, browser, tmp_path):
    visit = Visit(browser, site + PAGE_TYPES[name])
    try:
        page = visit.page
        if name in ("overview", "map"):
            _drawn(page, "ward", "search_rate", "latest-12")
        assert "fictional demonstration data" in page.inner_text(".demo-banner").lower()
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 1000
        results = _axe_everything(page)
        serious = [
            f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:160]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == []
        assert visit.errors == []
        assert visit.foreign(site) == []
    finally:
        visit.page.close()


def _fills(page) -> list[str]:
    return page.eval_on_selector_all("path.ss-ward", "ps => ps.map(p => p.getAttribute('fill'))")


def _drawn(page, geo: str, metric: str, period: str) -> None:
    """Wait until map.js has drawn this selection (it loads the map when it nears the screen,
    then fetches each selection's data)."""
    page.locator(".map-frame").scroll_into_view_if_needed()
    page.wait_for_selector(f'#ss-map-status[data-state="{geo}|{metric}|{period}"]')


def _table(page, site: str, table_id: str) -> list[dict]:
    """The rows of a table page, as map.js would show them: code, metric -> (class, v, n)."""
    return page.evaluate(
        """async ([url, id]) => {
          const html = await (await fetch(url)).text();
          const doc = new DOMParser().parseFromString(html, "text/html");
          return [...doc.querySelectorAll(`#${id} tbody tr`)].map(tr => ({
            code: tr.dataset.code,
            cells: Object.fromEntries([...tr.querySelectorAll("td")].map(td => [td.dataset.m,
              [td.dataset.c, td.querySelector(".v").textContent,
               td.querySelector(".n").textContent]]))}));
        }""",
        [site + "table-" + table_id.removeprefix("t-") + ".html", table_id],
    )


def test_map_draws_switches_and_explains(site, browser, tmp_path):
    # The figures come from static files fetched by map.js; the tables are pages of their own
    # (table-<geography>-<period>.html), whose figures the tooltips must repeat.
    visit = Visit(browser, site + "map.html")
    page = visit.page
    try:
        _drawn(page, "ward", "search_rate", "latest-12")
        rows = _table(page, site, "t-ward-latest-12")
        assert len(rows) > 10
        assert page.locator("path.ss-ward").count() == len(rows)
        assert page.locator("path.ss-priority").count() > 0
        link = page.locator("[data-ss-table-link]")
        assert link.get_attribute("href") == "table-ward-latest-12.html"

        # Tooltip: hovering an area shows its value and the counts behind it.
        row = next(r for r in rows if r["cells"]["search_rate"][0] != "")
        code, (_, value, counts) = row["code"], row["cells"]["search_rate"]
        point = page.evaluate(
            """(code) => {
              const layer = Object.values(window).find(v => v && v.eachLayer && v.getLayers
                && v.getLayers().some(l => l.feature && l.feature.properties.code === code)
                && v._map);
              const path = layer.getLayers().find(l => l.feature.properties.code === code);
              const map = path._map;
              const pt = map.latLngToContainerPoint(path.getCenter());
              const rect = map.getContainer().getBoundingClientRect();
              return [rect.left + pt.x, rect.top + pt.y];
            }""",
            code,
        )
        page.mouse.move(point[0], point[1])
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for(state="visible")
        assert value in tooltip.inner_text()
        assert counts.split(";")[0] in tooltip.inner_text()
        page.screenshot(path=str(tmp_path / "map-tooltip.png"))

        # Switching the measure recolours the areas and swaps the legend.
        before = _fills(page)
        page.select_option("#ss-metric", "positive_outcome_rate")
        _drawn(page, "ward", "positive_outcome_rate", "latest-12")
        after = _fills(page)
        assert len(after) == len(before) and after != before
        assert page.locator('[data-ss-legend="positive_outcome_rate"]').is_visible()
        assert not page.locator('[data-ss-legend="search_rate"]').is_visible()
        page.select_option("#ss-metric", "dr_other")
        _drawn(page, "ward", "dr_other", "latest-12")
        assert _fills(page) != after
        # Withheld areas are hatched grey, and the tooltip gives the reason.
        withheld = [
            (r["code"], r["cells"]["dr_other"][2]) for r in rows if r["cells"]["dr_other"][0] == ""
        ]
        assert withheld
        hatched = page.locator(f'path.ss-ward[data-code="{withheld[0][0]}"]')
        assert hatched.get_attribute("fill") == "url(#ss-hatch)"
        hatched.focus()
        assert withheld[0][1] in page.locator(".leaflet-tooltip").last.inner_text()
        hatched.blur()

        # Keyboard: the measure can be changed from the keyboard, and an area focused.
        page.focus("#ss-metric")
        page.keyboard.press("ArrowUp")
        assert page.eval_on_selector("#ss-metric", "s => s.value") != "dr_other"
        page.focus(f'path.ss-ward[data-code="{code}"]')
        assert page.locator(".leaflet-tooltip").count() >= 1

        # An earlier year draws the ward boundaries in force then.
        metric = page.eval_on_selector("#ss-metric", "s => s.value")
        page.select_option("#ss-period", "2023")
        _drawn(page, "ward", metric, "2023")
        rows_2023 = len(_table(page, site, "t-ward-2023"))
        assert page.locator("path.ss-ward").count() == rows_2023 != len(rows)
        assert link.get_attribute("href") == "table-ward-2023.html"

        # Neighbourhoods as a second geography.
        page.select_option("#ss-geo", "neighbourhood")
        _drawn(page, "neighbourhood", metric, "2023")
        assert page.locator("path.ss-ward").count() == 0
        assert page.locator("path.ss-neighbourhood").count() == len(
            _table(page, site, "t-neighbourhood-2023")
        )
        page.uncheck("#ss-priority")
        page.wait_for_function("document.querySelectorAll('path.ss-priority').length === 0")
        page.screenshot(path=str(tmp_path / "map-neighbourhoods.png"))
        assert visit.errors == []
        assert visit.foreign(site) == []
    finally:
        page.close()


def test_skip_link_moves_focus_to_the_content(site, browser):
    visit = Visit(browser, site + "areas/ward/D05000020.html")
    page = visit.page
    try:
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        levels = page.eval_on_selector_all(
            "main h1, main h2, main h3, main h4", "hs => hs.map(h => Number(h.tagName[1]))"
        )
        assert levels[0] == 1
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    finally:
        page.close()


def test_context_sentence_of_a_ward_states_the_published_figures(
    site, browser, demo_warehouse_path
):
    from stopsearch.warehouse import connect

    with connect(demo_warehouse_path, read_only=True) as con:

        def published(kind: str, code: str) -> tuple:
            return con.execute(
                "SELECT area_name, display, ci_low, ci_high FROM published_metrics"
                " WHERE area_kind = ? AND area_code = ? AND period = 'latest-12'"
                " AND measure = 'disproportionality_ratio' AND basis = 'self_defined'"
                " AND grp = 'Black' AND breakdown = 'total'",
                [kind, code],
            ).fetchone()

        name, display, low, high = published("ward", "D05000020")
        _, force_display, _, _ = published("force", "demoshire")
    expected = (
        f"Black residents of {name} were searched at {display} times the rate of White"
        f" residents (95% CI {low:.2f} to {high:.2f}). Across Demoshire the figure is"
        f" {force_display}."
    )
    visit = Visit(browser, site + "areas/ward/D05000020.html")
    try:
        item = visit.page.locator(".headline-item", has_text="Black/White disproportionality")
        assert item.locator(".context").inner_text() == expected
        assert item.locator(".force-figure").inner_text() == f"Demoshire: {force_display}"
    finally:
        visit.page.close()


def test_no_page_type_scrolls_sideways_on_a_phone(site, browser):
    """At 320, 390 and 768 px wide, no page is wider than the screen (tables scroll inside
    their own box)."""
    wide = []
    for name, path in sorted(PAGE_TYPES.items()):
        visit = Visit(browser, site + path)
        page = visit.page
        try:
            if name in ("overview", "map"):
                _drawn(page, "ward", "search_rate", "latest-12")
            for width in (320, 390, 768):
                page.set_viewport_size({"width": width, "height": 800})
                page.wait_for_function(f"innerWidth === {width}")
                sizes = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
                if sizes[0] > sizes[1]:
                    wide.append(f"{name} at {width} px: {sizes[0]} px wide")
            assert visit.errors == [], name
        finally:
            page.close()
    assert wide == []


def test_force_trend_tables_and_change_sentences_equal_the_published_series(
    site, browser, demo_warehouse_path
):
    """Issue 17: the overview's trend charts lead with the positive-outcome rate and the
    ratios; each chart's table is the published series (12-month windows, then latest-12),
    and the change sentence gives the published change and interval."""
    from stopsearch.warehouse import connect

    series = {  # table id -> (measure, basis, grp, change measure, value text)
        "trend-positive-table": ("positive_outcome_rate", "none", "All", "positive_outcome_change",
                                 lambda v: f"{100 * v:.1f}%"),
        "trend-black-table": ("disproportionality_ratio", "self_defined", "Black",
                              "disproportionality_change", lambda v: f"{v:.2f}"),
    }
    expected, changes = {}, {}
    with connect(demo_warehouse_path, read_only=True) as con:
        for table_id, (measure, basis, grp, change, fmt) in series.items():
            rows = con.execute(
                "SELECT period, period_label, value, ci_low, ci_high FROM published_metrics"
                " WHERE area_kind = 'force' AND measure = ? AND basis = ? AND grp = ?"
                " AND breakdown = 'total' AND (period_kind = 'window' OR period = 'latest-12')"
                " ORDER BY period_end",
                [measure, basis, grp],
            ).fetchall()
            expected[table_id] = [
                [label, f"{fmt(v)} (95% CI {fmt(lo)} to {fmt(hi)})"]
                for _, label, v, lo, hi in rows
            ]
            value, low, high, earlier = con.execute(
                "SELECT value, ci_low, ci_high, category FROM published_metrics"
                " WHERE area_kind = 'force' AND period = 'latest-12' AND measure = ?"
                " AND grp = ? AND breakdown = 'year_earlier'",
                [change, grp],
            ).fetchone()
            before, after = (
                fmt(con.execute(
                    "SELECT value FROM published_metrics WHERE area_kind = 'force'"
                    " AND period = ? AND measure = ? AND basis = ? AND grp = ?"
                    " AND breakdown = 'total'",
                    [p, measure, basis, grp],
                ).fetchone()[0])
                for p in (earlier, "latest-12")
            )
            changes[table_id] = (before, after, value, low, high)
    visit = Visit(browser, site + "index.html")
    page = visit.page
    try:
        headings = page.eval_on_selector_all("main h2", "hs => hs.map(h => h.id)")
        # the overview leads with the trends (after the "Find your area" box)
        assert [h for h in headings if h != "ss-search-heading"][0] == "trends-heading"
        for table_id, rows in expected.items():
            shown = page.eval_on_selector_all(
                f"#{table_id} tbody tr",
                "trs => trs.map(tr => [tr.querySelector('th').innerText,"
                " tr.querySelector('td').innerText])",
            )
            assert len(shown) == 13  # windows ending Dec 2023 .. Nov 2024, then latest-12
            assert shown == rows
            chart = table_id.removesuffix("-table")
            assert page.locator(f"#{chart} circle").count() == 13
            before, after, value, low, high = changes[table_id]
            texts = page.evaluate(
                """(id) => {
                  const out = [];
                  let el = document.getElementById(id).closest(".table-scroll")
                    .previousElementSibling;
                  while (el && el.matches("p.change")) {
                    out.unshift(el.innerText);
                    el = el.previousElementSibling;
                  }
                  return out;
                }""",
                table_id,
            )
            assert len(texts) == 2  # the latest 12 months, then the latest complete quarter
            text = texts[0]
            assert f"from {before} in the year ending Dec 2023 to {after} in the latest" in text
            assert f"(ratio {value:.2f}, 95% CI of the change {low:.2f} to {high:.2f})" in text
        assert visit.errors == []
    finally:
        page.close()
