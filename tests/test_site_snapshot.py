"""Snapshot of one rendered ward page (normalised), so that any change to it is reviewed.

Set STOPSEARCH_UPDATE_SNAPSHOTS=1 to rewrite the snapshot after an intended change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.site_support import shared_demo_site

SNAPSHOT = Path(__file__).parent / "snapshots" / "site_ward_D05000020.html"


def normalise(html: str) -> str:
    """One tag boundary per line, runs of spaces collapsed, no trailing spaces."""
    html = re.sub(r"[ \t]+", " ", html)
    html = re.sub(r">\s*<", ">\n<", html)
    lines = [line.strip() for line in html.splitlines()]
    return "\n".join(line for line in lines if line) + "\n"


def test_ward_page_matches_snapshot(demo_warehouse_path, tmp_path_factory):
    out, _ = shared_demo_site(demo_warehouse_path, tmp_path_factory)
    page = normalise((out / "areas" / "ward" / "D05000020.html").read_text(encoding="utf-8"))
    if os.environ.get("STOPSEARCH_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(page, encoding="utf-8")
    if not SNAPSHOT.exists():
        pytest.fail(f"no snapshot at {SNAPSHOT}: run with STOPSEARCH_UPDATE_SNAPSHOTS=1")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    assert page == expected, "ward page changed: review, then STOPSEARCH_UPDATE_SNAPSHOTS=1"
