"""Build geography test inputs in code: searches rows, GeoJSON layers and manifests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import shapely

SOURCE = {
    "source_url": "https://example.org/test",
    "licence": "CC0-1.0",
    "attribution": "Test data made in code",
}


def write_search_rows(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> list[int]:
    """Write plausible records as the ingest stores them; return their search ids in order.

    `frame` has columns force, month (first day), line, published (timestamp text), datetime,
    lat and lon. Each force-month gets a load (made when missing), each record a lean row in
    `search_rows` (read back through the view `searches`); a search id is
    load_id * 10,000,000 + line.
    """
    frame = frame.assign(month=pd.to_datetime(frame["month"]).dt.date)
    loads: dict[tuple[str, object], int] = {}
    for force, month in frame[["force", "month"]].drop_duplicates().itertuples(index=False):
        found = con.execute(
            "SELECT load_id FROM loads WHERE force = ? AND month = ?", [force, month]
        ).fetchone()
        if found is None:
            found = con.execute(
                "INSERT INTO loads VALUES (nextval('load_id_seq'), ?, ?, 'test.csv', 'csv', '',"
                " 0, 0, 0, now()::TIMESTAMP, '') RETURNING load_id",
                [force, month],
            ).fetchone()
        loads[(force, month)] = int(found[0])
    frame = frame.assign(
        load_id=[loads[(f, m)] for f, m in zip(frame["force"], frame["month"], strict=True)]
    )
    con.register("_test_searches", frame)
    con.execute(
        """
        INSERT INTO search_rows (load_id, source_line, datetime_odd, datetime, type,
            latitude, longitude, self_defined_ethnicity, self_defined_group,
            officer_defined_group, object_group, outcome_class)
        SELECT load_id, line, published, datetime, 'Person search', lat, lon, 'Not stated',
            'Not stated', 'Unknown', 'unknown', 'unknown'
        FROM _test_searches
        """
    )
    con.unregister("_test_searches")
    con.execute(
        "UPDATE loads SET rows_read = n, rows_loaded = n FROM (SELECT load_id, count(*) AS n"
        " FROM search_rows GROUP BY load_id) AS c WHERE loads.load_id = c.load_id"
    )
    return [int(i) * 10_000_000 + int(n) for i, n in zip(frame.load_id, frame.line, strict=True)]


def insert_searches(
    con: duckdb.DuckDBPyConnection,
    points: Iterable[tuple[float | None, float | None]],
    *,
    when: datetime | Sequence[datetime] = datetime(2017, 1, 15, 12, 0),
    force: str = "testshire",
    month: str | None = None,
    first_id: int = 1,
) -> list[int]:
    """Insert one plausible search per (lon, lat) point (lines first_id, first_id + 1, ...) into
    its force-month; return the search ids."""
    points = list(points)
    whens = list(when) if isinstance(when, Sequence) else [when] * len(points)
    frame = pd.DataFrame(
        {
            "force": force,
            "month": [
                pd.Timestamp(month + "-01") if month else pd.Timestamp(w.year, w.month, 1)
                for w in whens
            ],
            "line": range(first_id, first_id + len(points)),
            "published": [f"{w:%Y-%m-%dT%H:%M:%S}+00:00" for w in whens],
            "datetime": pd.to_datetime(whens),
            "lon": [p[0] for p in points],
            "lat": [p[1] for p in points],
        }
    )
    return write_search_rows(con, frame)


def write_geojson(
    path: Path, polygons: dict[str, shapely.Geometry], parent: str | None = "LA1"
) -> Path:
    """A GeoJSON FeatureCollection with properties code, name (and parent)."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": f"Area {code}", "parent": parent},
            "geometry": json.loads(shapely.to_geojson(geom)),
        }
        for code, geom in polygons.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def toml_value(value: object) -> str:
    """A TOML literal for a str, bool, int or date."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def write_manifest(path: Path, layers: list[dict], **sections: list[dict]) -> Path:
    """A manifest with [[layer]] tables (source fields filled in) and other arrays of tables."""
    lines: list[str] = []
    for kind, entries in (("layer", layers), *sections.items()):
        for entry in entries:
            lines.append(f"[[{kind}]]")
            full = {**SOURCE, **entry}
            for key, value in full.items():
                if isinstance(value, dict):
                    continue
                lines.append(f"{key} = {toml_value(value)}")
            for key, value in full.items():
                if isinstance(value, dict):
                    lines.append(f"[{kind}.{key}]")
                    lines.extend(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
            lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


GEO_TABLES = (
    "search_priority_areas",
    "search_areas",
    "population",
    "population_methods",
    "area_lookups",
    "area_members",
    "areas",
    "boundary_layers",
    "search_rows",
    "loads",
)


def clear(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Empty the geography tables and searches, so one warehouse serves a whole test module."""
    for table in GEO_TABLES:
        con.execute(f"DELETE FROM {table}")
    return con


def polygon_layer(
    layer_id: str, polygons: dict[str, shapely.Geometry], kind: str = "ward", **fields: object
) -> dict:
    """A layer entry for `load_polygons`: its polygons and manifest fields."""
    return {"id": layer_id, "kind": kind, "polygons": polygons, **fields}


def load_polygons(
    con: duckdb.DuckDBPyConnection, folder: Path, *layers: dict, **sections: list[dict]
):
    """Write each layer as GeoJSON and a manifest into folder, load them, return the manifest."""
    from stopsearch.geography.load import load_boundaries
    from stopsearch.geography.manifest import load_manifest

    entries = []
    for layer in layers:
        layer = dict(layer)
        if "polygons" not in layer:  # a complete entry (e.g. a CSV layer): as given
            entries.append(layer)
            continue
        polygons = layer.pop("polygons")
        parent = layer.pop("parent", "LA1")
        write_geojson(folder / f"{layer['id']}.geojson", polygons, parent)
        entry = {
            "name": f"Test {layer['id']}",
            "file": f"{layer['id']}.geojson",
            "code_field": "code",
            "name_field": "name",
            "parent_field": "parent",
            **layer,
        }
        entries.append(entry)
    manifest = load_manifest(write_manifest(folder / "manifest.toml", entries, **sections))
    load_boundaries(con, manifest)
    return manifest


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """An axis-aligned rectangle."""
    return shapely.box(x0, y0, x1, y1)
