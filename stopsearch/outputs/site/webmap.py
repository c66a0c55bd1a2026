"""The choropleth: a folium (Leaflet) map, class breaks, legends and the equivalent tables.

The map page and the overview carry only the map, its controls and legends. Its data are static
files beside the pages, fetched by `assets/map.js` when a geography and period are chosen:
`map-data/<layer>.geojson` (simplified polygons, one file per boundary layer, each area with its
name and a label point) and `map-data/<table>.json` (every map figure of one geography and
period, with its colour class, and each area's searches and page, for its popup).
The same figures are published as HTML tables, one page per geography and period
(`table-<geography>-<period>.html`), so the map never shows anything that a table does not say,
and the pages stay small enough to load quickly on a phone.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
import numpy as np
import shapely
from branca.element import CssLink, Element, Figure, JavascriptLink
from branca.utilities import color_brewer
from markupsafe import Markup

from stopsearch.metrics.contract import COMPARISON_GROUPS, MEASURES
from stopsearch.metrics.suppression import NO_DATA, SuppressionRules
from stopsearch.outputs.site import geometry, text
from stopsearch.outputs.site.councils import merged_councils
from stopsearch.outputs.site.data import Area, Fig, Layer, Period, Store, layer_for

MAP_KINDS = ("ward", "neighbourhood", "local_authority")
HATCH = "url(#ss-hatch)"

# ColorBrewer (through branca) YlGnBu, sequential, and PuOr, diverging: both colour-blind safe.
SEQUENTIAL_SCHEME = "YlGnBu"
DIVERGING = color_brewer("PuOr", 9)
# Ratio classes symmetric around 1 on a log scale: each break above 1 and its reciprocal.
RATIO_BREAKS_ABOVE = (1.25, 2.0, 3.0, 5.0)
RATIO_BREAKS = [round(1 / b, 2) for b in reversed(RATIO_BREAKS_ABOVE)] + list(RATIO_BREAKS_ABOVE)


def sequential_palette(classes: int) -> list[str]:
    """ColorBrewer YlGnBu with `classes` colours (1-5).

    ColorBrewer's schemes start at three classes: one or two classes take the middle, or every
    other, colour of the five-class scheme.
    """
    if classes >= 3:
        return color_brewer(SEQUENTIAL_SCHEME, classes)
    five = color_brewer(SEQUENTIAL_SCHEME, 5)
    return five[2:3] if classes == 1 else five[1::2]


@dataclass(frozen=True)
class MapMetric:
    id: str
    measure: str
    basis: str
    grp: str
    label: str
    short: str
    scale: str  # sequential | diverging


MAP_METRICS = (
    MapMetric(
        "search_rate",
        "search_rate",
        "self_defined",
        "All",
        "Person searches per 1,000 residents (annualised)",
        "Searches per 1,000 residents",
        "sequential",
    ),
    MapMetric(
        "positive_outcome_rate",
        "positive_outcome_rate",
        "none",
        "All",
        "Positive-outcome rate (all searches)",
        "Positive-outcome rate",
        "sequential",
    ),
    *(
        MapMetric(
            f"dr_{g.lower()}",
            "disproportionality_ratio",
            "self_defined",
            g,
            f"Disproportionality ratio, {g} vs White (search rate per resident)",
            f"{g}/White ratio",
            "diverging",
        )
        for g in COMPARISON_GROUPS
    ),
)


@dataclass
class Classes:
    breaks: list[float]
    colours: list[str]
    labels: list[str]

    def of(self, value: float) -> int:
        return bisect.bisect_right(self.breaks, value)


def _nice(value: float, percent: bool) -> float:
    if percent:
        return round(value * 100) / 100
    if value <= 0:
        return 0.0
    digits = 1 - int(np.floor(np.log10(abs(value))))
    return round(value, digits)


def _label_value(value: float, percent: bool) -> str:
    return f"{100 * value:.0f}%" if percent else f"{value:g}"


def sequential_classes(values: Sequence[float], percent: bool) -> Classes:
    """Up to five classes at rounded quintiles of the published values."""
    vals = np.sort(np.asarray([v for v in values if v is not None], dtype=float))
    breaks: list[float] = []
    if len(vals):
        for q in (0.2, 0.4, 0.6, 0.8):
            b = _nice(float(np.quantile(vals, q)), percent)
            if b > vals[0] and (not breaks or b > breaks[-1]) and b <= vals[-1]:
                breaks.append(b)
    return _classes(breaks, sequential_palette(len(breaks) + 1), percent)


def _classes(breaks: list[float], colours: list[str], percent: bool) -> Classes:
    labels = []
    bounds = [None, *breaks, None]
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        if low is None and high is None:
            labels.append("any value")
        elif low is None:
            assert high is not None  # both None is the case above
            labels.append(f"under {_label_value(high, percent)}")
        elif high is None:
            labels.append(f"{_label_value(low, percent)} or more")
        else:
            labels.append(f"{_label_value(low, percent)} to under {_label_value(high, percent)}")
    return Classes(list(breaks), list(colours), labels)


def ratio_classes() -> Classes:
    classes = _classes(RATIO_BREAKS, DIVERGING, False)
    classes.labels[4] += " (about the same rate as White residents)"
    return classes


@dataclass
class Cell:
    metric: str
    cls: str  # class index as text, "" when withheld
    value: str
    ci: str
    counts: str
    withheld: bool
    imprecise: bool = False  # wide interval (metrics.precision): labelled, drawn paler


@dataclass
class Row:
    code: str
    name: str
    href: str
    cells: list[Cell]
    searches: str = ""  # the published display of the area's searches (the popup's first line)


@dataclass
class Table:
    id: str
    kind: str
    period: Period
    layer: Layer
    rows: list[Row]
    hidden: bool

    @property
    def caption(self) -> str:
        return (
            f"{text.KIND_PLURALS[self.kind]}, {self.period.label}: every map figure "
            f"(boundaries: {self.layer.name})"
        )

    @property
    def page(self) -> str:
        """The table's own page, beside index.html."""
        return f"table-{self.id.removeprefix('t-')}.html"

    @property
    def data(self) -> str:
        """The table's figures for map.js."""
        return f"map-data/{self.id}.json"

    @property
    def title(self) -> str:
        return f"{text.KIND_PLURALS[self.kind]}, {self.period.label}"

    def json(self) -> bytes:
        """{code: [name, {metric: [class, value, interval, counts, imprecise]}, searches, page]},
        for map.js (its tooltips and popups)."""
        rows = {
            r.code: [
                r.name,
                {c.metric: [c.cls, c.value, c.ci, c.counts, c.imprecise] for c in r.cells},
                r.searches,
                r.href,
            ]
            for r in self.rows
        }
        return _json_bytes({"caption": self.caption, "page": self.page, "rows": rows})


