"""The definitions version: any change to a definition without a version bump fails here, and
the data-package version, the site's dated changelog and the extracts all carry it."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from stopsearch.metrics import contract, definitions
from stopsearch.metrics.definitions import (
    CHANGELOG,
    DEFINITIONS_VERSION,
    data_package_version,
    fingerprint,
    record,
    recorded,
)


def test_live_definitions_match_the_fingerprint_recorded_for_this_version():
    known = recorded()
    assert str(DEFINITIONS_VERSION) in known, (
        "no fingerprint recorded for this definitions version: run"
        " python -m stopsearch.metrics.definitions"
    )
    assert known[str(DEFINITIONS_VERSION)] == fingerprint(), (
        "a definition changed: raise DEFINITIONS_VERSION, add a dated CHANGELOG entry, then run"
        " python -m stopsearch.metrics.definitions"
    )
    assert max(int(v) for v in known) == DEFINITIONS_VERSION


def test_changelog_is_dated_and_ends_at_the_current_version():
    versions = [c.version for c in CHANGELOG]
    assert versions == list(range(1, DEFINITIONS_VERSION + 1))
    dates = [c.date for c in CHANGELOG]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)
    assert dates == sorted(dates)
    assert all(c.lines for c in CHANGELOG)


@pytest.mark.parametrize(
    "change",
    [
        "measure definition",
        "measure label",
        "metric column",
        "period label",
        "methodology text",
        "population method",
    ],
)
def test_every_kind_of_definition_change_changes_the_fingerprint(change, monkeypatch):
    before = fingerprint()
    if change == "measure definition":
        arrest = contract.MEASURES["arrest_rate"]
        monkeypatch.setitem(
            contract.MEASURES,
            "arrest_rate",
            dataclasses.replace(arrest, definition="Arrests over all searches."),
        )
    elif change == "measure label":
        rate = contract.MEASURES["search_rate"]
        monkeypatch.setitem(
            contract.MEASURES, "search_rate", dataclasses.replace(rate, label="Rate")
        )
    elif change == "metric column":
        monkeypatch.setattr(contract, "METRIC_COLUMNS", (*contract.METRIC_COLUMNS, "extra"))
    elif change == "period label":
        monkeypatch.setattr(definitions, "period_label", lambda *a: "Latest 12 months")
    elif change == "methodology text":
        first = definitions.SECTIONS[0]
        monkeypatch.setattr(
            definitions,
            "SECTIONS",
            (dataclasses.replace(first, paragraphs=("Shorter.",)), *definitions.SECTIONS[1:]),
        )
    else:
        from stopsearch.geography import population

        monkeypatch.setitem(population.METHOD_DETAIL, "area_weighted", "by centroid")
    assert fingerprint() != before


def test_record_refuses_to_rewrite_a_released_version(tmp_path, monkeypatch):
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps({str(DEFINITIONS_VERSION): "0" * 64}), encoding="utf-8")
    with pytest.raises(SystemExit, match="raise it and add a dated CHANGELOG entry"):
        record(path)
    monkeypatch.setattr(definitions, "DEFINITIONS_VERSION", DEFINITIONS_VERSION + 1)
    assert record(path) is True
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored[str(DEFINITIONS_VERSION + 1)] == fingerprint()
    assert stored[str(DEFINITIONS_VERSION)] == "0" * 64  # the old version is kept as it was


def test_data_package_version_moves_with_columns_and_definitions():
    assert data_package_version(2) == f"2.{DEFINITIONS_VERSION}.0"
    assert data_package_version(3) != data_package_version(2)


def test_extracts_and_site_carry_the_versions(demo_warehouse_path, tmp_path, tmp_path_factory):
    from stopsearch.outputs.extracts import export
    from stopsearch.outputs.extracts.schema import SCHEMA_VERSION
    from stopsearch.warehouse import connect
    from tests.site_support import shared_demo_site

    with connect(demo_warehouse_path, read_only=True) as con:
        export(con, tmp_path / "downloads", record_level=False, demo=True)
    site, _ = shared_demo_site(demo_warehouse_path, tmp_path_factory)
    package = json.loads((tmp_path / "downloads" / "datapackage.json").read_text("utf-8"))
    assert package["version"] == data_package_version(SCHEMA_VERSION)
    assert package["definitions_version"] == DEFINITIONS_VERSION
    assert [c["version"] for c in package["definitions_changelog"]] == [
        c.version for c in CHANGELOG
    ]
    readme = (tmp_path / "downloads" / "README.txt").read_text("utf-8")
    assert f"Data package version {data_package_version(SCHEMA_VERSION)}" in readme
    page = (site / "methodology.html").read_text("utf-8")
    assert 'id="changelog">Methodology changelog' in page
    for change in CHANGELOG:
        assert f"{change.date}: definitions version {change.version}" in page
    for section in definitions.SECTIONS:
        assert f'<h2 id="{section.id}">' in page
