"""Priority areas given as a CSV of small-area codes per area, dissolved into polygons."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pandas as pd
import shapely

from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import Layer


def _dates(values: pd.Series, where: str, column: str) -> pd.Series:
    text = values.fillna("").astype(str).str.strip()
    parsed = pd.to_datetime(text.where(text != ""), format="%Y-%m-%d", errors="coerce")
    bad = (text != "") & parsed.isna()
    if bad.any():
        raise GeographyError(
            f"{where}: column {column!r}: {text[bad].iloc[0]!r} is not a date YYYY-MM-DD"
        )
    return parsed.dt.date.astype(object).where(parsed.notna(), None)


def read_members(layer: Layer) -> pd.DataFrame:
    """Rows (code, name, parent_code, small_area_code, valid_from, valid_to) of the CSV."""
    where = f"layer '{layer.id}' ({layer.path})"
    frame = pd.read_csv(layer.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    fields = {
        "code": layer.code_field,
        "name": layer.name_field,
        "parent_code": layer.parent_field,
        "small_area_code": layer.small_area_field,
        "valid_from": layer.designated_from_field,
        "valid_to": layer.designated_to_field,
    }
    missing = [c for c in fields.values() if c and c not in frame.columns]
    if missing:
        raise GeographyError(f"{where}: missing column(s) {missing}; has {list(frame.columns)}")
    out = pd.DataFrame({k: frame[c].str.strip() if c else None for k, c in fields.items()})
    if (out["code"] == "").any() or (out["small_area_code"] == "").any():
        raise GeographyError(f"{where}: empty priority-area or small-area code")
    if fields["name"] is None:
        out["name"] = out["code"]
    for column in ("valid_from", "valid_to"):
        if source := fields[column]:
            out[column] = _dates(out[column], where, source)
        else:
            out[column] = getattr(layer, column)
    per_area = out.groupby("code")[["name", "parent_code", "valid_from", "valid_to"]].nunique(
        dropna=False
    )
    inconsistent = per_area[(per_area > 1).any(axis=1)]
    if len(inconsistent):
        raise GeographyError(
            f"{where}: priority area {inconsistent.index[0]!r} has different names, parents or"
            " designation dates on different rows; give each area one value"
        )
    return out


def _within(day: date | None, layer: Layer) -> bool:
    if day is None:
        return True
    return (layer.valid_from is None or day >= layer.valid_from) and (
        layer.valid_to is None or day <= layer.valid_to
    )


def dissolve_members(
    layer: Layer, members: pd.DataFrame, small_areas: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """One polygon per priority area: the union of its small areas."""
    where = f"layer '{layer.id}' ({layer.path})"
    known = pd.Index(small_areas["code"])
    unknown = members.loc[~members["small_area_code"].isin(known), "small_area_code"]
    if len(unknown):
        raise GeographyError(
            f"{where}: {unknown.nunique()} small-area code(s) not in layer"
            f" '{layer.small_area_layer}', e.g. {unknown.iloc[0]!r}"
        )
    for column in ("valid_from", "valid_to"):
        outside = members[~members[column].map(lambda d: _within(d, layer))]
        if len(outside):
            raise GeographyError(
                f"{where}: priority area {outside['code'].iloc[0]!r} {column}"
                f" {outside[column].iloc[0]} lies outside the layer's valid_from/valid_to"
            )
    geom_of = dict(zip(small_areas["code"], small_areas.geometry.values, strict=True))
    areas = members.drop_duplicates("code").set_index("code")
    geoms = [
        shapely.union_all([geom_of[c] for c in group["small_area_code"].unique()])
        for _, group in members.groupby("code", sort=False)
    ]
    codes = list(members.groupby("code", sort=False).groups)
    areas = areas.loc[codes]
    return gpd.GeoDataFrame(
        {
            "code": codes,
            "name": areas["name"].to_numpy(),
            "parent_code": areas["parent_code"].to_numpy(),
            "valid_from": areas["valid_from"].to_numpy(),
            "valid_to": areas["valid_to"].to_numpy(),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