@dataclass
class Legend:
    metric: MapMetric
    classes: Classes
    hidden: bool
    definition: str


@dataclass
class MapView:
    """Everything the map component template needs, and the static files map.js fetches."""

    head: Markup
    html: Markup
    script: Markup
    config: Markup
    scripts: list[str]  # script URLs (Leaflet), loaded at the end of the page
    geographies: list[tuple[str, str]]
    periods: list[Period]
    metrics: tuple[MapMetric, ...]
    tables: list[Table]
    legends: list[Legend]
    priority: list[dict] = field(default_factory=list)
    attributions: list[str] = field(default_factory=list)
    tile_attribution: str | None = None
    feature_count: int = 0
    files: dict[str, bytes] = field(default_factory=dict)  # map-data/*: path -> content


def _counts_text(metric: MapMetric, store: Store, kind: str, code: str, p: Period, f: Fig) -> str:
    if not f.shown:
        return ""
    if metric.measure == "search_rate":
        pop = store.fig(kind, code, p.period, "population", basis="self_defined", grp="All")
        residents = f"{text.count(pop.value)} residents" if pop.shown else "residents unknown"
        return f"{text.count(f.numerator)} person searches; {residents}; {f.months} months"
    if metric.measure == "positive_outcome_rate":
        return (
            f"{text.count(f.numerator)} positive of {text.count(f.denominator)} searches "
            "with a known outcome"
        )
    return (
        f"{text.count(f.numerator)} searches of {metric.grp} people, "
        f"{text.count(f.denominator)} of White people"
    )


