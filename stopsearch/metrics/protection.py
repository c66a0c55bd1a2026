"""Primary and secondary cell suppression of one areas x groups count table below force level.

The table. ``counts[a, g]`` are searches in area a and group g. The published table adds each
area's total (a last column, below force level like the cells) and the force-level row: the
column totals and the grand total, which are always published. Inside the model every
below-force figure is a cell of an ``A x (G + 1)`` matrix ``y`` whose last column holds the area
totals; the margins are the linear relations

* row a:    y[a, 0] + ... + y[a, G-1] - y[a, G] = 0   (the groups partition the area total);
* column j: y[0, j] + ... + y[A-1, j] = force total j (the areas partition each force total,
  and the area totals partition the grand total).

Primary suppression: a cell with 1 <= value < ``min_count`` (by default 1..4). Zeros are
published: zero searches of a group in an area is not information about any person, and
data.police.uk already shows where searches happened; but a suppressed zero is treated like any
other suppressed cell.

What a reader knows: every published value, the margins, that counts are >= 0, and (from the
"<5" label) that a primary cell lies in 1..min_count-1. Secondary cells are shown differently,
so a reader also knows they are >= 0. (That they are 0 or >= min_count is not used: a
non-convex fact; the derived-sum rule below covers the common case.)

Guarantees, checked independently by the property tests:

1. no published below-force cell has a value in 1..min_count-1;
2. derived sums: in every margin whose total is published, the suppressed cells are none, or
   at least two whose sum (total minus published cells, which a reader can compute) is
   >= min_count (or, for a force-level total below min_count, equal to that total);
3. no suppressed cell can be pinned to one value by the margins and non-negativity; in
   particular none is a linear combination of published values (its unit vector lies outside
   the row space of the margin matrix restricted to the suppressed cells);
4. no "<5" cell can be pinned even using its 1..min_count-1 label, except where no
   suppression below force level could prevent it: a cell pinned by small force-level totals
   alone (e.g. a force total of 2 shared by two areas with 1 each) is reported in
   ``Protection.exposed_by_force_totals`` and still gets guarantee 3.

The margin matrix is, after negating the rows and the area-total column's equation, the
incidence matrix of a directed graph (row nodes and column nodes, one arc per cell; it is
totally unimodular, so real and integer reasoning agree). A cell's value can move, with all
published figures and the reader's bounds respected, exactly when a cycle through it can carry
a small change: a cycle in the residual graph whose arcs are the suppressed cells able to go up
(forward) or down (backward) within their bounds. Guarantees 3 and 4 are therefore checked by
graph search, with bounds ignoring (3) or using (4) the "<5" labels.

The secondary rule, repeated until nothing changes:

a. derived sums: in a margin with a published total whose suppressed cells sum to less than
   min(min_count, total), also suppress the smallest positive unsuppressed cell, preferring
   cells whose other margin already holds a suppressed cell;
b. protection: for each suppressed cell lacking guarantee 4 ("<5" cells) or 3 (the others),
   suppress the cheapest set of further cells that closes a residual cycle through it
   (Dijkstra: cost 1 per newly suppressed cell plus value / (table total + 1), so fewer and
   then smaller cells are preferred; already-suppressed cells cost 0). If no cycle exists even
   with every below-force cell available, the cell is exposed by force totals and is protected
   to guarantee 3 instead, which is always possible with >= 2 areas: a positive cell (a, j)
   moves on the cycle (a, j), (b, j), total(b), total(a) for any other area b, and a
   suppressed zero lies on the cycle that suppressed it.

Each step only adds suppressed cells (and cycles only gain arcs as cells are added), so the
loop ends, at worst with every below-force cell suppressed.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import NamedTuple

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Cell = tuple[int, int]
Arc = tuple[int, Cell]


class Protection(NamedTuple):
    """Suppression pattern of an ``A x (G + 1)`` table (last column: area totals)."""

    suppressed: np.ndarray
    primary: np.ndarray
    exposed_by_force_totals: np.ndarray


class _Table:
    """The table as a directed graph: nodes are rows then columns, one arc per cell."""

    def __init__(self, y: np.ndarray, min_count: int) -> None:
        """Precompute arcs, bounds and costs of every cell."""
        self.y = y
        self.n_rows, self.n_cols = y.shape
        self.col_totals = y.sum(axis=0)
        self.primary = (y >= 1) & (y < min_count)
        self.min_count = min_count
        self.n_nodes = self.n_rows + self.n_cols
        total_node = self.n_rows + self.n_cols - 1
        self.cells: list[Cell] = [(a, j) for a in range(self.n_rows) for j in range(self.n_cols)]
        self.arc: dict[Cell, tuple[int, int]] = {}
        for a, j in self.cells:
            last = j == self.n_cols - 1
            self.arc[(a, j)] = (total_node, a) if last else (a, self.n_rows + j)
        self.cost_scale = 1.0 / (float(y.sum()) + 1.0)
        self.interior = np.arange(self.n_cols) < self.n_cols - 1
        self._movable: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        self._all_arcs: dict[bool, list[list[tuple[int, int, float]]]] = {}
        self._components: dict[bool, np.ndarray] = {}

    def bounds(self, cell: Cell, labelled: bool) -> tuple[float, float]:
        """A reader's bounds on a suppressed cell: 1..min_count-1 if labelled "<5", else >= 0."""
        if labelled and self.primary[cell]:
            return 1.0, float(self.min_count - 1)
        return 0.0, float("inf")

    def movable(self, labelled: bool) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (can go up, can go down) arrays of every cell within a reader's bounds."""
        if labelled not in self._movable:
            high = np.where(self.primary & labelled, self.min_count - 1, np.iinfo(np.int64).max)
            low = np.where(self.primary & labelled, 1, 0)
            self._movable[labelled] = (self.y < high, self.y > low)
        return self._movable[labelled]

    def cell_id(self, cell: Cell) -> int:
        """Position of a cell in ``cells`` (row-major)."""
        return cell[0] * self.n_cols + cell[1]

    def all_arcs(self, labelled: bool) -> list[list[tuple[int, int, float]]]:
        """Residual arcs of every cell, per node: (next node, cell id, cost if newly hidden)."""
        if labelled not in self._all_arcs:
            adjacency: list[list[tuple[int, int, float]]] = [[] for _ in range(self.n_nodes)]
            for i, cell in enumerate(self.cells):
                cost = 1.0 + float(self.y[cell]) * self.cost_scale
                for start, end in self.residual_arcs(cell, labelled):
                    adjacency[start].append((end, i, cost))
            self._all_arcs[labelled] = adjacency
        return self._all_arcs[labelled]

    def components(self, labelled: bool) -> np.ndarray:
        """Strong-component label of each node in the residual graph of every cell."""
        if labelled not in self._components:
            starts, ends = [], []
            for start, arcs in enumerate(self.all_arcs(labelled)):
                for end, _, _ in arcs:
                    starts.append(start)
                    ends.append(end)
            graph = coo_matrix(
                (np.ones(len(starts)), (np.array(starts), np.array(ends))),
                shape=(self.n_nodes, self.n_nodes),
            )
            _, labels = connected_components(graph, directed=True, connection="strong")
            self._components[labelled] = labels
        return self._components[labelled]

    def residual_arcs(self, cell: Cell, labelled: bool) -> list[tuple[int, int]]:
        """Arcs (from, to) along which a change can flow through this cell within its bounds."""
        tail, head = self.arc[cell]
        low, high = self.bounds(cell, labelled)
        value = self.y[cell]
        arcs = []
        if value < high:
            arcs.append((tail, head))
        if value > low:
            arcs.append((head, tail))
        return arcs


