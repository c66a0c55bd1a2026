"""Read data.police.uk neighbourhood boundaries: JSON lists of {latitude, longitude}."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely

from stopsearch.errors import GeographyError


def boundary_polygon(points: object, where: str) -> shapely.Polygon:
    """The polygon of one `/api/{force}/{id}/boundary` answer (a list of lat/lng objects)."""
    if not isinstance(points, list) or not points:
        raise GeographyError(f"{where}: expected a list of {{latitude, longitude}} objects")
    coords = []
    for n, point in enumerate(points):
        try:
            coords.append((float(point["longitude"]), float(point["latitude"])))
        except (KeyError, TypeError, ValueError):
            raise GeographyError(
                f'{where}: point #{n + 1} is not {{"latitude": ..., "longitude": ...}}: {point!r}'
            ) from None
    if len(set(coords)) < 3:
        raise GeographyError(f"{where}: a boundary needs at least 3 distinct points")
    return shapely.Polygon(coords)


def _names(names_file: Path | None) -> dict[str, str]:
    """id -> name from an `/api/{force}/neighbourhoods` answer, when given."""
    if names_file is None:
        return {}
    entries = json.loads(names_file.read_text(encoding="utf-8"))
    try:
        return {str(e["id"]): str(e["name"]) for e in entries}
    except (KeyError, TypeError):
        raise GeographyError(f'{names_file}: expected a list of {{"id", "name"}}') from None


def read_police_json(path: Path, names_file: Path | None = None) -> gpd.GeoDataFrame:
    """A boundary file, or a folder of `<id>.json` files; fields id, name and @filename."""
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
        rows.append(
            {"id": file.stem, "name": names.get(file.stem, file.stem), "@filename": file.stem}
        )
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
