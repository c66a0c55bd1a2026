"""The CSV twins and GeoJSON layers, written from the same Arrow tables as the Parquet files."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from stopsearch.outputs.csvsafe import safe_table
from stopsearch.outputs.extracts.columns import BBOX, GEOMETRY, Column
from stopsearch.outputs.extracts.tables import WKT


def csv_table(table: pa.Table, columns: tuple[Column, ...]) -> pa.Table:
    """The CSV twin's table: `columns` only, WKT as `geometry`, timestamps as ISO 8601 text."""
    if WKT in table.column_names:
        table = table.drop_columns([GEOMETRY]).rename_columns(
            [GEOMETRY if n == WKT else n for n in table.column_names if n != GEOMETRY]
        )
    table = table.select([c.name for c in columns])
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(index, field.name, iso_timestamps(table.column(index)))
    return table


def iso_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """'YYYY-MM-DDTHH:MM:SS' (with microseconds only when a value has them)."""
    with contextlib.suppress(pa.ArrowInvalid):  # safe cast: fails on any sub-second part
        column = column.cast(pa.timestamp("s"))
    return pc.replace_substring(column.cast(pa.string()), " ", "T", max_replacements=1)


def write_csv(table: pa.Table, path: Path) -> None:
    """UTF-8, comma-separated, header row, '\\n' line ends; null is an empty unquoted field.

    Text is formula-safe (see stopsearch.outputs.csvsafe).
    """
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    pacsv.write_csv(safe_table(table), path, write_options=options)


def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN never reaches here, but be safe
        return None
    return value


def write_geojson(table: pa.Table, path: Path, *, name: str) -> int:
    """RFC 7946 FeatureCollection (exterior rings counter-clockwise); returns the features."""
    skip = {GEOMETRY, BBOX, WKT}
    names = [n for n in table.column_names if n not in skip]
    geoms = shapely.from_wkb(table.column(GEOMETRY).to_numpy(zero_copy_only=False))
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    rows = table.select(names).to_pylist()
    features = []
    for row, geom in zip(rows, geoms, strict=True):
        features.append(
            {
                "type": "Feature",
                "properties": {k: _json_value(v) for k, v in row.items()},
                "geometry": None if geom is None else shapely.geometry.mapping(geom),
            }
        )
    collection = {"type": "FeatureCollection", "name": name, "features": features}
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return len(features)