def _cheapest_cycle(
    table: _Table, supp: np.ndarray, cell: Cell, labelled: bool
) -> list[Cell] | None:
    """Cells to add so a flow-carrying cycle passes through ``cell``; None if impossible."""
    tail, head = table.arc[cell]
    if table.components(labelled)[tail] != table.components(labelled)[head]:
        return None  # no cycle through the cell even with every cell hidden
    adjacency = table.all_arcs(labelled)
    hidden = supp.ravel().tolist()
    skip = table.cell_id(cell)
    best: tuple[float, list[int]] | None = None
    for start, end in table.residual_arcs(cell, labelled):
        found = _shortest_path(adjacency, hidden, skip, source=end, target=start)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    if best is None:
        return None
    return [table.cells[i] for i in best[1] if not hidden[i]]


def _shortest_path(
    adjacency: list[list[tuple[int, int, float]]],
    hidden: list[bool],
    skip: int,
    source: int,
    target: int,
) -> tuple[float, list[int]] | None:
    """Dijkstra from source to target avoiding cell ``skip``; hidden cells cost nothing.

    Returns (cost, ids of the cells on the path) or None when the target is unreachable.
    """
    dist = {source: 0.0}
    back: dict[int, tuple[int, int]] = {}
    heap = [(0.0, source)]
    while heap:
        d, node = heapq.heappop(heap)
        if node == target:
            path = []
            while node != source:
                node, used = back[node]
                path.append(used)
            return d, path
        if d > dist.get(node, float("inf")):
            continue
        for nxt, used, cost in adjacency[node]:
            if used == skip:
                continue
            nd = d if hidden[used] else d + cost
            if nd < dist.get(nxt, float("inf")):
                dist[nxt] = nd
                back[nxt] = (node, used)
                heapq.heappush(heap, (nd, nxt))
    return None


def _suppressed_graph(table: _Table, supp: np.ndarray, labelled: bool) -> list[list[Arc]]:
    """Residual adjacency of the suppressed cells: per node, (next node, cell) pairs."""
    adjacency: list[list[Arc]] = [[] for _ in range(table.n_nodes)]
    for cell in table.cells:
        if supp[cell]:
            for start, end in table.residual_arcs(cell, labelled):
                adjacency[start].append((end, cell))
    return adjacency


