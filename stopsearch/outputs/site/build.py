"""Render `site_template/` with the published figures into a folder any static server can serve.

Output is deterministic: the same warehouse and arguments give the same bytes (sorted
iteration, fixed number formatting, stable element ids, no clock). Nothing is requested from
another origin: Leaflet is copied from its XStatic package, there is no tile layer
unless one is configured, and every page carries a Content-Security-Policy that forbids other
origins.
"""

from __future__ import annotations

import functools
import gc
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

import duckdb
import jinja2

from stopsearch.metrics import definitions
from stopsearch.metrics.contract import BROAD_GROUPS, MEASURES
from stopsearch.metrics.precision import HALF_WIDTH_LIMIT, RATIO_SPAN_LIMIT
from stopsearch.metrics.reference import ReferenceTable, reference_tables
from stopsearch.metrics.stats import DEFAULT_RATIO_METHOD
from stopsearch.metrics.suppression import DEFAULT_RULES, REASONS, SuppressionRules, display_for
from stopsearch.outputs.extracts.metric_files import METRICS_QUERY
from stopsearch.outputs.extracts.records import DUCKDB_QUERY as RECORD_QUERY
from stopsearch.outputs.extracts.schema import SCHEMA_VERSION
from stopsearch.outputs.site import area_files, data, pages, text
from stopsearch.outputs.site import funnel as site_funnel
from stopsearch.outputs.site import search as site_search
from stopsearch.outputs.site import trends as site_trends
from stopsearch.outputs.site.webmap import MapView, build_map_view

P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_TEMPLATES = Path(__file__).parents[2] / "site_template"  # -> ../site_template
DEMO_BANNER = "Fictional demonstration data: not real places, people or police records."
OGL = "Contains public sector information licensed under the Open Government Licence v3.0."
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
TOP_PAGES = (
    ("index.html", "Overview"),
    ("map.html", "Map"),
    ("areas/index.html", "Areas"),
    ("methodology.html", "Methodology"),
    ("coverage.html", "Data coverage"),
    ("downloads.html", "Downloads"),
    ("about.html", "About"),
)
RATIO_METHODS = {
    "wald": (
        "log-scale Wald interval: exp(ln DR ± 1.96 × √(1/N_g + 1/N_W)), where N_g and N_W are"
        " the person searches of the group and of White people. Simulation over realistic"
        " counts put its coverage between 95% and 96%; it has a closed form that anyone can"
        " recompute from the published counts."
    ),
    "exact": (
        "exact conditional (Clopper-Pearson) interval: N_g given N_g + N_W is binomial, and its"
        " interval is transformed to the ratio scale with the populations fixed."
    ),
    "midp": (
        "mid-p conditional interval: as the exact interval, with half the probability of the"
        " observed count in each tail."
    ),
}
PRECISION_RULE = (
    f"for a ratio, the upper limit more than {RATIO_SPAN_LIMIT:g} times the lower; for a rate"
    f" or share, half the interval's width more than {HALF_WIDTH_LIMIT:.0%} of the figure"
)


@dataclass(frozen=True)
class SiteReport:
    """What a build wrote: pages (relative paths), total bytes, overview bytes, seconds, and
    {path: (fingerprint, bytes)} of the per-area CSVs (the next build's `keep` links these)."""

    pages: list[str]
    total_bytes: int
    overview_bytes: int
    seconds: float
    area_files: dict[str, tuple[str, int]] = field(default_factory=dict)


def csp(tile_url: str | None = None) -> str:
    """The Content-Security-Policy of every page (a configured tile server may serve images)."""
    img = "'self' data:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{", "").replace("}", ""))
        if parts.scheme in ("http", "https") and parts.netloc:
            img += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        f"'unsafe-inline'; img-src {img}; connect-src 'self'"
    )


