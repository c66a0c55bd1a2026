"""Every column of every extract: name, Arrow type, Table Schema type, unit and description.

The column lists here are the single source of the files' schemas (the writer casts to them, the
data package describes them, `schemas/*.json` records them). They never depend on the data, so
the same code always writes the same columns, even for an empty warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from stopsearch.metrics.contract import BROAD_GROUPS, COMPARISON_GROUPS, MEASURES
from stopsearch.metrics.precision import RULE_TEXT

GEOMETRY = "geometry"
BBOX = "bbox"
BBOX_TYPE = pa.struct(
    [
        pa.field("xmin", pa.float64()),
        pa.field("ymin", pa.float64()),
        pa.field("xmax", pa.float64()),
        pa.field("ymax", pa.float64()),
    ]
)
LONLAT = "degrees (WGS 84 / OGC:CRS84)"
# Reason codes of withheld values (stopsearch.metrics.suppression.REASONS) and their meaning.
REASON_CODES = {
    "small_count": "a count of 1-4 below force level (shown as <5; a reliability threshold)",
    "secondary": "withheld to protect individuals where the records are not public: a small count"
    " or a figure that could reveal one (not told apart)",
    "rate_small_count": "too few searches for a stable rate or share",
    "rate_small_population": "too few residents for a stable rate",
    "ratio_insufficient_data": "too few searches in either group for a ratio",
    "no_population": "no resident figures for the area or group",
    "no_data": "nothing to publish: no searches of this kind, or the value cannot be computed",
}
REASON_CODE_DOC = (
    "Why the value is withheld; null when published. Codes: "
    + "; ".join(f"{k} ({v})" for k, v in REASON_CODES.items())
    + "."
)


@dataclass(frozen=True)
class Column:
    """One column of an extract."""

    name: str
    arrow: pa.DataType
    description: str
    unit: str | None = None
    parquet_only: bool = False  # geometry (WKB) and the bbox covering: not in the CSV twin

    @property
    def table_type(self) -> str:
        """Frictionless / Table Schema type of the column in the Parquet file."""
        return table_schema_type(self.arrow)


def table_schema_type(arrow: pa.DataType) -> str:
    """Table Schema field type for an Arrow type."""
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_integer(arrow):
        return "integer"
    if pa.types.is_floating(arrow):
        return "number"
    if pa.types.is_date(arrow):
        return "date"
    if pa.types.is_timestamp(arrow):
        return "datetime"
    if pa.types.is_struct(arrow):
        return "object"
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return "any"
    return "string"


def _geometry(kind: str) -> Column:
    return Column(
        GEOMETRY,
        pa.binary(),
        f"{kind} geometry, WKB in lon/lat (OGC:CRS84, i.e. EPSG:4326 with longitude first)."
        " In the CSV twin: WKT for areas; records give latitude/longitude instead.",
        parquet_only=True,
    )


_BBOX = Column(
    BBOX,
    BBOX_TYPE,
    "GeoParquet 1.1 bounding-box covering of the geometry (xmin, ymin, xmax, ymax in degrees):"
    " lets readers skip row groups outside a bbox filter. Null when there is no geometry.",
    unit=LONLAT,
    parquet_only=True,
)

# -- searches/month=YYYY-MM/part-0.parquet: one row per record --------------------------------

SEARCH_COLUMNS: tuple[Column, ...] = (
    Column(
        "search_id",
        pa.int64(),
        "Identifier of the record in this release: load number x 10,000,000 + line of the"
        " source file. Not a police reference; may change when a month is re-supplied.",
    ),
    Column("force", pa.string(), "data.police.uk force identifier."),
    Column("month", pa.date32(), "Reporting month of the published file (its first day)."),
    Column(
        "source_file",
        pa.string(),
        "Name of the published file (or archive member) the record came from; file name only.",
    ),
    Column("source_line", pa.int32(), "Line of the source file (1-based record index for JSON)."),
    Column("datetime_published", pa.string(), "Date and time exactly as published."),
    Column(
        "datetime",
        pa.timestamp("us"),
        "Date and time of the search as published, not converted: data.police.uk writes +00:00"
        " even in British Summer Time.",
    ),
    Column("type", pa.string(), "Type of search as published."),
    Column(
        "is_person_search",
        pa.bool_(),
        "True for Person search and Person and Vehicle search (the base of ethnicity figures).",
    ),
    Column("part_of_operation", pa.bool_(), "Whether the search was part of a policing operation."),
    Column("operation_name", pa.string(), "Name of the operation, as published."),
    Column(
        "latitude",
        pa.float64(),
        "Latitude as published. data.police.uk moves every location to the centre of a nearby"
        " street or public place (anonymised 'snap point'); the true location is never known.",
        unit=LONLAT,
    ),
    Column("longitude", pa.float64(), "Longitude as published (snapped, as latitude).", LONLAT),
    Column(
        "location_issue",
        pa.string(),
        "Why a published location was set aside: partial (one coordinate only), not_a_number,"
        " outside_uk. Null when the location is fine or simply absent.",
    ),
    Column("street_id", pa.int64(), "data.police.uk street (snap point) id; API records only."),
    Column("street_name", pa.string(), "data.police.uk street description; API records only."),
    Column("gender", pa.string(), "Gender as published (Male, Female, Other); null when absent."),
    Column("age_range", pa.string(), "Age range as published; null when absent."),
    Column(
        "self_defined_ethnicity_raw",
        pa.string(),
        "Self-defined ethnicity exactly as published.",
    ),
    Column(
        "self_defined_ethnicity",
        pa.string(),
        "Self-defined ethnicity normalised to the 2011/2021 Census categories, Not stated or"
        " Unknown.",
    ),
    Column(
        "self_defined_group",
        pa.string(),
        "Broad group of the self-defined ethnicity (Asian, Black, Mixed, White, Other, Not"
        " stated, Unknown).",
    ),
    Column(
        "officer_defined_ethnicity",
        pa.string(),
        "Officer-observed ethnicity as published (never mixed with self-defined).",
    ),
    Column("officer_defined_group", pa.string(), "Broad group of the officer-defined ethnicity."),
    Column("legislation", pa.string(), "Legislation (power) as published."),
    Column("object_of_search", pa.string(), "Object of search as published."),
    Column(
        "object_group",
        pa.string(),
        "Object of search grouped: drugs, weapons, stolen goods, other, unknown.",
    ),
    Column("outcome_raw", pa.string(), "Outcome exactly as published."),
    Column("outcome_class", pa.string(), "Outcome normalised (arrest, summons, ..., unknown)."),
    Column(
        "is_positive",
        pa.bool_(),
        "True when the outcome is anything but no further action; null when unknown.",
    ),
    Column(
        "outcome_linked",
        pa.bool_(),
        "Whether the outcome was linked to the object of search, as published.",
    ),
    Column(
        "removal_more_than_outer",
        pa.bool_(),
        "Whether clothing beyond outer clothing was removed, as published.",
    ),
    Column("involved_person", pa.bool_(), "Whether a person was involved, as published."),
    Column("no_location", pa.bool_(), "True when the record was published without coordinates."),
    Column(
        "outside_area",
        pa.bool_(),
        "True when the published location lies outside every ward in force on the date; null"
        " without a location.",
    ),
    Column(
        "near_boundary",
        pa.bool_(),
        "True when the published location is within 50 m of its ward's boundary (the snapped"
        " point may have moved it across); null without a location.",
    ),
    Column("ward_code", pa.string(), "Ward containing the published location on the date."),
    Column("ward_layer_id", pa.string(), "Ward boundary vintage used (see the ward files)."),
    Column("neighbourhood_code", pa.string(), "Policing neighbourhood of the location."),
    Column("small_area_code", pa.string(), "Census small area (e.g. LSOA) of the location."),
    Column("la_code", pa.string(), "Local authority of the location."),
    Column("la_name", pa.string(), "Name of the local authority (council) of the location."),
    Column(
        "priority_code",
        pa.string(),
        "Priority area(s) containing the location while designated; several are separated by"
        " ';'. Null when none.",
    ),
    Column("priority_layer_id", pa.string(), "Priority-area layer of priority_code."),
    _geometry("Point"),
    _BBOX,
)

# -- metrics/<period>.parquet: the published metrics in long form ---------------------------------

METRIC_COLUMNS: tuple[Column, ...] = (
    Column(
        "area_kind",
        pa.string(),
        "force, local_authority, ward, neighbourhood or priority_area.",
    ),
    Column("area_code", pa.string(), "Area code (the force id for force rows)."),
    Column("area_name", pa.string(), "Area name (newest boundary vintage)."),
    Column(
        "period",
        pa.string(),
        "Period id, stable for scripts: latest-12 (the 12-month window ending with the latest"
        " month with data), YYYY (calendar year) or YYYY-MM (one month). The window may hold"
        " fewer months with data: see months_present and period_label.",
    ),
    Column(
        "period_label",
        pa.string(),
        "Readable label naming only the months with data, e.g. 'Latest 10 months (Sep 2016 to"
        " Jun 2017)', '2016 (Jun to Dec, 7 months)': a partial period always says so.",
    ),
    Column("period_kind", pa.string(), "rolling, year or month."),
    Column(
        "period_start", pa.date32(), "First month of the period's nominal window (its first day)."
    ),
    Column(
        "period_end", pa.date32(), "Last month of the period's nominal window (its first day)."
    ),
    Column(
        "months_present",
        pa.int32(),
        "Months of the period with data in which the area existed (rates are annualised by it).",
        "months",
    ),
    Column(
        "months_with_data",
        pa.string(),
        "The months counted in months_present, as ISO 8601 month ranges joined by commas"
        " (e.g. '2016-09/2016-12,2017-02/2017-06'; a single month '2017-03').",
    ),
    Column(
        "basis",
        pa.string(),
        "Ethnicity basis of ethnic_group: self_defined, officer_defined, or none (all searches).",
    ),
    Column(
        "ethnic_group",
        pa.string(),
        "All, Asian, Black, Mixed, White, Other, Not stated or Unknown.",
    ),
    Column(
        "breakdown",
        pa.string(),
        "total, or the variable of category: legislation, object_group, age_range, type,"
        " outcome_class, priority (inside/outside priority areas), designation (before/during/"
        "after a priority area's designation).",
    ),
    Column("category", pa.string(), "Value of the breakdown variable ('' for total)."),
    Column("measure", pa.string(), "Measure name; see the measures list in datapackage.json."),
    Column("unit", pa.string(), "Unit of value, ci_low and ci_high for this measure."),
    Column("value", pa.float64(), "The figure; null when withheld (see reason).", "see unit"),
    Column(
        "ci_low", pa.float64(), "Lower bound of the 95% interval, when there is one.", "see unit"
    ),
    Column(
        "ci_high", pa.float64(), "Upper bound of the 95% interval, when there is one.", "see unit"
    ),
    Column(
        "imprecise",
        pa.bool_(),
        "True when the figure is imprecise. "
        + RULE_TEXT
        + " Null when the figure has no interval or is withheld.",
    ),
    Column(
        "numerator",
        pa.float64(),
        "Count over which the value is computed (searches, or residents for population).",
    ),
    Column(
        "denominator",
        pa.float64(),
        "Base of the value: searches, or person-years for rates; null when it would reveal a"
        " withheld count.",
    ),
    Column("reason", pa.string(), REASON_CODE_DOC),
    Column("display", pa.string(), "Text shown on the site: '12.3', '<5', 'insufficient data'."),
)

# -- area layers: polygons and the latest-12 metrics, one row per area -------------------------


CI_MEASURES = (
    "positive_outcome_rate",
    "arrest_rate",
    "find_rate",
    "near_boundary_share",
    "unstated_share",
    "disproportionality_ratio",
)


@dataclass(frozen=True)
class WideMetric:
    """One metric of the area layers' wide table, picked from published_metrics."""

    name: str
    basis: str
    grp: str
    breakdown: str
    category: str
    measure: str
    integer: bool = False

    @property
    def with_ci(self) -> bool:
        """Whether the measure has a 95% interval (shares and the ratio, not its bounds)."""
        return self.measure in CI_MEASURES


