"""Load the layers and lookups of a manifest into the warehouse, checking vintages first."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import shapely

from stopsearch.disk import sha256_tree
from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import Layer, Lookup, Manifest, without_unbuilt
from stopsearch.geography.metric import COEFFICIENTS, local_metric
from stopsearch.geography.priority import read_members
from stopsearch.geography.readers import read_layer
from stopsearch.geography.vintages import Vintage, check_vintages
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.geography", "load.sql")


@dataclass
class LayerReport:
    """What one layer load did."""

    layer_id: str
    kind: str
    areas: int
    repaired: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    """What `load_boundaries` did, layer by layer, with notes worth showing to a person."""

    layers: list[LayerReport] = field(default_factory=list)
    lookups: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def repaired(self) -> dict[str, list[str]]:
        """Codes whose geometry was repaired, by layer."""
        return {r.layer_id: r.repaired for r in self.layers if r.repaired}


def _vintage(layer: Layer) -> Vintage:
    return Vintage(layer.id, layer.kind, layer.series, layer.valid_from, layer.valid_to)


def check_manifest_vintages(con: duckdb.DuckDBPyConnection, manifest: Manifest) -> None:
    """Vintages of the manifest together with layers already loaded from elsewhere."""
    ids = {layer.id for layer in manifest.layers}
    existing = [
        Vintage(*row)
        for row in SQL.execute(con, "existing_vintages").fetchall()
        if row[0] not in ids
    ]
    check_vintages([*existing, *map(_vintage, manifest.layers)], str(manifest.path))


def _read_all(manifest: Manifest) -> dict[str, gpd.GeoDataFrame]:
    """Every layer read and checked; small areas first, as CSV priority areas are built of them."""
    order = sorted(manifest.layers, key=lambda layer: layer.format == "small-area-csv")
    frames: dict[str, gpd.GeoDataFrame] = {}
    for layer in order:
        small = frames.get(layer.small_area_layer) if layer.small_area_layer else None
        frames[layer.id] = read_layer(layer, small)
    return frames


def _staged_areas(layer: Layer, frame: gpd.GeoDataFrame) -> pd.DataFrame:
    geoms = frame.geometry.values
    out = pd.DataFrame(
        {
            "layer_id": layer.id,
            "kind": layer.kind,
            "code": frame["code"].to_numpy(),
            "name": frame["name"].to_numpy(),
            "parent_code": frame["parent_code"].to_numpy(),
            "parent_name": frame["parent_name"].to_numpy(),
            "force": layer.force,
            "valid_from": pd.Series(frame["valid_from"].to_numpy(), dtype=object),
            "valid_to": pd.Series(frame["valid_to"].to_numpy(), dtype=object),
            "wkb": shapely.to_wkb(geoms),
            "repaired": frame["repaired"].to_numpy(dtype=bool),
        }
    )
    return pd.concat([out, local_metric(geoms)], axis=1)


_AREA_SCHEMA = pa.schema(
    [
        ("layer_id", pa.string()),
        ("kind", pa.string()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("parent_code", pa.string()),
        ("parent_name", pa.string()),
        ("force", pa.string()),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        ("wkb", pa.binary()),
        ("repaired", pa.bool_()),
        *((c, pa.float64()) for c in COEFFICIENTS),
    ]
)


_LAYER_SCHEMA = pa.schema(
    [
        *(
            (c, pa.string())
            for c in ("layer_id", "kind", "series", "name", "file", "format", "force")
        ),
        ("valid_from", pa.date32()),
        ("valid_to", pa.date32()),
        *((c, pa.string()) for c in ("source_url", "licence", "attribution", "sha256")),
        ("areas", pa.int32()),
        ("repaired", pa.int32()),
        ("population_method", pa.string()),
    ]
)


def _staged_layer(layer: Layer, frame: gpd.GeoDataFrame) -> dict:
    return {
        "layer_id": layer.id,
        "kind": layer.kind,
        "series": layer.series,
        "name": layer.name,
        "file": layer.file,
        "format": layer.format,
        "force": layer.force,
        "valid_from": layer.valid_from,
        "valid_to": layer.valid_to,
        "source_url": layer.source_url,
        "licence": layer.licence,
        "attribution": layer.attribution,
        "sha256": sha256_tree(layer.path),
        "areas": len(frame),
        "repaired": int(frame["repaired"].sum()),
        "population_method": None,  # set by load_population
    }


def _lookup_rows(
    lookup: Lookup, frames: dict[str, gpd.GeoDataFrame], where: str
) -> tuple[pd.DataFrame, str | None]:
    """Rows of one lookup whose source area is in the from-layer; their targets must exist."""
    what = f"{where}: lookup '{lookup.id}' ({lookup.path})"
    table = pd.read_csv(lookup.path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for column in (lookup.from_field, lookup.to_field):
        if column not in table.columns:
            raise GeographyError(f"{what}: no column {column!r}; has {list(table.columns)}")
    rows = pd.DataFrame(
        {
            "lookup_id": lookup.id,
            "from_layer_id": lookup.from_layer,
            "from_code": table[lookup.from_field].str.strip(),
            "to_layer_id": lookup.to_layer,
            "to_code": table[lookup.to_field].str.strip(),
        }
    )
    sources = set(frames[lookup.from_layer]["code"])
    targets = set(frames[lookup.to_layer]["code"])
    kept = rows[rows["from_code"].isin(sources)]
    if kept["from_code"].duplicated().any():
        dup = kept.loc[kept["from_code"].duplicated(), "from_code"].iloc[0]
        raise GeographyError(
            f"{what}: {dup!r} maps to more than one area; a best-fit lookup"
            " gives each small area one target"
        )
    unknown = kept.loc[~kept["to_code"].isin(targets), "to_code"]
    if len(unknown):
        raise GeographyError(
            f"{what}: {unknown.nunique()} target code(s) are not in layer '{lookup.to_layer}',"
            f" e.g. {unknown.iloc[0]!r}: is the lookup for this vintage?"
        )
    note = None
    unmapped = sources - set(kept["from_code"])
    if unmapped:
        note = f"lookup '{lookup.id}': {len(unmapped)} area(s) of '{lookup.from_layer}' unmapped"
    return kept, note


def _members(manifest: Manifest) -> pd.DataFrame:
    parts = [
        read_members(layer).assign(layer_id=layer.id, member_layer_id=layer.small_area_layer)
        for layer in manifest.layers
        if layer.format == "small-area-csv"
    ]
    columns = ["layer_id", "code", "member_layer_id", "small_area_code"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in columns}).rename(
            columns={"small_area_code": "member_code"}
        )
    frame = pd.concat(parts, ignore_index=True)[columns].drop_duplicates()
    return frame.rename(columns={"small_area_code": "member_code"})


def load_boundaries(con: duckdb.DuckDBPyConnection, manifest: Manifest) -> LoadReport:
    """Read, check and (re)load every layer and lookup of the manifest in one transaction.

    Layers declared by a source load once fetched (stopsearch.geography.fetched); until then
    they are left out, with a note.
    """
    manifest, skipped = without_unbuilt(manifest)
    check_manifest_vintages(con, manifest)
    frames = _read_all(manifest)
    report = LoadReport(notes=skipped)
    layer_rows, area_parts = [], []
    for layer in manifest.layers:
        frame = frames[layer.id]
        layer_rows.append(_staged_layer(layer, frame))
        area_parts.append(_staged_areas(layer, frame))
        repaired = frame.loc[frame["repaired"], "code"].tolist()
        report.layers.append(LayerReport(layer.id, layer.kind, len(frame), repaired))
        if repaired:
            report.notes.append(
                f"layer '{layer.id}': repaired invalid geometry of {len(repaired)} area(s):"
                f" {', '.join(repaired[:10])}"
            )
    lookup_parts = []
    for lookup in manifest.lookups:
        rows, note = _lookup_rows(lookup, frames, str(manifest.path))
        lookup_parts.append(rows)
        report.lookups[lookup.id] = len(rows)
        if note:
            report.notes.append(note)
    staged = {
        "staged_layers": pa.Table.from_pylist(layer_rows, schema=_LAYER_SCHEMA),
        "staged_areas": pa.Table.from_pandas(
            pd.concat(area_parts, ignore_index=True), schema=_AREA_SCHEMA, preserve_index=False
        ),
        "staged_members": _members(manifest),
        "staged_lookups": pd.concat(lookup_parts, ignore_index=True)
        if lookup_parts
        else pd.DataFrame(
            columns=["lookup_id", "from_layer_id", "from_code", "to_layer_id", "to_code"], dtype=str
        ),
    }
    for name, table in staged.items():
        con.register(name, table)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for name in (
                "delete_lookups",
                "delete_members",
                "delete_areas",
                "delete_layers",
                "insert_layers",
                "insert_areas",
                "insert_members",
                "insert_lookups",
            ):
                SQL.execute(con, name)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise GeographyError(f"{manifest.path}: loading boundaries failed: {exc}") from exc
    finally:
        for name in staged:
            con.unregister(name)
    return report