def environment(template_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    """Jinja environment: the user's folders first, then the shipped `site_template/`."""
    return _environment(tuple(str(Path(d).resolve()) for d in template_dirs))


@cache
def _environment(template_dirs: tuple[str, ...]) -> jinja2.Environment:
    """One environment per template search path and process, so that each template is compiled
    once, not once per build (a second build in the same process, as the tests and a long-lived
    caller make, reuses them). Jinja re-reads a template whose file changed (`auto_reload`)."""
    search = [*template_dirs, str(DEFAULT_TEMPLATES)]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["fig_cell"] = pages.fig_cell
    return env


def _find_asset(name: str, template_dirs: Sequence[Path]) -> Path:
    for folder in [*template_dirs, DEFAULT_TEMPLATES]:
        candidate = Path(folder) / "assets" / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"site asset {name} not found in {DEFAULT_TEMPLATES}/assets")


def copy_assets(out_dir: Path, template_dirs: Sequence[Path] = (), put: Put | None = None) -> None:
    """Leaflet from its XStatic package, then the site's own css and js.

    (jQuery, which folium lists by default, is not shipped: nothing on the site uses it.)
    With `put`, each file's bytes go through it (see build_site).
    """
    import xstatic.pkg.leaflet as xleaflet

    assets = out_dir / "assets"
    leaflet = Path(xleaflet.BASE_DIR)
    target = assets / "leaflet"
    (target / "images").mkdir(parents=True, exist_ok=True)
    copies = [
        (leaflet / name, target / name) for name in ("leaflet.js", "leaflet.js.map", "leaflet.css")
    ]
    copies += [
        (image, target / "images" / image.name)
        for image in sorted((leaflet / "images").glob("*.png"))
    ]
    copies += [
        (_find_asset(name, template_dirs), assets / name)
        for name in ("site.css", "map.js", "search.js")
    ]
    for source, copy in copies:
        if put is None:
            shutil.copyfile(source, copy)
        else:
            put(copy, source.read_bytes())


def _force_label(code: str | None) -> str:
    if not code:
        return "the force"
    return " ".join(part.capitalize() for part in code.replace("_", "-").split("-"))


def _clean(out_dir: Path) -> None:
    """Remove what an earlier build wrote (never the export step's downloads)."""
    for name in ("assets", "areas", "map-data", site_search.FOLDER):
        shutil.rmtree(out_dir / name, ignore_errors=True)
    for old in out_dir.glob("table-*.html"):
        old.unlink()
    shutil.rmtree(out_dir / "downloads" / "areas", ignore_errors=True)
    for page, _ in TOP_PAGES:
        if "/" not in page:
            (out_dir / page).unlink(missing_ok=True)


# Puts a file's bytes at a path (build_site's `put`).
Put = Callable[[Path, bytes], None]


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


class _Writer:
    def __init__(self, env: jinja2.Environment, out_dir: Path, base: dict, put: Put | None):
        self.env = env
        self.out_dir = out_dir
        self.base = base
        self.pages: list[str] = []
        self.put = put or _write

    def page(self, rel: str, template: str, *, description: str, **context: object) -> None:
        """Render one page; `description` is its meta description (search results show it)."""
        depth = rel.count("/")
        root = "../" * depth
        nav = [
            {"href": root + href, "label": label, "current": href == rel}
            for href, label in TOP_PAGES
        ]
        html = self.env.get_template(template).render(
            {**self.base, **context}, root=root, nav=nav, rel=rel, description=description
        )
        self.put(self.out_dir / rel, html.encode("utf-8"))
        self.pages.append(rel)

    def file(self, rel: str, content: bytes) -> None:
        self.put(self.out_dir / rel, content)


@dataclass
class _Site:
    """What every page builder reads: the published figures and the site's metadata."""

    store: data.Store
    layers: list[data.Layer]
    areas: list[data.Area]
    coverage: data.Coverage
    changelog: list[dict]
    rules: SuppressionRules
    record_level: bool
    force: str | None = None
    periods: list[data.Period] = field(default_factory=list)
    quarters: list[data.Period] = field(default_factory=list)
    latest: data.Period | None = None
    area_pages: dict[str, list[str]] = field(default_factory=dict)  # kind -> codes with figures
    area_names: dict[tuple[str, str], str] = field(default_factory=dict)
    parent_of: dict[tuple[str, str], str] = field(default_factory=dict)
    csv_sizes: dict[tuple[str, str], int] = field(default_factory=dict)  # of downloads/areas/
    csv_years: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)
    references: list[ReferenceTable] = field(default_factory=list)  # declared comparison tables
    last_month: date | None = None  # the force's last month with data
    page_months: int | None = data.PAGE_MONTHS  # the pages' horizon (data.PAGE_MONTHS)

    @property
    def layer_by_id(self) -> dict[str, data.Layer]:
        return {layer.layer_id: layer for layer in self.layers}


