"""The vintages of a layer fetched from the police API, kept in the cache beside the raw answers.

The police API only ever serves today's boundaries, so each distinct boundary set fetched is
stored as an immutable GeoJSON file (`layers/<layer id>/<sha256 prefix>.geojson`) and listed in
a register (`layers/<layer id>/vintages.json`): its id, the day it was first fetched, its digest.
Those files cannot be fetched again: they are the only record of earlier boundaries.

Validity, for the join: a vintage is in force from the day it was first fetched to the day
before the next one was; the newest stays open (or ends at the manifest's `valid_to`). The
oldest vintage also covers every earlier day (from the manifest's `valid_from`, if one is
given), so months published before the first fetch are still mapped, with the earliest
boundaries available.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta

from stopsearch.errors import GeographyError
from stopsearch.geography.manifest import Layer
from stopsearch.sources.cache import Cache

FORMAT_VERSION = 1


def register_key(layer_id: str) -> str:
    """The cache key of a fetched layer's register."""
    return f"layers/{layer_id}/vintages.json"


def vintage_key(layer_id: str, sha256: str) -> str:
    """The cache key of one stored boundary set (content-addressed)."""
    return f"layers/{layer_id}/{sha256[:16]}.geojson"


@dataclass(frozen=True)
class StoredVintage:
    """One boundary set as fetched: first seen on `first_fetched`, stored under `key`."""

    id: str
    first_fetched: date
    sha256: str
    key: str
    areas: int


