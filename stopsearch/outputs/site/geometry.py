"""Light map geometry: coverage-simplified (shared edges kept, no gaps) and rounded to 5 decimals.

A layer of wards is a coverage: neighbours share their edges exactly. `coverage_simplify`
simplifies each shared edge once, so both neighbours keep the same line, and rounding every
coordinate to 1e-5 degrees (about a metre) maps identical vertices to identical vertices, so no
gap or overlap can open between neighbours. Layers that are not valid coverages (priority areas
may overlap) are simplified one polygon at a time with topology preserved.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.ops import polylabel

DEFAULT_TOLERANCE = 1e-4  # degrees, about 7 m east-west and 11 m north-south in Britain
DIGITS = 5


def simplify_layer(
    geoms: Sequence[shapely.Geometry], tolerance: float = DEFAULT_TOLERANCE
) -> list[shapely.Geometry]:
    """Simplified geometries of one layer, in input order."""
    if not len(geoms):
        return []
    array = list(geoms)
    if tolerance <= 0:
        return array
    try:
        coverage = bool(shapely.coverage_is_valid(array))
    except shapely.errors.GEOSException:
        coverage = False
    if coverage:
        out = shapely.coverage_simplify(array, tolerance, simplify_boundary=True)
    else:
        out = shapely.simplify(array, tolerance, preserve_topology=True)
    return list(out)


def _ring(coords: Sequence[Sequence[float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y, *_ in coords:
        point = [round(float(x), DIGITS), round(float(y), DIGITS)]
        if not out or out[-1] != point:
            out.append(point)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out


def _polygon(poly: shapely.Polygon) -> list[list[list[float]]] | None:
    shell = _ring(poly.exterior.coords)
    if len(shell) < 4:
        return None
    rings = [shell]
    for hole in poly.interiors:
        ring = _ring(hole.coords)
        if len(ring) >= 4:
            rings.append(ring)
    return rings


def to_geojson_geometry(geom: shapely.Geometry) -> dict | None:
    """A GeoJSON (Multi)Polygon with coordinates rounded to 5 decimals; None when empty."""
    if geom is None or geom.is_empty:
        return None
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    parts = [p for p in (_polygon(poly) for poly in polys if poly.geom_type == "Polygon") if p]
    if not parts:
        return None
    if len(parts) == 1:
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def rounded(geom: shapely.Geometry) -> shapely.Geometry:
    """The shapely geometry the page will draw (rounded as in the GeoJSON)."""
    gj = to_geojson_geometry(geom)
    return shapely.geometry.shape(gj) if gj else shapely.Polygon()


def feature_collection(codes: Sequence[str], geoms: Sequence[shapely.Geometry]) -> dict:
    """FeatureCollection of areas (property `code` only), sorted by code."""
    features = []
    for code, geom in sorted(zip(codes, geoms, strict=True), key=lambda pair: pair[0]):
        gj = to_geojson_geometry(geom)
        if gj is not None:
            features.append({"type": "Feature", "properties": {"code": code}, "geometry": gj})
    return {"type": "FeatureCollection", "features": features}


def label_point(geom: shapely.Geometry) -> list[float] | None:
    """[lat, lon] where a label of the area sits: the pole of inaccessibility of its largest
    part (inside it, far from its edges), rounded as the coordinates are."""
    if geom is None or geom.is_empty:
        return None
    parts = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    polygons = [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]
    if not polygons:
        return None
    largest = max(polygons, key=lambda p: p.area)
    minx, miny, maxx, maxy = largest.bounds
    point = polylabel(largest, tolerance=max(maxx - minx, maxy - miny) / 100 or 1e-6)
    return [round(float(point.y), DIGITS), round(float(point.x), DIGITS)]


def bounds(geoms: Sequence[shapely.Geometry]) -> list[list[float]] | None:
    """[[south, west], [north, east]] of all geometries, for Leaflet's fitBounds."""
    live = [g for g in geoms if g is not None and not g.is_empty]
    if not live:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(live)
    return [
        [round(float(miny), DIGITS), round(float(minx), DIGITS)],
        [round(float(maxy), DIGITS), round(float(maxx), DIGITS)],
    ]
