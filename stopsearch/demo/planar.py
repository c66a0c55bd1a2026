"""A planar partition of Voronoi cells on a micro-degree grid, so shared edges are identical."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Voronoi

LON0, LAT0 = 1.25, 54.05
KM_PER_DEG_LAT = 111.2
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(LAT0))
MICRO = 1_000_000


def km_to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Local kilometres east/north of (LON0, LAT0) to lon/lat degrees."""
    return np.column_stack((LON0 + xy[:, 0] / KM_PER_DEG_LON, LAT0 + xy[:, 1] / KM_PER_DEG_LAT))


def lonlat_to_km(lonlat: np.ndarray) -> np.ndarray:
    """Lon/lat degrees to local kilometres (an equirectangular approximation, fine at this size)."""
    return np.column_stack(
        ((lonlat[:, 0] - LON0) * KM_PER_DEG_LON, (lonlat[:, 1] - LAT0) * KM_PER_DEG_LAT)
    )


def to_micro(lonlat: np.ndarray) -> np.ndarray:
    """Degrees to integer micro-degrees (the 6-decimal grid every written coordinate lies on)."""
    return np.rint(lonlat * MICRO).astype(np.int64)


def from_micro(micro: np.ndarray) -> np.ndarray:
    """Micro-degrees to the double nearest the 6-decimal value (what parsing the text gives)."""
    return micro.astype(np.float64) / MICRO


@dataclass(frozen=True)
class Partition:
    """Cells as rings of vertex ids (counter-clockwise, open) over a shared micro-degree table."""

    vertices: np.ndarray  # (n_vertices, 2) int64 micro-degrees lon, lat
    rings: tuple[tuple[int, ...], ...]
    edges: dict[tuple[int, int], tuple[int, int]]  # sorted vertex pair -> (cell, cell or -1)
    seeds_km: np.ndarray  # (n_cells, 2) generating points, local km

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return len(self.rings)

    def polygon(self, cell: int) -> shapely.Polygon:
        """The cell as a shapely polygon in lon/lat."""
        return shapely.Polygon(from_micro(self.vertices[list(self.rings[cell])]))

    def polygons(self) -> np.ndarray:
        """All cells as an array of shapely polygons."""
        return np.array([self.polygon(i) for i in range(self.n_cells)], dtype=object)

    def centroids_km(self) -> np.ndarray:
        """Cell centroids in local km."""
        cent = shapely.centroid(self.polygons())
        return lonlat_to_km(np.column_stack((shapely.get_x(cent), shapely.get_y(cent))))


