"""Where the fictional county lies: its outline, its towns and the seed points of its cells."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

SEMI_AXES_KM = (17.5, 11.5)
N_SMALL_AREAS = 260
N_SEA_POINTS = 140
CANDIDATES = 15


@dataclass(frozen=True)
class Layout:
    """County outline (km), towns (centre km, weight) and the cell generating points (km)."""

    outline_km: shapely.Polygon
    towns_km: np.ndarray  # (n_towns, 2)
    town_weights: np.ndarray  # (n_towns,)
    town_sigma_km: float
    inside_km: np.ndarray
    outside_km: np.ndarray

    def urban(self, xy_km: np.ndarray) -> np.ndarray:
        """Town intensity at points, 0 (countryside) to about 1 (town centre)."""
        d2 = ((xy_km[:, None, :] - self.towns_km[None, :, :]) ** 2).sum(axis=2)
        bumps = np.exp(-d2 / (2 * self.town_sigma_km**2)) * self.town_weights[None, :]
        return np.clip(bumps.sum(axis=1), 0.0, 1.0)


def _outline(rng: np.random.Generator) -> shapely.Polygon:
    theta = np.linspace(0.0, 2 * math.pi, 96, endpoint=False)
    wobble = np.ones_like(theta)
    for k in range(2, 7):
        amp = rng.uniform(0.01, 0.035)
        phase = rng.uniform(0, 2 * math.pi)
        wobble += amp * np.cos(k * theta + phase)
    a, b = SEMI_AXES_KM
    ring = np.column_stack((a * wobble * np.cos(theta), b * wobble * np.sin(theta)))
    return shapely.Polygon(ring)


def _uniform_in(rng: np.random.Generator, region: shapely.Geometry, n: int) -> np.ndarray:
    x0, y0, x1, y1 = region.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        pts = np.column_stack((rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)))
        out = np.vstack((out, pts[shapely.contains_xy(region, pts[:, 0], pts[:, 1])]))
    return out[:n]


def _best_candidate(
    rng: np.random.Generator, region: shapely.Geometry, n: int, existing: np.ndarray, layout_density
) -> np.ndarray:
    """Mitchell's best-candidate sampling: spread points, denser where `layout_density` is high."""
    pool = _uniform_in(rng, region, n * CANDIDATES).reshape(n, CANDIDATES, 2)
    scale = np.sqrt(layout_density(pool.reshape(-1, 2))).reshape(n, CANDIDATES)
    pts = np.empty((len(existing) + n, 2))
    pts[: len(existing)] = existing
    count = len(existing)
    for i in range(n):
        cand = pool[i]
        if count == 0:
            best = 0
        else:
            d = np.sqrt(((cand[:, None, :] - pts[None, :count, :]) ** 2).sum(axis=2)).min(axis=1)
            best = int(np.argmax(d * scale[i]))
        pts[count] = cand[best]
        count += 1
    return pts[len(existing):]


def make_layout(rng: np.random.Generator) -> Layout:
    """The county outline, three towns and the seeded points (inside: small areas; outside: sea)."""
    outline = _outline(rng)
    towns = np.array(
        [
            [rng.uniform(-11.0, -8.0), rng.uniform(-3.0, 3.0)],
            [rng.uniform(0.0, 3.0), rng.uniform(2.0, 5.0)],
            [rng.uniform(9.0, 12.0), rng.uniform(-5.0, -1.0)],
        ]
    )
    weights = np.array([1.0, 0.8, 0.6])
    sigma = 3.2
    probe = Layout(outline, towns, weights, sigma, np.empty((0, 2)), np.empty((0, 2)))

    def density(xy: np.ndarray) -> np.ndarray:
        return 1.0 + 5.0 * probe.urban(xy)

    inside = _best_candidate(rng, outline, N_SMALL_AREAS, np.empty((0, 2)), density)
    sea = shapely.box(-24.0, -17.0, 24.0, 17.0).difference(outline.buffer(0.6))
    outside = _best_candidate(rng, sea, N_SEA_POINTS, inside, lambda xy: np.ones(len(xy)))
    frame = np.array([[x, y] for x in (-90.0, 0.0, 90.0) for y in (-90.0, 0.0, 90.0) if x or y])
    return Layout(outline, towns, weights, sigma, inside, np.vstack((outside, frame)))
