"""A tiny county built in code for publish tests: two wards over four small areas, a few records.

Small areas S1..S4 are boxes in a row near (-1.9, 52.4); wards W1 = S1+S2 and W2 = S3+S4; the
population table gives each small area `PERSONS` residents. Records sit in the middle of S1 and
S3. Everything is written by the tests' own code, so each test shows what it feeds in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import shapely
from click.testing import CliRunner, Result

from stopsearch.cli import main
from stopsearch.geography.census import CENSUS2011_LSOA14
from tests.factories import row, write_csv
from tests.geo_factories import box, write_manifest

X0, Y0, D = -1.9, 52.4, 0.01
SMALL = {f"S{i + 1}": box(X0 + i * D, Y0, X0 + (i + 1) * D, Y0 + D) for i in range(4)}
WARDS = {"W1": box(X0, Y0, X0 + 2 * D, Y0 + D), "W2": box(X0 + 2 * D, Y0, X0 + 4 * D, Y0 + D)}
PERSONS = 1400  # per small area: 100 in each of the 14 census groups
POINTS = [(X0 + 0.5 * D, Y0 + 0.5 * D), (X0 + 2.5 * D, Y0 + 0.5 * D)]  # in S1/W1 and S3/W2


def _swap(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: xy[:, ::-1])


def write_layer(
    path: Path, polygons: dict[str, shapely.Geometry], names: dict[str, str], swap: bool
) -> None:
    """A GeoJSON layer (code, name, parent); `swap` writes latitude first, as a broken file."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": names.get(code, f"Area {code}"), "parent": "LA1"},
            "geometry": json.loads(shapely.to_geojson(_swap(geom) if swap else geom)),
        }
        for code, geom in polygons.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def county(
    folder: Path,
    *,
    ward_crs: str | None = None,
    swap: bool = False,
    wards: Sequence[str] = ("W1", "W2"),
    names: dict[str, str] | None = None,
) -> Path:
    """Write the boundary manifest, layers and population into `folder`; return the manifest.

    `ward_crs` declares a CRS for the ward file (its coordinates stay lon/lat); `swap` writes
    the ward file with latitude first; `wards` keeps only some wards; `names` renames areas.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write_layer(folder / "small.geojson", SMALL, names or {}, swap=False)
    write_layer(folder / "wards.geojson", {c: WARDS[c] for c in wards}, names or {}, swap)
    groups = [column for column, _, _ in CENSUS2011_LSOA14.groups]
    lines = [",".join(["LSOA", "Persons", *groups])]
    lines += [",".join([code, str(PERSONS), *["100"] * len(groups)]) for code in SMALL]
    (folder / "population.csv").write_text("\n".join(lines) + "\n")
    layer = {"code_field": "code", "name_field": "name", "parent_field": "parent"}
    ward = {"id": "wards", "kind": "ward", "name": "Wards", "file": "wards.geojson", **layer}
    if ward_crs:
        ward["crs"] = ward_crs
    source = {"source_url": "https://example.org/test", "licence": "CC0-1.0", "attribution": "t"}
    return write_manifest(
        folder / "manifest.toml",
        [
            {"id": "small", "kind": "small_area", "name": "Small areas", "file": "small.geojson",
             **layer},
            ward,
        ],
        population=[
            {
                "id": "census",
                "file": "population.csv",
                "columns": "census2011-lsoa14",
                "census_year": 2011,
                "layer": "small",
                **source,
            }
        ],
    )


def records(
    folder: Path,
    month: str = "2023-01",
    rows: int = 6,
    points: Sequence[tuple[float, float]] = POINTS,
    **fields: str,
) -> Path:
    """One force-month file of `rows` records spread over `points` (other fields as given)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(rows):
        lon, lat = points[i % len(points)]
        out.append(
            row(Date=f"{month}-05T14:32:00+00:00", Latitude=f"{lat:.6f}",
                Longitude=f"{lon:.6f}", **fields)
        )
    return write_csv(folder, out, month=month)


def config(
    folder: Path,
    sources: Path,
    manifest: Path | None,
    extra: str = "",
    warehouse: str = "warehouse.duckdb",
) -> Path:
    """A stopsearch.toml publishing `sources` into folder/site with its own warehouse."""
    text = (
        "[publish]\n"
        f'output = "{folder / "site"}"\n'
        f'warehouse = "{folder / warehouse}"\n'
        "[sources]\n"
        f'paths = ["{sources}"]\n'
    )
    if manifest is not None:
        text += f'[boundaries]\nmanifest = "{manifest}"\n'
    path = folder / "stopsearch.toml"
    path.write_text(text + extra)
    return path


def publish(config_path: Path, *options: str) -> Result:
    """`stopsearch publish --config FILE --json OPTIONS...` in this process."""
    return CliRunner().invoke(
        main, ["publish", "--config", str(config_path), "--json", *options], catch_exceptions=False
    )


def status(warehouse: Path) -> dict:
    """`stopsearch --db FILE status --json`, parsed."""
    result = CliRunner().invoke(main, ["--db", str(warehouse), "status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
