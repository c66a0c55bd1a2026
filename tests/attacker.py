"""An attacker on a release, written independently of the protection code (issue 13).

It reads only what a release publishes: the rows of ``metrics.parquet`` (every figure, withheld
ones with their display text) and the area nesting of the layer files (each ward's council),
and forms every linear relation a reader can, then bounds each withheld count:

* **Unknowns.** Each count (area, basis, group, breakdown, category, measure) is split into
  *chunks*: sets of months that every year and the latest 12 months either hold whole or not
  at all (on 13 months: Jan-Dec of year 1 minus the window, the window's part of year 1, year
  2). A year's or the latest 12 months' figure is the sum of its chunks; every other period
  (a month, a calendar quarter, a rolling window of the trend series) is the sum of its month
  unknowns, and an area's months sum to their chunk. All unknowns are >= 0.
* **Same months, same figure.** A withheld count whose months are those of a published count
  of the same cell (the year ending December and that calendar year) is that published
  figure: it is not a target.
* **Published figures** fix their sum; a row absent from the release is a zero (rows of zero
  searches are left out); a withheld figure shown as "<5" lies in 1..4, any other in >= 0.
* **Relations**, each checked first on the force-level figures (all published) so that the
  attacker only uses what holds: groups sum to their basis total; the self-defined and officer
  defined totals are equal; each breakdown's categories sum to the area total; the person-search
  types sum to the person total; wards sum to their council; each layer's areas plus a >= 0
  remainder (searches placed in no area of the layer) sum to the force, per chunk and month;
  shares publish their denominator (a count <= the area's count) and, for the unknown-ethnicity
  share, Not stated + Unknown and the person total; rates and ratios publish their numerators
  and denominators (the All rate: the five stated groups, so Not stated + Unknown); the change
  in the search rate on a year earlier publishes the stated-group counts of both periods.
* **Bounds.** Exact propagation of single-unknown equations first, then, for each withheld
  count, a linear programme (scipy's HiGHS) for its least and greatest value; the integer range
  is [ceil(min), floor(max)]. Two programmes per component (the sum of its targets up, then
  down) certify many ranges at once; the rest get their own two.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

COUNTS = ("searches", "contradictory_outcomes")
CHUNKED_KINDS = ("rolling", "year")
PERSON_TYPES = ("Person search", "Person and Vehicle search")
OUTCOME_SHARES = ("positive_outcome_rate", "arrest_rate", "find_rate")
STATED = ("Asian", "Black", "Mixed", "Other", "White")
UNSTATED = ("Not stated", "Unknown")
Key = tuple  # (kind, code, basis, grp, breakdown, category, measure)
Expr = dict  # {variable index: coefficient}


@dataclass
class Finding:
    """What the attacker learnt about one withheld count."""

    key: Key
    period: str
    display: str
    low: int
    high: int
    certified: bool = False  # low..high are two feasible values, not the extremes

    @property
    def exact(self) -> bool:
        return self.low == self.high

    @property
    def width(self) -> int:
        return self.high - self.low + 1


@dataclass
class _System:
    n: int = 0
    names: dict = field(default_factory=dict)
    eq: list = field(default_factory=list)  # (expr, rhs)
    ub: list = field(default_factory=list)  # (expr, rhs): expr <= rhs

    def var(self, name: tuple) -> int:
        if name not in self.names:
            self.names[name] = self.n
            self.n += 1
        return self.names[name]


def _months(frame: pd.DataFrame) -> list[date]:
    force = frame[(frame.area_kind == "force") & (frame.period_kind == "month")]
    return sorted({pd.Timestamp(p).date() for p in force.period_start})


def _period_months(frame: pd.DataFrame, months: list[date]) -> dict[str, tuple[date, ...]]:
    spans = frame.groupby("period")[["period_start", "period_end"]].first()
    return {
        p: tuple(m for m in months if pd.Timestamp(s).date() <= m <= pd.Timestamp(e).date())
        for p, (s, e) in spans.iterrows()
    }


class Attacker:
    """Relations of one release and the bounds they give on its withheld counts."""

    def __init__(
        self,
        published: pd.DataFrame,
        parents: dict[tuple, tuple],
        target_kinds: tuple[str, ...] | None = None,
    ) -> None:
        """`published`: rows of metrics.parquet; `parents`: {(kind, code): (kind, code)};
        `target_kinds`: the period kinds whose withheld counts are bounded (default: all;
        every period's figures enter the relations either way)."""
        self.target_kinds = target_kinds
        rows = published.rename(columns={"ethnic_group": "grp"}).reset_index(drop=True)
        rows["category"] = rows["category"].fillna("")
        self.rows = rows
        self.parents = parents
        self.months = _months(self.rows)
        self.period_months = _period_months(self.rows, self.months)
        kinds = self.rows[["period", "period_kind"]].drop_duplicates()
        # Chunks come from the latest 12 months and the years; every other period (a month, a
        # quarter, a trend window) is a sum of month unknowns, and months sum to their chunk.
        self.long_periods = sorted(kinds[kinds.period_kind.isin(CHUNKED_KINDS)].period)
        signature: dict[date, tuple] = {
            m: tuple(p for p in self.long_periods if m in self.period_months[p])
            for m in self.months
        }
        chunks: dict[tuple, list[date]] = defaultdict(list)
        for m in self.months:
            chunks[signature[m]].append(m)
        self.chunks = [tuple(ms) for ms in chunks.values()]
        self.chunk_of = {m: i for i, ms in enumerate(self.chunks) for m in ms}
        self.system = _System()
        self.targets: list[tuple[Key, str, str, Expr]] = []
        self._build()

    # --- unknowns -------------------------------------------------------------------------
    def chunk_var(self, key: Key, chunk: int) -> int:
        return self.system.var(("c", key, chunk))

    def period_expr(self, key: Key, period: str) -> Expr:
        """A count of one period: its chunks, or the sum of its month unknowns (a month, a
        quarter, a rolling window)."""
        months = self.period_months[period]
        if period not in self.long_periods:
            return {self.system.var(("m", key, m)): 1.0 for m in months}
        return {self.chunk_var(key, c): 1.0 for c in sorted({self.chunk_of[m] for m in months})}

    # --- relations ------------------------------------------------------------------------
    def _build(self) -> None:
        rows = self.rows
        counts = rows[rows.measure.isin(COUNTS)]
        self.keys_by_period: dict[str, set] = defaultdict(set)
        key_cols = ["area_kind", "area_code", "basis", "grp", "breakdown", "category", "measure"]
        seen: set = set()
        # (key, months) of every published count: a withheld count of another period with the
        # same months (the 12 months to December and that calendar year) is that figure, and
        # learning it is no disclosure; it is left out of the targets.
        self.published_spans: set = set()
        for r in counts.itertuples(index=False):
            key = tuple(getattr(r, c) for c in key_cols)
            expr = self.period_expr(key, r.period)
            seen.add((key, r.period))
            if pd.notna(r.value):
                self.published_spans.add((key, self.period_months[r.period]))
                self.system.eq.append((expr, float(r.value)))
            else:
                small = str(r.display).startswith("<")
                if small:
                    self.system.ub.append(({k: -v for k, v in expr.items()}, -1.0))
                    self.system.ub.append((expr, float(str(r.display)[1:]) - 1.0))
                self.targets.append((key, r.period, str(r.display), expr))
        kind_of = dict(zip(self.rows.period, self.rows.period_kind, strict=True))
        self.targets = [
            t
            for t in self.targets
            if (t[0], self.period_months[t[1]]) not in self.published_spans
            and (self.target_kinds is None or kind_of[t[1]] in self.target_kinds)
        ]
        self._omitted_zeros(counts, seen, key_cols)
        families = counts[key_cols[2:]].drop_duplicates()
        areas = counts[["area_kind", "area_code"]].drop_duplicates()
        self.family_keys = [tuple(f) for f in families.itertuples(index=False)]
        self.areas = [tuple(a) for a in areas.itertuples(index=False)]
        self._partitions(counts)
        self._hierarchy()
        self._layers(counts)
        self._shares_and_rates()

    def _omitted_zeros(self, counts: pd.DataFrame, seen: set, key_cols: list[str]) -> None:
        """A row absent where its table has rows is a zero (zero rows are left out)."""
        tables = counts.groupby(["area_kind", "period", "measure", "basis", "breakdown"])
        for (kind, period, measure, basis, breakdown), part in tables:
            codes = part.area_code.unique()
            cells = part[["grp", "category"]].drop_duplicates().itertuples(index=False)
            cells = list(cells)
            for code in codes:
                for grp, category in cells:
                    key = (kind, code, basis, grp, breakdown, category, measure)
                    if (key, period) not in seen:
                        self.system.eq.append((self.period_expr(key, period), 0.0))

    def _holds_at_force(self, plus: list[tuple], minus: list[tuple]) -> bool:
        """Does sum(plus) == sum(minus) hold for every published force-level period?"""
        force = self.rows[(self.rows.area_kind == "force") & self.rows.measure.isin(COUNTS)]
        index = force.set_index(["basis", "grp", "breakdown", "category", "measure", "period"])
        values = index.value.to_dict()
        for period in force.period.unique():
            a = sum(values.get((*k, period), 0.0) or 0.0 for k in plus)
            b = sum(values.get((*k, period), 0.0) or 0.0 for k in minus)
            if abs(a - b) > 1e-9:
                return False
        return True

    def _family_relations(self) -> list[tuple[list[tuple], list[tuple]]]:
        """Linear relations between count families that hold in every area (checked at force)."""
        fams = self.family_keys
        out = []
        total = ("none", "All", "total", "", "searches")
        for basis in ("self_defined", "officer_defined"):
            parts = [f for f in fams if f[0] == basis and f[1] != "All" and f[4] == "searches"]
            whole = (basis, "All", "total", "", "searches")
            if parts and whole in fams:
                out.append((parts, [whole]))
        self_all = ("self_defined", "All", "total", "", "searches")
        officer_all = ("officer_defined", "All", "total", "", "searches")
        if self_all in fams and officer_all in fams:
            out.append(([self_all], [officer_all]))
        for breakdown in sorted({f[2] for f in fams if f[0] == "none"} - {"total"}):
            parts = [f for f in fams if f[0] == "none" and f[2] == breakdown]
            out.append((parts, [total]))
            if breakdown == "type":
                persons = [f for f in parts if f[3] in PERSON_TYPES]
                if persons and self_all in fams:
                    out.append((persons, [self_all]))
        return [(p, m) for p, m in out if self._holds_at_force(p, m)]

    def _add(self, expr: Expr, rhs: float = 0.0, upper: bool = False) -> None:
        expr = {k: v for k, v in expr.items() if v != 0.0}
        if expr:
            (self.system.ub if upper else self.system.eq).append((expr, rhs))

    @staticmethod
    def _sum(exprs: list[Expr], sign: float = 1.0) -> Expr:
        out: Expr = defaultdict(float)
        for e in exprs:
            for k, v in e.items():
                out[k] += sign * v
        return out

    def _chunk_exprs(self, key: Key) -> list[Expr]:
        return [{self.chunk_var(key, c): 1.0} for c in range(len(self.chunks))]

    def _month_exprs(self, key: Key) -> dict[date, Expr]:
        return {
            m: {self.system.names[("m", key, m)]: 1.0}
            for m in self.months
            if ("m", key, m) in self.system.names
        }

    def _partitions(self, counts: pd.DataFrame) -> None:
        relations = self._family_relations()
        self.relations = relations
        for kind, code in self.areas:
            for plus, minus in relations:
                for c in range(len(self.chunks)):
                    left = [{self.chunk_var((kind, code, *f), c): 1.0} for f in plus]
                    right = [{self.chunk_var((kind, code, *f), c): -1.0} for f in minus]
                    self._add(self._sum(left + right))
        # Months of an area sum to their chunk (where every month of the chunk is published).
        for name in list(self.system.names):
            if name[0] == "m":
                self.chunk_var(name[1], self.chunk_of[name[2]])
        for name in list(self.system.names):
            if name[0] != "c":
                continue
            _, key, c = name
            months = self.chunks[c]
            month_vars = [("m", key, m) for m in months]
            present = [v for v in month_vars if v in self.system.names]
            if not present:
                continue
            expr = {self.system.names[v]: 1.0 for v in present}
            expr[self.system.names[name]] = -1.0
            self._add(expr, upper=len(present) < len(months))

    def _hierarchy(self) -> None:
        children: dict[tuple, list[tuple]] = defaultdict(list)
        present = set(self.areas)
        for child, parent in self.parents.items():
            if child in present and parent in present:
                children[parent].append(child)
        for (pkind, pcode), kids in children.items():
            for fam in self.family_keys:
                for c in range(len(self.chunks)):
                    expr = {self.chunk_var((pkind, pcode, *fam), c): -1.0}
                    for kind, code in kids:
                        v = self.chunk_var((kind, code, *fam), c)
                        expr[v] = expr.get(v, 0.0) + 1.0
                    self._add(expr)

    def _layers(self, counts: pd.DataFrame) -> None:
        """Each layer's areas plus a >= 0 remainder make the force, per chunk and month."""
        kinds = defaultdict(list)
        for kind, code in self.areas:
            if kind != "force":
                kinds[kind].append(code)
        force_codes = [c for k, c in self.areas if k == "force"]
        if not force_codes:
            return
        force = force_codes[0]
        for kind, codes in kinds.items():
            for fam in self.family_keys:
                for c in range(len(self.chunks)):
                    expr = {self.chunk_var(("force", force, *fam), c): -1.0}
                    for code in codes:
                        expr[self.chunk_var((kind, code, *fam), c)] = 1.0
                    self._add(expr, upper=True)
                force_months = self._month_exprs(("force", force, *fam))
                for m, fexpr in force_months.items():
                    expr = {k: -v for k, v in fexpr.items()}
                    for code in codes:
                        name = ("m", (kind, code, *fam), m)
                        if name in self.system.names:
                            expr[self.system.names[name]] = 1.0
                    self._add(expr, upper=True)

    def _known_is_total_less_unknown(self) -> bool:
        """Is a share's base (searches with a known outcome) all searches less the outcome
        class 'unknown'? Checked on the force's published figures."""
        r = self.rows[self.rows.area_kind == "force"]
        share = r[(r.measure == "positive_outcome_rate") & (r.breakdown == "total")]
        share = share[(share.basis == "none") & share.denominator.notna()]
        counts = r[(r.measure == "searches") & (r.basis == "none")]
        counts = counts.set_index(["period", "breakdown", "category"]).value.to_dict()
        if share.empty:
            return False
        for s in share.itertuples():
            total = counts.get((s.period, "total", ""), 0.0)
            unknown = counts.get((s.period, "outcome_class", "unknown"), 0.0)
            if abs(total - unknown - s.denominator) > 1e-9:
                return False
        return True

    def _shares_and_rates(self) -> None:
        self.known_is_total_less_unknown = self._known_is_total_less_unknown()
        rows = self.rows[self.rows.numerator.notna() & ~self.rows.measure.isin(COUNTS)]
        for r in rows.itertuples(index=False):
            area = (r.area_kind, r.area_code)

            def count(
                basis: str, grp: str, breakdown: str = "total", category: str = "", r=r, area=area
            ) -> Expr:
                key = (*area, basis, grp, breakdown, category, "searches")
                return self.period_expr(key, r.period)

            measure = r.measure
            if measure == "unstated_share":
                self._add(self._sum([count("self_defined", g) for g in UNSTATED]), r.numerator)
                self._add(count("self_defined", "All"), r.denominator)
            elif measure in ("search_rate", "search_rate_all_persons", "population"):
                if measure == "population":
                    continue
                if measure == "search_rate_all_persons":
                    self._add(count("self_defined", "All"), r.numerator)
                elif r.grp == "All":
                    self._add(self._sum([count("self_defined", g) for g in STATED]), r.numerator)
                else:
                    self._add(count("self_defined", r.grp), r.numerator)
            elif measure in ("disproportionality_ratio", "dr_unknown_low", "dr_unknown_high"):
                u = self._sum([count("self_defined", g) for g in UNSTATED])
                g_expr, w_expr = count("self_defined", r.grp), count("self_defined", "White")
                num = self._sum([g_expr, u]) if measure == "dr_unknown_high" else g_expr
                den = self._sum([w_expr, u]) if measure == "dr_unknown_low" else w_expr
                self._add(num, r.numerator)
                self._add(den, r.denominator)
            elif measure == "ward_concentration":
                continue
            elif measure.endswith("_change"):
                # a change on a year earlier (category: the earlier period): the search rate's
                # publishes both counts behind it; the others publish no count
                if measure == "search_rate_change":
                    earlier = r.category
                    later = self._sum([count("self_defined", g) for g in STATED])
                    before = self._sum(
                        [
                            self.period_expr(
                                (*area, "self_defined", g, "total", "", "searches"), earlier
                            )
                            for g in STATED
                        ]
                    )
                    self._add(later, r.numerator)
                    self._add(before, r.denominator)
            else:  # a share: its denominator is part of the row's count
                base = count(r.basis, r.grp, r.breakdown, r.category)
                self._add({k: -v for k, v in base.items()}, -float(r.denominator), upper=True)
                if measure in OUTCOME_SHARES and self.known_is_total_less_unknown:
                    # count - known outcomes <= the area's searches with an unknown outcome
                    unknown = count("none", "All", "outcome_class", "unknown")
                    minus_unknown = {k: -v for k, v in unknown.items()}
                    self._add(self._sum([base, minus_unknown]), float(r.denominator), upper=True)

    # --- solving --------------------------------------------------------------------------
    def _presolve(self) -> tuple[dict[int, float], list, list]:
        """Fix unknowns pinned by an equation with one unknown left (exact propagation).

        A worklist: when an unknown is fixed, only the equations holding it are looked at
        again (the same fixed point as sweeping every equation until nothing changes).
        """
        fixed: dict[int, float] = {}
        eqs = list(self.system.eq)
        holding: dict[int, list[int]] = defaultdict(list)
        for i, (expr, _) in enumerate(eqs):
            for k in expr:
                holding[k].append(i)
        queue = [i for i, (expr, _) in enumerate(eqs) if len(expr) == 1]
        while queue:
            i = queue.pop()
            expr, rhs = eqs[i]
            free = {k: v for k, v in expr.items() if k not in fixed}
            if len(free) != 1:
                continue
            ((k, v),) = free.items()
            fixed[k] = (rhs - sum(c * fixed[j] for j, c in expr.items() if j in fixed)) / v
            for j in holding[k]:
                if sum(1 for x in eqs[j][0] if x not in fixed) == 1:
                    queue.append(j)
        rest = []
        for expr, rhs in eqs:
            free = {k: v for k, v in expr.items() if k not in fixed}
            value = rhs - sum(v * fixed[k] for k, v in expr.items() if k in fixed)
            if free:
                rest.append((free, value))
        ubs = []
        for expr, rhs in self.system.ub:
            free = {k: v for k, v in expr.items() if k not in fixed}
            value = rhs - sum(v * fixed[k] for k, v in expr.items() if k in fixed)
            if free:
                ubs.append((free, value))
        return fixed, rest, ubs

    def check_truth(self, truth: pd.DataFrame) -> None:
        """Every equation and inequality must hold on the true period counts (self-test).

        Only relations over period figures can be checked (chunks are not published); the
        relations between families are checked on each area's true latest figures.
        """
        counts = truth[truth.measure.isin(COUNTS)]
        index = counts.set_index(
            ["area_kind", "area_code", "basis", "grp", "breakdown", "category", "measure", "period"]
        ).value.to_dict()
        for kind, code in self.areas:
            for period in self.long_periods:
                for plus, minus in self.relations:
                    a = sum(index.get((kind, code, *f, period), 0.0) for f in plus)
                    b = sum(index.get((kind, code, *f, period), 0.0) for f in minus)
                    assert abs(a - b) < 1e-9, (kind, code, period, plus, minus, a, b)
        for parent in set(self.parents.values()):
            for period in self.long_periods:
                fam = ("none", "All", "total", "", "searches")
                kids = [c for c, p in self.parents.items() if p == parent]
                total = sum(index.get((*k, *fam, period), 0.0) for k in kids)
                assert abs(total - index.get((*parent, *fam, period), 0.0)) < 1e-9, parent

    def attack(self) -> list[Finding]:
        """The integer range of every withheld count."""
        fixed, eqs, ubs = self._presolve()
        free = [i for i in range(self.system.n) if i not in fixed]
        pos = {v: i for i, v in enumerate(free)}
        rows_eq = [({pos[k]: v for k, v in e.items()}, b) for e, b in eqs]
        rows_ub = [({pos[k]: v for k, v in e.items()}, b) for e, b in ubs]
        # Components of the unknowns linked by any relation.
        a, b = [], []
        for expr, _ in rows_eq + rows_ub:
            ks = list(expr)
            for k in ks[1:]:
                a.append(ks[0])
                b.append(k)
        for _, _, _, expr in self.targets:  # a target's chunks are solved together
            ks = [pos[k] for k in expr if k not in fixed]
            for k in ks[1:]:
                a.append(ks[0])
                b.append(k)
        graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(free), len(free)))
        _, label = connected_components(graph, directed=False)
        by_comp_eq, by_comp_ub = defaultdict(list), defaultdict(list)
        for expr, rhs in rows_eq:
            by_comp_eq[label[next(iter(expr))]].append((expr, rhs))
        for expr, rhs in rows_ub:
            by_comp_ub[label[next(iter(expr))]].append((expr, rhs))
        findings: list[Finding] = []
        by_comp_targets = defaultdict(list)
        for key, period, display, expr in self.targets:
            const = sum(v * fixed[k] for k, v in expr.items() if k in fixed)
            rest = {pos[k]: v for k, v in expr.items() if k not in fixed}
            if not rest:
                value = round(const)
                findings.append(Finding(key, period, display, value, value))
            else:
                by_comp_targets[label[next(iter(rest))]].append((key, period, display, rest, const))
        for comp, targets in by_comp_targets.items():
            findings.extend(self._solve(comp, label, targets, by_comp_eq[comp], by_comp_ub[comp]))
        return findings

    @staticmethod
    def _solve(comp, label, targets, eqs, ubs) -> list[Finding]:
        members = np.flatnonzero(label == comp)
        local = {v: i for i, v in enumerate(members)}
        n = len(members)

        def matrix(rows):
            if not rows:
                return None, None
            r, c, d = [], [], []
            for i, (expr, _) in enumerate(rows):
                for k, v in expr.items():
                    r.append(i)
                    c.append(local[k])
                    d.append(v)
            return csr_matrix((d, (r, c)), shape=(len(rows), n)), np.array([x for _, x in rows])

        a_eq, b_eq = matrix(eqs)
        a_ub, b_ub = matrix(ubs)

        def solve(objective: np.ndarray) -> np.ndarray | None:
            result = linprog(
                objective,
                A_ub=a_ub,
                b_ub=b_ub,
                A_eq=a_eq,
                b_eq=b_eq,
                bounds=(0, None),
                method="highs",
            )
            if result.status == 3:  # unbounded
                return None
            assert result.status == 0, result.message
            return result.x

        vectors = []
        for _, _, _, expr, _ in targets:
            vec = np.zeros(n)
            for k, v in expr.items():
                vec[local[k]] = v
            vectors.append(vec)
        out = []
        # Certify many ranges at once: the sum of the open targets up, then down; a target
        # whose two values differ by >= 3 is certified (two feasible points, 4 or more integer
        # values). Repeat on the targets left open while a round certifies a good share.
        open_ = list(range(len(targets)))
        left: list[int] = []
        while open_:
            total = np.sum([vectors[i] for i in open_], axis=0)
            up, down = solve(-total), solve(total)
            left = []
            for i in open_:
                key, period, display, _, const = targets[i]
                vec = vectors[i]
                hi = None if up is None else float(vec @ up) + const
                lo = float(vec @ down) + const
                if hi is not None and hi - lo >= 3.0 - 1e-6:
                    low, high = math.ceil(lo - 1e-6), math.floor(hi + 1e-6)
                    out.append(Finding(key, period, display, low, high, certified=True))
                else:
                    left.append(i)
            if len(left) == len(open_) or len(left) <= 4:
                break
            open_ = left
        for i in left:
            key, period, display, _, const = targets[i]
            vec = vectors[i]
            low_x = solve(vec)
            high_x = solve(-vec)
            lo = float(vec @ low_x) + const
            hi = math.inf if high_x is None else float(vec @ high_x) + const
            high = 10**9 if hi == math.inf else math.floor(hi + 1e-6)
            out.append(Finding(key, period, display, math.ceil(lo - 1e-6), high))
        return out