def _read_site(
    con: duckdb.DuckDBPyConnection,
    changelog: Sequence[dict],
    rules: SuppressionRules,
    record_level: bool,
    page_months: int | None,
) -> _Site:
    """Everything the pages show, read once from the warehouse."""
    store = data.Store.load(con, page_months)
    site = _Site(
        store=store,
        layers=data.load_layers(con),
        areas=data.load_areas(con, data.SITE_KINDS),
        coverage=data.load_coverage(con),
        changelog=[dict(c) for c in changelog] if changelog else data.derived_changelog(con),
        rules=rules,
        record_level=record_level,
        force=store.force_code(),
        periods=store.ordered_periods(("rolling", "year")),
        quarters=store.ordered_periods(("quarter",)),
        references=reference_tables(con),
        page_months=page_months,
    )
    months = store.ordered_periods(("month",))
    site.last_month = months[-1].start if months else None
    if site.periods and site.periods[0].kind == "rolling":
        site.latest = site.periods[0]
    if not record_level:  # below force level only closed years are published (metrics.linked)
        closed = [
            p
            for p in site.periods
            if p.kind == "year" and site.last_month is not None and p.end <= site.last_month
        ]
        site.latest = closed[-1] if closed else None
    site.area_pages = {kind: list(store.areas(kind)) for kind in data.SITE_KINDS}
    site.area_names = {
        (kind, code): store.names[(kind, code)]
        for kind, codes in site.area_pages.items()
        for code in codes
    }
    site.parent_of = {(a.kind, a.code): a.parent_code for a in site.areas if a.parent_code}
    return site


def _map_page(writer: _Writer, view: MapView | None, force_label: str) -> None:
    """map.html: the map component (its tables and files are written by _map_files)."""
    writer.page(
        "map.html",
        "map.html",
        view=view,
        title="Map",
        description=text.describe_map(force_label, view.geographies if view else []),
    )


def _about_page(writer: _Writer, site: _Site, force_label: str) -> None:
    """about.html: who publishes, the sources and the licence."""
    writer.page(
        "about.html",
        "about.html",
        title="About",
        layers=site.layers,
        measures=MEASURES,
        description=f"About this site: who publishes stop-and-search figures for"
        f" {force_label}, where the data come from and the licence for re-use.",
    )


def _base_context(
    con: duckdb.DuckDBPyConnection,
    site: _Site,
    search: site_search.SearchIndex,
    *,
    demo: bool,
    tile_url: str | None,
    generated_for: str,
    updated: date | None,
) -> dict:
    """What every page's template reads: banner, header, policy, attributions, search, funnels."""
    latest_period = site.latest.period if site.latest else None
    layers = {layer.attribution for layer in site.layers if layer.attribution}
    return {
        "demo": demo,
        "demo_banner": DEMO_BANNER,
        "csp": csp(tile_url),
        "force_label": _force_label(site.force),
        "generated_for": generated_for,
        "ogl": OGL,
        "ogl_url": OGL_URL,
        "text": text,
        "boundary_attributions": sorted(layers | set(site_search.attributions(con))),
        "latest": site.latest,
        "data_to": text.full_month(site.last_month) if site.last_month else "",
        "updated": text.long_day(updated) if updated else "",
        "search": {"index": site_search.INDEX, "postcodes": search.has_postcodes},
        "funnels": site_funnel.load(con, latest_period, site.area_pages),
        "funnel_unusual": site_funnel.UNUSUAL,
        "history": _history(site),
    }


def _history(site: _Site) -> dict | None:
    """How far back the pages' trends, months and quarters go, when not to the first month."""
    if site.store.since is None or site.page_months is None:
        return None
    return {"since": text.full_month(site.store.since), "span": text.span(site.page_months)}


