"""Issue 16, "find your area": the static search index and the combobox that reads it.

The index is read from the shared demo site build; the browser tests drive the one shared
chromium (tests/conftest.py) on the same build.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from stopsearch.geography.postcodes import normal_postcode
from stopsearch.outputs.site import DEFAULT_TEMPLATES, search
from stopsearch.outputs.site.search import Entry, build_index, fold, words
from tests.site_support import Visit, shared_demo_site

WARD, WARD_NAME = "D05000020", "Marramwick (fictional)"


@pytest.fixture(scope="module")
def demo_site(demo_warehouse_path, tmp_path_factory) -> Path:
    return shared_demo_site(demo_warehouse_path, tmp_path_factory)[0]


def _shard(site: Path, name: str) -> dict:
    return json.loads((site / search.FOLDER / name).read_text(encoding="utf-8"))


def test_names_are_folded_as_the_script_folds_queries():
    assert fold("King's Norton") == "kings norton"
    assert fold("Llanfihangel-y-Creuddyn") == "llanfihangel y creuddyn"
    assert fold("Ynys Môn") == "ynys mon"
    assert fold("St. Mary’s (fictional)") == "st marys fictional"
    assert words("Aston", "E05001179") == ["aston", "e05001179"]
    source = (DEFAULT_TEMPLATES / "assets" / "search.js").read_text(encoding="utf-8")
    # The same three steps in search.js: marks dropped, apostrophes dropped, others a space.
    assert r'.replace(/[\u0300-\u036f]/g, "")' in source
    assert r""".replace(/['\u2019]/g, "")""" in source
    assert r'.replace(/[^a-z0-9]+/g, " ")' in source


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("b64aa", "B6 4AA"),
        (" B64 5AA ", "B64 5AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("DS1  2AB", "DS1 2AB"),
        ("B6", None),
        ("123 4AA", None),
        ("B6 4A1", None),
    ],
)
def test_postcodes_are_normalised_to_one_form(text, expected):
    assert normal_postcode(text) == expected


def test_every_area_page_is_found_by_each_word_of_its_name_and_its_code(demo_site):
    index = _shard(demo_site, "index.json")
    files = sorted(p.name for p in (demo_site / search.FOLDER).glob("n-*.json"))
    assert files == [f"n-{key}.json" for key in index["names"]]
    pages = sorted((demo_site / "areas").glob("*/*.html"))
    pages = [p for p in pages if p.name != "index.html"]
    assert len(pages) == 78
    for page in pages:
        html = page.read_text(encoding="utf-8")
        name = html.split("<h1>", 1)[1].split("</h1>", 1)[0].replace("&#39;", "'")
        kind, code = page.parent.name, page.stem
        for word in words(name, code):
            rows = _shard(demo_site, f"n-{word[:2]}.json")["areas"]
            found = [r for r in rows if r[1:4] == [kind, code, f"areas/{kind}/{code}.html"]]
            assert [r[0] for r in found] == [name], (page, word)
    ward = [r for r in _shard(demo_site, "n-ma.json")["areas"] if r[2] == WARD]
    assert ward == [[WARD_NAME, "ward", WARD, f"areas/ward/{WARD}.html", "Gullhaven (fictional)"]]


def test_every_demo_postcode_leads_to_the_ward_and_neighbourhood_of_its_small_area(
    demo_site, demo_dir
):
    """Checked against the generator's own truth (small areas nest in the 2024 wards and in the
    neighbourhoods), not against the point-in-area placing the site uses."""
    truth = json.loads((demo_dir / "truth.json").read_text(encoding="utf-8"))["small_areas"]
    with (demo_dir / "boundaries" / "postcodes.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r["doterm"]]
    index = _shard(demo_site, "index.json")
    files = sorted(p.name for p in (demo_site / search.FOLDER).glob("p-*.json"))
    assert files == [f"p-{key}.json" for key in index["postcodes"]]
    # One shard per sector of DS2 to DS9 (80); DS1 0 to DS1 9 share theirs with DS10 to DS13
    # ("DS10 2AB" and "DS1 0AB" both start DS10), so 90 in all.
    assert len(files) == 90
    found = {}
    for key in index["postcodes"]:
        shard = _shard(demo_site, f"p-{key}.json")
        for squeezed, places in shard["postcodes"].items():
            assert squeezed.lower().startswith(key)
            found[f"{squeezed[:-3]} {squeezed[-3:]}"] = [shard["areas"][i][1:3] for i in places]
    assert len(found) == len(rows) == 910
    for row in rows:
        home = truth[row["lsoa21"]]
        assert found[row["pcds"]] == [
            ["ward", home["ward_2024"]],
            ["neighbourhood", home["neighbourhood"]],
        ], row


def test_the_index_holds_no_figures(demo_site):
    """Only names, kinds, codes and links: a number in the index could only be a figure."""
    for path in sorted((demo_site / search.FOLDER).glob("n-*.json")):
        for row in json.loads(path.read_text(encoding="utf-8"))["areas"]:
            name, kind, code, href, parent = row
            assert not re.search(r"\d", name + parent), row
            assert kind in search.KIND_ORDER and href.endswith(f"/{code}.html")


def test_a_large_force_loads_a_few_kilobytes_per_query():
    """600 wards and 100,000 postcodes: no shard, nor the shard list, is large."""
    syllables = ["ash", "bro", "cal", "den", "elm", "fal", "gro", "hal", "ing", "kel", "lan"]
    wards = [
        Entry(f"{a.title()}{b}{c} Ward {n}", "ward", f"E05{n:06d}", f"areas/ward/E05{n:06d}.html")
        for n, (a, b, c) in enumerate(
            ((a, b, c) for a in syllables for b in syllables for c in syllables), 1
        )
        if n <= 600
    ]
    postcodes = [
        (f"B{d} {s}{a}{b}", [wards[(d * 31 + s) % 600]])
        for d in range(1, 100)
        for s in range(10)
        for a in "ABDEFGHJLNPQRSTUWXYZ"[:10]
        for b in "ABDEFGHJLNPQRSTUWXYZ"[:10]
        if len(f"B{d}") <= 3
    ]
    assert len(postcodes) == 99_000
    index = build_index(wards, postcodes)
    assert (index.areas, index.postcodes) == (600, 99_000)
    sizes = {name: len(content) for name, content in index.files.items()}
    assert sizes[search.INDEX] < 16_000
    # The largest shards are the word every name shares ("ward") and the codes' "E0": 44 KB
    # for 600 wards (8 KB when the server compresses them).
    assert max(sizes.values()) < 50_000
    assert sum(sizes.values()) / len(sizes) < 2_000


# --- in the browser ---------------------------------------------------------------------------


def _type(page, text: str) -> None:
    box = page.locator("#ss-search-input")
    box.click()
    box.fill("")
    box.press_sequentially(text)
    page.wait_for_function(
        """(text) => {
          const status = document.getElementById("ss-search-status").textContent;
          return document.getElementById("ss-search-input").value === text && status !== "";
        }""",
        arg=text,
    )


@pytest.mark.browser
def test_three_letters_and_the_keyboard_open_a_ward_page(demo_site_url, browser):
    visit = Visit(browser, demo_site_url + "index.html")
    page = visit.page
    try:
        box = page.locator("#ss-search-input")
        assert box.get_attribute("role") == "combobox"
        assert box.get_attribute("aria-expanded") == "false"
        _type(page, "Mar")
        options = page.locator("#ss-search-list [role=option]")
        assert box.get_attribute("aria-expanded") == "true"
        assert options.count() >= 1
        assert options.first.get_attribute("data-code") == WARD
        assert WARD_NAME in options.first.inner_text()
        status = page.locator("#ss-search-status")
        assert status.get_attribute("aria-live") == "polite"
        count = options.count()
        assert status.inner_text().startswith(f"{count} area{'s' if count > 1 else ''} found")
        # Escape closes the list and keeps the text; Down opens it on the first suggestion.
        box.press("Escape")
        assert box.get_attribute("aria-expanded") == "false"
        assert box.input_value() == "Mar"
        box.press("ArrowDown")
        assert box.get_attribute("aria-expanded") == "true"
        first = options.first
        assert box.get_attribute("aria-activedescendant") == first.get_attribute("id")
        assert first.get_attribute("aria-selected") == "true"
        with page.expect_navigation():
            box.press("Enter")
        assert page.url == demo_site_url + f"areas/ward/{WARD}.html"
        assert page.locator("h1").inner_text() == WARD_NAME
        assert visit.errors == []
        assert visit.foreign(demo_site_url) == []
    finally:
        page.close()


@pytest.mark.browser
def test_the_search_says_when_nothing_matches_and_escape_clears(demo_site_url, browser):
    visit = Visit(browser, demo_site_url + "areas/index.html")
    page = visit.page
    try:
        _type(page, "zzq")
        assert page.locator("#ss-search-status").inner_text() == "No area found for “zzq”."
        box = page.locator("#ss-search-input")
        assert box.get_attribute("aria-expanded") == "false"
        box.press("Escape")
        assert box.input_value() == ""
        # From a page one folder down, a council opens at its own address (codes work too).
        _type(page, "D06000002")
        option = page.locator("#ss-search-list [role=option]").first
        assert option.get_attribute("data-code") == "D06000002"
        with page.expect_navigation():
            option.click()
        assert page.url == demo_site_url + "areas/local_authority/D06000002.html"
        assert visit.errors == []
        # Only the shard list and the shards typed for were fetched, never the whole index.
        fetched = sorted(u.rsplit("/", 1)[1] for u in visit.requests if "/search/" in u)
        assert fetched == ["index.json", "n-d0.json"]  # there is no n-zz.json
    finally:
        page.close()


@pytest.mark.browser
def test_a_demo_postcode_finds_its_ward(demo_site_url, browser, demo_dir):
    truth = json.loads((demo_dir / "truth.json").read_text(encoding="utf-8"))["small_areas"]
    with (demo_dir / "boundaries" / "postcodes.csv").open(encoding="utf-8", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["pcds"].startswith("DS4 ") and not r["doterm"])
    ward = truth[row["lsoa21"]]["ward_2024"]
    visit = Visit(browser, demo_site_url + "areas/index.html")
    page = visit.page
    try:
        _type(page, row["pcds"].replace(" ", "").lower())  # as people type them
        options = page.locator("#ss-search-list [role=option]")
        # The status may still be an earlier keystroke's while the postcode shard loads: wait
        # (up to expect's timeout) for the list of the whole postcode.
        expect(options).to_have_count(2)
        assert [options.nth(i).get_attribute("data-code") for i in range(2)] == [
            ward,
            truth[row["lsoa21"]]["neighbourhood"],
        ]
        assert options.first.inner_text().startswith(row["pcds"])
        box = page.locator("#ss-search-input")
        box.press("ArrowDown")
        with page.expect_navigation():
            box.press("Enter")
        assert page.url == demo_site_url + f"areas/ward/{ward}.html"
        assert visit.errors == []
    finally:
        page.close()


@pytest.fixture(scope="module")
def real_site_url(real_warehouse_path, tmp_path_factory):
    """The shared real-data site build (also read by test_site_real.py), served on 127.0.0.1."""
    from tests.site_support import serve, shared_real_site

    site, _ = shared_real_site(real_warehouse_path, tmp_path_factory)
    with serve(site) as base:
        yield base


@pytest.mark.browser
@pytest.mark.realdata
def test_real_data_ast_offers_aston_and_opens_its_page(real_site_url, browser):
    visit = Visit(browser, real_site_url + "index.html")
    page = visit.page
    try:
        _type(page, "Ast")
        options = page.locator("#ss-search-list [role=option]")
        names = [options.nth(i).inner_text() for i in range(options.count())]
        assert names[0].startswith("Aston")
        assert "Ward in Birmingham" in names[0]
        assert options.first.get_attribute("data-code") == "E05001179"
        page.locator("#ss-search-input").press("ArrowDown")
        with page.expect_navigation():
            page.locator("#ss-search-input").press("Enter")
        assert page.url == real_site_url + "areas/ward/E05001179.html"
        assert page.locator("h1").inner_text() == "Aston"
        assert visit.errors == []
    finally:
        page.close()
