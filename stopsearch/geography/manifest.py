"""Read and validate a boundary manifest (TOML): layers, lookups and population tables."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stopsearch.errors import GeographyError

KINDS = ("ward", "neighbourhood", "priority_area", "small_area", "local_authority")
FORMATS = ("geojson", "gpkg", "shapefile", "kml", "police-json", "small-area-csv")
REPAIRS = ("make_valid", "refuse")
POPULATION_METHODS = (
    "lookup",
    "nested",
    "population_weighted_centroid",
    "centroid",
    "area_weighted",
    "finer_points",
)
FILENAME_CODE = "@filename"  # code_field value: take the code from each file's name (KML, JSON)
POLICE_API = "police-api"  # source value: the force's neighbourhoods from data.police.uk
POLICE_API_DEFAULTS = {
    "source_url": "https://data.police.uk/docs/method/neighbourhood-boundary/",
    "licence": "OGL-UK-3.0",
    "attribution": "Contains public sector information licensed under the Open Government"
    " Licence v3.0 (data.police.uk).",
}
DEFAULT_REFRESH_DAYS = 7  # police-api layers: days between checks of the boundaries
# Formats a URL source may have (a single downloaded file).
URL_FORMATS = ("geojson", "gpkg", "shapefile", "kml")

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_EXTENSIONS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shapefile",
    ".zip": "shapefile",
    ".kml": "kml",
    ".csv": "small-area-csv",
}
_EXAMPLES = {
    "id": '"wm-wards-2013"',
    "kind": '"ward"',
    "series": '"wm-wards"',
    "name": '"West Midlands wards (December 2013)"',
    "file": '"boundaries/wards-2013.geojson"',
    "format": '"geojson"',
    "code_field": '"WD13CD"',
    "name_field": '"WD13NM"',
    "parent_field": '"LAD13CD"',
    "parent_name_field": '"LAD13NM"',
    "valid_from": "2013-12-31",
    "valid_to": "2018-05-02",
    "source_url": '"https://geoportal.statistics.gov.uk/"',
    "licence": '"OGL-UK-3.0"',
    "attribution": '"Source: Office for National Statistics licensed under the OGL v3.0"',
    "force": '"west-midlands"',
    "repair": '"make_valid"',
    "crs": '"EPSG:27700"',
    "layer_name": '"wards"',
    "names_file": '"neighbourhoods/west-midlands.json"',
    "small_area_layer": '"wm-lsoa-2011"',
    "small_area_field": '"LSOA11CD"',
    "designated_from_field": '"designated_from"',
    "designated_to_field": '"designated_to"',
    "population_method": '"lookup"',
    "centroids_file": '"boundaries/lsoa-2011-pwc.csv"',
    "merge_duplicates": "true",
    "from_layer": '"wm-lsoa-2011"',
    "to_layer": '"wm-wards-2013"',
    "from_field": '"LSOA11CD"',
    "to_field": '"WD16CD"',
    "columns": '"census2011-lsoa14"',
    "census_year": "2011",
    "layer": '"wm-lsoa-2011"',
    "layer_kind": '"local_authority"',
    "data_root": '"../../shared/data"',
    "data_root_env": '"STOPSEARCH_SHARED_DATA"',
    "source": '"police-api"',
    "refresh_days": "7",
    "persons_field": '"Persons"',
    "period": '"year ending 31 March 2024"',
    "period_start": "2023-04-01",
    "period_end": "2024-03-31",
    "area": '"England and Wales"',
    "fictional": "false",
    "postcode_field": '"pcds"',
    "end_field": '"doterm"',
}


@dataclass(frozen=True)
class Layer:
    """One version of one boundary series, as declared in the manifest."""

    id: str
    kind: str
    series: str
    name: str
    file: str
    path: Path
    format: str
    code_field: str
    name_field: str | None
    parent_field: str | None
    valid_from: date | None
    valid_to: date | None
    source_url: str
    licence: str
    attribution: str
    force: str | None = None
    repair: str = "make_valid"
    crs: str | None = None
    layer_name: str | None = None
    names_file: Path | None = None
    small_area_layer: str | None = None
    small_area_field: str | None = None
    designated_from_field: str | None = None
    designated_to_field: str | None = None
    population_method: str | None = None
    centroids_file: Path | None = None
    merge_duplicates: bool = False
    source: str | None = None  # "police-api" or an http(s) URL: fetched, not read from `file`
    refresh_days: int | None = None  # fetched layers: days between checks (None: fetch once)

    @property
    def fetched(self) -> bool:
        """True for a layer declared by its source and not yet built into a file."""
        return self.source is not None and not self.file
    parent_name_field: str | None = None


@dataclass(frozen=True)
class Lookup:
    """An official best-fit lookup from the areas of one layer to those of another."""

    id: str
    from_layer: str
    to_layer: str
    file: str
    path: Path
    from_field: str
    to_field: str
    source_url: str
    licence: str
    attribution: str


@dataclass(frozen=True)
class PopulationTable:
    """A resident population table by ethnic group, keyed by area code."""

    id: str
    file: str
    path: Path
    columns: str | dict[str, Any]
    census_year: int
    layer: str | None
    layer_kind: str
    source_url: str
    licence: str
    attribution: str
    code_field: str | None = None


@dataclass(frozen=True)
class PopulationPoints:
    """Points of a finer population layer (e.g. Output Area population-weighted centroids):
    each small area's residents are shared among areas by where its points' residents are."""

    id: str
    file: str
    path: Path
    small_area_layer: str
    small_area_field: str
    persons_field: str
    code_field: str | None
    source_url: str
    licence: str
    attribution: str


@dataclass(frozen=True)
class Reference:
    """A published table of comparison figures (e.g. England and Wales rates by ethnic group),
    shown beside the force's figures for its own, declared period; never mixed into them."""

    id: str
    file: str
    path: Path
    format: str
    area: str
    period: str
    period_start: date | None
    period_end: date | None
    note: str
    fictional: bool
    source_url: str
    licence: str
    attribution: str


