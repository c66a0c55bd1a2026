"""Write the extracts for the scrutiny panel: the site's `downloads/` folder.

`export(con, downloads_dir, record_level=..., demo=...)` writes, from the warehouse:

- searches/month=YYYY-MM/part-0.parquet and searches-csv/month=YYYY-MM/part-0.csv (only when
  `record_level`; see records.py): one row per record, published fields, area codes, location
  flags and provenance, one file per month; GeoParquet 1.1 points, Hilbert-ordered;
- metrics/<period>.parquet and metrics-csv/<period>.csv: `published_metrics` in long form, one
  file per period (see metric_files.py; unchanged periods linked, not written);
- <layer>.parquet / .csv / .geojson per area kind with polygons: one row per area with the
  latest-12 period's published metrics in wide form (each value with a `_reason` column);
- README.txt and datapackage.json (Frictionless Data Package with sizes and SHA-256).

The same warehouse always gives the same bytes: no timestamps, deterministic row order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from stopsearch.disk import atomic_path, sha256_file
from stopsearch.metrics.contract import LATEST_12
from stopsearch.metrics.fair import DISPERSION_COLUMNS
from stopsearch.metrics.periods import FULL_MONTHS, month_add, month_span
from stopsearch.outputs.extracts.columns import (
    AREA_COLUMNS,
    METRIC_COLUMNS,
    SEARCH_COLUMNS,
    csv_columns,
)
from stopsearch.outputs.extracts.formats import csv_table, write_csv, write_geojson
from stopsearch.outputs.extracts.geoparquet import GEOPARQUET_VERSION, geo_metadata, write_parquet
from stopsearch.outputs.extracts.metric_files import METRICS_QUERY, write_periods
from stopsearch.outputs.extracts.package import (
    Context,
    Entry,
    datapackage,
    metric_enums,
    readme,
    reason_enums,
    record_enums,
    write_datapackage,
)
from stopsearch.outputs.extracts.records import (
    DUCKDB_QUERY,
    MonthPart,
    Reuse,
    remove_stale,
    write_months,
)
from stopsearch.outputs.extracts.tables import (
    AREA_LAYERS,
    WKT,
    area_table,
    latest_period,
)
from stopsearch.sqlfiles import SqlFile, fetch_one

SQL = SqlFile("stopsearch.outputs.extracts", "export.sql")
DATAPACKAGE = "datapackage.json"
README = "README.txt"
_KIND_TITLES = {
    "ward": ("Wards", "ward"),
    "neighbourhood": ("Policing neighbourhoods", "neighbourhood"),
    "priority_area": ("Priority areas", "priority area"),
    "local_authority": ("Local authorities", "local authority"),
}


@dataclass(frozen=True)
class ExportedFile:
    """One file written into the downloads folder."""

    name: str  # relative to downloads_dir
    title: str
    description: str
    bytes: int
    sha256: str
    rows: int | None = None
    month: str | None = None  # YYYY-MM of a record-level month file
    period: str | None = None  # the period id of a metrics file


@dataclass
class ExportReport:
    """What `export` wrote and how long it took; `months`: the record-level month files;
    `periods`: the metrics files (parts whose `month` is the period id)."""

    files: list[ExportedFile] = field(default_factory=list)
    seconds: float = 0.0
    months: list[MonthPart] = field(default_factory=list)
    periods: list[MonthPart] = field(default_factory=list)
    records_seconds: float = 0.0  # of `seconds`: the record-level month files

    def file(self, name: str) -> ExportedFile:
        """The entry for `name` (KeyError when it was not written)."""
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)


def _finish(entry: Entry, folder: Path, hasher: Callable[[Path], str]) -> Entry:
    """Size and SHA-256 of the entry's file, unless known already (month files: hashed once)."""
    if not entry.sha256:
        entry.bytes = (folder / entry.path).stat().st_size
        entry.sha256 = hasher(folder / entry.path)
    return entry


# The warehouse's dispersion columns, with `grp` named as in every other extract.
DISPERSION_FIELDS = tuple("ethnic_group" if c == "grp" else c for c in DISPERSION_COLUMNS)


def _label(months: list) -> str:
    """'Sep 2016 to Jun 2017 (10 months)', naming any month without data inside the span."""
    if not months:
        return "no records"
    first, last = min(months), max(months)
    start, end = FULL_MONTHS[first.month - 1], FULL_MONTHS[last.month - 1]
    span = f"{start} {first.year} to {end} {last.year}"
    missing = [
        month_add(first, i)
        for i in range(month_span(first, last))
        if month_add(first, i) not in set(months)
    ]
    gaps = "; none for " + ", ".join(f"{m:%Y-%m}" for m in missing) if missing else ""
    return f"{span} ({len(set(months))} months with data{gaps})"