def _is_protected(table: _Table, adjacency: list[list[Arc]], cell: Cell, labelled: bool) -> bool:
    """True when a flow-carrying cycle of suppressed cells passes through ``cell``."""
    for start, end in table.residual_arcs(cell, labelled):
        seen = {end}
        queue = deque([end])
        while queue:
            node = queue.popleft()
            if node == start:
                return True
            for nxt, used in adjacency[node]:
                if used != cell and nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
    return False


def _on_rectangle(table: _Table, supp: np.ndarray, cell: Cell, labelled: bool) -> bool:
    """Fast sufficient test: ``cell`` lies on a residual 4-cycle of suppressed cells.

    The cycle is row a -> column j (the cell) -> row b -> column k -> row a. Crossing a cell
    from its row to its column raises it when the column is a group (arc row -> column) and
    lowers it in the area-total column (arc column -> row); the reverse crossing does the
    opposite; both orientations of the cycle are tried.
    """
    a, j = cell
    up, down = table.movable(labelled)
    interior = table.interior
    for reverse in (False, True):
        if not (up if interior[j] != reverse else down)[cell]:
            continue
        raise_bj = (not interior[j]) != reverse
        rows = supp[:, j] & (up if raise_bj else down)[:, j]
        rows[a] = False
        if not rows.any():
            continue
        raise_bk = interior != reverse
        raise_ak = ~interior != reverse
        ok_bk = supp & np.where(raise_bk, up, down) & rows[:, None]
        ok_ak = supp[a] & np.where(raise_ak, up[a], down[a])
        ok_ak[j] = False
        if (ok_ak & ok_bk.any(axis=0)).any():
            return True
    return False


def _margins(table: _Table, supp: np.ndarray) -> list[tuple[list[Cell], int, bool]]:
    """Margins with a published total, as (member cells, total, is a row)."""
    n_rows, n_cols = table.n_rows, table.n_cols
    margins = []
    for a in range(n_rows):
        if not supp[a, n_cols - 1]:
            cells = [(a, j) for j in range(n_cols - 1)]
            margins.append((cells, int(table.y[a, n_cols - 1]), True))
    for j in range(n_cols):
        margins.append(([(a, j) for a in range(n_rows)], int(table.col_totals[j]), False))
    return margins


def _other_margin_clean(supp: np.ndarray, cell: Cell, same_row: bool) -> bool:
    """True when the cell's other margin (its column, or its row) has no suppressed cell."""
    a, j = cell
    return not (supp[:, j].any() if same_row else supp[a, :].any())


def _enforce_derived_sums(table: _Table, supp: np.ndarray) -> None:
    """Rule a: grow each published margin's suppressed set until its sum is not small."""
    again = True
    while again:
        again = False
        for members, total, is_row in _margins(table, supp):
            hidden = [c for c in members if supp[c]]
            if not hidden or total == 0:
                continue
            need = min(table.min_count, total)
            if sum(int(table.y[c]) for c in hidden) >= need:
                continue
            candidates = [c for c in members if not supp[c] and table.y[c] > 0]
            pick = min(
                candidates,
                key=lambda c: (_other_margin_clean(supp, c, is_row), int(table.y[c]), c),
            )
            supp[pick] = True
            again = True


def protect_table(counts: np.ndarray, min_count: int = 5) -> Protection:
    """Suppression pattern for an areas x groups count table (see the module docstring)."""
    x = np.asarray(counts)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError("need a 2-D table with at least two areas and one group")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("counts must be non-negative whole numbers")
    if min_count < 1:
        raise ValueError("min_count must be >= 1")
    x = x.astype(np.int64)
    y = np.column_stack([x, x.sum(axis=1)])
    table = _Table(y, min_count)
    supp = table.primary.copy()
    force_exposed = np.zeros_like(supp)
    confirmed = np.zeros_like(supp)  # protection only grows as cells are added
    while True:
        _enforce_derived_sums(table, supp)
        added = False
        graphs: dict[bool, list[list[Arc]]] = {}
        for cell in table.cells:
            if not supp[cell] or confirmed[cell]:
                continue
            labelled = bool(table.primary[cell]) and not force_exposed[cell]
            if _on_rectangle(table, supp, cell, labelled):
                confirmed[cell] = True
                continue
            if labelled not in graphs:
                graphs[labelled] = _suppressed_graph(table, supp, labelled)
            if _is_protected(table, graphs[labelled], cell, labelled):
                confirmed[cell] = True
                continue
            new = _cheapest_cycle(table, supp, cell, labelled)
            if new is None and labelled:
                force_exposed[cell] = True
                new = _cheapest_cycle(table, supp, cell, False)
            if new is None:  # impossible with >= 2 areas (see module docstring)
                raise RuntimeError(f"cell {cell} cannot be protected")
            for c in new:
                supp[c] = True
                added = True
                graphs.clear()
        if not added:
            break
    return Protection(supp, table.primary.copy(), force_exposed)
