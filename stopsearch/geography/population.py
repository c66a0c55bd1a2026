"""Load resident population by ethnic group and carry it from small areas to every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from stopsearch.errors import GeographyError
from stopsearch.geography.census import mapping_for, to_long
from stopsearch.geography.manifest import Layer, Manifest, PopulationPoints, PopulationTable
from stopsearch.geography.metric import METRIC_CRS
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.geography", "population.sql")
TARGET_KINDS = ("ward", "neighbourhood", "priority_area", "local_authority")
METHOD_DETAIL = {
    "direct": "counts given for these areas",
    "lookup": "official best-fit lookup: each small area whole to one area",
    "nested": "areas built from small areas: exact sums",
    "population_weighted_centroid": "each small area whole to the area covering its"
    " population-weighted centroid",
    "centroid": "each small area whole to the area covering its point on surface",
    "area_weighted": "area-weighted: each small area shared by the share of its land inside"
    " each area (shares under one part in a million are boundary noise)",
    "finer_points": "each small area shared by where the residents of its finer population"
    " points (e.g. Output Area population-weighted centroids) are",
}
NOISE = 1e-6  # overlaps under this share of a small area are boundary noise (float, generalising)


@dataclass
class PopulationReport:
    """Method and totals per (population table, layer), and notes worth showing."""

    methods: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def choose_method(layer: Layer, manifest: Manifest, small_layer: str) -> str:
    """The declared method, else nested (built of these small areas), finer points (when the
    manifest declares them for the small areas) or area-weighted apportionment."""
    lookups = [lk for lk in manifest.lookups if lk.to_layer == layer.id]
    if layer.population_method:
        if layer.population_method == "lookup" and not any(
            lk.from_layer == small_layer for lk in lookups
        ):
            raise GeographyError(
                f"{manifest.path}: layer '{layer.id}': population_method 'lookup' but no lookup"
                f" from '{small_layer}' to it"
            )
        if layer.population_method == "nested" and layer.small_area_layer != small_layer:
            raise GeographyError(
                f"{manifest.path}: layer '{layer.id}': population_method 'nested' but it is"
                f" not built from '{small_layer}'"
            )
        if layer.population_method == "finer_points" and manifest.points_for(small_layer) is None:
            raise GeographyError(
                f"{manifest.path}: layer '{layer.id}': population_method 'finer_points' but no"
                f" population_points for '{small_layer}'"
            )
        return layer.population_method
    if layer.format == "small-area-csv" and layer.small_area_layer == small_layer:
        return "nested"
    if manifest.points_for(small_layer) is not None:
        return "finer_points"
    return "area_weighted"


def read_table(table: PopulationTable) -> pd.DataFrame:
    """The table in long form: area_code, broad_group, detailed_group, persons."""
    where = f"population '{table.id}' ({table.path})"
    try:
        frame = pd.read_csv(table.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise GeographyError(f"{where}: cannot read: {exc}") from exc
    return to_long(frame, mapping_for(table.columns, where), where, table.code_field)


def read_centroids(layer: Layer) -> pd.DataFrame:
    """small_code, longitude, latitude from a centroid CSV (lon/lat, or x/y in EPSG:27700)."""
    assert layer.centroids_file is not None
    frame = pd.read_csv(layer.centroids_file, dtype=str, encoding="utf-8-sig")
    code = frame.columns[0]
    where = f"layer '{layer.id}': centroids_file {layer.centroids_file}"
    x, y = _coordinates(frame, where)
    return pd.DataFrame({"small_code": frame[code].str.strip(), "longitude": x, "latitude": y})


def read_points(points: PopulationPoints, small_codes: set[str]) -> pd.DataFrame:
    """point_code, small_code, persons, longitude, latitude of the finer population points.

    Every small area of `small_codes` needs at least one point with residents; points of other
    small areas are left out.
    """
    where = f"population_points '{points.id}' ({points.path})"
    try:
        frame = pd.read_csv(points.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise GeographyError(f"{where}: cannot read: {exc}") from exc
    code = points.code_field or frame.columns[0]
    for field_name, column in (
        ("code_field", code),
        ("small_area_field", points.small_area_field),
        ("persons_field", points.persons_field),
    ):
        if column not in frame.columns:
            raise GeographyError(f"{where}: {field_name} {column!r} is not a column of the file")
    persons = pd.to_numeric(frame[points.persons_field], errors="coerce")
    bad = persons.isna() | (persons < 0)
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise GeographyError(
            f"{where}, line {line}, field {points.persons_field!r}: not a number of residents:"
            f" {frame[points.persons_field].iloc[line - 2]!r}"
        )
    x, y = _coordinates(frame, where)
    out = pd.DataFrame(
        {
            "point_code": frame[code].str.strip(),
            "small_code": frame[points.small_area_field].str.strip(),
            "persons": persons.to_numpy(float),
            "longitude": x,
            "latitude": y,
        }
    )
    out = out[out.small_code.isin(small_codes)]
    covered = set(out.loc[out.persons > 0, "small_code"])
    missing = sorted(small_codes - covered)
    if missing:
        raise GeographyError(
            f"{where}: {len(missing)} small area(s) have no point with residents, e.g."
            f" {missing[0]!r}"
        )
    return out.reset_index(drop=True)


def _coordinates(frame: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of each row: lon/lat columns, or x/y in EPSG:27700."""
    lower = {c.lower(): c for c in frame.columns}
    lon = next((lower[c] for c in ("longitude", "lon", "long", "lng") if c in lower), None)
    lat = next((lower[c] for c in ("latitude", "lat") if c in lower), None)
    if lon and lat:
        x = pd.to_numeric(frame[lon], errors="coerce").to_numpy()
        y = pd.to_numeric(frame[lat], errors="coerce").to_numpy()
    elif "x" in lower and "y" in lower:
        import pyproj

        to_lonlat = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
        x, y = to_lonlat.transform(
            pd.to_numeric(frame[lower["x"]], errors="coerce").to_numpy(),
            pd.to_numeric(frame[lower["y"]], errors="coerce").to_numpy(),
        )
    else:
        raise GeographyError(f"{where}: needs longitude/latitude or x/y (EPSG:27700) columns")
    if np.isnan(x).any() or np.isnan(y).any():
        raise GeographyError(f"{where}: a point has no coordinates")
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _weights(
    con: duckdb.DuckDBPyConnection,
    method: str,
    layer: Layer,
    small_layer: str,
    points: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """small_code, code, weight: the share of each small area's residents in each area."""
    params: dict[str, object] = {"layer_id": layer.id, "small_layer": small_layer}
    name = {
        "lookup": "weights_lookup",
        "nested": "weights_nested",
        "centroid": "weights_centroid",
        "population_weighted_centroid": "weights_points",
        "area_weighted": "weights_area",
        "finer_points": "weights_finer_points",
    }[method]
    staged = None
    if method == "population_weighted_centroid":
        staged = ("staged_centroids", read_centroids(layer))
        params = {"layer_id": layer.id}
    elif method == "finer_points":
        assert points is not None
        staged = ("staged_points", points)
        params = {"layer_id": layer.id}
    elif method == "area_weighted":
        params["noise"] = NOISE
    if staged:
        con.register(*staged)
    try:
        return SQL.execute(con, name, params).df()
    finally:
        if staged:
            con.unregister(staged[0])


def _record(
    con: duckdb.DuckDBPyConnection,
    report: PopulationReport,
    table: PopulationTable,
    layer_id: str | None,
    kind: str,
    method: str,
) -> None:
    placed, unplaced = SQL.one(con, "placed" if method != "direct" else "placed_direct")
    row: dict[str, Any] = {
        "population_id": table.id,
        "layer_id": layer_id,
        "layer_kind": kind,
        "method": method,
        "detail": METHOD_DETAIL[method],
        "persons": float(placed or 0),
        "unplaced": float(unplaced or 0),
    }
    SQL.execute(con, "insert_method", row)
    if layer_id is not None:
        SQL.execute(con, "set_layer_method", {"method": method, "layer_id": layer_id})
    report.methods.append(row)
    if row["unplaced"] > 0.5 and kind != "priority_area":  # priority areas never cover all
        report.notes.append(
            f"population '{table.id}' -> '{layer_id}': {row['unplaced']:,.0f} persons not placed"
            f" by method {method}"
        )


def _load_small_area_table(
    con: duckdb.DuckDBPyConnection,
    manifest: Manifest,
    table: PopulationTable,
    long: pd.DataFrame,
    report: PopulationReport,
) -> None:
    small_layer = table.layer
    assert small_layer is not None
    codes = {r[0] for r in SQL.execute(con, "layer_codes", {"layer_id": small_layer}).fetchall()}
    if not codes:
        raise GeographyError(
            f"{manifest.path}: population '{table.id}': layer '{small_layer}' is not loaded;"
            " run load_boundaries first"
        )
    inside = long[long["area_code"].isin(codes)]
    dropped = long["area_code"].nunique() - inside["area_code"].nunique()
    if dropped:
        report.notes.append(f"population '{table.id}': {dropped} area(s) not in '{small_layer}'")
    missing = codes - set(inside["area_code"])
    if missing:
        raise GeographyError(
            f"{manifest.path}: population '{table.id}': {len(missing)} area(s) of"
            f" '{small_layer}' have no population row, e.g. {sorted(missing)[0]!r}"
        )
    declared = manifest.points_for(small_layer)
    points = read_points(declared, codes) if declared is not None else None
    con.register("staged_population", inside)
    base = {"population_id": table.id, "census_year": table.census_year}
    SQL.execute(
        con,
        "insert_direct",
        {**base, "layer_id": small_layer, "layer_kind": "small_area"},
    )
    _record(con, report, table, small_layer, "small_area", "direct")
    for layer in manifest.layers:
        if layer.kind not in TARGET_KINDS:
            continue
        method = choose_method(layer, manifest, small_layer)
        con.register("staged_weights", _weights(con, method, layer, small_layer, points))
        SQL.execute(
            con,
            "insert_weighted",
            {**base, "layer_id": layer.id, "layer_kind": layer.kind, "method": method},
        )
        _record(con, report, table, layer.id, layer.kind, method)
        con.unregister("staged_weights")
    con.unregister("staged_population")


def load_population(con: duckdb.DuckDBPyConnection, manifest: Manifest) -> PopulationReport:
    """(Re)load every population table of the manifest and aggregate it to every layer."""
    report = PopulationReport()
    for table in manifest.populations:
        long = read_table(table)
        con.execute("BEGIN TRANSACTION")
        try:
            SQL.execute(con, "delete_population", {"population_id": table.id})
            SQL.execute(con, "delete_methods", {"population_id": table.id})
            if table.layer is None:
                con.register("staged_population", long)
                SQL.execute(
                    con,
                    "insert_direct",
                    {
                        "population_id": table.id,
                        "census_year": table.census_year,
                        "layer_id": None,
                        "layer_kind": table.layer_kind,
                    },
                )
                _record(con, report, table, None, table.layer_kind, "direct")
                con.unregister("staged_population")
            else:
                _load_small_area_table(con, manifest, table, long, report)
            con.execute("COMMIT")
        except (duckdb.Error, GeographyError) as exc:
            con.execute("ROLLBACK")
            if isinstance(exc, GeographyError):
                raise
            raise GeographyError(f"population '{table.id}': loading failed: {exc}") from exc
    return report


def totals_by_parent(
    con: duckdb.DuckDBPyConnection, population_id: str, layer_id: str
) -> pd.DataFrame:
    """A layer's population summed to its parent codes, by broad group."""
    return SQL.execute(
        con, "totals_by_parent", {"population_id": population_id, "layer_id": layer_id}
    ).df()
