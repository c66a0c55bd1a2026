"""Simulate one month of stop-and-search rows in the data.police.uk CSV vocabulary."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from stopsearch.demo import planted as P
from stopsearch.demo import vocab as V
from stopsearch.demo.formats import fmt_micro
from stopsearch.demo.geography import Geography
from stopsearch.demo.population import broad_counts
from stopsearch.demo.snap import SnapPoints

KINDS = (*V.BROAD_GROUPS, "not_stated", "vehicle")
NOT_STATED = len(V.BROAD_GROUPS)
VEHICLE = NOT_STATED + 1
_OFFICER_CONSISTENT = {"Asian": 0.85, "Black": 0.85, "Mixed": 0.55, "White": 0.9, "Other": 0.6}
_OFFICER_FOR_NOT_STATED = (0.6, 0.15, 0.15, 0.04, 0.06)  # OFFICER_LABELS order


@dataclass
class MonthResult:
    """Rows (already sorted, strings) and the counts that go into truth.json."""

    rows: list[list[str]]
    counts: dict = field(default_factory=dict)
    by_cell_kind: np.ndarray | None = None  # (n_cells, len(KINDS))


@dataclass(frozen=True)
class Context:
    """Everything a month needs, precomputed once."""

    geo: Geography
    snaps: SnapPoints
    broad_pop: np.ndarray  # (n_cells, 5)
    detailed_index: tuple[np.ndarray, ...]  # per broad group: detailed group indices
    detailed_cum: tuple[np.ndarray, ...]  # per broad group: (n_cells, k) cumulative shares
    interior: tuple[np.ndarray, ...]  # per cell: snap point indices (interior)
    interior_cum: tuple[np.ndarray, ...]  # per cell: cumulative weights
    edge_points: dict[int, np.ndarray]  # cell -> on-edge snap point indices
    planted: P.Planted


def make_context(geo: Geography, snaps: SnapPoints, pop: np.ndarray, pl: P.Planted) -> Context:
    """Precompute the per-cell tables used by every month."""
    broad = broad_counts(pop)
    didx, dcum = [], []
    for g in V.BROAD_GROUPS:
        idx = np.array([i for i, grp in enumerate(V.GROUPS) if grp.broad == g])
        sub = pop[:, idx].astype(np.float64)
        denom = np.maximum(sub.sum(axis=1, keepdims=True), 1.0)
        didx.append(idx)
        dcum.append(np.cumsum(sub / denom, axis=1))
    interior, icum = [], []
    for cell in range(geo.part.n_cells):
        pts = np.flatnonzero((snaps.cell == cell) & ~snaps.on_edge)
        w = snaps.weight[pts]
        interior.append(pts)
        icum.append(np.cumsum(w) / w.sum())
    edges: dict[int, np.ndarray] = {}
    for i in np.flatnonzero(snaps.on_edge):
        c = int(snaps.cell[i])
        edges[c] = np.append(edges.get(c, np.empty(0, dtype=np.int64)), i)
    return Context(geo, snaps, broad, tuple(didx), tuple(dcum), tuple(interior), tuple(icum),
                   edges, pl)


def _pick(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    """n indices drawn with the given (unnormalised) weights."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)


def _pick_rows(rng: np.random.Generator, cum_rows: np.ndarray) -> np.ndarray:
    """One index per row of a (n, k) cumulative-probability table."""
    u = rng.random(len(cum_rows))
    return np.minimum((u[:, None] >= cum_rows).sum(axis=1), cum_rows.shape[1] - 1)


def expected_counts(ctx: Context, month: date) -> np.ndarray:
    """(n_cells, 7) Poisson means: 5 known groups, not stated, vehicle-only."""
    mult = ctx.planted.multiplier(ctx.geo, month)
    rates = np.array([P.RATES[g] for g in V.BROAD_GROUPS])
    lam = rates[None, :] / 12.0 / 1000.0 * ctx.broad_pop * mult[:, None]
    person = lam.sum(axis=1) / (1.0 - P.NOT_STATED_SHARE)
    lam_ns = person * P.NOT_STATED_SHARE
    lam_v = person * P.VEHICLE_SHARE / (1.0 - P.VEHICLE_SHARE)
    return np.column_stack((lam, lam_ns, lam_v))