@dataclass(frozen=True)
class PostcodeLookup:
    """Postcodes to the small areas they lie in (a CSV in the ONS Postcode Directory's column
    names: `pcds` and e.g. `lsoa11` or `lsoa21`), for the site's "find your area" search."""

    id: str
    file: str
    path: Path
    small_area_layer: str
    small_area_field: str
    postcode_field: str
    end_field: str  # a postcode with a value here (its termination date) is left out
    source_url: str
    licence: str
    attribution: str


@dataclass(frozen=True)
class Manifest:
    """A validated manifest: where it came from, the data root and every declaration.

    `layers` are read from files; `fetched` are declared by their source (`source =
    "police-api"` or a URL) and become file layers once fetched (`stopsearch.geography.fetched`).
    """

    path: Path
    root: Path
    layers: tuple[Layer, ...]
    lookups: tuple[Lookup, ...] = ()
    populations: tuple[PopulationTable, ...] = ()
    title: str = ""
    fetched: tuple[Layer, ...] = ()
    population_points: tuple[PopulationPoints, ...] = ()
    references: tuple[Reference, ...] = ()
    postcodes: tuple[PostcodeLookup, ...] = ()

    def points_for(self, small_layer: str) -> PopulationPoints | None:
        """The finer population points declared for a small-area layer, if any."""
        for points in self.population_points:
            if points.small_area_layer == small_layer:
                return points
        return None

    def layer(self, layer_id: str) -> Layer:
        """The layer with this id."""
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise GeographyError(f"{self.path}: no layer with id '{layer_id}'")

    def layers_of(self, kind: str) -> tuple[Layer, ...]:
        """Every layer of one kind, in manifest order."""
        return tuple(layer for layer in self.layers if layer.kind == kind)


