"""The fictional county's areas: local authorities, small areas, two ward vintages, neighbourhoods
and priority areas, all unions of one planar partition of Voronoi cells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from stopsearch.demo.layout import Layout, make_layout
from stopsearch.demo.planar import (
    Partition,
    adjacency,
    balanced_seeds,
    dissolve,
    from_micro,
    graph_regions,
    hop_graph,
    insert_vertex,
    voronoi_partition,
)

LA_NAMES = ("Northmere", "Gullhaven", "Skerrydale")
SA_PER_WARD = 7.5
SA_PER_NEW_WARD = 4.7
SA_PER_NEIGHBOURHOOD = 16.0
VINTAGE_CHANGE = "2024-01-01"
# Layers start before the records so that late rows of the first month (dated the previous
# day) still fall inside a ward vintage.
LAYERS_VALID_FROM = "2022-01-01"
FICTIONAL = " (fictional)"

_PREFIXES = (
    "Kelp", "Whelk", "Tern", "Shingle", "Brine", "Gannet", "Limpet", "Driftwood", "Cockle",
    "Sandeel", "Puffin", "Skua", "Oyster", "Eider", "Fulmar", "Samphire", "Wrack", "Scallop",
    "Seapink", "Plover", "Razorbill", "Dulse", "Marram", "Winkle", "Curlew", "Sprat",
)
_SUFFIXES = (
    "moor", "wick", "ness", "field", "gate", "dale", "stead", "cliff", "holt", "worth",
    " Reach", " Green", " Sands", " Heights", " Hollow", " Rise",
)
# (name, designated_from, designated_to or "" for open); at most as many as towns plus one.
PRIORITY_DESIGNATIONS = (
    ("Harbour Quarter Priority Area", "2023-01-01", ""),
    ("Ropewalk Priority Area", "2023-07-01", ""),
    ("Lantern Hill Priority Area", "2024-04-01", ""),
    ("Saltings Estate Priority Area", "2023-01-01", "2024-06-30"),
)


@dataclass(frozen=True)
class WardVintage:
    """One complete ward coverage of the county, valid over [valid_from, valid_to] (inclusive)."""

    label: str
    valid_from: str
    valid_to: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    la: np.ndarray  # LA index per ward
    of_cell: np.ndarray  # ward index per small area
    geoms: tuple[shapely.Geometry, ...]


@dataclass(frozen=True)
class PriorityArea:
    """A priority (hot-spot) area: a set of small areas designated over a date range."""

    code: str
    name: str
    cells: tuple[int, ...]
    designated_from: str
    designated_to: str


@dataclass(frozen=True)
class Geography:
    """Everything spatial about the fictional county (cell index = small-area index)."""

    layout: Layout
    part: Partition
    centroids_km: np.ndarray
    urban: np.ndarray  # town intensity per small area, 0..1
    sa_codes: tuple[str, ...]
    sa_names: tuple[str, ...]
    sa_order: np.ndarray  # cell indices in code order
    sa_la: np.ndarray
    la_codes: tuple[str, ...]
    la_names: tuple[str, ...]
    la_geoms: tuple[shapely.Geometry, ...]
    wards: tuple[WardVintage, ...]
    nb_codes: tuple[str, ...]
    nb_names: tuple[str, ...]
    sa_nb: np.ndarray
    nb_geoms: tuple[shapely.Geometry, ...]
    priority: tuple[PriorityArea, ...]
    edge_vertices: tuple[int, ...]  # partition vertex ids chosen as on-edge snap points
    sa_geoms: tuple[shapely.Geometry, ...]


def _spatial_order(points_km: np.ndarray) -> np.ndarray:
    """Reading order: 3 km bands from north to south, west to east inside a band."""
    band = np.floor(-points_km[:, 1] / 3.0)
    return np.lexsort((points_km[:, 0], band))


def _names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    pool = [p + s for p in _PREFIXES for s in _SUFFIXES]
    out = []
    for idx in rng.permutation(len(pool)):
        name = pool[int(idx)]
        if name.lower() in taken:
            continue
        taken.add(name.lower())
        out.append(name + FICTIONAL)
        if len(out) == n:
            return out
    raise ValueError("name pool exhausted")


def _partition_within(
    rng: np.random.Generator, graph, cells_of: list[np.ndarray], sizes: list[int], cent: np.ndarray
) -> tuple[np.ndarray, list[int]]:
    """Split each group of cells into `sizes[i]` connected regions; labels numbered in order."""
    n = graph.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    parent: list[int] = []
    for group, (members, k) in enumerate(zip(cells_of, sizes, strict=True)):
        seeds = balanced_seeds(rng, graph, members, k)
        local = graph_regions(hop_graph(graph), members, seeds)
        region_cent = np.array([cent[members[local == r]].mean(axis=0) for r in range(k)])
        order = _spatial_order(region_cent)
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        labels[members] = len(parent) + rank[local]
        parent.extend([group] * k)
    return labels, parent


def _incident_cells(part: Partition) -> dict[int, list[int]]:
    inc: dict[int, list[int]] = {}
    for cell, ring in enumerate(part.rings):
        for v in ring:
            inc.setdefault(v, []).append(cell)
    return inc


def _choose_edge_points(
    rng: np.random.Generator, part: Partition, ward_labels: list[np.ndarray], sa_la: np.ndarray
) -> tuple[Partition, list[int]]:
    """Pick ~11 vertices exactly on ward boundaries of every vintage (some inserted mid-edge)."""
    inc = _incident_cells(part)
    coast = {v for (a, b), cells in part.edges.items() if cells[1] < 0 for v in (a, b)}

    def n_wards(cells: list[int]) -> int:
        return min(len({int(w[c]) for c in cells}) for w in ward_labels)

    triple: list[int] = []
    double: list[int] = []
    la_edge: list[int] = []
    for v in sorted(inc):
        if v in coast:
            continue
        k = n_wards(inc[v])
        if k >= 3:
            triple.append(v)
        elif k == 2:
            (la_edge if len({int(sa_la[c]) for c in inc[v]}) > 1 else double).append(v)
    verts = from_micro(part.vertices)
    chosen: list[int] = []

    def far_enough(xy: np.ndarray) -> bool:
        return all(np.abs(verts[c] - xy).max() > 0.004 for c in chosen)

    for pool, want in ((triple, 2), (la_edge, 1), (double, 3)):
        for idx in rng.permutation(len(pool)):
            if want == 0:
                break
            v = pool[int(idx)]
            if far_enough(verts[v]):
                chosen.append(v)
                want -= 1
    # Mid-edge points: long interior edges between two cells of different wards in every vintage.
    mids = []
    for (a, b), (c1, c2) in sorted(part.edges.items()):
        if c2 < 0 or n_wards([c1, c2]) < 2 or a in coast or b in coast:
            continue
        if np.abs(verts[a] - verts[b]).max() > 0.008:
            mids.append((a, b))
    for idx in rng.permutation(len(mids)):
        if len(chosen) >= 11:
            break
        a, b = mids[int(idx)]
        mid_micro = (part.vertices[a] + part.vertices[b]) // 2
        if far_enough(mid_micro / 1e6):
            part = insert_vertex(part, (a, b), mid_micro)
            chosen.append(len(part.vertices) - 1)
            verts = from_micro(part.vertices)
    return part, chosen


def _priority_areas(graph, seeds: list[int], sizes: list[int]) -> list[tuple[int, ...]]:
    taken: set[int] = set()
    out = []
    for seed, size in zip(seeds, sizes, strict=True):
        # scipy-stubs 1.17 take only arrays as indices; scipy also takes one index (a 1-D answer)
        dist = dijkstra(graph, directed=False, indices=seed)  # type: ignore[call-overload]
        members = []
        for c in np.argsort(dist, kind="stable"):
            if int(c) not in taken and np.isfinite(dist[c]):
                members.append(int(c))
            if len(members) == size:
                break
        taken.update(members)
        out.append(tuple(sorted(members)))
    return out


def build_geography(rng: np.random.Generator) -> Geography:
    """Build the county from one random stream (deterministic for a given generator state)."""
    layout = make_layout(rng)
    part = voronoi_partition(layout.inside_km, layout.outside_km)
    cent = part.centroids_km()
    graph = adjacency(part, cent)
    n = part.n_cells
    all_cells = np.arange(n)

    # Local authorities: graph-Voronoi around the town centres, numbered west to east.
    town_cells = [int(np.argmin(np.linalg.norm(cent - t, axis=1))) for t in layout.towns_km]
    sa_la = graph_regions(graph, all_cells, np.array(sorted(town_cells)))
    la_order = np.argsort([cent[sa_la == k][:, 0].mean() for k in range(len(town_cells))])
    remap = np.empty_like(la_order)
    remap[la_order] = np.arange(len(la_order))
    sa_la = remap[sa_la]
    n_la = len(town_cells)
    la_cells = [np.flatnonzero(sa_la == k) for k in range(n_la)]

    # Small-area codes: by LA, then reading order, like ONS LSOA numbering.
    sa_order = np.concatenate([c[_spatial_order(cent[c])] for c in la_cells])
    sa_codes = [""] * n
    sa_names = [""] * n
    within_la = np.zeros(n_la, dtype=np.int64)
    for rank, c in enumerate(sa_order):
        k = int(sa_la[c])
        j = int(within_la[k])
        within_la[k] += 1
        sa_codes[c] = f"D01{rank + 1:06d}"
        sa_names[c] = f"{LA_NAMES[k]} {j // 4 + 1:03d}{'ABCD'[j % 4]}"

    # Ward vintage 1 everywhere; vintage 2 re-wards the largest LA with more, smaller wards.
    sizes1 = [max(2, round(len(c) / SA_PER_WARD)) for c in la_cells]
    w1, w1_parent = _partition_within(rng, graph, la_cells, sizes1, cent)
    big = int(np.argmax([len(c) for c in la_cells]))
    n_new = max(sizes1[big] + 3, round(len(la_cells[big]) / SA_PER_NEW_WARD))
    new_local, _ = _partition_within(rng, graph, [la_cells[big]], [n_new], cent)
    keep = [w for w in range(len(w1_parent)) if w1_parent[w] != big]
    w2 = np.full(n, -1, dtype=np.int64)
    w2_parent: list[int] = []
    for new_idx, w in enumerate(keep):
        w2[w1 == w] = new_idx
        w2_parent.append(w1_parent[w])
    w2[la_cells[big]] = len(keep) + new_local[la_cells[big]]
    w2_parent.extend([big] * n_new)

    # Neighbourhoods: another partition inside each LA, cutting across wards.
    sizes_nb = [max(2, round(len(c) / SA_PER_NEIGHBOURHOOD)) for c in la_cells]
    sa_nb, _ = _partition_within(rng, graph, la_cells, sizes_nb, cent)

    # Priority areas around the town centres plus one estate, disjoint.
    pa_seeds = [town_cells[0], town_cells[1], town_cells[2]]
    spread = np.linalg.norm(cent - cent[town_cells[0]], axis=1)
    spread[la_cells[1]] = spread[la_cells[2]] = -1.0  # the estate lies in the first LA
    pa_seeds.append(int(np.argmax(spread)))
    pa_sizes = [int(s) for s in rng.integers(5, 10, size=len(pa_seeds))]
    pa_cells = _priority_areas(graph, pa_seeds, pa_sizes)

    part, edge_vertices = _choose_edge_points(rng, part, [w1, w2], sa_la)

    # Codes and names.
    taken = {name.lower() for name in LA_NAMES}
    la_codes = tuple(f"D06{k + 1:06d}" for k in range(n_la))
    la_names = tuple(name + FICTIONAL for name in LA_NAMES[:n_la])
    n_w1 = len(w1_parent)
    w1_codes = tuple(f"D05{k + 1:06d}" for k in range(n_w1))
    w1_names = tuple(_names(rng, n_w1, taken))
    w2_codes = tuple([w1_codes[w] for w in keep] + [f"D05{n_w1 + k + 1:06d}" for k in range(n_new)])
    w2_names = tuple([w1_names[w] for w in keep] + _names(rng, n_new, taken))
    n_nb = int(sa_nb.max()) + 1
    nb_codes = tuple(f"DS-N{k + 1:02d}" for k in range(n_nb))
    nb_names = tuple(_names(rng, n_nb, taken))
    priority = tuple(
        PriorityArea(f"DS-P{k + 1:02d}", name + FICTIONAL, cells, start, end)
        for k, ((name, start, end), cells) in enumerate(
            zip(PRIORITY_DESIGNATIONS, pa_cells, strict=True)
        )
    )

    wards = (
        WardVintage("2023", LAYERS_VALID_FROM, "2023-12-31", w1_codes, w1_names,
                    np.array(w1_parent), w1, tuple(dissolve(part, w1, n_w1))),
        WardVintage("2024", VINTAGE_CHANGE, "", w2_codes, w2_names, np.array(w2_parent), w2,
                    tuple(dissolve(part, w2, len(w2_parent)))),
    )
    return Geography(
        layout=layout,
        part=part,
        centroids_km=cent,
        urban=layout.urban(cent),
        sa_codes=tuple(sa_codes),
        sa_names=tuple(sa_names),
        sa_order=sa_order,
        sa_la=sa_la,
        la_codes=la_codes,
        la_names=la_names,
        la_geoms=tuple(dissolve(part, sa_la, n_la)),
        wards=wards,
        nb_codes=nb_codes,
        nb_names=nb_names,
        sa_nb=sa_nb,
        nb_geoms=tuple(dissolve(part, sa_nb, n_nb)),
        priority=priority,
        edge_vertices=tuple(edge_vertices),
        sa_geoms=tuple(shapely.orient_polygons(p) for p in part.polygons()),
    )
