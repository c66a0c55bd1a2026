"""Residents by small area and the 19 detailed Census 2021 ethnic groups (TS021 shape)."""

from __future__ import annotations

import numpy as np

from stopsearch.demo.geography import Geography
from stopsearch.demo.vocab import BROAD_GROUPS, GROUPS

# County baseline shares of the 19 groups, in GROUPS order (normalised below).
_BASE = np.array([
    0.006, 0.006, 0.018, 0.016, 0.010,  # Asian: Bangladeshi, Chinese, Indian, Pakistani, other
    0.014, 0.008, 0.004,  # Black: African, Caribbean, other
    0.006, 0.003, 0.007, 0.005,  # Mixed
    0.800, 0.008, 0.0012, 0.0015, 0.040,  # White: British, Irish, GRT, Roma, other
    0.004, 0.008,  # Other: Arab, any other
])
# Community profiles concentrated around places (added to the baseline, then normalised).
_PROFILES = {
    "south_asian": np.array([0.30, 0.0, 0.25, 0.40, 0.05] + [0.0] * 14),
    "black": np.array([0.0] * 5 + [0.45, 0.35, 0.10] + [0.0, 0.02, 0.08, 0.0] + [0.0] * 7),
    "east_european": np.array([0.0] * 14 + [0.03, 0.12, 0.85, 0.0, 0.0]),
}


def broad_index() -> np.ndarray:
    """Broad-group index (into BROAD_GROUPS) of each detailed group."""
    return np.array([BROAD_GROUPS.index(g.broad) for g in GROUPS])


def make_population(rng: np.random.Generator, geo: Geography) -> np.ndarray:
    """Counts (n_small_areas, 19) in cell order: totals 1,000-3,000, varied composition."""
    n = geo.part.n_cells
    cent = geo.centroids_km
    totals = rng.integers(1000, 3001, size=n)
    towns = geo.layout.towns_km
    # Community centres: near towns 0 and 1 (south Asian), 0 and 2 (Black), 2 (east European).
    offsets = rng.normal(0.0, 1.2, size=(5, 2))
    centres = (
        ("south_asian", towns[0] + offsets[0], 1.6, 2.2),
        ("south_asian", towns[1] + offsets[1], 0.9, 1.8),
        ("black", towns[0] + offsets[2], 0.7, 1.8),
        ("black", towns[2] + offsets[3], 0.5, 1.6),
        ("east_european", towns[2] + offsets[4], 0.25, 2.0),
    )
    base = _BASE / _BASE.sum()
    shares = np.tile(base, (n, 1)) * rng.lognormal(0.0, 0.25, size=(n, 19))
    for profile, centre, strength, sigma in centres:
        w = strength * np.exp(-((cent - centre) ** 2).sum(axis=1) / (2 * sigma**2))
        shares += w[:, None] * _PROFILES[profile][None, :] * rng.lognormal(0.0, 0.2, size=(n, 1))
    shares /= shares.sum(axis=1, keepdims=True)
    return rng.multinomial(totals, shares).astype(np.int64)


def broad_counts(pop: np.ndarray) -> np.ndarray:
    """Sum the 19 detailed columns into the 5 broad groups (BROAD_GROUPS order)."""
    out = np.zeros((pop.shape[0], len(BROAD_GROUPS)), dtype=np.int64)
    np.add.at(out.T, broad_index(), pop.T)
    return out
