"""Declared reference tables (England and Wales by ethnicity): read at build time from the file
the manifest names, shown on the force page with their own period, never mixed into figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from stopsearch.demo import reference as demo_reference
from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import load_manifest
from stopsearch.metrics.reference import load_references, reference_tables
from stopsearch.warehouse import connect
from tests.site_support import shared_demo_site

REPO = Path(__file__).resolve().parents[1]
HEADER = '"Ethnicity","Rate of stop and search","Number of stop and searches"\r\n'
ROWS = (
    '"All","8.9","529,474"\r\n"Asian","8.5","46,630"\r\n"Bangladeshi","8.9","5,739"\r\n'
    '"Black","24.5","58,988"\r\n"Unknown","N/A","108,285"\r\n'
)


def _manifest(folder: Path, table: str, **extra: str) -> Path:
    (folder / "table.csv").write_text(table, encoding="utf-8")
    (folder / "small.geojson").write_text('{"type":"FeatureCollection","features":[]}')
    fields = {
        "id": "ew",
        "file": "table.csv",
        "format": "ethnicity-facts-figures",
        "area": "England and Wales",
        "period": "year ending 31 March 2024",
        "period_start": "2023-04-01",
        "period_end": "2024-03-31",
        "source_url": "https://example.org",
        "licence": "OGL-UK-3.0",
        "attribution": "test",
        **extra,
    }
    lines = [
        "[[layer]]",
        'id = "small"',
        'kind = "small_area"',
        'name = "Small"',
        'file = "small.geojson"',
        'code_field = "code"',
        'source_url = "x"',
        'licence = "x"',
        'attribution = "x"',
        "",
        "[[reference]]",
        *(f'{k} = "{v}"' for k, v in fields.items()),
    ]
    path = folder / "manifest.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_declared_table_is_read_with_its_period(con, tmp_path):
    manifest = load_manifest(_manifest(tmp_path, HEADER + ROWS))
    assert load_references(con, manifest) == 5
    (table,) = reference_tables(con)
    assert (table.title, table.period_label, table.fictional) == (
        "England and Wales",
        "year ending 31 March 2024",
        False,
    )
    broad = {r.grp: (r.broad_group, r.rate_per_1000, r.searches) for r in table.broad()}
    assert broad == {
        "All": ("All", 8.9, 529474),
        "Asian": ("Asian", 8.5, 46630),
        "Black": ("Black", 24.5, 58988),
        "Unknown": ("Unknown", None, 108285),
    }
    assert [r.grp for r in table.rows][2] == "Bangladeshi"  # detailed rows kept in order
    stored = con.execute("SELECT DISTINCT period_start, period_end FROM reference_figures")
    assert [tuple(map(str, r)) for r in stored.fetchall()] == [("2023-04-01", "2024-03-31")]
    # Reloading replaces; an undeclared table disappears.
    load_references(con, load_manifest(_manifest(tmp_path, HEADER + '"All","8.9","529,474"\r\n')))
    assert con.execute("SELECT count(*) FROM reference_figures").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('"Group","Rate"\r\n"All","1"\r\n', "line 1: expected the columns"),
        (HEADER + '"All","high","1"\r\n', "line 2, field 'Rate of stop and search': not a"),
        (HEADER + '"All","8.9","1,2x"\r\n', "line 2, field 'Number of stop and searches'"),
        (HEADER + '"All","8.9"\r\n', "line 2: 2 fields, expected 3"),
        (HEADER + '"Asian","8.5","46,630"\r\n', "no 'All' row"),
    ],
)
def test_a_broken_table_is_refused_with_file_line_and_field(con, tmp_path, table, message):
    manifest = load_manifest(_manifest(tmp_path, table))
    with pytest.raises(GeographyError, match=message):
        load_references(con, manifest)


def test_manifest_checks_the_declaration(tmp_path):
    with pytest.raises(GeographyError, match="field 'format': must be one of"):
        load_manifest(_manifest(tmp_path, HEADER + ROWS, format="xlsx"))
    with pytest.raises(GeographyError, match="field 'period_end': 2022-03-31 is before"):
        load_manifest(_manifest(tmp_path, HEADER + ROWS, period_end="2022-03-31"))


def test_real_manifest_declares_the_england_and_wales_table_under_the_shared_root():
    manifest = load_manifest(REPO / "boundaries" / "west-midlands-2013.toml", check_files=False)
    (reference,) = manifest.references
    assert reference.path.parts[-2:] == ("official", "ethnicity-stop-search-by-ethnicity.csv")
    assert reference.period == "year ending 31 March 2024" and not reference.fictional
    assert not (REPO / "official").exists()  # never copied into the repository


def test_demo_force_page_shows_the_fictional_table_as_fictional(
    demo_warehouse_path, tmp_path_factory
):
    site, _ = shared_demo_site(demo_warehouse_path, tmp_path_factory)
    with connect(demo_warehouse_path, read_only=True) as con:
        (table,) = reference_tables(con)
        comparable = con.execute(
            "SELECT display FROM published_metrics WHERE area_kind = 'force'"
            " AND measure = 'search_rate_all_persons' AND period = 'latest-12'"
        ).fetchone()[0]
    assert table.fictional and table.title == demo_reference.AREA
    page = (site / "index.html").read_text(encoding="utf-8")
    section = page.split('class="reference"', 1)[1].split("</section>", 1)[0]
    assert "Fictional figures for the demonstration, not Home Office statistics." in section
    assert demo_reference.PERIOD in section and "a different period" in section
    all_row = section.split("All (every person search)", 1)[1].split("</tr>", 1)[0]
    assert f"<td>{table.broad()[0].rate_per_1000:.1f}</td>" in all_row
    assert comparable in all_row  # the force's Home Office comparable rate beside it
    assert "All person searches per 1,000 residents" in page  # in the headline figures too