def summarise(findings: list[Finding], truth: pd.DataFrame) -> dict[str, int]:
    """Counts of primary cells (true value 1..4 below force) recovered or narrowed."""
    value = truth.set_index(
        ["area_kind", "area_code", "basis", "grp", "breakdown", "category", "measure", "period"]
    ).value.to_dict()
    out = {
        "withheld": 0,
        "primary": 0,
        "primary_below": 0,  # below force level
        "exact": 0,
        "narrow": 0,
        "secondary_exact": 0,
        "wholesale_exact": 0,
    }
    for f in findings:
        true = value.get((*f.key, f.period), 0.0)
        out["withheld"] += 1
        if not f.certified:  # exact LP bounds must hold the truth: the attacker is sound
            assert f.low - 1e-6 <= true <= f.high + 1e-6, (f, true)
        if 1 <= true <= 4:
            out["primary"] += 1
            out["primary_below"] += f.key[0] != "force"
            out["exact"] += f.exact
            out["narrow"] += f.width < 4
        elif is_short(f.period):  # withheld with its whole period, not to protect a cell
            out["wholesale_exact"] += f.exact
        else:
            out["secondary_exact"] += f.exact
    return out


def is_short(period: str) -> bool:
    """A quarter ('2024-Q1') or a trend window ('12m-2024-03')."""
    return "-Q" in period or bool(re.match(r"\d+m-", period))