def simulate_month(rng: np.random.Generator, ctx: Context, index: int) -> MonthResult:
    """All rows of the 1-based month `index`, sorted by date (stable)."""
    month = P.month_start(index)
    legacy = index <= P.LEGACY_MONTHS
    counts = rng.poisson(expected_counts(ctx, month))
    n_cells = counts.shape[0]
    cell = np.concatenate([np.repeat(np.arange(n_cells), counts[:, k]) for k in range(7)])
    kind = np.concatenate([np.full(counts[:, k].sum(), k) for k in range(7)])
    m = len(cell)
    person = kind != VEHICLE

    # Self-defined ethnicity: detailed group within the broad group, by the area's residents.
    detailed = np.full(m, -1)
    for g in range(NOT_STATED):
        sel = np.flatnonzero(kind == g)
        local = _pick_rows(rng, ctx.detailed_cum[g][cell[sel]])
        detailed[sel] = ctx.detailed_index[g][local]
    labels = [grp.legacy_label if legacy else grp.current_label for grp in V.GROUPS]
    if index in P.STRAY_SPACE_MONTHS:
        cur = "Black/African/Caribbean/Black British - "
        labels = [V.STRAY_BLACK + lab[len(cur):] if lab.startswith(cur) else lab for lab in labels]
    ns_label = V.NOT_STATED_LEGACY if legacy else V.NOT_STATED_CURRENT
    ns_empty = rng.random(m) < 0.4
    self_defined = np.array(
        [labels[d] if d >= 0 else "" for d in detailed], dtype=object
    )
    self_defined[(kind == NOT_STATED) & ~ns_empty] = ns_label

    # Officer-defined ethnicity: mostly the self-defined broad group, often empty.
    officer = np.full(m, "", dtype=object)
    u = rng.random(m)
    other_pick = _pick(rng, np.ones(len(V.OFFICER_LABELS)), m)
    ns_pick = _pick(rng, _OFFICER_FOR_NOT_STATED, m)
    for g, name in enumerate(V.BROAD_GROUPS):
        sel = kind == g
        same = u < _OFFICER_CONSISTENT[name]
        officer[sel & same] = name
        diff = sel & ~same
        officer[diff] = np.array(V.OFFICER_LABELS, dtype=object)[other_pick[diff]]
    sel_ns = kind == NOT_STATED
    officer[sel_ns] = np.array(V.OFFICER_LABELS, dtype=object)[ns_pick[sel_ns]]
    officer[(rng.random(m) < P.OFFICER_EMPTY_SHARE) | ~person] = ""

    # Type, gender, age, removal.
    pav = rng.random(m) < P.PERSON_AND_VEHICLE_SHARE
    types = np.where(~person, "Vehicle search",
                     np.where(pav, "Person and Vehicle search", "Person search")).astype(object)
    gender = np.array(V.GENDERS, dtype=object)[_pick(rng, V.GENDER_WEIGHTS, m)]
    age = np.array(V.AGE_RANGES, dtype=object)[_pick(rng, V.AGE_WEIGHTS, m)]
    removal = np.array(["False", "True", ""], dtype=object)[_pick(rng, (0.85, 0.03, 0.12), m)]
    for arr in (gender, age, removal):
        arr[~person] = ""

    # Legislation and object of search.
    grounds_p = _pick(rng, [g[2] for g in V.SEARCH_GROUNDS], m)
    grounds_v = _pick(rng, [g[3] for g in V.SEARCH_GROUNDS], m)
    grounds = np.where(person, grounds_p, grounds_v)
    legislation = np.array([g[0] for g in V.SEARCH_GROUNDS], dtype=object)[grounds]
    obj = np.array([g[1] for g in V.SEARCH_GROUNDS], dtype=object)[grounds]
    drugs = obj == "Controlled drugs"

    # Outcome: positive with the planted probability; 1% unknown in the current era.
    p_pos = np.full(m, P.POSITIVE_VEHICLE)
    p_pos[kind == NOT_STATED] = P.POSITIVE_NOT_STATED
    for g, name in enumerate(V.BROAD_GROUPS):
        p_pos[kind == g] = P.POSITIVE[name]
    positive = rng.random(m) < p_pos
    w_drugs = np.array(V.POSITIVE_WEIGHTS_DRUGS)
    w_other = np.array(V.POSITIVE_WEIGHTS_OTHER)
    if not legacy:
        w_drugs[-1] = w_other[-1] = 0.0
    cls = np.where(drugs, _pick(rng, w_drugs, m), _pick(rng, w_other, m))
    pos_labels = np.array(V.POSITIVE_LEGACY if legacy else V.POSITIVE_CURRENT, dtype=object)
    outcome = np.where(positive, pos_labels[cls], V.NFA_LEGACY if legacy else V.NFA_CURRENT)
    outcome = outcome.astype(object)
    unknown = np.zeros(m, dtype=bool) if legacy else rng.random(m) < P.OUTCOME_UNKNOWN_SHARE
    outcome[unknown] = ""

    linked_pos = np.array(["True", "False", ""], dtype=object)[_pick(rng, (0.7, 0.2, 0.1), m)]
    linked_nfa = np.array(["False", ""], dtype=object)[_pick(rng, (0.55, 0.45), m)]
    linked = np.where(positive, linked_pos, linked_nfa).astype(object)
    linked[unknown] = ""
    nfa_rows = np.flatnonzero(~positive & ~unknown)
    contradictory = rng.choice(nfa_rows, size=min(len(nfa_rows), int(rng.integers(2, 5))),
                               replace=False)
    linked[contradictory] = "True"

    # Policing operation: mostly empty, a few True with a fictional name.
    in_op = rng.random(m) < 0.005
    op_name = np.array(V.OPERATIONS, dtype=object)[_pick(rng, (0.5, 0.5), m)]
    part_of_op = np.where(in_op, "True", "").astype(object)
    op_name = np.where(in_op, op_name, "").astype(object)

    # Location: a weighted snap point of the record's small area; some rows have none.
    point = np.full(m, -1)
    for c in np.unique(cell):
        sel = np.flatnonzero(cell == c)
        local = np.minimum(np.searchsorted(ctx.interior_cum[c], rng.random(len(sel)),
                                           side="right"), len(ctx.interior[c]) - 1)
        point[sel] = ctx.interior[c][local]
    no_loc = rng.random(m) < P.NO_LOCATION_SHARE
    edge_cells = np.array(sorted(ctx.edge_points), dtype=np.int64)
    cand = np.flatnonzero(np.isin(cell, edge_cells) & ~no_loc)
    n_edge = min(len(cand), int(rng.integers(3, 7)))
    on_edge_rows = np.sort(rng.choice(cand, size=n_edge, replace=False)) if n_edge else cand[:0]
    for r in on_edge_rows:
        pts = ctx.edge_points[int(cell[r])]
        point[r] = pts[int(rng.integers(len(pts)))]
    point[no_loc] = -1

    # Date and time; a few late rows dated 23:xx on the previous month's last day.
    days = calendar.monthrange(month.year, month.month)[1]
    day = rng.integers(1, days + 1, size=m)
    hour = _pick(rng, V.HOUR_WEIGHTS, m)
    minute = rng.integers(0, 60, size=m)
    start = month.toordinal()
    ordinal = start + day - 1
    late = rng.choice(m, size=min(m, int(rng.integers(2, 7))), replace=False)
    ordinal[late] = start - 1
    hour[late] = 23
    key = (ordinal.astype(np.int64) * 24 + hour) * 60 + minute
    order = np.argsort(key, kind="stable")

    rows = []
    date_cache: dict[int, str] = {}
    micro = ctx.snaps.micro
    for r in order:
        o = int(ordinal[r])
        if o not in date_cache:
            date_cache[o] = date.fromordinal(o).isoformat()
        stamp = f"{date_cache[o]}T{int(hour[r]):02d}:{int(minute[r]):02d}:00+00:00"
        if point[r] >= 0:
            lat, lon = fmt_micro(int(micro[point[r], 1])), fmt_micro(int(micro[point[r], 0]))
        else:
            lat = lon = ""
        rows.append([
            types[r], stamp, part_of_op[r], op_name[r], lat, lon, gender[r], age[r],
            self_defined[r], officer[r], legislation[r], obj[r], outcome[r], linked[r],
            removal[r],
        ])

    by_kind = np.bincount(kind, minlength=7)
    known_outcome = ~unknown
    res_counts = {
        "month": f"{month.year:04d}-{month.month:02d}",
        "rows": m,
        "rows_without_location": int(no_loc.sum()),
        "rows_on_edge_points": int(n_edge),
        "late_rows_dated_previous_month": int(len(late)),
        "contradictory_nfa_linked_true": int(len(contradictory)),
        "rows_by_kind": {k: int(by_kind[i]) for i, k in enumerate(KINDS)},
        "rows_by_type": {
            t: int((types == t).sum())
            for t in ("Person search", "Person and Vehicle search", "Vehicle search")
        },
        "outcome_known_by_kind": {
            k: int((known_outcome & (kind == i)).sum()) for i, k in enumerate(KINDS)
        },
        "outcome_positive_by_kind": {
            k: int((positive & known_outcome & (kind == i)).sum()) for i, k in enumerate(KINDS)
        },
        "not_stated_with_empty_label": int(((kind == NOT_STATED) & ns_empty).sum()),
        "priority_areas_designated": [a.code for a in P.designated(ctx.geo, month)],
    }
    return MonthResult(rows, res_counts, counts)
