"""Read data.police.uk neighbourhood boundaries: JSON lists of {latitude, longitude}.

A `/api/{force}/{id}/boundary` answer is one flat list of points. A neighbourhood of several
polygons lists them one after another, each ring ending where it began; the last ring may be
left open (it is closed here). A ring inside another is a hole (even-odd rule, as KML and
GeoJSON draw nested rings). An empty list means the neighbourhood has no boundary.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import unquote

import geopandas as gpd
import shapely

from stopsearch.errors import GeographyError

Coord = tuple[float, float]


def boundary_points(points: object, where: str) -> list[Coord]:
    """(longitude, latitude) of every point of a boundary answer, in order."""
    if not isinstance(points, list):
        raise GeographyError(f"{where}: expected a list of {{latitude, longitude}} objects")
    coords = []
    for n, point in enumerate(points):
        try:
            coords.append((float(point["longitude"]), float(point["latitude"])))
        except (KeyError, TypeError, ValueError):
            raise GeographyError(
                f'{where}: point #{n + 1} is not {{"latitude": ..., "longitude": ...}}: {point!r}'
            ) from None
    return coords


def split_rings(coords: list[Coord], where: str) -> list[list[Coord]]:
    """The rings of a flat point list: a ring ends where it returns to its first point."""
    rings: list[list[Coord]] = []
    ring: list[Coord] = []
    for point in coords:
        if ring and point == ring[0] and len(set(ring)) >= 3:
            rings.append([*ring, point])
            ring = []
        elif not ring or point != ring[-1]:  # a repeated point adds nothing
            ring.append(point)
    if ring:
        if len(set(ring)) < 3:
            start = len(coords) - len(ring) + 1
            raise GeographyError(
                f"{where}: points from #{start} on do not form a ring (fewer than 3 distinct)"
            )
        rings.append([*ring, ring[0]])  # an unclosed last ring
    return rings


def _nest(rings: list[list[Coord]]) -> shapely.Geometry:
    """Polygons of rings: a ring inside an odd number of others is a hole of the nearest one."""
    if len(rings) == 1:
        return shapely.Polygon(rings[0])
    shapes = [shapely.Polygon(r) for r in rings]
    solid = [s if s.is_valid else shapely.make_valid(s) for s in shapes]  # for containment only
    areas = [s.area for s in solid]
    inside: list[list[int]] = []
    for i, shape in enumerate(solid):
        probe = shape.representative_point() if not shape.is_empty else shapes[i].centroid
        inside.append(
            [
                j
                for j in range(len(rings))
                if j != i and areas[j] > areas[i] and solid[j].covers(probe)
            ]
        )
    holes: dict[int, list[list[Coord]]] = {}
    shells = []
    for i, containers in enumerate(inside):
        if len(containers) % 2:
            parent = min(containers, key=lambda j: areas[j])
            holes.setdefault(parent, []).append(rings[i])
        else:
            shells.append(i)
    polygons = [shapely.Polygon(rings[i], holes.get(i, [])) for i in shells]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def boundary_geometry(points: object, where: str) -> shapely.Geometry | None:
    """The (multi)polygon of one boundary answer, as drawn (unrepaired); None when empty."""
    coords = boundary_points(points, where)
    if not coords:
        return None
    return _nest(split_rings(coords, where))


def boundary_polygon(points: object, where: str) -> shapely.Geometry:
    """The (multi)polygon of one boundary answer; GeographyError when it has no points."""
    geometry = boundary_geometry(points, where)
    if geometry is None:
        raise GeographyError(f"{where}: expected a list of {{latitude, longitude}} objects")
    return geometry


def clean_name(name: object, fallback: str) -> str:
    """A neighbourhood name as shown: HTML entities decoded (the API sends `&amp;`), trimmed."""
    text = html.unescape(str(name)).strip() if name is not None else ""
    return " ".join(text.split()) or fallback


def listing_names(entries: object, where: str) -> dict[str, str]:
    """id -> name from an `/api/{force}/neighbourhoods` answer, in the order listed."""
    if not isinstance(entries, list):
        raise GeographyError(f'{where}: expected a list of {{"id", "name"}}')
    names: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or "id" not in entry:
            raise GeographyError(f'{where}: expected a list of {{"id", "name"}}, got {entry!r}')
        code = str(entry["id"]).strip()
        names.setdefault(code, clean_name(entry.get("name"), code))
    return names


def _names(names_file: Path | None) -> dict[str, str]:
    """id -> name from an `/api/{force}/neighbourhoods` answer, when given."""
    if names_file is None:
        return {}
    return listing_names(json.loads(names_file.read_text(encoding="utf-8")), str(names_file))


def read_police_json(path: Path, names_file: Path | None = None) -> gpd.GeoDataFrame:
    """A boundary file, or a folder of `<id>.json` files; fields id, name and @filename.

    File names may be percent-encoded (the fetch cache writes `Abbey%20Ward.json`): the id is
    the decoded name.
    """
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise GeographyError(f"{path}: no .json boundary files in this folder")
    names = _names(names_file)
    rows, geoms = [], []
    for file in files:
        try:
            points = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GeographyError(f"{file}: not valid JSON: {exc}") from exc
        geoms.append(boundary_polygon(points, str(file)))
        code = unquote(file.stem)
        rows.append({"id": code, "name": names.get(code, code), "@filename": code})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