class _Section:
    """Reads the fields of one manifest entry, raising errors that name file, entry and field."""

    def __init__(self, manifest: Path, what: str, data: Any, allowed: set[str]):
        self.manifest = manifest
        self.what = what
        if not isinstance(data, dict):
            raise GeographyError(f"{manifest}: {what} must be a table of fields")
        self.data = data
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise GeographyError(
                f"{manifest}: {what}: unknown field(s) {', '.join(unknown)};"
                f" allowed fields are {', '.join(sorted(allowed))}"
            )

    def fail(self, key: str, problem: str) -> GeographyError:
        """An error naming the manifest, the entry and the field, with a correct example."""
        example = _EXAMPLES.get(key, '"..."')
        return GeographyError(
            f"{self.manifest}: {self.what}, field '{key}': {problem}"
            f" (for example: {key} = {example})"
        )

    def text(self, key: str, *, required: bool = True, choices: tuple[str, ...] = ()) -> str | None:
        """A non-empty string field, optionally one of `choices`."""
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        if choices and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def required_text(self, key: str, choices: tuple[str, ...] = ()) -> str:
        """A string field that must be present."""
        value = self.text(key, choices=choices)
        assert value is not None
        return value

    def day(self, key: str) -> date | None:
        """An optional date: a TOML date or a 'YYYY-MM-DD' string."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f"must be a date YYYY-MM-DD, got {value!r}")

    def flag(self, key: str, default: bool) -> bool:
        """An optional boolean."""
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value

    def integer(self, key: str) -> int:
        """A required integer."""
        value = self.data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(key, f"must be a whole number, got {value!r}")
        return value

    def file(
        self, key: str, root: Path, *, required: bool = True, check: bool = True
    ) -> Path | None:
        """A path relative to the data root, which must exist when `check` is set."""
        value = self.text(key, required=required)
        if value is None:
            return None
        path = (root / value).resolve()
        if check and not path.exists():
            raise self.fail(key, f"file not found: {path}")
        return path


_LAYER_FIELDS = {
    "id",
    "kind",
    "series",
    "name",
    "file",
    "format",
    "code_field",
    "name_field",
    "parent_field",
    "parent_name_field",
    "valid_from",
    "valid_to",
    "source_url",
    "licence",
    "attribution",
    "force",
    "repair",
    "crs",
    "layer_name",
    "names_file",
    "small_area_layer",
    "small_area_field",
    "designated_from_field",
    "designated_to_field",
    "population_method",
    "centroids_file",
    "merge_duplicates",
    "source",
    "refresh_days",
}
# Fields that describe a file: a layer fetched from the police API has none of them.
_FILE_FIELDS = (
    "file",
    "format",
    "code_field",
    "name_field",
    "parent_field",
    "crs",
    "layer_name",
    "names_file",
    "small_area_layer",
    "small_area_field",
    "designated_from_field",
    "designated_to_field",
    "merge_duplicates",
)
_SOURCE_FIELDS = {"source_url", "licence", "attribution"}
_LOOKUP_FIELDS = {"id", "from_layer", "to_layer", "file", "from_field", "to_field"} | _SOURCE_FIELDS
_POPULATION_FIELDS = {
    "id",
    "file",
    "columns",
    "code_field",
    "census_year",
    "layer",
    "layer_kind",
} | _SOURCE_FIELDS
_POINTS_FIELDS = {
    "id",
    "file",
    "small_area_layer",
    "small_area_field",
    "persons_field",
    "code_field",
} | _SOURCE_FIELDS
REFERENCE_FORMATS = ("ethnicity-facts-figures",)
_REFERENCE_FIELDS = {
    "id",
    "file",
    "format",
    "area",
    "period",
    "period_start",
    "period_end",
    "note",
    "fictional",
} | _SOURCE_FIELDS
_POSTCODE_FIELDS = {
    "id",
    "file",
    "small_area_layer",
    "small_area_field",
    "postcode_field",
    "end_field",
} | _SOURCE_FIELDS
_TOP_FIELDS = {
    "postcodes",
    "title",
    "data_root",
    "data_root_env",
    "layer",
    "lookup",
    "population",
    "population_points",
    "reference",
}


def _identifier(section: _Section, seen: set[str]) -> str:
    value = section.required_text("id")
    if not _ID.match(value):
        raise section.fail(
            "id", f"must be lower-case letters, digits, '.', '_' or '-', got {value!r}"
        )
    if value in seen:
        raise section.fail("id", f"duplicate id {value!r}")
    seen.add(value)
    return value


def _infer_format(section: _Section, file: str) -> str:
    declared = section.text("format", required=False, choices=FORMATS)
    if declared:
        return declared
    suffix = Path(file).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if not suffix:
        raise section.fail("format", f"cannot tell the format of folder {file!r}; declare it")
    raise section.fail("format", f"cannot tell the format of {file!r} from its extension")


def _refresh_days(section: _Section, default: int | None) -> int | None:
    value = section.data.get("refresh_days", default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise section.fail("refresh_days", f"must be a whole number of days >= 0, got {value!r}")
    return value


def _url_format(section: _Section, url: str) -> str:
    """The declared format of a URL source, else from its path or an ArcGIS `f=` parameter."""
    parts = urlsplit(url)
    suffix = Path(parts.path).suffix.lower()
    if suffix == ".shp":
        raise section.fail("source", "a shapefile needs its other files: give the URL of a .zip")
    declared = section.text("format", required=False, choices=URL_FORMATS)
    if declared:
        return declared
    if suffix in _EXTENSIONS and _EXTENSIONS[suffix] in URL_FORMATS:
        return _EXTENSIONS[suffix]
    if dict(parse_qsl(parts.query)).get("f", "").lower() in ("geojson", "pgeojson"):
        return "geojson"
    raise section.fail("format", f"cannot tell the format of {url!r}; declare it")


def _fetched_layer(section: _Section, layer_id: str, kind: str, source: str) -> Layer:
    """A layer declared by its source: the police API's neighbourhoods, or a file at a URL."""
    police = source == POLICE_API
    if not police and urlsplit(source).scheme not in ("http", "https"):
        raise section.fail("source", f'must be "{POLICE_API}" or an http(s) URL, got {source!r}')
    if "file" in section.data:
        raise section.fail("file", "give either file or source, not both")
    if police:
        if kind != "neighbourhood":
            raise section.fail("kind", f'must be "neighbourhood" with source = "{POLICE_API}"')
        extra = [key for key in _FILE_FIELDS if key in section.data]
        if extra:
            raise section.fail(extra[0], f'is not used with source = "{POLICE_API}"')
    fmt = POLICE_API if police else _url_format(section, source)
    defaults = POLICE_API_DEFAULTS if police else {"source_url": source}

    def described(key: str) -> str:
        value = section.text(key, required=key not in defaults)
        return value or defaults[key]

    valid_from, valid_to = section.day("valid_from"), section.day("valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise section.fail("valid_to", f"{valid_to} is before valid_from {valid_from}")
    method = section.text("population_method", required=False, choices=POPULATION_METHODS)
    if method in ("nested", "population_weighted_centroid") or (police and method == "lookup"):
        raise section.fail("population_method", f"{method!r} is not available for a fetched layer")
    return Layer(
        id=layer_id,
        kind=kind,
        series=section.text("series", required=False) or kind,
        name=section.required_text("name"),
        file="",
        path=Path(),  # none until fetched: see Layer.fetched
        format=fmt,
        code_field="code" if police else section.required_text("code_field"),
        name_field="name" if police else section.text("name_field", required=False),
        parent_field=None if police else section.text("parent_field", required=False),
        valid_from=valid_from,
        valid_to=valid_to,
        source_url=described("source_url"),
        licence=described("licence"),
        attribution=described("attribution"),
        force=section.text("force", required=police),
        repair=section.text("repair", required=False, choices=REPAIRS) or "make_valid",
        crs=None if police else section.text("crs", required=False),
        layer_name=None if police else section.text("layer_name", required=False),
        population_method=method,
        merge_duplicates=section.flag("merge_duplicates", False),
        source=source,
        refresh_days=_refresh_days(section, DEFAULT_REFRESH_DAYS if police else None),
    )


def _layer(section: _Section, root: Path, seen: set[str], check: bool) -> Layer:
    layer_id = _identifier(section, seen)
    section.what = f"layer '{layer_id}'"
    kind = section.required_text("kind", KINDS)
    source = section.text("source", required=False)
    if source is not None:
        return _fetched_layer(section, layer_id, kind, source)
    if "refresh_days" in section.data:
        raise section.fail("refresh_days", "is only used with source")
    file = section.required_text("file")
    fmt = _infer_format(section, file)
    path = section.file("file", root, check=check)
    assert path is not None
    valid_from, valid_to = section.day("valid_from"), section.day("valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise section.fail("valid_to", f"{valid_to} is before valid_from {valid_from}")
    small_area_layer = section.text("small_area_layer", required=fmt == "small-area-csv")
    small_area_field = section.text("small_area_field", required=fmt == "small-area-csv")
    method = section.text("population_method", required=False, choices=POPULATION_METHODS)
    centroids = section.file(
        "centroids_file", root, required=method == "population_weighted_centroid", check=check
    )
    return Layer(
        id=layer_id,
        kind=kind,
        series=section.text("series", required=False) or kind,
        name=section.required_text("name"),
        file=file,
        path=path,
        format=fmt,
        code_field=section.required_text("code_field"),
        name_field=section.text("name_field", required=False),
        parent_field=section.text("parent_field", required=False),
        valid_from=valid_from,
        valid_to=valid_to,
        source_url=section.required_text("source_url"),
        licence=section.required_text("licence"),
        attribution=section.required_text("attribution"),
        force=section.text("force", required=False),
        repair=section.text("repair", required=False, choices=REPAIRS) or "make_valid",
        crs=section.text("crs", required=False),
        layer_name=section.text("layer_name", required=False),
        names_file=section.file("names_file", root, required=False, check=check),
        small_area_layer=small_area_layer,
        small_area_field=small_area_field,
        designated_from_field=section.text("designated_from_field", required=False),
        designated_to_field=section.text("designated_to_field", required=False),
        population_method=method,
        centroids_file=centroids,
        merge_duplicates=section.flag("merge_duplicates", False),
        parent_name_field=section.text("parent_name_field", required=False),
    )


def _lookup(section: _Section, root: Path, seen: set[str], check: bool) -> Lookup:
    lookup_id = _identifier(section, seen)
    section.what = f"lookup '{lookup_id}'"
    path = section.file("file", root, check=check)
    assert path is not None
    return Lookup(
        id=lookup_id,
        from_layer=section.required_text("from_layer"),
        to_layer=section.required_text("to_layer"),
        file=section.required_text("file"),
        path=path,
        from_field=section.required_text("from_field"),
        to_field=section.required_text("to_field"),
        source_url=section.required_text("source_url"),
        licence=section.required_text("licence"),
        attribution=section.required_text("attribution"),
    )


def _population(section: _Section, root: Path, seen: set[str], check: bool) -> PopulationTable:
    from stopsearch.geography.census import PRESETS

    table_id = _identifier(section, seen)
    section.what = f"population '{table_id}'"
    path = section.file("file", root, check=check)
    assert path is not None
    columns = section.data.get("columns")
    if isinstance(columns, str):
        if columns not in PRESETS:
            raise section.fail(
                "columns", f"unknown preset {columns!r}; known: {', '.join(PRESETS)}"
            )
    elif not isinstance(columns, dict) or not columns:
        raise section.fail("columns", "must name a preset or be a table of column mappings")
    layer = section.text("layer", required=False)
    layer_kind = section.text("layer_kind", required=layer is None, choices=KINDS)
    return PopulationTable(
        id=table_id,
        file=section.required_text("file"),
        path=path,
        columns=columns,
        census_year=section.integer("census_year"),
        layer=layer,
        layer_kind=layer_kind or "small_area",
        source_url=section.required_text("source_url"),
        licence=section.required_text("licence"),
        attribution=section.required_text("attribution"),
        code_field=section.text("code_field", required=False),
    )


def _points(section: _Section, root: Path, seen: set[str], check: bool) -> PopulationPoints:
    points_id = _identifier(section, seen)
    section.what = f"population_points '{points_id}'"
    path = section.file("file", root, check=check)
    assert path is not None
    return PopulationPoints(
        id=points_id,
        file=section.required_text("file"),
        path=path,
        small_area_layer=section.required_text("small_area_layer"),
        small_area_field=section.required_text("small_area_field"),
        persons_field=section.required_text("persons_field"),
        code_field=section.text("code_field", required=False),
        source_url=section.required_text("source_url"),
        licence=section.required_text("licence"),
        attribution=section.required_text("attribution"),
    )


def _postcodes(section: _Section, root: Path, seen: set[str], check: bool) -> PostcodeLookup:
    lookup_id = _identifier(section, seen)
    section.what = f"postcodes '{lookup_id}'"
    path = section.file("file", root, check=check)
    assert path is not None
    return PostcodeLookup(
        id=lookup_id,
        file=section.required_text("file"),
        path=path,
        small_area_layer=section.required_text("small_area_layer"),
        small_area_field=section.required_text("small_area_field"),
        postcode_field=section.text("postcode_field", required=False) or "pcds",
        end_field=section.text("end_field", required=False) or "doterm",
        source_url=section.required_text("source_url"),
        licence=section.required_text("licence"),
        attribution=section.required_text("attribution"),
    )


def _reference(section: _Section, root: Path, seen: set[str], check: bool) -> Reference:
    reference_id = _identifier(section, seen)
    section.what = f"reference '{reference_id}'"
    path = section.file("file", root, check=check)
    assert path is not None
    start, end = section.day("period_start"), section.day("period_end")
    if start and end and end < start:
        raise section.fail("period_end", f"{end} is before period_start {start}")
    return Reference(
        id=reference_id,
        file=section.required_text("file"),
        path=path,
        format=section.required_text("format", REFERENCE_FORMATS),
        area=section.required_text("area"),
        period=section.required_text("period"),
        period_start=start,
        period_end=end,
        note=section.text("note", required=False) or "",
        fictional=section.flag("fictional", False),
        source_url=section.required_text("source_url"),
        licence=section.required_text("licence"),
        attribution=section.required_text("attribution"),
    )


def _entries(path: Path, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise GeographyError(f"{path}: '{key}' must be an array of tables: write [[{key}]]")
    return value


def _cross_check(manifest: Manifest) -> None:
    """References between entries: layers named by lookups, populations and CSV layers exist."""
    kinds = {layer.id: layer.kind for layer in (*manifest.layers, *manifest.fetched)}
    in_vintages = {layer.id for layer in manifest.fetched if layer.source == POLICE_API}
    where = manifest.path

    def need(what: str, key: str, value: str | None, kind: str | None = None) -> None:
        if value is None:
            return
        if value in in_vintages:
            raise GeographyError(
                f"{where}: {what}, field '{key}': layer {value!r} is built from the police API"
                " in vintages (one layer per change), so it cannot be named here"
            )
        if value not in kinds:
            raise GeographyError(
                f"{where}: {what}, field '{key}': no layer with id {value!r};"
                f" declared layers: {', '.join(kinds) or 'none'}"
            )
        if kind and kinds[value] != kind:
            raise GeographyError(
                f"{where}: {what}, field '{key}': layer {value!r} is a {kinds[value]}, not a {kind}"
            )

    for layer in (*manifest.layers, *manifest.fetched):
        need(f"layer '{layer.id}'", "small_area_layer", layer.small_area_layer, "small_area")
        if layer.population_method == "lookup" and not any(
            lk.to_layer == layer.id for lk in manifest.lookups
        ):
            raise GeographyError(
                f"{where}: layer '{layer.id}', field 'population_method': 'lookup' needs a"
                f' [[lookup]] with to_layer = "{layer.id}"'
            )
        if layer.population_method == "nested" and layer.format != "small-area-csv":
            raise GeographyError(
                f"{where}: layer '{layer.id}', field 'population_method': 'nested' needs a layer"
                ' built from small areas (format = "small-area-csv")'
            )
    for lookup in manifest.lookups:
        need(f"lookup '{lookup.id}'", "from_layer", lookup.from_layer, "small_area")
        need(f"lookup '{lookup.id}'", "to_layer", lookup.to_layer)
    for table in manifest.populations:
        need(f"population '{table.id}'", "layer", table.layer, "small_area")
    for codes in manifest.postcodes:
        need(f"postcodes '{codes.id}'", "small_area_layer", codes.small_area_layer, "small_area")
    for points in manifest.population_points:
        what = f"population_points '{points.id}'"
        need(what, "small_area_layer", points.small_area_layer, "small_area")
        layer_id = points.small_area_layer
        same = [p for p in manifest.population_points if p.small_area_layer == layer_id]
        if len(same) > 1:
            raise GeographyError(
                f"{where}: {what}, field 'small_area_layer': more than one population_points"
                f" entry for layer {points.small_area_layer!r}"
            )
    for layer in manifest.layers:
        if layer.population_method == "finer_points" and not manifest.population_points:
            raise GeographyError(
                f"{where}: layer '{layer.id}', field 'population_method': 'finer_points' needs"
                " a [[population_points]] entry"
            )


def _data_root(path: Path, top: _Section, root: Path | str | None) -> tuple[Path, str]:
    """The folder files resolve against, and where it came from (for error messages).

    `root` wins; then the environment variable named by `data_root_env` when it is set (so an
    operator can point a committed manifest at their own data folder; relative to the working
    directory, as paths in the environment are); then `data_root` (relative to the manifest's
    folder); then the manifest's folder.
    """
    if root is not None:
        return Path(root).resolve(), ""
    variable = top.text("data_root_env", required=False)
    if variable and os.environ.get(variable):
        return Path(os.environ[variable]).resolve(), f" (from ${variable})"
    data_root = top.text("data_root", required=False)
    return ((path.parent / data_root).resolve() if data_root else path.parent), ""


def load_manifest(
    path: Path | str, root: Path | str | None = None, *, check_files: bool = True
) -> Manifest:
    """Read a manifest; files resolve against `root`, else `$data_root_env`, else `data_root`,
    else the manifest's folder."""
    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GeographyError(f"manifest not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise GeographyError(f"{path}: not valid TOML: {exc}") from exc
    top = _Section(path, "top level", data, _TOP_FIELDS)
    base, origin = _data_root(path, top, root)
    if check_files and not base.is_dir():
        raise top.fail("data_root", f"folder not found: {base}{origin}")
    layers_raw = _entries(path, data, "layer")
    if not layers_raw:
        raise GeographyError(f"{path}: declares no layer; add at least one [[layer]] table")
    seen: set[str] = set()
    declared = tuple(
        _layer(_Section(path, f"layer #{n}", entry, _LAYER_FIELDS), base, seen, check_files)
        for n, entry in enumerate(layers_raw, 1)
    )
    lookups = tuple(
        _lookup(_Section(path, f"lookup #{n}", entry, _LOOKUP_FIELDS), base, seen, check_files)
        for n, entry in enumerate(_entries(path, data, "lookup"), 1)
    )
    populations = tuple(
        _population(
            _Section(path, f"population #{n}", entry, _POPULATION_FIELDS), base, seen, check_files
        )
        for n, entry in enumerate(_entries(path, data, "population"), 1)
    )
    points = tuple(
        _points(
            _Section(path, f"population_points #{n}", entry, _POINTS_FIELDS),
            base,
            seen,
            check_files,
        )
        for n, entry in enumerate(_entries(path, data, "population_points"), 1)
    )
    references = tuple(
        _reference(
            _Section(path, f"reference #{n}", entry, _REFERENCE_FIELDS), base, seen, check_files
        )
        for n, entry in enumerate(_entries(path, data, "reference"), 1)
    )
    postcodes = tuple(
        _postcodes(
            _Section(path, f"postcodes #{n}", entry, _POSTCODE_FIELDS), base, seen, check_files
        )
        for n, entry in enumerate(_entries(path, data, "postcodes"), 1)
    )
    manifest = Manifest(
        path=path,
        root=base,
        layers=tuple(layer for layer in declared if not layer.fetched),
        lookups=lookups,
        populations=populations,
        title=top.text("title", required=False) or "",
        fetched=tuple(layer for layer in declared if layer.fetched),
        population_points=points,
        references=references,
        postcodes=postcodes,
    )
    _cross_check(manifest)
    return manifest


def without_layers(
    manifest: Manifest, layer_ids: set[str], why: str | None
) -> tuple[Manifest, list[str]]:
    """The manifest without these layers, nor the lookups and population tables naming them.

    Notes name every lookup and table left out, and each layer when `why` is given.
    """
    if not layer_ids:
        return manifest, []
    notes = [f"layer '{i}': {why}" for i in sorted(layer_ids)] if why else []
    lookups = []
    for lookup in manifest.lookups:
        if {lookup.from_layer, lookup.to_layer} & layer_ids:
            notes.append(f"lookup '{lookup.id}': left out with its layer")
        else:
            lookups.append(lookup)
    populations = []
    for table in manifest.populations:
        if table.layer in layer_ids:
            notes.append(f"population '{table.id}': left out with its layer")
        else:
            populations.append(table)
    postcodes = []
    for postcode_lookup in manifest.postcodes:
        if postcode_lookup.small_area_layer in layer_ids:
            notes.append(f"postcodes '{postcode_lookup.id}': left out with its layer")
        else:
            postcodes.append(postcode_lookup)
    kept = replace(
        manifest,
        layers=tuple(layer for layer in manifest.layers if layer.id not in layer_ids),
        fetched=tuple(layer for layer in manifest.fetched if layer.id not in layer_ids),
        lookups=tuple(lookups),
        populations=tuple(populations),
        postcodes=tuple(postcodes),
    )
    return kept, notes


def without_unbuilt(manifest: Manifest) -> tuple[Manifest, list[str]]:
    """The manifest without layers declared by a source that were not fetched in this run.

    `stopsearch publish` fetches them first (stopsearch.geography.fetched); a caller that loads
    a manifest straight from its file gets its file layers only, and a note for each other.
    """
    return without_layers(
        manifest,
        {layer.id for layer in manifest.fetched},
        "declared by its source and not fetched in this run (stopsearch publish fetches it);"
        " left out",
    )
