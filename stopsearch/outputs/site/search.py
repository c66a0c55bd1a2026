"""The "find your area" index: static JSON files beside the pages, split so that little is loaded.

`assets/search.js` (the combobox on the overview, map and areas pages) fetches nothing until the
search box is used. It then reads `search/index.json` (which shards exist, and the kinds' labels)
and, for each query, one shard:

* `search/n-<key>.json`: every area with a page that has a word (of its name or code) starting
  with the two letters or digits `<key>`; a query is looked up in the shard of one of its words.
* `search/p-<key>.json`: postcodes whose first four characters (without the space) are `<key>`
  (about a postcode sector), each with the areas it lies in (its small area's ward and
  neighbourhood), when the boundary manifest declares a postcode lookup (`[[postcodes]]`).

So a force with 600 wards and 100,000 postcodes serves each query from one file of a few
kilobytes. The index holds names, codes and links only, never a figure. Names are folded as
`fold` says; `assets/search.js` folds queries the same way.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import duckdb
import shapely

from stopsearch.outputs.site import text
from stopsearch.outputs.site.data import Area, Layer, layer_for, load_areas
from stopsearch.sqlfiles import SqlFile

SQL = SqlFile("stopsearch.outputs.site", "search.sql")

FOLDER = "search"
INDEX = f"{FOLDER}/index.json"
KEY_LENGTH = 2  # letters of a word that choose a name shard
POSTCODE_KEY_LENGTH = 4  # characters of a postcode (without its space) that choose its shard
KIND_ORDER = ("ward", "neighbourhood", "priority_area", "local_authority")
POSTCODE_KINDS = ("ward", "neighbourhood")  # what a postcode leads to
_APOSTROPHES = re.compile(r"['\u2019]")
_OTHER = re.compile(r"[^a-z0-9]+")


def fold(name: str) -> str:
    """Lower case, accents and apostrophes dropped, anything else but a-z and 0-9 a space.

    "King's Norton" -> "kings norton", "Llanfihangel-y-Creuddyn" -> "llanfihangel y creuddyn",
    "Ynys Môn" -> "ynys mon".
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _OTHER.sub(" ", _APOSTROPHES.sub("", plain)).strip()


def words(*names: str) -> list[str]:
    """The folded words of these names, in order, each once."""
    return list(dict.fromkeys(w for name in names for w in fold(name).split()))


@dataclass(frozen=True)
class Entry:
    """One area a search can find: its name, kind, code, page (from the site root), council."""

    name: str
    kind: str
    code: str
    href: str
    parent: str = ""

    def row(self) -> list[str]:
        return [self.name, self.kind, self.code, self.href, self.parent]


@dataclass
class SearchIndex:
    """The index files (path -> bytes) and what the pages say about the search."""

    files: dict[str, bytes] = field(default_factory=dict)
    areas: int = 0
    postcodes: int = 0

    @property
    def has_postcodes(self) -> bool:
        return self.postcodes > 0


def _json(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _order(entry: Entry) -> tuple:
    return (fold(entry.name), KIND_ORDER.index(entry.kind), entry.code)


def name_shards(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    """Entries by the first two characters of each word of their name and code."""
    shards: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        for key in dict.fromkeys(w[:KEY_LENGTH] for w in words(entry.name, entry.code)):
            shards[key].append(entry)
    return {key: sorted(found, key=_order) for key, found in sorted(shards.items())}


def postcode_shards(
    postcodes: Iterable[tuple[str, list[Entry]]],
) -> dict[str, dict[str, list | dict]]:
    """Postcodes by their first four characters without the space; each shard lists the areas
    it names (`areas`) and gives each postcode, without its space, their places in that list
    (`postcodes`), so that it is read alone. The space goes before the last three characters."""
    shards: dict[str, dict[str, list | dict]] = {}
    places: dict[str, dict[str, int]] = {}
    for postcode, targets in sorted(postcodes, key=lambda item: item[0]):
        if not targets:
            continue
        squeezed = postcode.replace(" ", "")
        key = squeezed[:POSTCODE_KEY_LENGTH].lower()
        shard = shards.get(key)
        if shard is None:
            shard = shards[key] = {"areas": [], "postcodes": {}}
            places[key] = {}
        areas, place = shard["areas"], places[key]
        assert isinstance(areas, list)
        ids = []
        for target in targets:
            ident = f"{target.kind}:{target.code}"
            if ident not in place:
                place[ident] = len(areas)
                areas.append(target.row())
            ids.append(place[ident])
        listed = shard["postcodes"]
        assert isinstance(listed, dict)
        listed[squeezed] = ids
    return shards


def build_index(
    entries: Iterable[Entry], postcodes: Iterable[tuple[str, list[Entry]]] = ()
) -> SearchIndex:
    """Every file of the search index, from the areas with pages and the postcodes' areas."""
    entries = sorted(entries, key=_order)
    names = name_shards(entries)
    codes = postcode_shards(postcodes)
    index = SearchIndex(areas=len(entries))
    for key, found in names.items():
        index.files[f"{FOLDER}/n-{key}.json"] = _json({"areas": [e.row() for e in found]})
    for key, shard in codes.items():
        index.files[f"{FOLDER}/p-{key}.json"] = _json(shard)
        index.postcodes += len(shard["postcodes"])
    index.files[INDEX] = _json(
        {
            "names": sorted(names),
            "postcodes": sorted(codes),
            "kinds": {kind: text.KIND_LABELS[kind] for kind in KIND_ORDER},
            "key_length": KEY_LENGTH,
            "postcode_key_length": POSTCODE_KEY_LENGTH,
        }
    )
    return index


def postcode_targets(
    con: duckdb.DuckDBPyConnection,
    layers: list[Layer],
    areas: list[Area],
    day: date,
    entries: Mapping[tuple[str, str], Entry],
) -> list[tuple[str, list[Entry]]]:
    """Each postcode of the warehouse's lookups with the ward and neighbourhood (with pages) that
    hold its small area on `day`: the areas of the layer in force then that contain the small
    area's representative point (shapely's point_on_surface; on a tie, the lowest code)."""
    rows = SQL.execute(con, "postcodes").fetchall()
    if not rows:
        return []
    smalls = {(a.layer_id, a.code): a for a in load_areas(con, ["small_area"])}
    keys = sorted({(layer_id, code) for _, layer_id, code in rows if (layer_id, code) in smalls})
    points = shapely.point_on_surface(shapely.from_wkb([smalls[k].wkb for k in keys]))
    homes: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for kind in POSTCODE_KINDS:
        layer = layer_for([x for x in layers if x.kind == kind], day)
        if layer is None:
            continue
        members = sorted(
            (a for a in areas if a.layer_id == layer.layer_id and (kind, a.code) in entries),
            key=lambda a: a.code,
        )
        if not members:
            continue
        tree = shapely.STRtree(shapely.from_wkb([a.wkb for a in members]))
        placed: dict[int, int] = {}
        for point, member in zip(*tree.query(points, predicate="within"), strict=True):
            placed[int(point)] = min(int(member), placed.get(int(point), len(members)))
        for point, member in sorted(placed.items()):
            homes[keys[point]].append(entries[(kind, members[member].code)])
    return [(postcode, homes[(layer_id, code)]) for postcode, layer_id, code in rows]


def attributions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The postcode lookups' attributions (e.g. the ONS Postcode Directory's)."""
    return [str(a) for (a,) in SQL.execute(con, "attributions").fetchall()]
