"""A local linear map from lon/lat to British National Grid metres, fitted per area."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pyproj
import shapely

METRIC_CRS = "EPSG:27700"
COEFFICIENTS = ("mx_lon", "mx_lat", "mx_off", "my_lon", "my_lat", "my_off")
_STEP = 1e-3  # degrees, for central differences


@cache
def _to_metric() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def local_metric(geoms: np.ndarray) -> pd.DataFrame:
    """Per geometry, the EPSG:27700 linearisation at its bounding-box centre (6 coefficients)."""
    bounds = shapely.bounds(geoms).reshape(-1, 4)
    lon = (bounds[:, 0] + bounds[:, 2]) / 2
    lat = (bounds[:, 1] + bounds[:, 3]) / 2
    transform = _to_metric().transform
    x0, y0 = transform(lon, lat)
    xe, ye = transform(lon + _STEP, lat)
    xw, yw = transform(lon - _STEP, lat)
    xn, yn = transform(lon, lat + _STEP)
    xs, ys = transform(lon, lat - _STEP)
    mx_lon, my_lon = (xe - xw) / (2 * _STEP), (ye - yw) / (2 * _STEP)
    mx_lat, my_lat = (xn - xs) / (2 * _STEP), (yn - ys) / (2 * _STEP)
    return pd.DataFrame(
        {
            "mx_lon": mx_lon,
            "mx_lat": mx_lat,
            "mx_off": x0 - mx_lon * lon - mx_lat * lat,
            "my_lon": my_lon,
            "my_lat": my_lat,
            "my_off": y0 - my_lon * lon - my_lat * lat,
        }
    )
