"""Read one boundary layer, whatever its format, into code/name/parent_code/geometry (EPSG:4326)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import FILENAME_CODE, Layer
from stopsearch.geography.police import read_police_json
from stopsearch.geography.priority import dissolve_members, read_members
from stopsearch.geography.repair import check_geometries

COLUMNS = [
    "code",
    "name",
    "parent_code",
    "parent_name",
    "valid_from",
    "valid_to",
    "repaired",
    "geometry",
]


def _read_gdal(
    source: str, layer_name: str | None, stem: str, all_layers: bool = False
) -> gpd.GeoDataFrame:
    """The features of a GDAL source (of every layer: KML folders), with its file stem."""
    try:
        names = [layer_name] if layer_name else [n for n, _ in pyogrio.list_layers(source)]
        if len(names) > 1 and not all_layers:
            raise GeographyError(
                f"{source} holds layers {names}: name one, for example layer_name = {names[0]!r}"
            )
        frames = [gpd.read_file(source, layer=name, engine="pyogrio") for name in names]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GeographyError(f"cannot read {source}: {exc}") from exc
    frames = [f for f in frames if len(f)]
    if not frames:
        raise GeographyError(f"{source}: no features")
    crs = frames[0].crs
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    frame["@filename"] = stem
    return frame


def _zip_members(path: Path, suffix: str, folder: str | None) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        names = sorted(
            n
            for n in archive.namelist()
            if n.lower().endswith(suffix)
            and (folder is None or n.startswith(folder.rstrip("/") + "/"))
        )
    if not names:
        raise GeographyError(f"{path}: no {suffix} file inside the zip")
    return names


def _read_raw(layer: Layer) -> gpd.GeoDataFrame:
    """The layer's features with their source fields, in the file's own CRS."""
    path = layer.path
    if layer.format == "police-json":
        return read_police_json(path, layer.names_file)
    if layer.format == "shapefile" and path.suffix.lower() == ".zip":
        members = _zip_members(path, ".shp", None)
        return pd.concat(
            [_read_gdal(f"/vsizip/{path}/{m}", None, Path(m).stem) for m in members],
            ignore_index=True,
        )
    if layer.format == "kml" and (path.is_dir() or path.suffix.lower() == ".zip"):
        if path.is_dir():
            sources = [(str(p), p.stem) for p in sorted(path.glob("*.kml"))]
        else:
            members = _zip_members(path, ".kml", layer.layer_name)
            sources = [(f"/vsizip/{path}/{m}", Path(m).stem) for m in members]
        if not sources:
            raise GeographyError(f"{path}: no .kml files")
        return pd.concat(
            [_read_gdal(s, None, stem, all_layers=True) for s, stem in sources],
            ignore_index=True,
        )
    return _read_gdal(str(path), layer.layer_name, path.stem, all_layers=layer.format == "kml")


def _to_wgs84(frame: gpd.GeoDataFrame, layer: Layer, where: str) -> gpd.GeoDataFrame:
    if layer.crs:
        frame = frame.set_crs(layer.crs, allow_override=True)
    elif frame.crs is None:
        minx, miny, maxx, maxy = frame.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise GeographyError(
                f"{where}: the file declares no CRS and its coordinates are not lon/lat;"
                ' declare it, for example crs = "EPSG:27700"'
            )
        frame = frame.set_crs("EPSG:4326")
    if not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame


def _field(frame: gpd.GeoDataFrame, name: str | None, key: str, where: str) -> pd.Series | None:
    if name is None:
        return None
    if name not in frame.columns:
        fields = [c for c in frame.columns if c != "geometry"]
        raise GeographyError(
            f"{where}: {key} {name!r} is not a field of the file; fields: {fields}"
        )
    values = frame[name]
    return values.where(values.notna(), None).map(lambda v: None if v is None else str(v).strip())


def _merge_duplicates(frame: gpd.GeoDataFrame, layer: Layer, where: str) -> gpd.GeoDataFrame:
    duplicated = frame["code"][frame["code"].duplicated()].unique()
    if len(duplicated) == 0:
        return frame
    if not layer.merge_duplicates:
        raise GeographyError(
            f"{where}: code(s) used by more than one feature: {', '.join(duplicated[:5])};"
            " fix the file or set merge_duplicates = true to union them"
        )
    merged = frame.groupby("code", sort=False).agg(
        {
            "name": "first",
            "parent_code": "first",
            "parent_name": "first",
            "geometry": shapely.union_all,
        }
    )
    return gpd.GeoDataFrame(merged.reset_index(), geometry="geometry", crs="EPSG:4326")


def standardise(frame: gpd.GeoDataFrame, layer: Layer) -> gpd.GeoDataFrame:
    """Columns code, name, parent_code from the declared fields; polygons in EPSG:4326."""
    where = f"layer '{layer.id}' ({layer.path})"
    if len(frame) == 0:
        raise GeographyError(f"{where}: no features")
    frame = _to_wgs84(frame, layer, where)
    code_field = "@filename" if layer.code_field == FILENAME_CODE else layer.code_field
    codes = _field(frame, code_field, "code_field", where)
    assert codes is not None
    if codes.isna().any() or (codes == "").any():
        raise GeographyError(
            f"{where}: {int((codes.isna() | (codes == '')).sum())} area(s) have no code"
        )
    names = _field(frame, layer.name_field, "name_field", where)
    parents = _field(frame, layer.parent_field, "parent_field", where)
    parent_names = _field(frame, layer.parent_name_field, "parent_name_field", where)
    out = gpd.GeoDataFrame(
        {
            "code": codes.to_numpy(),
            "name": (names if names is not None else codes).fillna("").to_numpy(),
            "parent_code": parents.to_numpy() if parents is not None else None,
            "parent_name": parent_names.to_numpy() if parent_names is not None else None,
        },
        geometry=frame.geometry.values,
        crs="EPSG:4326",
    )
    return _merge_duplicates(out, layer, where)


def read_layer(layer: Layer, small_areas: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The layer as code, name, parent_code, parent_name, valid_from, valid_to, repaired,
    geometry (EPSG:4326).

    A small-area CSV layer needs the small-area layer it is built from (`small_areas`).
    """
    if layer.fetched:
        raise GeographyError(
            f"layer '{layer.id}' is declared by its source ({layer.source}): fetch it first"
            " (stopsearch.geography.fetched.build_fetched_layers; stopsearch publish does)"
        )
    where = f"layer '{layer.id}' ({layer.path})"
    if layer.format == "small-area-csv":
        if small_areas is None:
            raise GeographyError(f"{where}: needs small-area layer '{layer.small_area_layer}'")
        out = dissolve_members(layer, read_members(layer), small_areas)
        out["parent_name"] = None
    else:
        out = standardise(_read_raw(layer), layer)
        out["valid_from"], out["valid_to"] = layer.valid_from, layer.valid_to
    geoms, repaired = check_geometries(
        np.asarray(out.geometry.values, dtype=object), out["code"].to_numpy(), layer.repair, where
    )
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs="EPSG:4326"))
    out["repaired"] = repaired
    return out[COLUMNS]
