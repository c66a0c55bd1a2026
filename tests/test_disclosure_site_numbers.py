"""Issue 13: every number a protected site shows comes from what the release publishes.

The site of a release whose records are not public (``record_level = false``) is read as a
reader would: the text of every page (tables, chart tables, popups' source tables, key figures),
the map's data files and the search index. Each number in it must be a published figure
(`published_metrics`: value, interval, numerator, denominator), a statistic computed from
published figures (the funnel and dispersion tables), an official reference figure, or a
number of the page's furniture (a year, an Act's year, a file size, a month count...). On an
area's page the figures must be that area's own, its council's or wards', or the force's: a
number of 1 to 4 found there is never borrowed from another area's figures.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from stopsearch.warehouse import connect
from tests.site_support import shared_protected_demo_site

NUMBER = re.compile(r"(?<![\w.,:/-])\d[\d,]*(?:\.\d+)?(?![\w/-]|\.\d)")
# Furniture: numbers that are part of the words around them, never a figure.
FURNITURE = [
    r"\b(?:19|20)\d\d\b",  # years, Acts, vintages, dates
    r"\b\d+(?:\.\d+)? (?:KB|MB|bytes|m)\b",  # file sizes, metres
    r"\b\d+ (?:months?|years?|Tab|more)\b",
    r"\b(?:Q[1-4]|[1-9]m-)",  # quarter and window ids
    r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\w*",  # a date's day
    r"\b95%|\b99\.8%|\b1 in 20\b|\bper 1,000\b|\b1,000 residents\b|\b1000\b|/ 12\b",
    r"\b1 = same rate\b|\b0\.5 1 2\b|\bISO 8601\b|\bEPSG:\d+|\bversion \d+\b",
    r"\b(?:18|20|16)\+1?\b|\b16\+1\b|\b18-group\b|\b\d+-\d+\b",  # vocabularies, age ranges
    r"\bsection \d+\w*\b|\(\d+\w?\)",  # legislation sections, codes such as (W1)
    r"\b[A-Z]{1,2}\d[\w-]*\b|\bDS-?\w+\b|\bD\d{8}\b|\bE\d{8}\b",  # area codes, postcodes
]


def _formats(x: float) -> set[str]:
    """How the site may print a number: whole, one or two decimals, or as a percentage."""
    return {
        f"{round(x):,}",
        f"{x:,.1f}",
        f"{x:,.2f}",
        f"{x:,.3f}",
        f"{x * 100:,.1f}",
        f"{x * 100:,.0f}",
        f"{x:.3g}",
        f"{x:.4g}",
    }


def _text(page: str) -> str:
    """What a reader sees of a page: its text, without scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _numbers(text: str) -> list[str]:
    for pattern in FURNITURE:
        text = re.sub(pattern, " ", text)
    return [m.group(0).rstrip(",") for m in NUMBER.finditer(text)]


@pytest.fixture(scope="module")
def published(demo_confidential_warehouse_path):
    """Allowed numbers: every area's published figures, and the release-wide statistics."""
    per_area: dict[tuple[str, str], set[str]] = {}
    release: set[str] = set()
    with connect(demo_confidential_warehouse_path, read_only=True) as con:
        rows = con.execute(
            "SELECT area_kind, area_code, value, ci_low, ci_high, numerator, denominator"
            " FROM published_metrics WHERE value IS NOT NULL"
        ).fetchall()
        for kind, code, *values in rows:
            found = per_area.setdefault((kind, code), set())
            for x in values:
                if x is not None:
                    found |= _formats(x)
        for table in ("metrics_funnel", "metrics_dispersion", "reference_figures"):
            columns = [
                c
                for c, t in con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_name = ?",
                    [table],
                ).fetchall()
                if t in ("DOUBLE", "BIGINT", "INTEGER", "HUGEINT", "FLOAT")
            ]
            for row in con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall():
                for x in row:
                    if x is not None:
                        release |= _formats(x)
        parents = dict(
            con.execute(
                "SELECT code, parent_code FROM areas WHERE parent_code IS NOT NULL"
            ).fetchall()
        )
    return per_area, release, parents


def _allowed_for(area: tuple[str, str], per_area, parents) -> set[str]:
    kind, code = area
    related = {area, *(a for a in per_area if a[0] == "force")}
    if code in parents:
        related |= {a for a in per_area if a[1] == parents[code]}
    related |= {a for a in per_area if parents.get(a[1]) == code}
    return set().union(*(per_area.get(a, set()) for a in related))


def test_every_number_on_the_protected_site_is_published(
    demo_confidential_warehouse_path, published, tmp_path_factory
):
    site = shared_protected_demo_site(demo_confidential_warehouse_path, tmp_path_factory)
    per_area, release, parents = published
    everything = set().union(release, *per_area.values())
    unexplained: dict[str, list[str]] = {}
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 50
    for path in pages:
        text = _text(path.read_text(encoding="utf-8"))
        kind = path.parent.name
        if path.parent.parent.name == "areas":  # an area's page: its own figures
            allowed = release | _allowed_for((kind, path.stem), per_area, parents)
        else:
            allowed = everything
        bad = [n for n in _numbers(text) if n not in allowed]
        if bad:
            unexplained[str(path.relative_to(site))] = bad[:10]
    # The map's data (popups come from the tables the map files hold) and the search index.
    data = sorted(site.glob("map-data/t-*.json")) + sorted(site.glob("search/*.json"))
    assert data
    for path in data:
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', path.read_text(encoding="utf-8"))
        text = " ".join(json.loads(f'"{s}"') for s in strings)
        bad = [n for n in _numbers(text) if n not in everything]
        if bad:
            unexplained[str(path.relative_to(site))] = bad[:10]
    assert not unexplained, unexplained


def test_the_check_catches_a_number_that_is_not_published(published):
    """The check itself: a withheld count written into a page is caught."""
    per_area, release, parents = published
    ward = next(a for a in per_area if a[0] == "ward")
    allowed = release | _allowed_for(ward, per_area, parents)
    leaked = next(str(n) for n in range(7919, 100_000) if str(n) not in allowed)
    page = f"<p>Searches in 2024: <b>{leaked}</b> (95% CI 1.0 to 2.0)</p>"
    assert [n for n in _numbers(_text(page)) if n not in allowed] == [leaked]
