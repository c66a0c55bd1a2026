"""Anonymous map points (data.police.uk-style snap points) in each small area, a few on edges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from stopsearch.demo.geography import Geography
from stopsearch.demo.planar import from_micro, km_to_lonlat, lonlat_to_km, to_micro

MIN_EDGE_KM = 0.060
ERODE_KM = 0.065


@dataclass(frozen=True)
class SnapPoints:
    """Points in id order: micro-degree lon/lat, owning small area (cell), on-edge flag, weight."""

    ids: tuple[str, ...]
    micro: np.ndarray  # (n, 2) int64
    cell: np.ndarray
    on_edge: np.ndarray
    weight: np.ndarray

    @property
    def lonlat(self) -> np.ndarray:
        """Coordinates as doubles equal to the written 6-decimal text."""
        return from_micro(self.micro)


def _cell_points(rng: np.random.Generator, cell_km: shapely.Polygon, k: int) -> np.ndarray:
    inner = cell_km.buffer(-ERODE_KM)
    x0, y0, x1, y1 = inner.bounds
    found = np.empty((0, 2), dtype=np.int64)
    boundary = cell_km.exterior
    while len(found) < k:
        cand = np.column_stack((rng.uniform(x0, x1, 8 * k), rng.uniform(y0, y1, 8 * k)))
        cand = cand[shapely.contains_xy(inner, cand[:, 0], cand[:, 1])]
        micro = to_micro(km_to_lonlat(cand))
        back = lonlat_to_km(from_micro(micro))
        ok = shapely.contains_xy(cell_km, back[:, 0], back[:, 1]) & (
            shapely.distance(boundary, shapely.points(back)) >= MIN_EDGE_KM
        )
        found = np.vstack((found, micro[ok]))
        _, first = np.unique(found, axis=0, return_index=True)
        found = found[np.sort(first)]
    return found[:k]


def make_snap_points(rng: np.random.Generator, geo: Geography) -> SnapPoints:
    """5-11 interior points per small area (>= 60 m from any edge) plus the on-edge vertices."""
    part = geo.part
    rank = np.empty(part.n_cells, dtype=np.int64)
    rank[geo.sa_order] = np.arange(part.n_cells)
    micro_parts, cells, edge_flags = [], [], []
    for c in range(part.n_cells):
        k = 5 + int(round(4 * geo.urban[c])) + int(rng.integers(0, 3))
        ring = lonlat_to_km(from_micro(part.vertices[list(part.rings[c])]))
        pts = _cell_points(rng, shapely.Polygon(ring), k)
        micro_parts.append(pts)
        cells.append(np.full(len(pts), c))
        edge_flags.append(np.zeros(len(pts), dtype=bool))
    for v in geo.edge_vertices:
        touching = [c for c in range(part.n_cells) if v in part.rings[c]]
        owner = min(touching, key=lambda c: geo.sa_codes[c])  # lowest small-area code
        micro_parts.append(part.vertices[v].reshape(1, 2))
        cells.append(np.array([owner]))
        edge_flags.append(np.ones(1, dtype=bool))
    micro = np.vstack(micro_parts)
    cell = np.concatenate(cells)
    on_edge = np.concatenate(edge_flags)
    order = np.lexsort((micro[:, 0], -micro[:, 1], on_edge, rank[cell]))
    micro, cell, on_edge = micro[order], cell[order], on_edge[order]
    weight = rng.gamma(2.0, 1.0, size=len(cell))
    ids = tuple(f"SP{i + 1:05d}" for i in range(len(cell)))
    return SnapPoints(ids, micro, cell, on_edge, weight)
