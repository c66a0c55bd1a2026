"""Issue 13: what the release says about disclosure control matches what it does.

With public records (record_level on) the thresholds serve reliability and nothing may claim that
a withheld small number cannot be recovered; the phrases that made that claim are gone.
"""

from __future__ import annotations

from pathlib import Path

from tests.extracts_fixtures import demo_export, warehouse  # noqa: F401
from tests.site_support import shared_demo_site

REPO = Path(__file__).resolve().parents[1]
OVERCLAIMS = (
    "anything that would reveal them",
    "cannot be recovered by subtraction",
    "cannot be worked out by subtraction",
    "withheld to protect individuals or because",
)
TEXT_SOURCES = [
    REPO / "README.md",
    *sorted((REPO / "site_template").glob("*.html")),
    REPO / "stopsearch" / "outputs" / "extracts" / "README.txt.jinja",
    REPO / "stopsearch" / "outputs" / "extracts" / "columns.py",
    REPO / "stopsearch" / "outputs" / "site" / "text.py",
    REPO / "stopsearch" / "metrics" / "definitions.py",
]


def test_no_source_of_published_text_overclaims():
    for path in TEXT_SOURCES:
        text = path.read_text(encoding="utf-8")
        for phrase in OVERCLAIMS:
            assert phrase not in text, (path.name, phrase)


def test_record_level_readme_says_reliability_not_secrecy(demo_export):  # noqa: F811
    readme = (demo_export.folder / "README.txt").read_text(encoding="utf-8")
    assert "serve reliability, not secrecy" in readme
    assert "can often be worked out from other figures" in readme
    assert "Disclosure control:" not in readme  # the other mode's paragraph


def test_record_level_methodology_states_the_threat_model(demo_warehouse_path, tmp_path_factory):
    out, _ = shared_demo_site(demo_warehouse_path, tmp_path_factory)
    page = (out / "methodology.html").read_text(encoding="utf-8")
    assert "the records are already public, one by one" in page
    assert "serve <em>reliability</em>" in page
    assert "Only these primary thresholds apply" in page
    assert "This release: the records are not public" not in page


def test_protected_release_methodology_states_what_is_checked_and_what_is_not(
    demo_confidential_warehouse_path, tmp_path_factory
):
    """record_level = false: the threat model, the method, and its limits."""
    from tests.site_support import shared_protected_demo_site

    site = shared_protected_demo_site(demo_confidential_warehouse_path, tmp_path_factory)
    page = (site / "methodology.html").read_text(encoding="utf-8")
    assert "This release: the records are not public" in page
    assert "and yesterday's release too" in page
    assert "Below force level only <strong>closed calendar years</strong> are published" in page
    assert "What is not covered: re-supplied data" in page
    assert "Force-wide figures are never withheld" not in page
    assert "the records are already public, one by one" not in page
    ward = next((site / "areas" / "ward").glob("*.html")).read_text(encoding="utf-8")
    assert "&lt;5</span>" not in ward.split('class="key"', 1)[1].split("</p>", 1)[1]
