"""Check boundary geometry: polygonal, non-empty and valid; repair with make_valid or refuse."""

from __future__ import annotations

import numpy as np
import shapely

from stopsearch.errors import GeographyError

_POLYGONAL = ("Polygon", "MultiPolygon")


def polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a geometry (a collection keeps only its polygons), 2D."""
    geom = shapely.force_2d(geom)
    if geom.geom_type in _POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in _POLYGONAL]
    polygons = [q for p in parts for q in shapely.get_parts(p)]
    if not polygons:
        return shapely.Polygon()
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _listing(codes: np.ndarray, reasons: list[str] | None = None, limit: int = 5) -> str:
    labels = reasons or [""] * len(codes)
    shown = [f"{c} ({r})" if r else str(c) for c, r in zip(codes, labels, strict=True)]
    more = f" and {len(codes) - limit} more" if len(codes) > limit else ""
    return ", ".join(shown[:limit]) + more


def check_geometries(
    geoms: np.ndarray, codes: np.ndarray, policy: str, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """(geometries, repaired flags): polygonal and valid, or GeographyError naming the areas."""
    if len(geoms) and (shapely.is_missing(geoms).any()):
        missing = codes[shapely.is_missing(geoms)]
        raise GeographyError(f"{where}: area(s) without geometry: {_listing(missing)}")
    types = shapely.get_type_id(geoms)
    wrong = ~np.isin(types, [3, 6, 7])  # Polygon, MultiPolygon, GeometryCollection
    if wrong.any():
        kinds = [g.geom_type for g in geoms[wrong]]
        raise GeographyError(
            f"{where}: area(s) are not polygons: {_listing(codes[wrong], kinds)};"
            " boundary layers must hold polygons"
        )
    geoms = np.array([polygonal_part(g) for g in geoms], dtype=object)
    empty = shapely.is_empty(geoms)
    if empty.any():
        raise GeographyError(f"{where}: area(s) with empty geometry: {_listing(codes[empty])}")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any() and policy == "refuse":
        reasons = [shapely.is_valid_reason(g) for g in geoms[invalid]]
        raise GeographyError(
            f"{where}: invalid geometry in {int(invalid.sum())} area(s): "
            f'{_listing(codes[invalid], reasons)}; fix the file or set repair = "make_valid"'
        )
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        fixed = np.array([polygonal_part(g) for g in fixed], dtype=object)
        gone = shapely.is_empty(fixed)
        if gone.any():
            raise GeographyError(
                f"{where}: geometry of {_listing(codes[invalid][gone])} collapses to nothing"
                " when repaired; fix the file"
            )
        geoms[invalid] = fixed
    return geoms, invalid
