"""Text serialisers with fixed formatting: GeoJSON, KML, CSV, TOML and JSON (pure functions)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from xml.sax.saxutils import escape

import numpy as np
import shapely

Scalar = str | int | float | bool


def fmt_micro(q: int) -> str:
    """Integer micro-degrees as fixed 6-decimal text."""
    sign = "-" if q < 0 else ""
    q = abs(int(q))
    return f"{sign}{q // 1_000_000}.{q % 1_000_000:06d}"


def fmt_coord(x: float) -> str:
    """A coordinate already on the 6-decimal grid, as exact 6-decimal text."""
    return fmt_micro(int(np.rint(x * 1_000_000)))


def _rings(poly: shapely.Polygon) -> list[np.ndarray]:
    return [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords) for r in poly.interiors]


def _polygons(geom: shapely.Geometry) -> list[shapely.Polygon]:
    return list(geom.geoms) if isinstance(geom, shapely.MultiPolygon) else [geom]


def _geojson_geometry(geom: shapely.Geometry) -> str:
    def ring(coords: np.ndarray) -> str:
        return "[" + ",".join(f"[{fmt_coord(x)},{fmt_coord(y)}]" for x, y in coords) + "]"

    def poly(p: shapely.Polygon) -> str:
        return "[" + ",".join(ring(r) for r in _rings(p)) + "]"

    polys = _polygons(geom)
    if len(polys) == 1:
        return '{"type":"Polygon","coordinates":' + poly(polys[0]) + "}"
    return '{"type":"MultiPolygon","coordinates":[' + ",".join(poly(p) for p in polys) + "]}"


def geojson_text(name: str, features: Iterable[tuple[dict[str, Scalar], shapely.Geometry]]) -> str:
    """A FeatureCollection, one feature per line, properties in the given order."""
    lines = []
    for props, geom in features:
        p = json.dumps(props, ensure_ascii=False, separators=(",", ":"))
        lines.append(f'{{"type":"Feature","properties":{p},"geometry":{_geojson_geometry(geom)}}}')
    head = f'{{"type":"FeatureCollection","name":{json.dumps(name)},"features":[\n'
    return head + ",\n".join(lines) + "\n]}\n"


Placemark = tuple[str, str, dict[str, str], shapely.Geometry]  # name, description, data, geom


def kml_text(
    title: str, schema: str, fields: Sequence[str], placemarks: Iterable[Placemark]
) -> str:
    """A KML document: one Placemark (name, description, ExtendedData, polygon) per area."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        "<Document>",
        f"<name>{escape(title)}</name>",
        f'<Schema name="{schema}" id="{schema}">',
        *[f'<SimpleField name="{f}" type="string"/>' for f in fields],
        "</Schema>",
    ]
    for name, description, data, geom in placemarks:
        simple = "".join(
            f'<SimpleData name="{k}">{escape(v)}</SimpleData>' for k, v in data.items()
        )
        out += [
            "<Placemark>",
            f"<name>{escape(name)}</name>",
            f"<description>{escape(description)}</description>",
            f'<ExtendedData><SchemaData schemaUrl="#{schema}">{simple}</SchemaData></ExtendedData>',
        ]
        polys = _polygons(geom)
        if len(polys) > 1:
            out.append("<MultiGeometry>")
        for p in polys:
            rings = _rings(p)
            out.append("<Polygon>")
            for k, r in enumerate(rings):
                tag = "outerBoundaryIs" if k == 0 else "innerBoundaryIs"
                coords = " ".join(f"{fmt_coord(x)},{fmt_coord(y)}" for x, y in r)
                out.append(f"<{tag}><LinearRing><coordinates>{coords}</coordinates></LinearRing>"
                           f"</{tag}>")
            out.append("</Polygon>")
        if len(polys) > 1:
            out.append("</MultiGeometry>")
        out.append("</Placemark>")
    out += ["</Document>", "</kml>", ""]
    return "\n".join(out)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Scalar]], crlf: bool = False) -> str:
    """CSV via the csv module (quote only when needed); LF unless `crlf`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def toml_text(comment: str, top: dict, arrays: Sequence[tuple[str, dict]]) -> str:
    """A small TOML document: a comment, top-level keys, then [[array]] tables, keys in order."""
    lines = [f"# {line}" if line else "#" for line in comment.splitlines()]
    lines += [""] + [f"{k} = {_toml_value(v)}" for k, v in top.items()]
    for name, values in arrays:
        lines += ["", f"[[{name}]]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def json_text(obj: object) -> str:
    """Indented JSON with keys in insertion order and a trailing newline."""
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"
