"""Every output file of the demo as text, keyed by relative path (no I/O here)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from stopsearch.demo import reference as R
from stopsearch.demo import vocab as V
from stopsearch.demo.formats import (
    Scalar,
    csv_text,
    fmt_micro,
    geojson_text,
    kml_text,
    toml_text,
)
from stopsearch.demo.geography import LAYERS_VALID_FROM, Geography
from stopsearch.police_files import archive_member

BOUNDARIES = "boundaries"
SMALL_AREAS = "boundaries/small-areas.geojson"
LOCAL_AUTHORITIES = "boundaries/local-authorities.geojson"
NEIGHBOURHOODS = "boundaries/neighbourhoods.kml"
PRIORITY_AREAS = "boundaries/priority-areas.csv"
SMALL_AREA_TO_WARD = "boundaries/small-area-to-ward.csv"
POSTCODES = "boundaries/postcodes.csv"
MANIFEST = "boundaries/manifest.toml"
POPULATION = "population/small-area-ethnic-group.csv"
POPULATION_COLUMNS = "population/small-area-ethnic-group.columns.json"
SNAP_POINTS = "snap_points.csv"
TRUTH = "truth.json"
README = "README.md"
SMALL_AREA_LAYER = "demo-small-areas"


def ward_file(label: str) -> str:
    """Relative path of a ward vintage's GeoJSON."""
    return f"boundaries/wards-{label}.geojson"


def record_file(month: str) -> str:
    """Relative path of one month's data.police.uk-style CSV (month as YYYY-MM)."""
    return "records/" + archive_member(V.FORCE, date.fromisoformat(f"{month}-01"))


def _yy(label: str) -> str:
    return label[-2:]


def boundary_files(geo: Geography) -> dict[str, str]:
    """Small areas, LAs, both ward vintages, neighbourhoods KML, priority areas and lookup."""
    out: dict[str, str] = {}
    la_yy = _yy(geo.wards[0].label)
    order = [int(c) for c in geo.sa_order]
    out[SMALL_AREAS] = geojson_text("small-areas", [
        ({"SA21CD": geo.sa_codes[c], "SA21NM": geo.sa_names[c],
          f"LAD{la_yy}CD": geo.la_codes[int(geo.sa_la[c])]}, geo.sa_geoms[c])
        for c in order
    ])
    out[LOCAL_AUTHORITIES] = geojson_text("local-authorities", [
        ({f"LAD{la_yy}CD": code, f"LAD{la_yy}NM": name}, geom)
        for code, name, geom in zip(geo.la_codes, geo.la_names, geo.la_geoms, strict=True)
    ])
    for w in geo.wards:
        yy = _yy(w.label)
        feats: list[tuple[dict[str, Scalar], Any]] = [
            ({f"WD{yy}CD": code, f"WD{yy}NM": name, f"LAD{yy}CD": geo.la_codes[int(la)],
              f"LAD{yy}NM": geo.la_names[int(la)]}, geom)
            for code, name, la, geom in zip(w.codes, w.names, w.la, w.geoms, strict=True)
        ]
        out[ward_file(w.label)] = geojson_text(f"wards-{w.label}", sorted(feats, key=_code0))
    out[NEIGHBOURHOODS] = kml_text(
        f"{V.COUNTY_NAME} neighbourhoods",
        "neighbourhood",
        ("neighbourhood_code", "neighbourhood_name", "force"),
        [
            (code, name,
             {"neighbourhood_code": code, "neighbourhood_name": name, "force": V.FORCE}, geom)
            for code, name, geom in zip(geo.nb_codes, geo.nb_names, geo.nb_geoms, strict=True)
        ],
    )
    out[PRIORITY_AREAS] = csv_text(
        ("priority_code", "priority_name", "small_area_code", "designated_from", "designated_to"),
        [
            (p.code, p.name, code, p.designated_from, p.designated_to)
            for p in geo.priority
            for code in sorted(geo.sa_codes[c] for c in p.cells)
        ],
    )
    out[SMALL_AREA_TO_WARD] = csv_text(
        ("small_area_code", *[f"ward_code_{w.label}" for w in geo.wards], "la_code"),
        [
            (geo.sa_codes[c], *[w.codes[int(w.of_cell[c])] for w in geo.wards],
             geo.la_codes[int(geo.sa_la[c])])
            for c in order
        ],
    )
    return out


# Letters of an inward code's last two characters (the ONS Postcode Directory never uses C, I, K,
# M, O or V there).
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
POSTCODE_AREA = "DS"  # no real postcode area is "DS": every demo postcode is fictional