def _context(
    con: duckdb.DuckDBPyConnection, *, demo: bool, record_level: bool, period_label: str | None
) -> Context:
    first, last = SQL.one(con, "month_range")
    months = [m for (m,) in SQL.execute(con, "months").fetchall()]
    latest_label, latest_months = SQL.one(con, "latest_label", {"period": LATEST_12})
    forces = [r[0] for r in SQL.execute(con, "forces").fetchall()]
    layers = [
        dict(zip(("kind", "name", "source_url", "licence", "attribution"), row, strict=True))
        for row in SQL.execute(con, "layers").fetchall()
    ]
    provenance = [
        dict(zip(("force", "month", "file", "sha256", "rows"), row, strict=True))
        for row in SQL.execute(con, "provenance").fetchall()
    ]
    dispersion = [
        {
            name: (None if isinstance(v, float) and v != v else v)
            for name, v in zip(DISPERSION_FIELDS, row, strict=True)
        }
        for row in SQL.execute(con, "dispersion").fetchall()
    ]
    box = SQL.execute(con, "record_extent" if record_level else "area_extent").fetchone()
    example = None
    if box and box[0] is not None:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        dx, dy = max((box[2] - box[0]) / 10, 0.005), max((box[3] - box[1]) / 10, 0.005)
        example = (cx - dx, cy - dy, cx + dx, cy + dy)
    return Context(
        demo=demo,
        record_level=record_level,
        period_label=period_label or _label(months),
        first_month=first,
        last_month=last,
        latest_12=latest_period(con),
        latest_label=latest_label,
        latest_months=latest_months,
        forces=forces,
        layers=layers,
        area_files=[],
        provenance=provenance,
        example_bbox=example,
        dispersion=dispersion,
    )


def export(
    con: duckdb.DuckDBPyConnection,
    downloads_dir: Path,
    *,
    record_level: bool,
    demo: bool,
    period_label: str | None = None,
    reuse: Reuse | None = None,
    hasher: Callable[[Path], str] = sha256_file,
    metric_reuse: Reuse | None = None,
) -> ExportReport:
    """Write every extract into `downloads_dir` (created if needed) and report the files.

    `record_level=False` writes no record-level files at all (and removes stale ones).
    `demo=True` marks every description as FICTIONAL DEMONSTRATION DATA.
    `period_label` is the human label of the period covered (default: first to last month).
    `reuse`: the downloads of a verified earlier release; each record-level month made from the
    same inputs is hard-linked from it instead of written (see records.write_months);
    `metric_reuse` likewise for the metrics' period files (see metric_files.write_periods).
    `hasher` computes each written file's SHA-256 from disk, once (the publish job passes its
    digest book, so that verification trusts the file while it is unchanged).
    """
    started = time.perf_counter()
    progress = fetch_one(con.execute("SELECT current_setting('enable_progress_bar')"), "setting")[0]
    con.execute("SET enable_progress_bar = false")
    try:
        report = _export(
            con,
            Path(downloads_dir),
            record_level,
            demo,
            period_label,
            (reuse, metric_reuse),
            hasher,
        )
    finally:
        con.execute(f"SET enable_progress_bar = {'true' if progress else 'false'}")
    report.seconds = round(time.perf_counter() - started, 3)
    return report


_GEOPARQUET = {"version": GEOPARQUET_VERSION, "geometry": "geometry", "covering": "bbox"}
_PARQUET = "application/vnd.apache.parquet"


EXPORT_MEMORY_LIMIT = 3 * 2**30  # the Hilbert sort spills to disk beyond this, not RAM


def _bytes(size: str) -> float:
    """DuckDB's size text ('18.8 GiB', '3.0 GB') in bytes."""
    number, unit = size.split()
    scale = {
        "B": 1,
        "KB": 1e3,
        "MB": 1e6,
        "GB": 1e9,
        "TB": 1e12,
        "KiB": 2**10,
        "MiB": 2**20,
        "GiB": 2**30,
        "TiB": 2**40,
    }
    return float(number) * scale[unit]