def _cell(
    metric: MapMetric,
    classes: Classes,
    store: Store,
    kind: str,
    code: str,
    p: Period,
    rules: SuppressionRules,
) -> Cell:
    f = store.fig(kind, code, p.period, metric.measure, basis=metric.basis, grp=metric.grp)
    if not f.shown or f.value is None:  # (shown has a value)
        reason = f.reason or NO_DATA
        return Cell(
            metric.id,
            "",
            text.withheld_words(reason, rules),
            "",
            text.reason_text(reason, rules),
            True,
        )
    return Cell(
        metric.id,
        str(classes.of(f.value)),
        text.number(metric.measure, f.value),
        f.ci,
        _counts_text(metric, store, kind, code, p, f),
        False,
        f.wide,
    )


_ID = re.compile(r"[^a-z0-9]+")


def _json_bytes(data: object) -> bytes:
    """Compact, key-sorted JSON: the same figures give the same bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _json_script(data: object) -> Markup:
    """JSON safe to place inside <script type="application/json">."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    raw = raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(raw)


def _fix_ids(root: Element) -> None:
    """Give every folium/branca element a stable id (folium draws random uuids).

    Element._id and ._children are private (no public API sets ids): folium and branca are
    pinned to exact versions in pyproject.toml for this reason.
    """
    counter = 0
    stack = [root]
    while stack:
        element = stack.pop(0)
        if not getattr(element, "_ss_named", False):
            element._id = f"e{counter}"
            counter += 1
        stack.extend(element._children.values())


def _name(element: Element, ident: str) -> Element:
    element._id = ident
    element._ss_named = True  # type: ignore[attr-defined]  # our mark: _fix_ids keeps the id
    return element


_UUID = re.compile(r"\b[0-9a-f]{32}\b")


@dataclass
class _Geometry:
    """Simplified polygons of every boundary layer on the map, and the priority-area outlines."""

    collections: dict[str, dict]  # layer_id -> FeatureCollection
    priority_areas: list[Area]
    priority: dict | None  # FeatureCollection of the priority areas, None without any
    box: list[list[float]] | None  # [[south, west], [north, east]] of everything drawn


@dataclass
class _Folium:
    """The folium map rendered into the parts a page places, and its JavaScript name."""

    head: str  # stylesheets
    scripts: list[str]  # script URLs, placed before the map's own script
    html: str
    script: str
    map_name: str


def map_classes(store: Store, kinds: list[str], periods: list[Period]) -> dict[str, Classes]:
    """Classes per map metric, over every geography and period on the map."""
    classes: dict[str, Classes] = {}
    for metric in MAP_METRICS:
        if metric.scale == "diverging":
            classes[metric.id] = ratio_classes()
            continue
        values = [
            store.fig(k, c, p.period, metric.measure, basis=metric.basis, grp=metric.grp).value
            for k in kinds
            for c in store.areas(k)
            for p in periods
        ]
        percent = MEASURES[metric.measure].kind == "share"
        classes[metric.id] = sequential_classes([v for v in values if v is not None], percent)
    return classes


def map_tables(
    store: Store,
    kinds: list[str],
    periods: list[Period],
    layers_by_kind: dict[str, list[Layer]],
    by_layer: dict[str, list[Area]],
    classes: dict[str, Classes],
    rules: SuppressionRules,
    root: str,
) -> tuple[list[Table], dict[str, Layer], dict[str, dict[str, dict[str, str]]]]:
    """One table of every map figure per (geography, period); the boundary layers they use; and
    which layer and table each (geography, period) shows."""
    used: dict[str, Layer] = {}
    geos: dict[str, dict[str, dict[str, str]]] = {}
    tables: list[Table] = []
    for kind in kinds:
        geos[kind] = {}
        for p in periods:
            layer = layer_for(layers_by_kind[kind], p.end_day)
            if layer is None or not store.counted(kind, p.period):
                continue
            used[layer.layer_id] = layer
            table_id = f"t-{kind}-{_ID.sub('-', p.period.lower())}"
            rows = []
            for area in sorted(by_layer[layer.layer_id], key=lambda a: (a.name, a.code)):
                cells = [
                    _cell(m, classes[m.id], store, kind, area.code, p, rules) for m in MAP_METRICS
                ]
                href = f"{root}areas/{kind}/{text.slug(area.code)}.html"
                name = store.names.get((kind, area.code), area.name)
                searches = store.fig(kind, area.code, p.period, "searches").display
                rows.append(Row(area.code, name, href, cells, searches))
            tables.append(Table(table_id, kind, p, layer, rows, hidden=bool(tables)))
            geos[kind][p.period] = {"layer": layer.layer_id, "table": table_id}
    return tables, used, geos