def postcodes_text(geo: Geography) -> str:
    """A FICTIONAL postcode lookup in the ONS Postcode Directory's column names (`pcd`, `pcds`,
    `doterm`, `lsoa21`): 2 to 5 postcodes in each small area, plus a terminated one in every
    13th. Outward codes DS1 to DS13 (20 small areas each, in code order); no randomness."""
    rows = []
    for rank, cell in enumerate(int(c) for c in geo.sa_order):
        outward = f"{POSTCODE_AREA}{1 + rank // 20}"
        sector = rank % 10
        half = (rank // 10) % 2 * 5  # the two small areas of a sector use different letters
        units = [
            (_UNIT_LETTERS[half + j] + _UNIT_LETTERS[(rank * 3 + j) % 20], "")
            for j in range(2 + rank % 4)
        ]
        if rank % 13 == 0:
            units.append((_UNIT_LETTERS[10 + half // 5] + "Z", "202312"))
        for unit, ended in units:
            pcds = f"{outward} {sector}{unit}"
            rows.append((f"{outward:<4}{sector}{unit}", pcds, ended, geo.sa_codes[cell]))
    return csv_text(("pcd", "pcds", "doterm", "lsoa21"), sorted(rows, key=lambda r: r[1]))


def _code0(feature: tuple[dict, object]) -> str:
    return str(next(iter(feature[0].values())))


def _source() -> dict:
    return {"source_url": V.SOURCE_URL, "licence": V.LICENCE, "attribution": V.ATTRIBUTION}


def _layer(id_: str, kind: str, name: str, file: str, fmt: str, code: str, label: str,
           parent: str | None, valid_from: date, valid_to: date | None, **extra) -> dict:
    out: dict[str, str | date] = {
           "id": id_, "kind": kind, "series": id_.rsplit("-", 1)[0] if kind == "ward" else id_,
           "name": name, "file": file, "format": fmt, "code_field": code, "name_field": label}
    if parent:
        out["parent_field"] = parent
    out["valid_from"] = valid_from
    if valid_to:
        out["valid_to"] = valid_to
    return {**out, **extra, "crs": "EPSG:4326", **_source()}


def manifest_text(geo: Geography, seed: int) -> str:
    """boundaries/manifest.toml: every layer, the small-area-to-ward lookups and the population.

    The schema is the one stopsearch.geography.manifest reads ([[layer]], [[lookup]],
    [[population]]); paths are relative to this folder.
    """
    yy = _yy(geo.wards[0].label)
    start = date.fromisoformat(LAYERS_VALID_FROM)
    county = V.COUNTY_NAME
    layers = [
        _layer(SMALL_AREA_LAYER, "small_area", f"{county} small areas", "small-areas.geojson",
               "geojson", "SA21CD", "SA21NM", f"LAD{yy}CD", start, None),
        _layer("demo-local-authorities", "local_authority", f"{county} local authorities",
               "local-authorities.geojson", "geojson", f"LAD{yy}CD", f"LAD{yy}NM", None, start,
               None),
    ]
    for w in geo.wards:
        wy = _yy(w.label)
        layers.append(_layer(
            f"demo-wards-{w.label}", "ward", f"{county} wards ({w.label} vintage)",
            f"wards-{w.label}.geojson", "geojson", f"WD{wy}CD", f"WD{wy}NM", f"LAD{wy}CD",
            date.fromisoformat(w.valid_from),
            date.fromisoformat(w.valid_to) if w.valid_to else None,
        ))
    layers.append(_layer(
        "demo-neighbourhoods", "neighbourhood", f"{county} neighbourhoods", "neighbourhoods.kml",
        "kml", "neighbourhood_code", "neighbourhood_name", None, start, None, force=V.FORCE,
    ))
    layers.append(_layer(
        "demo-priority-areas", "priority_area", f"{county} priority areas", "priority-areas.csv",
        "small-area-csv", "priority_code", "priority_name", None, start, None,
        small_area_layer=SMALL_AREA_LAYER, small_area_field="small_area_code",
        designated_from_field="designated_from", designated_to_field="designated_to",
    ))
    lookups = [
        {"id": f"demo-small-areas-to-wards-{w.label}", "from_layer": SMALL_AREA_LAYER,
         "to_layer": f"demo-wards-{w.label}", "file": "small-area-to-ward.csv",
         "from_field": "small_area_code", "to_field": f"ward_code_{w.label}", **_source()}
        for w in geo.wards
    ]
    postcodes = {
        "id": "demo-postcodes", "file": "postcodes.csv", "small_area_layer": SMALL_AREA_LAYER,
        "small_area_field": "lsoa21", "postcode_field": "pcds", "end_field": "doterm",
        **_source(),
    }
    reference = {
        "id": "demo-national-reference", "file": "../" + R.FILE,
        "format": "ethnicity-facts-figures", "area": R.AREA, "period": R.PERIOD,
        "period_start": date(2023, 4, 1), "period_end": date(2024, 3, 31), "note": R.NOTE,
        "fictional": True, **_source(),
    }
    population = {
        "id": "demo-population-ts021", "file": "../" + POPULATION, "columns": "census2021-ts021",
        "code_field": V.TS021_CODE_COLUMN, "census_year": 2021, "layer": SMALL_AREA_LAYER,
        "layer_kind": "small_area", **_source(),
    }
    comment = (
        f"Boundary layers of {county}: FICTIONAL demonstration data (seed {seed}).\n"
        "Generated by stopsearch demo; not real places or people.\n"
        "Coordinates are EPSG:4326 lon/lat with 6 decimals; neighbouring polygons share\n"
        "identical vertices. valid_to and designated_to are inclusive; a missing valid_to or an\n"
        "empty designated_to means open-ended. Small areas nest in the wards of both vintages,\n"
        "so the best-fit lookups are exact. Population column map: "
        "../population/small-area-ethnic-group.columns.json"
    )
    return toml_text(comment, {"title": f"{county} demonstration boundaries"},
                     [("layer", layer) for layer in layers]
                     + [("lookup", lk) for lk in lookups] + [("population", population)]
                     + [("reference", reference)] + [("postcodes", postcodes)])


def population_files(geo: Geography, pop: np.ndarray) -> tuple[str, dict]:
    """TS021-shaped CSV and its column map.

    Columns as in the Nomis bulk file: date, geography, geography code, total, then per broad
    group its subtotal followed by its detailed groups.
    """
    header: list[str] = ["date", "geography", V.TS021_CODE_COLUMN, V.TS021_TOTAL_COLUMN]
    index: list[tuple[str, list[int]]] = []  # per column after the total: detailed indices
    for broad in V.BROAD_GROUPS:
        members = [i for i, g in enumerate(V.GROUPS) if g.broad == broad]
        header.append(V.TS021_BROAD_COLUMNS[broad])
        index.append((broad, members))
        for i in members:
            header.append(V.GROUPS[i].ts021_column)
            index.append((broad, [i]))
    rows: list[tuple[Scalar, ...]] = [
        ("2021", geo.sa_names[c], geo.sa_codes[c], int(pop[c].sum()),
         *[int(pop[c, members].sum()) for _, members in index])
        for c in (int(c) for c in geo.sa_order)
    ]
    columns = {
        "description": "Column map of small-area-ethnic-group.csv (fictional counts, shaped like "
        "Census 2021 table TS021 at LSOA level). The 19 detailed columns sum to the total; each "
        "broad subtotal column is the sum of its detailed columns.",
        "code_column": V.TS021_CODE_COLUMN,
        "name_column": "geography",
        "total_column": V.TS021_TOTAL_COLUMN,
        "broad_groups": list(V.BROAD_GROUPS),
        "broad_subtotal_columns": {V.TS021_BROAD_COLUMNS[b]: b for b in V.BROAD_GROUPS},
        "columns": {
            g.ts021_column: {"key": g.key, "detailed": g.detailed, "broad": g.broad,
                             "police_label": g.current_label}
            for g in V.GROUPS
        },
    }
    return csv_text(header, rows), columns


def snap_points_text(geo: Geography, snaps) -> str:
    """snap_points.csv: every point records may use, with its areas and the on-edge flag."""
    pa_of: dict[int, list[str]] = {}
    for p in geo.priority:
        for c in p.cells:
            pa_of.setdefault(int(c), []).append(p.code)
    rows = []
    for i, pid in enumerate(snaps.ids):
        c = int(snaps.cell[i])
        rows.append((
            pid, fmt_micro(int(snaps.micro[i, 1])), fmt_micro(int(snaps.micro[i, 0])),
            geo.sa_codes[c], *[w.codes[int(w.of_cell[c])] for w in geo.wards],
            geo.nb_codes[int(geo.sa_nb[c])], ";".join(sorted(pa_of.get(c, []))),
            "true" if snaps.on_edge[i] else "false",
        ))
    header = ("point_id", "latitude", "longitude", "small_area_code",
              *[f"ward_code_{w.label}" for w in geo.wards], "neighbourhood_code",
              "priority_codes", "on_edge")
    return csv_text(header, rows)