def _without_cycle_collector(build: Callable[P, R]) -> Callable[P, R]:
    """Run `build` with Python's cyclic garbage collector paused (reference counting still frees
    everything). A site build makes millions of small objects (published rows, figures, page
    text) and no cycles worth collecting: the collector's passes over them were a quarter of
    the build's CPU (8.5 -> 6.5 s on a 120-month night) for the same peak memory (1,247 MB)."""

    @functools.wraps(build)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return build(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_without_cycle_collector
def build_site(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    demo: bool,
    template_dirs: Sequence[Path] = (),
    tile_url: str | None = None,
    tile_attribution: str | None = None,
    downloads: Sequence[dict] = (),
    changelog: Sequence[dict] = (),
    record_level: bool = True,
    generated_for: str = "",
    rules: SuppressionRules = DEFAULT_RULES,
    updated: date | None = None,
    put: Put | None = None,
    keep: area_files.Keep | None = None,
    page_months: int | None = data.PAGE_MONTHS,
) -> SiteReport:
    """Render the public site from `published_metrics` into `out_dir`.

    `updated` is the day the published figures last changed (the publish job passes the date of
    its newest changelog entry); the header says it beside the last month of data. Without it
    the header gives the last month only, so that a plain rebuild stays byte-identical.
    `put(path, content)` puts each file's bytes (default: writes them); the publish job's
    release.Sharer links the previous release's file instead when it holds the same bytes.
    `keep(path, fingerprint)` links a per-area CSV the previous release made from the same rows
    without making it (area_files.Keep). Trends, months and quarters are drawn over the latest
    `page_months` months (data.PAGE_MONTHS; None: every month), so that a night's pages cost
    the same whatever the length of history; the per-area CSVs hold every period.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    env = environment(template_dirs)
    copy_assets(out_dir, template_dirs, put)
    site = _read_site(con, changelog, rules, record_level, page_months)
    search = _search_index(con, site)
    base = _base_context(
        con,
        site,
        search,
        demo=demo,
        tile_url=tile_url,
        generated_for=generated_for,
        updated=updated,
    )
    writer = _Writer(env, out_dir, base, put)
    view = build_map_view(
        site.store,
        site.layers,
        site.areas,
        rules=rules,
        tile_url=tile_url,
        tile_attribution=tile_attribution,
    )
    area_csvs = _write_area_csvs(writer, site, con, keep)
    for rel, content in sorted(search.files.items()):
        writer.file(rel, content)
    _map_files(writer, view)
    _overview_page(writer, site, view)
    _map_page(writer, view, str(base["force_label"]))
    _area_index_page(writer, site, _area_pages(writer, site))
    _methodology_page(writer, site)
    _coverage_page(writer, site)
    _downloads_page(writer, site, downloads)
    _about_page(writer, site, str(base["force_label"]))

    total = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return SiteReport(
        pages=sorted(writer.pages),
        total_bytes=total,
        overview_bytes=(out_dir / "index.html").stat().st_size,
        seconds=round(time.perf_counter() - started, 3),
        area_files=area_csvs,
    )


def _map_files(writer: _Writer, view: MapView | None) -> None:
    """map-data/* (fetched by map.js) and one page per table of map figures."""
    if view is None:
        return
    for rel, content in sorted(view.files.items()):
        writer.file(rel, content)
    for table in view.tables:
        writer.page(
            table.page,
            "map_table.html",
            title=f"{table.title}: every map figure",
            description=f"Stop and search in {writer.base['force_label']} by"
            f" {table.title[:1].lower()}{table.title[1:]}: search rates, positive-outcome rates"
            " and disproportionality ratios of every area, with intervals and counts.",
            table=table,
            tables=view.tables,
            metrics=view.metrics,
            precision_rule=PRECISION_RULE,
        )


def _write_area_csvs(
    writer: _Writer, site: _Site, con: duckdb.DuckDBPyConnection, keep: area_files.Keep | None
) -> dict[str, tuple[str, int]]:
    """downloads/areas/<kind>/<code>.csv and <code>-<year>.csv of every area and the force (see
    area_files); a file `keep` links from the last release is not made. Returns {path:
    (fingerprint, bytes)} of every file, for the next release's `keep`."""
    latest_year = site.latest.end.year if site.latest else None
    made: dict[str, tuple[str, int]] = {}

    def record(file: area_files.AreaFile, size: int) -> None:
        made[file.rel] = (file.fingerprint, size)
        if file.year is None:
            site.csv_sizes[(file.kind, file.code)] = size
        else:
            site.csv_years.setdefault((file.kind, file.code), []).append((file.year, size))

    todo = []
    for file in area_files.fingerprints(con, (*data.SITE_KINDS, "force"), latest_year):
        size = keep(file.rel, file.fingerprint) if keep is not None else None
        if size is None:
            todo.append(file)
        else:
            record(file, size)
    for file, content in area_files.contents(con, todo, latest_year):
        writer.file(file.rel, content)
        record(file, len(content))
    for years in site.csv_years.values():
        years.sort()
    return dict(sorted(made.items()))


def _search_index(con: duckdb.DuckDBPyConnection, site: _Site) -> site_search.SearchIndex:
    """The "find your area" index: every area with a page, by name and code, and postcodes."""
    entries = []
    for kind in data.SITE_KINDS:
        for code in site.area_pages[kind]:
            parent = site.parent_of.get((kind, code))
            council = site.area_names.get(("local_authority", parent), "") if parent else ""
            entries.append(
                site_search.Entry(
                    site.area_names[(kind, code)],
                    kind,
                    code,
                    f"areas/{kind}/{text.slug(code)}.html",
                    council,
                )
            )
    postcodes: list[tuple[str, list[site_search.Entry]]] = []
    if site.latest is not None:
        postcodes = site_search.postcode_targets(
            con,
            site.layers,
            site.areas,
            site.latest.end_day,
            {(e.kind, e.code): e for e in entries},
        )
    return site_search.build_index(entries, postcodes)


def _overview_page(writer: _Writer, site: _Site, view: MapView | None) -> None:
    """index.html: the force's headline figures, trend and the map."""
    store, force, latest, rules = site.store, site.force, site.latest, site.rules
    overview = {}
    if force and latest:
        overview = {
            "headline": pages.headline(
                store,
                "force",
                force,
                latest.period,
                rules,
                pages.Where(
                    writer.base["force_label"],
                    pages.when_text(latest),
                    force,
                    writer.base["force_label"],
                ),
            ),
            "trends": site_trends.trends(store, "force", force, latest, rules),
            "monthly": pages.monthly(store, "force", force, rules, "monthly"),
            "years": pages.years(store, "force", force, rules, site.periods + site.quarters),
            "csv": f"downloads/areas/force/{text.slug(force)}.csv",
            "priority": pages.breakdown(store, "force", force, latest.period, "priority", rules),
            "officer": pages.ethnicity(store, "force", force, latest.period, rules)["officer"],
            "references": _references(site, force, latest),
        }
    writer.page(
        "index.html",
        "index.html",
        view=view,
        overview=overview,
        title="Overview",
        description=text.describe_overview(writer.base["force_label"], latest),
    )


def _references(site: _Site, force: str, latest: data.Period) -> list[dict]:
    """Declared comparison tables (e.g. England and Wales) beside the force's own rates.

    The force's All row is the Home Office comparable rate (every person search); its other
    rows are the group rates. Each side is labelled with its own period.
    """
    out = []
    for table in site.references:
        rows = []
        for row in table.broad():
            if row.broad_group == "All":
                own = site.store.fig(
                    "force", force, latest.period, "search_rate_all_persons", basis="self_defined"
                )
            elif row.broad_group == "Unknown":
                own = None
            else:
                own = site.store.fig(
                    "force",
                    force,
                    latest.period,
                    "search_rate",
                    basis="self_defined",
                    grp=row.broad_group or "",
                )
            rows.append(
                {
                    "label": "All (every person search)" if row.broad_group == "All" else row.grp,
                    "searches": text.count(row.searches),
                    "rate": "not available"
                    if row.rate_per_1000 is None
                    else f"{row.rate_per_1000:.1f}",
                    "force_rate": pages.shown(own, site.rules) if own else None,
                }
            )
        out.append({"table": table, "rows": rows})
    return out


def _parent_link(site: _Site, kind: str, code: str) -> dict | None:
    """The area's parent (a local authority) as a link, or its bare code when it has no page."""
    parent_code = site.parent_of.get((kind, code))
    if parent_code and ("local_authority", parent_code) in site.area_names:
        return {
            "name": site.area_names[("local_authority", parent_code)],
            "href": f"../local_authority/{text.slug(parent_code)}.html",
        }
    if parent_code:
        return {"name": parent_code, "href": None}
    return None


def _children_links(site: _Site, kind: str, code: str) -> list[tuple[str, str]]:
    """The wards of a local authority, as (name, href)."""
    if kind != "local_authority":
        return []
    return sorted(
        {
            (site.area_names[("ward", c)], f"../ward/{text.slug(c)}.html")
            for (k, c), p in site.parent_of.items()
            if k == "ward" and p == code and ("ward", c) in site.area_names
        }
    )


def _area_pages(writer: _Writer, site: _Site) -> dict[str, list[dict]]:
    """areas/<kind>/<code>.html for every area with figures; returns the index rows by kind."""
    layer_by_id = site.layer_by_id
    index_rows: dict[str, list[dict]] = {}
    for kind in data.SITE_KINDS:
        index_rows[kind] = []
        for code in site.area_pages[kind]:
            name = site.area_names[(kind, code)]
            where = pages.Where(
                name,
                pages.when_text(site.store.period_of(kind, code, site.latest))
                if site.latest
                else "",
                site.force,
                writer.base["force_label"],
            )
            context = _area_context(
                site.store, kind, code, site.latest, site.periods + site.quarters, site.rules, where
            )
            near = None
            if site.latest:
                near = pages.shown(
                    site.store.fig(kind, code, site.latest.period, "near_boundary_share"),
                    site.rules,
                )
            methods = _methods_for(site.coverage, layer_by_id, site.areas, kind, code)
            parent = _parent_link(site, kind, code)
            writer.page(
                f"areas/{kind}/{text.slug(code)}.html",
                "area.html",
                title=f"{name}, {parent['name']}" if parent else name,
                description=text.describe_area(
                    name,
                    text.KIND_LABELS[kind],
                    parent["name"] if parent else None,
                    writer.base["force_label"],
                ),
                name=name,
                code=code,
                kind=kind,
                kind_label=text.KIND_LABELS[kind],
                parent=parent,
                children=_children_links(site, kind, code),
                layers=pages.area_layers(site.areas, layer_by_id, kind, code),
                csv_href=f"../../downloads/areas/{kind}/{text.slug(code)}.csv",
                csv_bytes=site.csv_sizes[(kind, code)],
                csv_years=[
                    {
                        "year": year,
                        "href": f"../../downloads/areas/{kind}/{text.slug(code)}-{year}.csv",
                        "bytes": size,
                    }
                    for year, size in sorted(site.csv_years.get((kind, code), []), reverse=True)
                ],
                near=near,
                withheld_note=_withheld_note(site, kind, code, name, parent, writer.base),
                record_level=site.record_level,
                census_years=site.coverage.census_years,
                population_methods=methods,
                **context,
            )
            index_rows[kind].append(
                {"name": name, "code": code, "href": f"{kind}/{text.slug(code)}.html"}
            )
    for rows in index_rows.values():
        rows.sort(key=lambda r: (r["name"].casefold(), r["code"]))
    return index_rows


def _withheld_note(
    site: _Site, kind: str, code: str, name: str, parent: dict | None, base: dict
) -> dict | None:
    """Why an area's rates are withheld, and where to look instead (its council, or the force)."""
    if site.latest is None:
        return None
    rate = site.store.fig(kind, code, site.latest.period, "search_rate", basis="self_defined")
    if rate.shown:
        return None
    why = text.reason_text(rate.reason or "no_data", site.rules)
    note = {
        "text": f"Most rates for {name} are withheld ({why}): from so few searches a rate could"
        " point to the people searched, or swing widely by chance.",
        "href": None,
        "link": "",
    }
    if parent and parent.get("href"):
        note["href"] = parent["href"]
        note["link"] = f"See the figures for {parent['name']}, which include {name}"
    else:
        note["href"] = "../../index.html"
        note["link"] = f"See the figures for the whole of {base['force_label']}"
    return note


def _area_index_page(writer: _Writer, site: _Site, index_rows: dict[str, list[dict]]) -> None:
    """areas/index.html: councils with their wards, then every other area page, by kind."""
    councils = _councils(site, index_rows)
    grouped = {"local_authority", "ward"} if councils else set()
    placed = {r["code"] for c in councils for r in c["wards"]}
    kinds = []
    for kind in data.SITE_KINDS:
        rows = index_rows[kind]
        if kind in grouped:
            rows = [r for r in rows if kind == "ward" and r["code"] not in placed]
        if rows:
            label = text.KIND_PLURALS[kind]
            if kind in grouped:
                label = f"{label} outside any council above"
            kinds.append((kind, label, rows))
    writer.page(
        "areas/index.html",
        "areas_index.html",
        title="Areas",
        description=f"Every area with its own stop-and-search page in {writer.base['force_label']}:"
        " councils and their wards, neighbourhoods and priority areas.",
        councils=councils,
        kinds=kinds,
        changes=site_trends.area_changes(site.store, site.area_pages, site.latest, site.rules),
        chance_note=site_trends.CHANCE_NOTE,
    )


def _councils(site: _Site, index_rows: dict[str, list[dict]]) -> list[dict]:
    """Each council (local authority) with a page or with wards, and its wards, by name."""
    pages_of = {r["code"]: r for r in index_rows["local_authority"]}
    wards: dict[str, list[dict]] = {}
    for row in index_rows["ward"]:
        parent = site.parent_of.get(("ward", row["code"]))
        if parent:
            wards.setdefault(parent, []).append(row)
    out = []
    for code in sorted(set(pages_of) | set(wards)):
        page = pages_of.get(code)
        name = page["name"] if page else site.store.names.get(("local_authority", code), code)
        out.append(
            {
                "code": code,
                "name": name,
                "href": page["href"] if page else None,
                "wards": wards.get(code, []),
            }
        )
    out.sort(key=lambda c: (str(c["name"]).casefold(), str(c["code"])))
    return out


def _methodology_page(writer: _Writer, site: _Site) -> None:
    """methodology.html: measures, thresholds, reason codes, intervals and population sources."""
    writer.page(
        "methodology.html",
        "methodology.html",
        title="Methodology",
        description="How every stop-and-search figure on this site is defined and computed:"
        " rates per resident, intervals, disproportionality ratios, withheld figures, caveats.",
        measures=pages.measures_glossary(),
        rules=site.rules,
        reasons=[(r, display_for(r, site.rules), text.reason_text(r, site.rules)) for r in REASONS],
        ratio_method=DEFAULT_RATIO_METHOD,
        ratio_method_text=RATIO_METHODS.get(DEFAULT_RATIO_METHOD, DEFAULT_RATIO_METHOD),
        record_level=site.record_level,
        census_years=site.coverage.census_years,
        population_methods=site.coverage.population_methods,
        layers=site.layers,
        groups=BROAD_GROUPS,
        definitions=definitions.site_context(SCHEMA_VERSION),
    )


def _coverage_page(writer: _Writer, site: _Site) -> None:
    """coverage.html: months present, location quality per period, and the changelog."""
    location = []
    if site.force:
        for p in site.periods:
            location.append(
                {
                    "label": p.label,
                    **{
                        key: pages.shown(
                            site.store.fig("force", site.force, p.period, measure), site.rules
                        )
                        for key, measure in (
                            ("no_location", "no_location_share"),
                            ("outside", "outside_area_share"),
                            ("near", "near_boundary_share"),
                        )
                    },
                }
            )
    writer.page(
        "coverage.html",
        "coverage.html",
        title="Data coverage and changelog",
        description="Which months of stop-and-search records this site includes, how well they"
        " are located, and what changed in each publication.",
        coverage=site.coverage,
        changelog=site.changelog,
        location=location,
        layers=site.layers,
        periods=site.periods,
    )


def _record_months(files: list[dict], key: str = "month") -> list[dict]:
    """One row per month of the record-level files (or per period of the metrics files, with
    `key` "period"): its rows and its Parquet and CSV files."""
    months: dict[str, dict] = {}
    for d in files:
        row = months.setdefault(str(d[key]), {"month": d[key], "rows": d.get("rows")})
        row["parquet" if str(d["name"]).endswith(".parquet") else "csv"] = d
    return [months[m] for m in sorted(months)]


def _downloads_page(writer: _Writer, site: _Site, downloads: Sequence[dict]) -> None:
    """downloads.html: the extracts and every area's CSV, with their sizes."""
    names = site.area_names
    area_downloads = [
        (
            text.KIND_PLURALS[kind],
            [
                {
                    "name": names[(kind, code)],
                    "href": f"downloads/areas/{kind}/{text.slug(code)}.csv",
                    "size": text.human_bytes(site.csv_sizes[(kind, code)]),
                }
                for code in sorted(site.area_pages[kind], key=lambda c: (names[(kind, c)], c))
            ],
        )
        for kind in data.SITE_KINDS
        if site.area_pages[kind]
    ]
    files = [
        {**d, "size": text.human_bytes(int(d.get("bytes", 0)))}
        for d in sorted(downloads, key=lambda d: str(d.get("name", "")))
    ]
    writer.page(
        "downloads.html",
        "downloads.html",
        title="Downloads",
        description="Download the published stop-and-search figures as open data: extracts for"
        " every area and period, and one CSV per area.",
        downloads=[d for d in files if not d.get("month") and not d.get("period")],
        record_months=_record_months([d for d in files if d.get("month")]),
        record_query=RECORD_QUERY,
        metric_periods=_record_months([d for d in files if d.get("period")], "period"),
        metrics_query=METRICS_QUERY,
        area_downloads=area_downloads,
        force_csv=f"downloads/areas/force/{text.slug(site.force)}.csv" if site.force else None,
        record_level=site.record_level,
        columns=area_files.CSV_COLUMNS,
    )


def _methods_for(
    coverage: data.Coverage,
    layer_by_id: dict[str, data.Layer],
    areas: list[data.Area],
    kind: str,
    code: str,
) -> list[str]:
    layer_ids = {a.layer_id for a in areas if a.kind == kind and a.code == code}
    out = []
    for population_id, layer_id, layer_kind, detail in coverage.population_methods:
        if layer_kind != kind:
            continue
        if layer_id and layer_ids and layer_id not in layer_ids:
            continue
        layer = layer_by_id.get(layer_id)
        where = layer.name if layer else text.KIND_PLURALS.get(layer_kind, layer_kind)
        out.append(f"{where}: {detail} (source {population_id})")
    return sorted(set(out))


def _area_context(
    store: data.Store,
    kind: str,
    code: str,
    latest: data.Period | None,
    periods: list[data.Period],
    rules: SuppressionRules,
    where: pages.Where,
) -> dict:
    if latest is None or not store.has(kind, code, latest.period):
        return {
            "has_latest": False,
            "headline": [],
            "monthly": None,
            "outcomes": None,
            "breakdowns": [],
            "ethnicity": None,
            "designation": None,
            "years": pages.years(store, kind, code, rules, periods),
            "months_present": 0,
            "trends": None,
        }
    period = latest.period
    breakdowns = [
        b
        for b in (
            pages.breakdown(store, kind, code, period, name, rules)
            for name in pages.BREAKDOWN_ORDER
        )
        if b
    ]
    return {
        "has_latest": True,
        "trends": site_trends.trends(store, kind, code, latest, rules),
        "latest": store.period_of(kind, code, latest),  # this area's months of the period
        "headline": pages.headline(store, kind, code, period, rules, where),
        "monthly": pages.monthly(store, kind, code, rules, "monthly"),
        "outcomes": pages.outcomes(store, kind, code, period, rules),
        "breakdowns": breakdowns,
        "ethnicity": pages.ethnicity(store, kind, code, period, rules, where.force_code),
        "designation": pages.breakdown(store, kind, code, period, "designation", rules)
        if kind == "priority_area"
        else None,
        "years": pages.years(store, kind, code, rules, periods),
        "months_present": store.fig(kind, code, period, "searches").months,
    }