def _stream_records(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    reuse: Reuse | None,
    hasher: Callable[[Path], str],
) -> list[MonthPart]:
    """The month files, with bounded memory (see EXPORT_MEMORY_LIMIT)."""
    previous = fetch_one(con.execute("SELECT current_setting('memory_limit')"), "setting")[0]
    if _bytes(previous) > EXPORT_MEMORY_LIMIT:
        con.execute(f"SET memory_limit = '{EXPORT_MEMORY_LIMIT}B'")
    try:
        return write_months(con, folder, reuse, hasher)
    finally:
        con.execute(f"SET memory_limit = '{previous}'")


_RECORDS = (
    "One row per record of the month: the published (already snapped) location as a point,"
    " every normalised field, area codes, location flags (no_location, outside_area,"
    " near_boundary) and provenance (source file and line); the month column too. Rows in"
    " Hilbert order of the month's extent, unlocated records last; bbox covering column; row"
    " groups of 100,000 rows. Read every month as one table: " + DUCKDB_QUERY
)


def _records(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    reuse: Reuse | None,
    hasher: Callable[[Path], str],
) -> tuple[list[Entry], list[MonthPart]]:
    """searches/month=YYYY-MM/part-0.parquet and searches-csv/month=YYYY-MM/part-0.csv."""
    parts = _stream_records(con, folder, reuse, hasher)
    columns = csv_columns(SEARCH_COLUMNS, wkt=False)
    enums = record_enums(con)
    entries = []
    for part in parts:
        entries += [
            Entry(
                part.parquet.name,
                f"searches-{part.month}-parquet",
                f"Stop-and-search records, {part.month} (GeoParquet)",
                _RECORDS,
                "parquet",
                _PARQUET,
                SEARCH_COLUMNS,
                rows=part.rows,
                bytes=part.parquet.bytes,
                sha256=part.parquet.sha256,
                primary_key=["search_id"],
                enums=enums,
                extra={"geoparquet": _GEOPARQUET},
                month=part.month,
            ),
            Entry(
                part.csv.name,
                f"searches-{part.month}-csv",
                f"Stop-and-search records, {part.month} (CSV)",
                f"The rows and columns of {part.parquet.name} without geometry and bbox;"
                " latitude and longitude give the location.",
                "csv",
                "text/csv",
                columns,
                tabular=True,
                rows=part.rows,
                bytes=part.csv.bytes,
                sha256=part.csv.sha256,
                primary_key=["search_id"],
                enums=enums,
                month=part.month,
            ),
        ]
    return entries, parts


_METRICS = (
    " One row per area, period (latest-12, each year, each quarter, each window of the trend"
    " series, each month of the latest-12 window at area level), ethnicity basis and group,"
    " breakdown category and measure; period_label"
    " and months_with_data say which months each figure covers. Withheld values are null"
    " with a reason code. One file per period; read every period as one table: " + METRICS_QUERY
)


def _metrics(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    reuse: Reuse | None,
    hasher: Callable[[Path], str],
) -> tuple[list[Entry], list[MonthPart]]:
    """metrics/<period>.parquet and metrics-csv/<period>.csv: published_metrics in long form."""
    parts = write_periods(con, folder, reuse, hasher)
    columns = csv_columns(METRIC_COLUMNS, wkt=False)
    enums = metric_enums()
    entries = []
    for part in parts:
        period = part.month
        entries += [
            Entry(
                part.parquet.name,
                f"metrics-{period.lower()}-parquet",
                f"Published metrics, period {period}, long form (Parquet)",
                f"Every published figure of period {period}." + _METRICS,
                "parquet",
                _PARQUET,
                METRIC_COLUMNS,
                rows=part.rows,
                bytes=part.parquet.bytes,
                sha256=part.parquet.sha256,
                enums=enums,
                period=period,
            ),
            Entry(
                part.csv.name,
                f"metrics-{period.lower()}-csv",
                f"Published metrics, period {period}, long form (CSV)",
                f"The rows and columns of {part.parquet.name}.",
                "csv",
                "text/csv",
                columns,
                tabular=True,
                rows=part.rows,
                bytes=part.csv.bytes,
                sha256=part.csv.sha256,
                enums=enums,
                period=period,
            ),
        ]
    return entries, parts