def _slug(text: str) -> str:
    return text.lower().replace(" ", "_")


def _wide_metrics() -> tuple[WideMetric, ...]:
    out = [
        WideMetric("searches", "none", "All", "total", "", "searches", integer=True),
        WideMetric("person_searches", "self_defined", "All", "total", "", "searches", True),
    ]
    for g in (*BROAD_GROUPS, "Not stated", "Unknown"):
        out.append(
            WideMetric(
                f"person_searches_{_slug(g)}", "self_defined", g, "total", "", "searches", True
            )
        )
    for g in ("All", *BROAD_GROUPS):
        out.append(
            WideMetric(f"population_{_slug(g)}", "self_defined", g, "total", "", "population")
        )
    for g in ("All", *BROAD_GROUPS):
        out.append(
            WideMetric(f"search_rate_{_slug(g)}", "self_defined", g, "total", "", "search_rate")
        )
    out.append(
        WideMetric(
            "search_rate_all_persons", "self_defined", "All", "total", "", "search_rate_all_persons"
        )
    )
    for g in COMPARISON_GROUPS:
        s = _slug(g)
        out += [
            WideMetric(f"dr_{s}", "self_defined", g, "total", "", "disproportionality_ratio"),
            WideMetric(f"dr_{s}_unknown_low", "self_defined", g, "total", "", "dr_unknown_low"),
            WideMetric(f"dr_{s}_unknown_high", "self_defined", g, "total", "", "dr_unknown_high"),
        ]
    out += [
        WideMetric("unstated_share", "self_defined", "All", "total", "", "unstated_share"),
        WideMetric("positive_outcome_rate", "none", "All", "total", "", "positive_outcome_rate"),
        WideMetric("arrest_rate", "none", "All", "total", "", "arrest_rate"),
        WideMetric("find_rate", "none", "All", "total", "", "find_rate"),
    ]
    for g in BROAD_GROUPS:
        out.append(
            WideMetric(
                f"positive_outcome_rate_{_slug(g)}",
                "self_defined",
                g,
                "total",
                "",
                "positive_outcome_rate",
            )
        )
    out += [
        WideMetric(
            "contradictory_outcomes", "none", "All", "total", "", "contradictory_outcomes", True
        ),
        WideMetric("near_boundary_share", "none", "All", "total", "", "near_boundary_share"),
    ]
    for label, name in (
        ("Person search", "person"),
        ("Vehicle search", "vehicle"),
        ("Person and Vehicle search", "person_and_vehicle"),
    ):
        out.append(
            WideMetric(f"searches_type_{name}", "none", "All", "type", label, "searches", True)
        )
    for label in ("drugs", "weapons", "stolen goods", "other", "unknown"):
        out.append(
            WideMetric(
                f"searches_object_{_slug(label)}",
                "none",
                "All",
                "object_group",
                label,
                "searches",
                True,
            )
        )
    return tuple(out)