CELL_COLUMNS = ["area_kind", "area_code", "basis", "grp", "breakdown", "category", "measure"]


def combine_releases(
    earlier: pd.DataFrame, later: pd.DataFrame, suffix: str = "@earlier"
) -> pd.DataFrame:
    """Both releases' rows as one release, for an attacker holding both.

    A period id whose months differ between the two (the latest 12 months, the year so far)
    names two periods: the earlier one is renamed ``<id><suffix>``. A figure of the same
    period in both is one figure: published in either, it is known (two different published
    values would be a re-supply, which this does not model, so it raises).
    """

    # Months with data of each period, from its force rows (a year so far grows each month).
    def present(frame: pd.DataFrame) -> dict[str, tuple]:
        force = frame[frame.area_kind == "force"]
        spans = force.groupby("period")[["period_start", "period_end", "months_present"]]
        return {p: tuple(map(str, v)) for p, v in spans.max().iterrows()}

    months_later, months_earlier = present(later), present(earlier)
    renamed = {
        p: f"{p}{suffix}"
        for p, n in months_earlier.items()
        if p in months_later and months_later[p] != n
    }
    # A renamed period held only the months the earlier release had.
    last = earlier.loc[earlier.period_kind == "month", "period_start"].max()
    moved = earlier.period.isin(list(renamed))
    earlier = earlier.assign(
        period=earlier.period.replace(renamed),
        period_end=earlier.period_end.where(~moved | (earlier.period_end <= last), last),
    )
    changes = earlier.breakdown.eq("year_earlier")  # its category names the earlier period
    earlier.loc[changes, "category"] = earlier.loc[changes, "category"].replace(renamed)
    both = pd.concat([later.assign(_order=0), earlier.assign(_order=1)], ignore_index=True)
    both["category"] = both["category"].fillna("")
    key = [*CELL_COLUMNS, "period"]
    published = both[both.value.notna() & both.measure.isin(COUNTS)]
    clash = published.groupby(key).value.nunique()
    assert (clash <= 1).all(), clash[clash > 1].head()
    # A published row first, then the later release's.
    both = both.assign(_shown=both.value.isna()).sort_values([*key, "_shown", "_order"])
    return both.drop_duplicates(key).drop(columns=["_order", "_shown"]).reset_index(drop=True)