def map_geometry(
    used: dict[str, Layer],
    by_layer: dict[str, list[Area]],
    areas: list[Area],
    tolerance: float,
    names: dict[tuple[str, str], str],
) -> _Geometry:
    """One simplified FeatureCollection per boundary layer used, and the priority areas; each
    feature has its name and a point to label it at (`lp`, [lat, lon])."""
    collections: dict[str, dict] = {}
    all_geoms = []
    for layer_id in sorted(used):
        members = sorted(by_layer[layer_id], key=lambda a: a.code)
        geoms = [shapely.from_wkb(a.wkb) for a in members]
        simple = geometry.simplify_layer(geoms, tolerance)
        all_geoms.extend(simple)
        collections[layer_id] = geometry.feature_collection([a.code for a in members], simple)
        points = {a.code: geometry.label_point(g) for a, g in zip(members, simple, strict=True)}
        for feature in collections[layer_id]["features"]:
            code = feature["properties"]["code"]
            feature["properties"]["lp"] = points[code]
            feature["properties"]["name"] = names.get((used[layer_id].kind, code), code)
    priority_areas = sorted(
        (a for a in areas if a.kind == "priority_area"), key=lambda a: (a.name, a.code)
    )
    priority = None
    if priority_areas:
        simple = geometry.simplify_layer(
            [shapely.from_wkb(a.wkb) for a in priority_areas], tolerance
        )
        priority = geometry.feature_collection([a.code for a in priority_areas], simple)
    return _Geometry(collections, priority_areas, priority, geometry.bounds(all_geoms))


def folium_map(
    box: list[list[float]] | None,
    *,
    root: str,
    tile_url: str | None,
    tile_attribution: str | None,
) -> _Folium:
    """The Leaflet map (through folium), fitted to `box`, rendered; map.js adds the areas.

    Assets come from `root`assets/ (never another origin); element ids are stable.
    """
    m = folium.Map(
        location=[0.0, 0.0],
        zoom_start=10,
        tiles=None,
        control_scale=True,
        zoom_snap=0.25,
    )
    _name(m, "main")
    m.default_js = [("leaflet", f"{root}assets/leaflet/leaflet.js")]  # no jQuery: unused
    m.default_css = [("leaflet_css", f"{root}assets/leaflet/leaflet.css")]
    if tile_url:
        tiles = folium.TileLayer(
            tiles=tile_url, attr=tile_attribution or "Base map", name="Base map", control=False
        )
        _name(tiles, "tiles")
        tiles.add_to(m)
    if box:
        m.fit_bounds(box)
    figure = m.get_root()
    assert isinstance(figure, Figure)  # a map's root is its figure
    _fix_ids(figure)
    figure.render()
    links = list(figure.header._children.values())
    head = "\n".join(child.render() for child in links if isinstance(child, CssLink))
    scripts = [str(child.url) for child in links if isinstance(child, JavascriptLink)]
    html = figure.html.render().strip()
    script = figure.script.render().strip()
    for part in (head, html, script, *scripts):
        if _UUID.search(part):
            raise RuntimeError("folium produced a random element id: output would not be stable")
    if "</script" in script.lower():
        raise RuntimeError("map script contains a closing script tag")
    return _Folium(head, scripts, html, script, m.get_name())


def _layer_file(layer_id: str) -> str:
    return f"map-data/{text.slug(layer_id)}.geojson"