def _layer(
    con: duckdb.DuckDBPyConnection, folder: Path, kind: str, stem: str, ctx: Context
) -> list[Entry] | None:
    """<stem>.parquet, .csv and .geojson of one area kind; None without polygons."""
    layer = area_table(con, kind, ctx.latest_12)
    if layer is None:
        return None
    plural, singular = _KIND_TITLES[kind]
    geo = geo_metadata(layer.geometry_types, layer.bounds)
    table = layer.table
    with atomic_path(folder / f"{stem}.parquet") as tmp:
        write_parquet(table.drop_columns([WKT]), tmp, geo=geo)
    columns = csv_columns(AREA_COLUMNS, wkt=True)
    flat = csv_table(table, columns)
    with atomic_path(folder / f"{stem}.csv") as tmp:
        write_csv(flat, tmp)
    with atomic_path(folder / f"{stem}.geojson") as tmp:
        write_geojson(table, tmp, name=stem)
    enums = reason_enums(AREA_COLUMNS)
    what = (
        f"One row per {singular} in force during the latest-12 window (newest boundary vintage"
        f" of each code) with that period's published metrics"
        f" ({ctx.latest_label or 'no months with data'}); each withheld value is null with"
        f" its reason in the matching _reason column. Other periods and breakdowns:"
        f" the metrics files (area_kind = '{kind}')."
    )
    return [
        Entry(
            f"{stem}.parquet",
            f"{stem}-parquet",
            f"{plural} with the latest-12 period's metrics (GeoParquet)",
            what + " Polygons in Hilbert order; bbox covering column.",
            "parquet",
            _PARQUET,
            AREA_COLUMNS,
            rows=table.num_rows,
            primary_key=["code"],
            enums=enums,
            extra={"geoparquet": _GEOPARQUET},
        ),
        Entry(
            f"{stem}.csv",
            f"{stem}-csv",
            f"{plural} with the latest-12 period's metrics (CSV, WKT geometry)",
            what + " Same rows as the GeoParquet file; geometry as WKT, no bbox column.",
            "csv",
            "text/csv",
            columns,
            tabular=True,
            rows=table.num_rows,
            primary_key=["code"],
            enums=enums,
        ),
        Entry(
            f"{stem}.geojson",
            f"{stem}-geojson",
            f"{plural} with the latest-12 period's metrics (GeoJSON)",
            what + " RFC 7946 FeatureCollection (lon/lat, exterior rings counter-clockwise).",
            "geojson",
            "application/geo+json",
            rows=table.num_rows,
        ),
    ]


def _export(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    record_level: bool,
    demo: bool,
    period_label: str | None,
    reuses: tuple[Reuse | None, Reuse | None],
    hasher: Callable[[Path], str],
) -> ExportReport:
    folder.mkdir(parents=True, exist_ok=True)
    ctx = _context(con, demo=demo, record_level=record_level, period_label=period_label)
    entries: list[Entry] = []
    stale: list[str] = []
    parts: list[MonthPart] = []
    started = time.perf_counter()
    if record_level:
        entries, parts = _records(con, folder, reuses[0], hasher)
    else:
        remove_stale(folder)
    records_seconds = round(time.perf_counter() - started, 3)
    metric_entries, periods = _metrics(con, folder, reuses[1], hasher)
    entries += metric_entries
    for kind, stem in AREA_LAYERS.items():
        written = _layer(con, folder, kind, stem, ctx)
        if written is None:
            stale += [f"{stem}.parquet", f"{stem}.csv", f"{stem}.geojson"]
            figures = SQL.scalar(con, "figures_of_kind", {"kind": kind})
            if figures:
                ctx.no_boundaries.append(_KIND_TITLES[kind][0].lower())
            continue
        ctx.area_files.append(stem)
        entries += written
    for name in stale:
        (folder / name).unlink(missing_ok=True)
    for entry in entries:
        _finish(entry, folder, hasher)

    # README, then the package describing everything (README included).
    text = readme(ctx, entries)
    with atomic_path(folder / README) as tmp:
        tmp.write_text(text, encoding="utf-8")
    entries.append(
        _finish(
            Entry(
                README,
                "readme",
                "Read me",
                "What each file is and how to open it in QGIS, R, pandas/geopandas and DuckDB.",
                "txt",
                "text/plain",
            ),
            folder,
            hasher,
        )
    )
    descriptor = datapackage(ctx, entries)
    with atomic_path(folder / DATAPACKAGE) as tmp:
        write_datapackage(tmp, descriptor)
    size, digest = (folder / DATAPACKAGE).stat().st_size, hasher(folder / DATAPACKAGE)
    files = [
        ExportedFile(e.path, e.title, e.description, e.bytes, e.sha256, e.rows, e.month, e.period)
        for e in entries
    ]
    files.append(
        ExportedFile(
            DATAPACKAGE,
            "Data package",
            "Frictionless Data Package: every file, column, unit, licence and checksum.",
            size,
            digest,
        )
    )
    return ExportReport(
        files=files, months=parts, periods=periods, records_seconds=records_seconds
    )
