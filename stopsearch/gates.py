"""Sanity gates checked before a release goes live: a tripped gate stops the switch.

Three gates, each with a threshold key in `[guards]` and a named override flag:

* unplaced: more than `unplaced_max_percent` of the located searches in a layer's scope lie in
  no area of that layer (a boundary file in the wrong CRS, or with swapped coordinates);
* vanished_months: more than `vanished_months_max` force-months of the live release are gone;
* population: a layer's population total is more than `population_max_drift_percent` off the
  total of the small-area table it was carried from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from stopsearch.sqlfiles import SqlFile

# gate -> (threshold key, override option)
GATES = {
    "unplaced": ("unplaced_max_percent", "--allow-unplaced"),
    "vanished_months": ("vanished_months_max", "--allow-vanished-months"),
    "population": ("population_max_drift_percent", "--allow-population-drift"),
}


@dataclass(frozen=True)
class Thresholds:
    """Limits of the three gates (defaults as in the configuration)."""

    unplaced_max_percent: float = 5.0
    vanished_months_max: int = 0
    population_max_drift_percent: float = 1.0


@dataclass(frozen=True)
class Trip:
    """One tripped gate, in plain words, and whether the operator let it pass for this run."""

    gate: str
    reason: str
    overridden: bool = False

    @property
    def key(self) -> str:
        return GATES[self.gate][0]

    @property
    def option(self) -> str:
        return GATES[self.gate][1]

    def message(self) -> str:
        if self.overridden:
            return f"sanity gate {self.gate} overridden ({self.option}): {self.reason}"
        return (
            f"sanity gate {self.gate} tripped: {self.reason}. Fix the input, raise"
            f" {self.key}, or publish anyway with {self.option}"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "gate": self.gate,
            "reason": self.reason,
            "overridden": self.overridden,
            "threshold_key": self.key,
            "override": self.option,
        }


SQL = SqlFile("stopsearch", "gates.sql")


def _query(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    return SQL.execute(con, name).fetchall()


def unplaced_trips(rows: Iterable[tuple[str, str, int, int]], max_percent: float) -> list[str]:
    """Reasons for layers (layer_id, kind, located, unplaced) above the limit."""
    out = []
    for layer_id, kind, located, unplaced in rows:
        share = 100.0 * unplaced / located if located else 0.0
        if share > max_percent:
            out.append(
                f"{unplaced:,} of {located:,} located searches ({share:.1f}%) are in no area of"
                f" layer '{layer_id}' ({kind}), more than {max_percent:g}%; a boundary file in"
                " the wrong CRS or with longitude and latitude swapped does this"
            )
    return out


def population_trips(
    rows: Iterable[tuple[str, str, str, float, float]], max_percent: float
) -> list[str]:
    """Reasons for (population_id, layer_id, kind, source total, layer total) too far apart."""
    out = []
    for population_id, layer_id, kind, source, total in rows:
        drift = 100.0 * abs(total - source) / source if source else 0.0
        if drift > max_percent:
            out.append(
                f"layer '{layer_id}' ({kind}) received {total:,.0f} residents of population"
                f" '{population_id}', {drift:.1f}% off its source total of {source:,.0f}, more"
                f" than {max_percent:g}%"
            )
    return out


def vanished_trips(
    previous: Iterable[tuple[str, str]], now: Iterable[tuple[str, str]], max_months: int
) -> list[str]:
    """A reason when more than `max_months` (force, month) of the live release are gone."""
    gone = sorted(set(previous) - set(now))
    if len(gone) <= max_months:
        return []
    shown = ", ".join(f"{force} {month}" for force, month in gone[:12])
    more = f" and {len(gone) - 12} more" if len(gone) > 12 else ""
    return [
        f"{len(gone)} force-month(s) of the live release are missing now ({shown}{more}), more"
        f" than {max_months}"
    ]


def check_gates(
    con: duckdb.DuckDBPyConnection,
    previous_inputs: Iterable[tuple[str, str]],
    inputs: Iterable[tuple[str, str]],
    thresholds: Thresholds,
    overrides: frozenset[str] = frozenset(),
) -> list[Trip]:
    """Every tripped gate (overridden ones flagged); an empty list means all passed."""
    found = {
        "unplaced": unplaced_trips(
            _query(con, "unplaced"), thresholds.unplaced_max_percent
        ),
        "vanished_months": vanished_trips(
            previous_inputs, inputs, thresholds.vanished_months_max
        ),
        "population": population_trips(
            _query(con, "population"), thresholds.population_max_drift_percent
        ),
    }
    return [
        Trip(gate, reason, gate in overrides)
        for gate, reasons in found.items()
        for reason in reasons
    ]