WIDE_METRICS = _wide_metrics()


def _who(metric: WideMetric) -> str:
    if metric.breakdown == "type":
        return f"searches of type {metric.category}"
    if metric.breakdown == "object_group":
        return f"searches for {metric.category} (object of search grouped)"
    if metric.basis == "none":
        return "all searches"
    if metric.measure in ("population",):
        return "all residents" if metric.grp == "All" else f"residents of the {metric.grp} group"
    if metric.grp == "All":
        return "all person searches"
    if metric.grp in ("Not stated", "Unknown"):
        return f"person searches with self-defined ethnicity {metric.grp.lower()}"
    return f"person searches of people self-defining as {metric.grp}"


def _wide_columns() -> tuple[Column, ...]:
    cols = [
        Column("code", pa.string(), "Area code."),
        Column("name", pa.string(), "Area name."),
        Column(
            "parent_code", pa.string(), "Code of the parent area (e.g. a ward's local authority)."
        ),
        Column(
            "parent_name",
            pa.string(),
            "Name of the parent area (e.g. the council of a ward); null when no boundary file"
            " names it.",
        ),
        Column(
            "layer_id",
            pa.string(),
            "Boundary layer (vintage) the polygon comes from: the newest vintage of the code.",
        ),
        Column(
            "valid_from",
            pa.date32(),
            "First day the boundary is in force (priority areas: designation start).",
        ),
        Column(
            "valid_to",
            pa.date32(),
            "Last day the boundary is in force, inclusive; null while still in force.",
        ),
        Column("area_km2", pa.float64(), "Area of the polygon (computed in EPSG:27700).", "km2"),
        Column("period", pa.string(), "Period of every metric in the row: latest-12."),
        Column(
            "period_label",
            pa.string(),
            "Readable label of the months with data for this area, e.g. 'Latest 10 months (Sep"
            " 2016 to Jun 2017)'.",
        ),
        Column(
            "period_start",
            pa.date32(),
            "First month of the period's nominal window (its first day).",
        ),
        Column(
            "period_end", pa.date32(), "Last month of the period's nominal window (its first day)."
        ),
        Column(
            "months_present",
            pa.int32(),
            "Months of the period with data in which the area existed.",
            "months",
        ),
        Column(
            "months_with_data",
            pa.string(),
            "The months counted in months_present, as ISO 8601 month ranges joined by commas.",
        ),
    ]
    for metric in WIDE_METRICS:
        m = MEASURES[metric.measure]
        what = f"{m.label}, {_who(metric)}, the latest-12 period (see period_label)"
        arrow = pa.int64() if metric.integer else pa.float64()
        cols.append(
            Column(
                metric.name,
                arrow,
                f"{what} (measure {metric.measure}; definition in datapackage.json measures)."
                f" Null when withheld: see {metric.name}_reason.",
                m.unit,
            )
        )
        if metric.with_ci:
            cols.append(
                Column(f"{metric.name}_ci_low", pa.float64(), f"{what}: lower 95% bound.", m.unit)
            )
            cols.append(
                Column(f"{metric.name}_ci_high", pa.float64(), f"{what}: upper 95% bound.", m.unit)
            )
        cols.append(
            Column(
                f"{metric.name}_reason",
                pa.string(),
                f"Why {metric.name} is withheld (reason code, see datapackage.json"
                " reason_codes); null when published.",
            )
        )
    cols += [_geometry("Polygon or MultiPolygon"), _BBOX]
    return tuple(cols)


AREA_COLUMNS = _wide_columns()

# CSV twins: same columns without the Parquet-only ones; areas carry WKT in `geometry`.
AREA_WKT = Column(
    GEOMETRY,
    pa.string(),
    "Polygon or MultiPolygon as WKT in lon/lat (OGC:CRS84, EPSG:4326 with longitude first).",
)


def csv_columns(columns: tuple[Column, ...], *, wkt: bool) -> tuple[Column, ...]:
    """The CSV twin's columns (geometry as WKT for area layers, dropped for records)."""
    out = [c for c in columns if not c.parquet_only]
    if wkt:
        out.append(AREA_WKT)
    return tuple(out)


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Arrow schema of a file (every column nullable)."""
    return pa.schema([pa.field(c.name, c.arrow) for c in columns])