def build_map_view(
    store: Store,
    layers: list[Layer],
    areas: list[Area],
    *,
    rules: SuppressionRules,
    root: str = "",
    tile_url: str | None = None,
    tile_attribution: str | None = None,
    tolerance: float = geometry.DEFAULT_TOLERANCE,
) -> MapView | None:
    """The map component, or None when there is nothing to draw."""
    periods = store.ordered_periods(("rolling", "year"))
    extra_layers, extra_areas = merged_councils(store, layers, areas)
    layers, areas = [*layers, *extra_layers], [*areas, *extra_areas]
    by_layer: dict[str, list[Area]] = defaultdict(list)
    for area in areas:
        by_layer[area.layer_id].append(area)
    layers_by_kind: dict[str, list[Layer]] = defaultdict(list)
    for layer in layers:
        if by_layer.get(layer.layer_id):
            layers_by_kind[layer.kind].append(layer)
    kinds = [k for k in MAP_KINDS if layers_by_kind.get(k) and store.areas(k)]
    periods = [p for p in periods if any(store.counted(k, p.period) for k in kinds)]
    if not kinds or not periods:
        return None

    classes = map_classes(store, kinds, periods)
    tables, used, geos = map_tables(
        store, kinds, periods, layers_by_kind, by_layer, classes, rules, root
    )
    names = {(a.kind, a.code): a.name for a in areas} | store.names
    shapes = map_geometry(used, by_layer, areas, tolerance, names)
    first = tables[0]
    rendered = folium_map(
        shapes.box, root=root, tile_url=tile_url, tile_attribution=tile_attribution
    )
    files = {_layer_file(layer_id): _json_bytes(fc) for layer_id, fc in shapes.collections.items()}
    files.update({t.data: t.json() for t in tables})
    if shapes.priority is not None:
        for feature, area in zip(shapes.priority["features"], shapes.priority_areas, strict=True):
            feature["properties"].update(
                {
                    "name": store.names.get(("priority_area", area.code), area.name),
                    "from": text.day(area.valid_from) or "not recorded",
                    "to": text.day(area.valid_to) or "still designated",
                }
            )
        files["map-data/priority.geojson"] = _json_bytes(shapes.priority)
    legends = [
        Legend(
            metric,
            classes[metric.id],
            hidden=index > 0,
            definition=MEASURES[metric.measure].definition,
        )
        for index, metric in enumerate(MAP_METRICS)
    ]
    config = {
        "map": rendered.map_name,
        "scripts": rendered.scripts,
        "layers": {
            layer_id: {"url": root + _layer_file(layer_id), "kind": used[layer_id].kind}
            for layer_id in sorted(shapes.collections)
        },
        "overlay": root + "map-data/priority.geojson" if shapes.priority is not None else None,
        "geos": geos,
        "tables": {
            t.id: {"data": root + t.data, "page": root + t.page, "title": t.title} for t in tables
        },
        "hatch": HATCH,
        "metrics": {
            metric.id: {
                "label": metric.label,
                "short": metric.short,
                "colours": classes[metric.id].colours,
            }
            for metric in MAP_METRICS
        },
        "kinds": {kind: text.KIND_PLURALS[kind] for kind in kinds},
        "kind": {kind: text.KIND_LABELS[kind] for kind in kinds},
        "periods": {p.period: p.label for p in periods},
    }
    priority = [
        {
            "code": a.code,
            "name": store.names.get(("priority_area", a.code), a.name),
            "href": f"{root}areas/priority_area/{text.slug(a.code)}.html",
            "from": text.day(a.valid_from),
            "to": text.day(a.valid_to),
        }
        for a in shapes.priority_areas
    ]
    attributions = sorted({layer.attribution for layer in used.values()})
    return MapView(
        head=Markup(rendered.head),
        html=Markup(rendered.html),
        # Run by map.js once Leaflet has loaded (when the map nears the screen).
        script=Markup(
            f"window.ssMapInit = function () {{\n{rendered.script}\n"
            f"return {rendered.map_name};\n}};"
        ),
        config=_json_script(config),
        scripts=rendered.scripts,
        geographies=[(k, text.KIND_PLURALS[k]) for k in kinds],
        periods=periods,
        metrics=MAP_METRICS,
        tables=tables,
        legends=legends,
        priority=priority,
        attributions=attributions,
        tile_attribution=tile_attribution if tile_url else None,
        feature_count=len(shapes.collections[first.layer.layer_id]["features"]),
        files=files,
    )