@dataclass
class Register:
    """Every vintage of one fetched layer, oldest first, and the day it was last checked."""

    layer_id: str
    source: str
    force: str | None
    checked_on: date | None = None
    vintages: list[StoredVintage] = field(default_factory=list)

    @property
    def latest(self) -> StoredVintage | None:
        """The newest vintage, if any."""
        return self.vintages[-1] if self.vintages else None

    def to_json(self) -> bytes:
        """The register as stored (stable key order, ISO dates)."""
        data = {
            "format": FORMAT_VERSION,
            "layer_id": self.layer_id,
            "source": self.source,
            "force": self.force,
            "checked_on": self.checked_on.isoformat() if self.checked_on else None,
            "vintages": [
                {**asdict(v), "first_fetched": v.first_fetched.isoformat()} for v in self.vintages
            ],
        }
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def parse_register(body: bytes, where: str) -> Register:
    """A register from its stored JSON; GeographyError when it is not one."""
    try:
        data = json.loads(body)
        vintages = [
            StoredVintage(
                str(v["id"]),
                date.fromisoformat(v["first_fetched"]),
                str(v["sha256"]),
                str(v["key"]),
                int(v["areas"]),
            )
            for v in data["vintages"]
        ]
        checked = data.get("checked_on")
        return Register(
            str(data["layer_id"]),
            str(data["source"]),
            data.get("force"),
            date.fromisoformat(checked) if checked else None,
            sorted(vintages, key=lambda v: v.first_fetched),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise GeographyError(f"{where}: not a readable vintage register ({exc})") from None


def read_register(cache: Cache, layer: Layer) -> Register:
    """The register of a fetched layer (empty when nothing was fetched yet)."""
    key = register_key(layer.id)
    source = layer.source or ""
    if not cache.has(key):
        return Register(layer.id, source, layer.force)
    where = str(cache.path(key))
    if not cache.is_intact(key):
        raise GeographyError(f"{where}: does not match its checksum sidecar; restore it")
    register = parse_register(cache.read(key), where)
    if (register.source, register.force) != (source, layer.force):
        raise GeographyError(
            f"{where}: layer '{layer.id}' was fetched from {register.source}"
            f" (force {register.force}), the manifest now says {source} (force {layer.force});"
            " give the layer a new id"
        )
    return register


def write_register(cache: Cache, register: Register) -> None:
    """Store the register atomically (after the vintage files it names)."""
    key = register_key(register.layer_id)
    cache.put(key, register.to_json(), url=f"stopsearch:{register.source}")


def is_due(register: Register, refresh_days: int | None, today: date) -> bool:
    """Whether the source must be asked again: never checked, or `refresh_days` have passed."""
    if register.latest is None or register.checked_on is None:
        return True
    if refresh_days is None:
        return False
    return today >= register.checked_on + timedelta(days=refresh_days)


def record(
    register: Register, sha256: str, key: str, areas: int, today: date
) -> tuple[Register, str, StoredVintage | None]:
    """The register after a complete fetch on `today` of a boundary set with digest `sha256`.

    Returns (register, what happened, the vintage replaced or superseded): "unchanged" when the
    set equals the newest vintage, "new" for a first vintage, "changed" for a new vintage from
    `today`, "replaced" when the newest vintage was itself first fetched today (it is replaced).
    """
    latest = register.latest
    if latest is not None and latest.sha256 == sha256:
        return replace(register, checked_on=today), "unchanged", None
    vintage = StoredVintage(f"{register.layer_id}.{today.isoformat()}", today, sha256, key, areas)
    if latest is None:
        return replace(register, checked_on=today, vintages=[vintage]), "new", None
    if latest.first_fetched >= today:
        kept = register.vintages[:-1]
        vintage = replace(vintage, id=latest.id, first_fetched=latest.first_fetched)
        return replace(register, checked_on=today, vintages=[*kept, vintage]), "replaced", latest
    vintages = [*register.vintages, vintage]
    return replace(register, checked_on=today, vintages=vintages), "changed", latest


def periods(
    register: Register, valid_from: date | None, valid_to: date | None
) -> list[tuple[StoredVintage, date | None, date | None]]:
    """(vintage, valid_from, valid_to) of each vintage in force at some time, oldest first.

    The oldest starts at the manifest's `valid_from` (None: always); later ones on the day they
    were first fetched (not before `valid_from`); each ends the day before the next starts; the
    newest ends at `valid_to`. A vintage that would never be in force is left out.
    """
    if not register.vintages:
        return []
    starts: list[date | None] = [valid_from]
    for vintage in register.vintages[1:]:
        day = vintage.first_fetched
        starts.append(max(day, valid_from) if valid_from else day)
    # First days strictly increase, so only a leading run clipped to valid_from can tie.
    begun = []
    for n, (vintage, start) in enumerate(zip(register.vintages, starts, strict=True)):
        after = starts[n + 1] if n + 1 < len(starts) else None
        if after is None or start is None or after > start:
            begun.append((vintage, start))
    if valid_to is not None:
        begun = [(v, start) for v, start in begun if start is None or start <= valid_to]
    kept = []
    for n, (vintage, start) in enumerate(begun):
        following = begun[n + 1][1] if n + 1 < len(begun) else None
        end = following - timedelta(days=1) if following is not None else valid_to
        kept.append((vintage, start, end))
    return kept


def vintage_layers(declared: Layer, register: Register, cache: Cache) -> list[Layer]:
    """One file layer per vintage in force, with its validity dates; files checked first."""
    layers = []
    for vintage, start, end in periods(register, declared.valid_from, declared.valid_to):
        if cache.entry(vintage.key) is None or not cache.is_intact(vintage.key):
            raise GeographyError(
                f"layer '{declared.id}': stored vintage {vintage.id} ({cache.path(vintage.key)})"
                " is missing or does not match its checksum; it cannot be fetched again:"
                " restore the cache folder from a backup"
            )
        layers.append(
            replace(
                declared,
                id=vintage.id,
                name=f"{declared.name} (as fetched on {vintage.first_fetched.isoformat()})",
                file=vintage.key,
                path=cache.path(vintage.key),
                format="geojson",
                code_field="code",
                name_field="name",
                crs="EPSG:4326",
                valid_from=start,
                valid_to=end,
            )
        )
    return layers
