"""Sanity gates before the switch: unplaced searches, vanished months, population off its source.

Issue 12 case 2: a lon/lat ward file declared EPSG:27700, or with swapped coordinates, placed no
search in any ward and was published with exit 0. Each gate now stops the switch with exit 1
and its reason, until the input is fixed, its threshold raised or its override flag given.
"""

from __future__ import annotations

import json

import pytest

from stopsearch.gates import population_trips, unplaced_trips, vanished_trips
from stopsearch.release import current_release, list_releases
from tests.tiny_county import POINTS, config, county, publish, records, status


@pytest.mark.parametrize(
    ("rows", "limit", "tripped"),
    [
        ([("w", "ward", 100, 5)], 5.0, False),  # exactly at the limit passes
        ([("w", "ward", 100, 6)], 5.0, True),
        ([("w", "ward", 0, 0)], 5.0, False),  # nothing located in the layer's scope
        ([("w", "ward", 7, 7)], 100.0, False),
    ],
)
def test_unplaced_limit(rows, limit, tripped):
    assert bool(unplaced_trips(rows, limit)) is tripped


def test_population_and_vanished_limits():
    assert population_trips([("p", "w", "ward", 1000.0, 990.0)], 1.0) == []
    (reason,) = population_trips([("p", "w", "ward", 1000.0, 989.0)], 1.0)
    assert "received 989 residents" in reason and "1.1% off its source total of 1,000" in reason
    assert population_trips([("p", "w", "ward", 1000.0, 0.0)], 100.0) == []
    assert vanished_trips([("f", "2023-01"), ("f", "2023-02")], [("f", "2023-02")], 1) == []
    (reason,) = vanished_trips([("f", "2023-01"), ("f", "2023-02")], [("f", "2023-02")], 0)
    assert reason.startswith("1 force-month(s) of the live release are missing now (f 2023-01)")


@pytest.mark.parametrize("broken", [{"ward_crs": "EPSG:27700"}, {"swap": True}])
def test_a_ward_file_in_the_wrong_crs_stops_the_switch(tmp_path, broken):
    manifest = county(tmp_path / "geo", **broken)
    records(tmp_path / "police", rows=4)
    settings = config(tmp_path, tmp_path / "police", manifest)
    run = publish(settings)
    assert run.exit_code == 1
    assert (
        "sanity gate unplaced tripped: 4 of 4 located searches (100.0%) are in no area of"
        " layer 'wards' (ward)" in run.stderr
    )
    assert "--allow-unplaced" in run.stderr and "Traceback" not in run.output
    assert current_release(tmp_path / "site") is None and not list_releases(tmp_path / "site")
    trips = status(tmp_path / "warehouse.duckdb")["sanity_gates"]["trips"]
    assert {t["gate"] for t in trips} == {"unplaced", "population"}
    assert not any(t["overridden"] for t in trips)
    forced = publish(settings, "--allow-unplaced", "--allow-population-drift")
    assert forced.exit_code == 0, forced.output
    summary = json.loads(forced.stdout)
    assert {t["gate"] for t in summary["sanity_gates"] if t["overridden"]} == {
        "unplaced",
        "population",
    }
    live = current_release(tmp_path / "site")
    manifest_data = json.loads((live / "manifest.json").read_text())
    assert len(manifest_data["sanity_gates_overridden"]) == 2


def test_the_correct_file_passes_every_gate(tmp_path):
    manifest = county(tmp_path / "geo")
    records(tmp_path / "police", rows=4)
    run = publish(config(tmp_path, tmp_path / "police", manifest))
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["sanity_gates"] == []
    assert status(tmp_path / "warehouse.duckdb")["sanity_gates"]["trips"] == []


def test_a_layer_short_of_its_population_trips_only_the_population_gate(tmp_path):
    manifest = county(tmp_path / "geo", wards=("W1",))  # W2 (S3 + S4) is missing
    records(tmp_path / "police", rows=4, points=POINTS[:1])  # every search is in W1
    settings = config(tmp_path, tmp_path / "police", manifest)
    run = publish(settings)
    assert run.exit_code == 1
    assert (
        "sanity gate population tripped: layer 'wards' (ward) received 2,800 residents of"
        " population 'census', 50.0% off its source total of 5,600" in run.stderr
    )
    assert "unplaced" not in run.stderr
    raised = config(
        tmp_path, tmp_path / "police", manifest, "[guards]\npopulation_max_drift_percent = 50\n"
    )
    assert publish(raised).exit_code == 0


def test_a_month_of_the_live_release_that_vanished_stops_the_switch(tmp_path):
    manifest = county(tmp_path / "geo")
    records(tmp_path / "police", "2023-01", rows=4)
    records(tmp_path / "police", "2023-02", rows=4)
    assert publish(config(tmp_path, tmp_path / "police", manifest)).exit_code == 0
    live = current_release(tmp_path / "site")
    (tmp_path / "police" / "2023-01-testshire-stop-and-search.csv").unlink()
    rebuilt = config(tmp_path, tmp_path / "police", manifest, warehouse="new.duckdb")
    run = publish(rebuilt)  # a warehouse rebuilt from fewer files than the live release had
    assert run.exit_code == 1
    assert (
        "sanity gate vanished_months tripped: 1 force-month(s) of the live release are missing"
        " now (testshire 2023-01), more than 0" in run.stderr
    )
    assert current_release(tmp_path / "site") == live
    forced = publish(rebuilt, "--allow-vanished-months")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["changes"] == ["month no longer available: testshire 2023-01"]
