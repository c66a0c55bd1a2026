"""Whole-release protection of small counts when the records are not public (issue 13).

Used only with ``record_level = false``. The threat is a reader who combines every figure of the
release: periods (months, years, the latest 12 months), the area hierarchy (wards in councils),
layers against the force (each layer's areas plus the unplaced searches make the force), type and
ethnicity totals, and the shares, rates and ratios built on the counts. The method:

1. **Fewer linked tables.** Below force level no monthly, quarterly or trend-window count, no
   designation phase and no contradictory-outcome count is published (withheld), so periods
   meet only through years and the latest 12 months; the rates, shares, ratios and changes
   resting on those counts are withheld with them (so the trend series and quarters are
   published for the force only).
2. **One label.** Every withheld count below force level has the reason ``secondary``
   ("suppressed"): a small count and a count withheld to protect one look alike, so a reader knows
   only that a withheld count is >= 0.
3. **Chunks.** Months are grouped into chunks: months held by the same long periods (on 13
   months: year 1 before the window, year 1 in the window, year 2). A period's count is the
   sum of its chunks; chunk counts follow from the period counts.
4. **Rectangles.** For each count of 1-4 (area a, category x, period P), pick a chunk k of P
   where it has searches and withhold, in every period holding k, three partners: the same
   area's count of another category of the same table (``y``, >= 3 in k), and, in a second
   area (``b``, the same council for wards, else another council with both councils' counts
   withheld too), the counts of x (>= 3 in k) and of y (a row in each period). Adding 3 to
   (a, x) and (b, y) and taking 3 from (a, y) and (b, x) in chunk k changes no published
   figure (area totals, force totals, council totals, the other chunks), so to a reader the
   small count can be 3 higher: at least 4 values remain possible. The person-search types
   sum to the person total, so their rectangles stay among them; a vehicle-only count moves
   with a person type, the person total and one ethnicity count per basis in both areas.
   Where no rectangle exists (a category too rare everywhere), every count of that table in
   the area and in the sibling with most of the category is withheld in the periods holding
   k; for a small area total, every count of the area and of its largest sibling.
5. Rates, ratios and shares resting on a withheld count are withheld by the caller
   (:mod:`stopsearch.metrics.publishable`).

The rule is deterministic in the data, so a closed period whose data are not re-supplied keeps
its withholding from one release to the next. An independent attacker in the test suite checks
the result (integer interval propagation and a linear programme per withheld count).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pandas as pd

Area = tuple[str, str]  # (kind, code)
Cell = tuple[str, str, str, str]  # (basis, grp, breakdown, category)
TOTAL: Cell = ("none", "All", "total", "")
PERSONS: tuple[Cell, Cell] = (
    ("self_defined", "All", "total", ""),
    ("officer_defined", "All", "total", ""),
)
PERSON_TYPES = ("Person search", "Person and Vehicle search")
VEHICLE = "Vehicle search"
FAMILIES = (
    ("self_defined", "total"),
    ("officer_defined", "total"),
    ("none", "type"),
    ("none", "legislation"),
    ("none", "object_group"),
    ("none", "age_range"),
    ("none", "outcome_class"),
)
MOVE = 3  # a small count must be able to move by this much (1..4 -> at least 4 values)
# Periods whose counts below force level are never published: months, and the quarters and
# trend windows (issue 17), which would cut the years into ever smaller chunks (a window
# differs from the next by one month in and one out).
SHORT_KINDS = ("month", "quarter", "window")


def _chunks(frame: pd.DataFrame) -> tuple[list[str], list[tuple[date, ...]], dict[str, set[int]]]:
    """Long periods, their chunks (months grouped by the periods holding them), and the
    chunks of each period."""
    spans = frame.groupby("period")[["period_start", "period_end"]].first()
    periods = sorted(spans.index)
    bounds = {p: (pd.Timestamp(s).date(), pd.Timestamp(e).date()) for p, (s, e) in spans.iterrows()}
    months = sorted(
        {
            date(y, m, 1)
            for s, e in bounds.values()
            for y in range(s.year, e.year + 1)
            for m in range(1, 13)
            if s <= date(y, m, 1) <= e
        }
    )
    signature: dict[tuple[str, ...], list[date]] = defaultdict(list)
    for m in months:
        signature[tuple(p for p in periods if bounds[p][0] <= m <= bounds[p][1])].append(m)
    chunks = [tuple(ms) for ms in signature.values()]
    holds = {
        p: {i for i, ms in enumerate(chunks) if bounds[p][0] <= ms[0] <= bounds[p][1]}
        for p in periods
    }
    return periods, chunks, holds


class _Release:
    """True counts of the long periods per (area, cell), and per chunk where they follow."""

    def __init__(self, counts: pd.DataFrame, parents: dict[Area, Area]) -> None:
        self.periods, self.chunks, self.holds = _chunks(counts)
        self.values: dict[tuple[Area, Cell], dict[str, float]] = defaultdict(dict)
        for r in counts.itertuples(index=False):
            key = ((r.area_kind, r.area_code), (r.basis, r.grp, r.breakdown, r.category))
            self.values[key][r.period] = float(r.value)
        self.parents = parents
        self.areas: dict[str, set[Area]] = defaultdict(set)
        for area, _ in self.values:
            self.areas[area[0]].add(area)
        self._chunk_values: dict[tuple[Area, Cell], dict[int, float]] = {}

    def period(self, area: Area, cell: Cell, period: str) -> float:
        return self.values.get((area, cell), {}).get(period, 0.0)

    def chunk(self, area: Area, cell: Cell, k: int) -> float:
        """A count in one chunk: solved from the periods holding it (-1 when not determined)."""
        key = (area, cell)
        if key not in self._chunk_values:
            known: dict[int, float] = {}
            changed = True
            while changed:
                changed = False
                for p in self.periods:
                    rest = self.holds[p] - set(known)
                    if len(rest) == 1:
                        (c,) = rest
                        known[c] = self.period(area, cell, p) - sum(
                            known[j] for j in self.holds[p] if j in known
                        )
                        changed = True
            self._chunk_values[key] = known
        return self._chunk_values[key].get(k, -1.0)

    def periods_of(self, k: int) -> list[str]:
        """The long periods holding chunk k."""
        return [p for p in self.periods if k in self.holds[p]]

    def rows_in(self, area: Area, cell: Cell, k: int) -> bool:
        """Has the count a row (>= 1) in every period holding chunk k (a zero is omitted)?"""
        return all(self.period(area, cell, p) >= 1 for p in self.periods_of(k))

    def siblings(self, area: Area, same_parent: bool = True) -> list[Area]:
        """Other areas of the same kind (and parent: the same council for wards)."""
        parent = self.parents.get(area)
        return sorted(
            a
            for a in self.areas[area[0]]
            if a != area and (not same_parent or self.parents.get(a) == parent)
        )


Withheld = tuple[Area, str, Cell]  # (area, period, cell)


class _Planner:
    """Chooses the withheld cells."""

    def __init__(self, release: _Release) -> None:
        self.release = release
        self.withheld: set[Withheld] = set()
        self.unprotected: list[tuple[Area, str, Cell]] = []
        cells: dict[tuple[str, str], set[Cell]] = defaultdict(set)
        for _, cell in release.values:
            family = (cell[0], cell[2])
            if family in FAMILIES and cell != TOTAL and cell not in PERSONS:
                cells[family].add(cell)
        self.family_cells = {k: sorted(v) for k, v in cells.items()}

    def spread(self, moved: list[tuple[Area, Cell]], k: int) -> list[Withheld]:
        """The moved counts in every period holding chunk k."""
        return [(a, p, c) for a, c in moved for p in self.release.periods_of(k)]

    def cost(self, cells: list[Withheld]) -> tuple[int, float]:
        new = {c for c in cells if c not in self.withheld}
        return len(new), sum(self.release.period(a, c, p) for a, p, c in new)

    def partners(self, cell: Cell) -> list[Cell]:
        family = (cell[0], cell[2])
        return [
            y
            for y in self.family_cells.get(family, [])
            if y != cell
            and (family != ("none", "type") or (y[3] in PERSON_TYPES) == (cell[3] in PERSON_TYPES))
        ]

    def rectangle(self, area: Area, cell: Cell, k: int) -> list[Withheld] | None:
        """Cheapest y, z, w in chunk k (module docstring); across councils, with theirs."""
        r = self.release
        ys = [y for y in self.partners(cell) if r.chunk(area, y, k) >= MOVE]
        best = None
        for same in (True, False):
            for b in r.siblings(area, same_parent=same):
                if r.chunk(b, cell, k) < MOVE:
                    continue
                for y in ys:
                    if not r.rows_in(b, y, k):
                        continue
                    moved = [(area, cell), (area, y), (b, cell), (b, y)]
                    pa, pb = r.parents.get(area), r.parents.get(b)
                    if pa != pb:
                        if pa is None or pb is None or not r.rows_in(pb, y, k):
                            continue
                        moved += [(pa, cell), (pa, y), (pb, cell), (pb, y)]
                    cells = self.spread(moved, k)
                    cost = self.cost(cells)
                    if best is None or cost < best[0]:
                        best = (cost, cells)
            if best is not None:
                break
        return None if best is None else best[1]

    def vehicle(self, area: Area, cell: Cell, k: int) -> list[Withheld] | None:
        """A vehicle-only count moves with a person type, the person total and one ethnicity
        count per basis, in two areas of the same parent."""
        r = self.release
        best = None
        pick = []
        for family in (("none", "type"), ("self_defined", "total"), ("officer_defined", "total")):
            options = [
                c
                for c in self.family_cells.get(family, [])
                if c[3] != VEHICLE
                and r.chunk(area, c, k) >= MOVE
                and (family != ("none", "type") or c[3] in PERSON_TYPES)
            ]
            if not options:
                return None
            pick.append(max(options, key=lambda c: r.chunk(area, c, k)))
        moved_cells = [cell, *pick, *PERSONS]
        for b in r.siblings(area):
            if r.chunk(b, cell, k) < MOVE:
                continue
            if not all(r.rows_in(b, c, k) for c in moved_cells[1:]):
                continue
            cells = self.spread([(a, c) for a in (area, b) for c in moved_cells], k)
            cost = self.cost(cells)
            if best is None or cost < best[0]:
                best = (cost, cells)
        return None if best is None else best[1]

    def whole_areas(self, area: Area, k: int) -> list[Withheld]:
        """Last resort: every count of the area and of its largest sibling, in chunk k's
        periods."""
        r = self.release
        siblings = sorted(r.siblings(area), key=lambda b: -r.chunk(b, TOTAL, k))
        areas = [area, *siblings[:1]]
        moved = [(a, c) for (a, c) in r.values if a in areas]
        return self.spread(moved, k)

    def family_rows(self, area: Area, cell: Cell, k: int) -> list[Withheld]:
        """Fallback for a category too rare for a rectangle: every count of its table in the
        area and in the sibling with most of that category, in chunk k's periods (the searches
        placed in no area then absorb the change)."""
        r = self.release
        siblings = sorted(r.siblings(area), key=lambda b: (-r.chunk(b, cell, k), b))
        members = [cell, *self.partners(cell)]
        moved = [(a, c) for a in (area, *siblings[:1]) for c in members if (a, c) in r.values]
        return self.spread(moved, k)

    def plan(self, small: list[tuple[Area, str, Cell]]) -> None:
        r = self.release
        for area, period, cell in small:
            options = sorted(
                (k for k in r.holds[period] if r.chunk(area, cell, k) >= 1),
                key=lambda k: -r.chunk(area, cell, k),
            ) or sorted(r.holds[period])
            found = None
            for k in options:
                if cell == TOTAL or cell in PERSONS:
                    found = None
                elif cell[2] == "type" and cell[3] == VEHICLE:
                    found = self.vehicle(area, cell, k)
                else:
                    found = self.rectangle(area, cell, k)
                if found is not None:
                    break
            if found is None:
                if cell == TOTAL or cell in PERSONS:
                    found = self.whole_areas(area, options[0])
                else:
                    self.unprotected.append((area, period, cell))
                    found = self.family_rows(area, cell, options[0])
            self.withheld.update(found)
            self.withheld.add((area, period, cell))


def protect_release(
    metrics: pd.DataFrame, parents: dict[Area, Area], min_count: int = 5
) -> tuple[pd.Series, list]:
    """Reasons ("secondary" or None) for every count row of `metrics`, and the small counts no
    rectangle was found for (protected by withholding their whole area and a sibling)."""
    from stopsearch.metrics.suppression import SECONDARY

    reasons = pd.Series([None] * len(metrics), index=metrics.index, dtype=object)
    is_count = metrics.measure.isin(["searches", "contradictory_outcomes"])
    below = metrics.area_kind != "force"
    fewer = (
        metrics.period_kind.isin(SHORT_KINDS)
        | (metrics.breakdown == "designation")
        | (metrics.measure == "contradictory_outcomes")
    )
    reasons[is_count & below & fewer] = SECONDARY
    long_counts = metrics[is_count & below & ~fewer & (metrics.measure == "searches")]
    release = _Release(long_counts, parents)
    small = sorted(
        (area, period, cell)
        for (area, cell), values in release.values.items()
        for period, v in values.items()
        if 1 <= v < min_count
    )
    planner = _Planner(release)
    planner.plan(small)
    for idx, r in zip(long_counts.index, long_counts.itertuples(index=False), strict=True):
        key = ((r.area_kind, r.area_code), r.period, (r.basis, r.grp, r.breakdown, r.category))
        if key in planner.withheld:
            reasons[idx] = SECONDARY
    # Inside/outside priority areas at force level: a geography below the force.
    inside = metrics[
        is_count & ~below & (metrics.breakdown == "priority") & (metrics.measure == "searches")
    ]
    for _, part in inside.groupby("period"):
        if part.value.between(1, min_count - 1).any():
            reasons[part.index] = SECONDARY
    return reasons, planner.unprotected
