"""Whole-release protection of small counts when the records are not public (issue 13).

Used only with ``record_level = false``. The threat is a reader who combines every figure of the
release, and of yesterday's release: periods (months, quarters, windows, years, the latest 12
months), the area hierarchy (wards in councils), layers against the force (each layer's areas
plus the unplaced searches make the force), type and ethnicity totals, and the shares, rates and
ratios built on the counts. The method:

1. **Closed years only, below force level.** An open period (the year so far, the latest 12
   months, a quarter, a window, a month) changes every night, and yesterday's figure taken from
   today's is the new month's count. Below force level only calendar years that have ended are
   published (:func:`closed_years`); every other period has no row there but residents (not
   even a withheld one, whose presence would say "not zero"). Designation phases and
   contradictory-outcome counts are not published below force level either.
2. **One label.** Every withheld count below force level has the reason ``secondary``
   ("suppressed"): a small count and a count withheld to protect one look alike, so a reader knows
   only that a withheld count is >= 0.
3. **Rectangles, per closed year.** For each count of 1-4 (area a, category x, year Y) withhold
   three partners: the same area's count of another category of the same table (``y``, >= 3),
   and, in a second area (``b``, the same council for wards, else another council with both
   councils' counts withheld too), the counts of x (>= 3) and of y (a row). Adding 3 to (a, x)
   and (b, y) and taking 3 from (a, y) and (b, x) changes no published figure (area totals,
   force totals, council totals), so to a reader the small count can be 3 higher: at least 4
   values remain possible. The person-search types sum to the person total, so their
   rectangles stay among them; a vehicle-only count moves with a person type, the person total
   and one ethnicity count per basis in both areas. Where no rectangle exists, every count of
   that table in the area and in the sibling with most of the category is withheld; for a
   small area total, every count of the area and of its largest sibling.
4. **Small force counts.** A force-level count of 1 or 2 bounds every area's count below it;
   it is withheld at force level with a partner (:func:`_protect_under_small_force_counts`).
5. Rates, ratios and shares resting on a withheld count are withheld by the caller
   (:mod:`stopsearch.metrics.publishable`).

Each closed year is planned from its own rows only, so its withholding is the same in every
later release unless its data are re-supplied. An independent attacker in the test suite checks
the result on one release and on two consecutive releases (integer interval propagation and a
linear programme per withheld count).
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
UNSTATED = ("Not stated", "Unknown")
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


class _Year:
    """True counts of one closed year below force level, per (area, cell)."""

    def __init__(self, counts: pd.DataFrame, parents: dict[Area, Area]) -> None:
        (self.period,) = counts.period.unique()
        self.values: dict[tuple[Area, Cell], float] = {}
        for r in counts.itertuples(index=False):
            key = ((r.area_kind, r.area_code), (r.basis, r.grp, r.breakdown, r.category))
            self.values[key] = float(r.value)
        self.parents = parents
        self.areas: dict[str, set[Area]] = defaultdict(set)
        for area, _ in self.values:
            self.areas[area[0]].add(area)

    def value(self, area: Area, cell: Cell) -> float:
        """The count (0 where it has no row: zero rows are left out)."""
        return self.values.get((area, cell), 0.0)

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
    """Chooses the withheld cells of one closed year."""

    def __init__(self, year: _Year) -> None:
        self.year = year
        self.withheld: set[Withheld] = set()
        self.unprotected: list[tuple[Area, str, Cell]] = []
        cells: dict[tuple[str, str], set[Cell]] = defaultdict(set)
        for _, cell in year.values:
            family = (cell[0], cell[2])
            if family in FAMILIES and cell != TOTAL and cell not in PERSONS:
                cells[family].add(cell)
        self.family_cells = {k: sorted(v) for k, v in cells.items()}

    def spread(self, moved: list[tuple[Area, Cell]]) -> list[Withheld]:
        """The moved counts as withheld cells of the year."""
        return [(a, self.year.period, c) for a, c in moved]

    def cost(self, cells: list[Withheld]) -> tuple[int, float]:
        new = {c for c in cells if c not in self.withheld}
        return len(new), sum(self.year.value(a, c) for a, _, c in new)

    def partners(self, cell: Cell) -> list[Cell]:
        family = (cell[0], cell[2])
        return [
            y
            for y in self.family_cells.get(family, [])
            if y != cell
            and (family != ("none", "type") or (y[3] in PERSON_TYPES) == (cell[3] in PERSON_TYPES))
        ]

    def rectangle(self, area: Area, cell: Cell) -> list[Withheld] | None:
        """Cheapest y, z, w (module docstring); across councils, with theirs."""
        r = self.year
        ys = [y for y in self.partners(cell) if r.value(area, y) >= MOVE]
        best = None
        for same in (True, False):
            for b in r.siblings(area, same_parent=same):
                if r.value(b, cell) < MOVE:
                    continue
                for y in ys:
                    if r.value(b, y) < 1:  # a zero is shown by its missing row
                        continue
                    moved = [(area, cell), (area, y), (b, cell), (b, y)]
                    pa, pb = r.parents.get(area), r.parents.get(b)
                    if pa != pb:
                        if pa is None or pb is None or r.value(pb, y) < 1:
                            continue
                        moved += [(pa, cell), (pa, y), (pb, cell), (pb, y)]
                    cells = self.spread(moved)
                    cost = self.cost(cells)
                    if best is None or cost < best[0]:
                        best = (cost, cells)
            if best is not None:
                break
        return None if best is None else best[1]

    def vehicle(self, area: Area, cell: Cell) -> list[Withheld] | None:
        """A vehicle-only count moves with a person type, the person total and one ethnicity
        count per basis, in two areas of the same parent."""
        r = self.year
        best = None
        pick = []
        for family in (("none", "type"), ("self_defined", "total"), ("officer_defined", "total")):
            options = [
                c
                for c in self.family_cells.get(family, [])
                if c[3] != VEHICLE
                and r.value(area, c) >= MOVE
                and (family != ("none", "type") or c[3] in PERSON_TYPES)
            ]
            if not options:
                return None
            pick.append(max(options, key=lambda c: r.value(area, c)))
        moved_cells = [cell, *pick, *PERSONS]
        for b in r.siblings(area):
            if r.value(b, cell) < MOVE:
                continue
            if not all(r.value(b, c) >= 1 for c in moved_cells[1:]):
                continue
            cells = self.spread([(a, c) for a in (area, b) for c in moved_cells])
            cost = self.cost(cells)
            if best is None or cost < best[0]:
                best = (cost, cells)
        return None if best is None else best[1]

    def whole_areas(self, area: Area) -> list[Withheld]:
        """Last resort: every count of the area and of its largest sibling."""
        r = self.year
        siblings = sorted(r.siblings(area), key=lambda b: -r.value(b, TOTAL))
        areas = [area, *siblings[:1]]
        return self.spread([(a, c) for (a, c) in r.values if a in areas])

    def family_rows(self, area: Area, cell: Cell) -> list[Withheld]:
        """Fallback for a category too rare for a rectangle: every count of its table in the
        area and in the sibling with most of that category (the searches placed in no area
        then absorb the change)."""
        r = self.year
        siblings = sorted(r.siblings(area), key=lambda b: (-r.value(b, cell), b))
        members = [cell, *self.partners(cell)]
        moved = [(a, c) for a in (area, *siblings[:1]) for c in members if (a, c) in r.values]
        return self.spread(moved)

    def plan(self, small: list[tuple[Area, Cell]]) -> None:
        """Withhold each small count (area, cell) of the year and what protects it."""
        for area, cell in small:
            found: list[Withheld] | None
            if cell == TOTAL or cell in PERSONS:
                found = self.whole_areas(area)
            elif cell[2] == "type" and cell[3] == VEHICLE:
                found = self.vehicle(area, cell)
            else:
                found = self.rectangle(area, cell)
            if found is None:
                self.unprotected.append((area, self.year.period, cell))
                found = self.family_rows(area, cell)
            self.withheld.update(found)
            self.withheld.add((area, self.year.period, cell))


def latest_month(metrics: pd.DataFrame) -> date | None:
    """The latest month of the release: the last month with a monthly row."""
    months = metrics.loc[metrics.period_kind == "month", "period_start"]
    return None if months.empty else pd.Timestamp(months.max()).date()


def closed_years(metrics: pd.DataFrame) -> pd.Series:
    """Rows of a calendar year that has ended by the release's latest month (True/False per
    row): the only periods whose counts below force level are published in this mode.

    An open period (the year so far, the latest 12 months, a quarter or window) changes every
    night, and yesterday's figure taken from today's is the new month's count: publishing it
    below force level would publish monthly counts. A closed year changes only when its data
    are re-supplied, and its withholding is planned from its own rows alone, so the same data
    give the same withholding in every later release.
    """
    latest = latest_month(metrics)
    if latest is None:
        return pd.Series(False, index=metrics.index)
    ends = pd.to_datetime(metrics.period_end).dt.date
    return metrics.period_kind.eq("year") & (ends <= latest)


def protect_release(
    metrics: pd.DataFrame, parents: dict[Area, Area], min_count: int = 5
) -> tuple[pd.Series, list]:
    """Reasons ("secondary" or None) for every count row of `metrics`, and the small counts no
    rectangle was found for (protected by withholding their whole area and a sibling).

    Below force level only closed calendar years publish counts (:func:`closed_years`); each is
    planned on its own rows, so its withholding depends on nothing else in the release.
    """
    from stopsearch.metrics.suppression import SECONDARY

    reasons = pd.Series([None] * len(metrics), index=metrics.index, dtype=object)
    is_count = metrics.measure.isin(["searches", "contradictory_outcomes"])
    below = metrics.area_kind != "force"
    fewer = (
        ~closed_years(metrics)
        | (metrics.breakdown == "designation")
        | (metrics.measure == "contradictory_outcomes")
    )
    reasons[is_count & below & fewer] = SECONDARY
    long_counts = metrics[is_count & below & ~fewer & (metrics.measure == "searches")]
    unprotected: list = []
    for _, rows in long_counts.groupby("period", sort=True):
        year = _Year(rows, parents)
        small = sorted(key for key, v in year.values.items() if 1 <= v < min_count)
        planner = _Planner(year)
        planner.plan(small)
        unprotected += planner.unprotected
        for idx, r in zip(rows.index, rows.itertuples(index=False), strict=True):
            key = ((r.area_kind, r.area_code), r.period, (r.basis, r.grp, r.breakdown, r.category))
            if key in planner.withheld:
                reasons[idx] = SECONDARY
    unprotected += _protect_under_small_force_counts(metrics, long_counts, parents, reasons)
    # Inside/outside priority areas at force level: a geography below the force.
    inside = metrics[
        is_count & ~below & (metrics.breakdown == "priority") & (metrics.measure == "searches")
    ]
    for _, part in inside.groupby("period"):
        if part.value.between(1, min_count - 1).any():
            reasons[part.index] = SECONDARY
    return reasons, unprotected


def _protect_under_small_force_counts(
    metrics: pd.DataFrame, below: pd.DataFrame, parents: dict[Area, Area], reasons: pd.Series
) -> list:
    """Counts below a force-level count of 1 or 2 in a year, which bounds each of them to
    0..that count whatever is withheld below the force.

    For such a count of a year (closed, or the year so far: category x of a table), x and a
    partner y of the same table (:func:`_force_partner`) are withheld at force level in every
    period overlapping the year, so only their sum is known there. The year so far is checked
    too, so that a year closing with such a count has had it withheld in every earlier release
    (a count only grows as months are added). In a closed year each area holding some of x
    (wards first; a council is covered by a ward of its own) has y withheld beside it, in it
    and in its council, when it holds at least MOVE of y: adding MOVE to x and taking MOVE
    from y in the area, its council and the force (over the year's months where y has
    searches) then changes no published figure, so the area's count can be MOVE higher. Every
    other layer (neighbourhoods, priority areas, which do not nest) moves one area of its own
    the same way, unless the layer's searches placed in no area hold MOVE of y. Returns the
    area counts without such a move (the withheld force count still hides them).
    """
    from stopsearch.metrics.suppression import SECONDARY

    counts = metrics[metrics.measure.eq("searches")]
    force = counts[counts.area_kind.eq("force")]
    closed = set(force.loc[closed_years(force), "period"])
    unprotected: list = []
    for year, rows in force[force.period_kind.eq("year")].groupby("period", sort=True):
        value = {
            (r.basis, r.grp, r.breakdown, r.category): float(r.value)
            for r in rows.itertuples(index=False)
        }
        in_year = below[below.period.eq(year)] if year in closed else below.iloc[:0]
        index_of: dict[tuple[Area, Cell], int] = {}
        area_value: dict[tuple[Area, Cell], float] = {}
        for i, r in zip(in_year.index, in_year.itertuples(index=False), strict=True):
            key = ((r.area_kind, r.area_code), (r.basis, r.grp, r.breakdown, r.category))
            index_of[key] = i
            area_value[key] = float(r.value)
        kinds = sorted({a[0] for a, _ in area_value})
        at_force: dict[Cell, set[Cell]] = defaultdict(set)  # x -> its partners
        for x, y in _small_force_cells(value):
            at_force[x].add(y)
            holders = sorted(a for (a, c), v in area_value.items() if c == x and v >= 1)
            parent_kinds = {parents[a][0] for a in holders if a in parents}
            covered: set[Area] = set()
            for area in sorted(holders, key=lambda a: (a[0] in parent_kinds, a)):
                if area in covered:
                    continue
                moved = _force_certificate(area, x, y, value, area_value, parents, kinds)
                if moved is None:
                    unprotected.append((area, year, x))
                    continue
                covered.update(moved)
                for key in [(a, c) for a in moved for c in (x, y)]:
                    if key in index_of:
                        reasons[index_of[key]] = SECONDARY
        _withhold_at_force(force, rows, at_force, reasons)
    return unprotected


def _small_force_cells(value: dict[Cell, float]) -> list[tuple[Cell, Cell]]:
    """(x, partner) for each force-level count x of 1 to MOVE - 1 in a protected table."""
    out = []
    for x in sorted(value):
        small = 1 <= value[x] < MOVE and (x[0], x[2]) in FAMILIES
        if not small or x == TOTAL or x in PERSONS or (x[2], x[3]) == ("type", VEHICLE):
            continue
        family = [
            c
            for c in value
            if (c[0], c[2]) == (x[0], x[2])
            and c not in (x, TOTAL, *PERSONS)
            and (x[2] != "type" or (c[3] in PERSON_TYPES) == (x[3] in PERSON_TYPES))
        ]
        if family:
            out.append((x, _force_partner(x, family, value)))
    return out


def _withhold_at_force(
    force: pd.DataFrame, year: pd.DataFrame, at_force: dict[Cell, set[Cell]], reasons: pd.Series
) -> None:
    """Withhold each small x at force level in every period overlapping the `year` rows'
    year, and its partners wherever x has a row (where x is a zero, left out, the partner's
    figure hides nothing)."""
    from stopsearch.metrics.suppression import SECONDARY

    start, end = pd.Timestamp(year.period_start.iloc[0]), pd.Timestamp(year.period_end.iloc[0])
    overlapping = force[
        (pd.to_datetime(force.period_start) <= end) & (pd.to_datetime(force.period_end) >= start)
    ]
    cells = [
        (i, r.period, (r.basis, r.grp, r.breakdown, r.category))
        for i, r in zip(overlapping.index, overlapping.itertuples(index=False), strict=True)
    ]
    present = {(period, cell) for _, period, cell in cells}
    for i, period, cell in cells:
        if cell in at_force or any(
            cell in partners and (period, x) in present for x, partners in at_force.items()
        ):
            reasons[i] = SECONDARY


def _force_partner(x: Cell, family: list[Cell], value: dict[Cell, float]) -> Cell:
    """The category withheld with x at force level: for an ethnic group, the largest unstated
    one (Not stated or Unknown), so that the ratios of the other groups to White stay
    published (and, for an unstated x, the stated groups' rates and the ratio bounds too);
    else the table's largest."""
    unstated = [c for c in family if c[1] in UNSTATED and value.get(c, 0.0) >= MOVE]
    if x[0] != "none" and unstated:
        return max(unstated, key=lambda c: (value[c], c))
    return max(family, key=lambda c: (value[c], c))


def _force_certificate(
    area: Area,
    x: Cell,
    y: Cell,
    force: dict[Cell, float],
    values: dict[tuple[Area, Cell], float],
    parents: dict[Area, Area],
    kinds: list[str],
) -> list[Area] | None:
    """The areas moving MOVE searches from y to x with `area` (its council, one area of each
    other layer short of y in its unplaced searches), or None when there are none."""
    if values.get((area, y), 0.0) < MOVE:
        return None
    moved = [area]
    if area in parents:
        moved.append(parents[area])
    children = {a[0] for a in parents}
    for kind in sorted(kinds, key=lambda k: (k not in children, k)):  # wards first
        if kind in {a[0] for a in moved}:
            continue
        placed = sum(v for (a, c), v in values.items() if a[0] == kind and c == y)
        if force.get(y, 0.0) - placed >= MOVE:
            continue  # the layer's unplaced searches absorb the change
        pick = sorted(
            a
            for (a, c), v in values.items()
            if a[0] == kind and c == y and v >= MOVE and values.get((a, x), 0.0) >= 1
        )
        if not pick:
            return None
        moved.append(pick[0])
        if pick[0] in parents:  # a ward moves its council with it
            moved.append(parents[pick[0]])
    return moved