def _signed_area(coords: np.ndarray) -> float:
    x, y = coords[:, 0], coords[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def voronoi_partition(inside_km: np.ndarray, outside_km: np.ndarray) -> Partition:
    """Voronoi cells of `inside_km`, bounded by `outside_km`, snapped to the micro-degree grid."""
    n_in = len(inside_km)
    vor = Voronoi(np.vstack((inside_km, outside_km)))
    micro = to_micro(km_to_lonlat(vor.vertices))
    # Merge Voronoi vertices that land on the same grid point, numbering in first-seen order.
    uniq, first, inverse = np.unique(micro, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    vid = rank[inverse.ravel()]
    table = uniq[order]
    rings: list[tuple[int, ...]] = []
    for i in range(n_in):
        region = vor.regions[vor.point_region[i]]
        if not region or -1 in region:
            raise ValueError(f"cell {i} is unbounded: add outside points")
        ring: list[int] = []
        for v in region:
            u = int(vid[v])
            if not ring or ring[-1] != u:
                ring.append(u)
        if ring[0] == ring[-1]:
            ring.pop()
        if _signed_area(table[ring].astype(np.float64)) < 0:
            ring.reverse()
        start = ring.index(min(ring))
        rings.append(tuple(ring[start:] + ring[:start]))
    edges: dict[tuple[int, int], tuple[int, int]] = {}
    for cell, cell_ring in enumerate(rings):
        for a, b in zip(cell_ring, cell_ring[1:] + cell_ring[:1], strict=True):
            key = (min(a, b), max(a, b))
            if key in edges:
                edges[key] = (edges[key][0], cell)
            else:
                edges[key] = (cell, -1)
    part = Partition(table, tuple(rings), edges, np.asarray(inside_km, dtype=np.float64))
    bad = [i for i, p in enumerate(part.polygons()) if not p.is_valid]
    if bad:
        raise ValueError(f"invalid cells after snapping: {bad[:5]}")
    return part


def insert_vertex(part: Partition, edge: tuple[int, int], micro_xy: np.ndarray) -> Partition:
    """Split a shared edge at a new grid vertex, in both cells that use it."""
    a, b = edge
    new = len(part.vertices)
    vertices = np.vstack((part.vertices, micro_xy.reshape(1, 2).astype(np.int64)))
    rings = list(part.rings)
    for cell in part.edges[(min(a, b), max(a, b))]:
        if cell < 0:
            continue
        ring = list(rings[cell])
        for k in range(len(ring)):
            p, q = ring[k], ring[(k + 1) % len(ring)]
            if {p, q} == {a, b}:
                ring.insert(k + 1, new)
                break
        rings[cell] = tuple(ring)
    edges = dict(part.edges)
    cells = edges.pop((min(a, b), max(a, b)))
    edges[(min(a, new), max(a, new))] = cells
    edges[(min(b, new), max(b, new))] = cells
    return Partition(vertices, tuple(rings), edges, part.seeds_km)


def adjacency(part: Partition, centroids_km: np.ndarray) -> csr_matrix:
    """Cell adjacency (shared edge of positive length), weighted by centroid distance in km."""
    pairs = sorted({(min(c), max(c)) for c in part.edges.values() if c[1] >= 0})
    rows = np.array([p[0] for p in pairs] + [p[1] for p in pairs], dtype=np.int64)
    cols = np.array([p[1] for p in pairs] + [p[0] for p in pairs], dtype=np.int64)
    dist = np.linalg.norm(centroids_km[rows] - centroids_km[cols], axis=1)
    n = part.n_cells
    return csr_matrix((dist, (rows, cols)), shape=(n, n))


def graph_regions(graph: csr_matrix, members: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Label each member cell with the index of its nearest seed along the subgraph (connected)."""
    sub = graph[members][:, members]
    local = np.searchsorted(members, seeds)
    _, _, sources = dijkstra(sub, directed=False, indices=local, min_only=True,
                             return_predecessors=True)
    lookup = {int(s): k for k, s in enumerate(local)}
    return np.array([lookup[int(s)] for s in sources], dtype=np.int64)


def balanced_seeds(
    rng: np.random.Generator, graph: csr_matrix, members: np.ndarray, k: int, iterations: int = 8
) -> np.ndarray:
    """k seed cells among sorted `members`: k-medoids on hop distance (farthest-point start).

    Hop counts (with a small km tie-break) make regions hold similar numbers of cells.
    """
    dist = dijkstra(hop_graph(graph)[members][:, members], directed=False)
    chosen = [int(rng.integers(len(members)))]
    while len(chosen) < k:
        chosen.append(int(np.argmax(dist[chosen].min(axis=0))))
    seeds = np.sort(np.array(chosen, dtype=np.int64))
    for _ in range(iterations):
        labels = np.argmin(dist[seeds], axis=0)
        new = []
        for r in range(k):
            idx = np.flatnonzero(labels == r)
            new.append(idx[int(np.argmin(dist[np.ix_(idx, idx)].sum(axis=1)))])
        refined = np.unique(np.array(new, dtype=np.int64))
        if len(refined) < k or np.array_equal(refined, seeds):
            break
        seeds = refined
    return members[seeds]


def dissolve(part: Partition, labels: np.ndarray, n_regions: int) -> list[shapely.Geometry]:
    """Union of the cells of each label, exactly (coverage union keeps the shared vertices)."""
    polys = part.polygons()
    out = []
    for r in range(n_regions):
        geom = shapely.coverage_union_all(polys[labels == r])
        out.append(shapely.orient_polygons(geom))
    return out


def hop_graph(graph: csr_matrix) -> csr_matrix:
    """The adjacency graph with unit edge weights plus a 1% km tie-break."""
    hops = graph.copy()
    hops.data = 1.0 + 0.01 * hops.data
    return hops
