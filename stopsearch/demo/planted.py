"""The planted truth: search rates by group, area multipliers and priority-area uplifts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from stopsearch.demo.geography import Geography
from stopsearch.demo.vocab import BROAD_GROUPS

START = date(2023, 1, 1)
LEGACY_MONTHS = 12  # months 1-12 use the legacy vocabularies, 13+ the current ones
STRAY_SPACE_MONTHS = (13, 14, 19)  # current-era months spelling "Black/ African/..."

# Annual person searches per 1,000 residents at area multiplier 1 (known self-defined ethnicity).
RATES = {"Asian": 54.0, "Black": 108.0, "Mixed": 60.0, "White": 24.0, "Other": 42.0}
POSITIVE = {"Asian": 0.24, "Black": 0.21, "Mixed": 0.25, "White": 0.28, "Other": 0.26}
POSITIVE_NOT_STATED = 0.25
POSITIVE_VEHICLE = 0.18
NOT_STATED_SHARE = 0.08  # of person searches; drawn in addition to the known-ethnicity ones
VEHICLE_SHARE = 0.10  # of all rows; vehicle-only searches, no person fields
NO_LOCATION_SHARE = 0.04
PERSON_AND_VEHICLE_SHARE = 0.20  # of person searches
OFFICER_EMPTY_SHARE = 0.40
OUTCOME_UNKNOWN_SHARE = 0.01  # current era only
PRIORITY_UPLIFT = 2.0


@dataclass(frozen=True)
class Planted:
    """Base multiplier per small area (cell order; population-weighted mean 1) and dates."""

    base_multiplier: np.ndarray

    def multiplier(self, geo: Geography, month: date) -> np.ndarray:
        """Area multiplier per small area in `month` (uplifted inside designated priority areas)."""
        mult = self.base_multiplier.copy()
        for area in designated(geo, month):
            mult[list(area.cells)] *= PRIORITY_UPLIFT
        return mult


def month_start(index: int) -> date:
    """First day of the 1-based month `index` of the period."""
    total = START.month - 1 + index - 1
    return date(START.year + total // 12, total % 12 + 1, 1)


def designated(geo: Geography, month: date) -> list:
    """Priority areas designated on the first day of `month` (designations start on the 1st and
    end on a month's last day, so a month is wholly in or out)."""
    iso = month.isoformat()
    return [
        p for p in geo.priority
        if p.designated_from <= iso and (not p.designated_to or iso <= p.designated_to)
    ]


def make_planted(rng: np.random.Generator, geo: Geography, population: np.ndarray) -> Planted:
    """Base multipliers: lognormal area variation, busier in towns, rounded to 4 decimals."""
    raw = rng.lognormal(0.0, 0.35, size=geo.part.n_cells) * (0.6 + 0.8 * geo.urban)
    totals = population.sum(axis=1)
    raw /= float((raw * totals).sum() / totals.sum())
    return Planted(np.round(raw, 4))


def expected_ratios() -> dict[str, float]:
    """Planted disproportionality ratio of each broad group's rate to the White rate."""
    return {g: round(RATES[g] / RATES["White"], 6) for g in BROAD_GROUPS}
