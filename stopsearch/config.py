"""The publish configuration (`stopsearch.toml`): what to fetch, where to publish, what to keep.

Every key is declared once, in `KEYS`: its TOML table, its command-line option and its one
validator. The TOML reader below and the command line (`stopsearch.cli`) are both built from
`KEYS`, so a value is checked the same way wherever it comes from; command-line values win.
Without a file the job publishes the embedded fictional demo. Paths in the file are relative to
the file.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from stopsearch.errors import ConfigError
from stopsearch.thresholds import (
    Limits,
    ReleaseRules,
    SuppressionRules,
    check_limit,
    check_threshold,
)

EXAMPLE = """\
[publish]
force = "west-midlands"          # data.police.uk force id
months = "latest"                # "latest", "all", or ["2023-01", "2023-02"]
output = "site"                  # releases/ and the `current` link go here
warehouse = "stopsearch.duckdb"
releases_kept = 5
# memory_limit = "3GB"           # cap DuckDB (it spills to disk beyond); default: its own

[sources]
police_api = true                # fetch /api/stops-force for each available month
police_api_url = "https://data.police.uk"
cache = "cache"                  # raw responses with checksums: rebuilds need no network
paths = []                       # local CSV/JSON files, folders or archive zips, loaded too

[boundaries]                     # wards, LSOAs, and neighbourhoods fetched from the police API
manifest = "boundaries/west-midlands-2013.toml"

[suppression]
min_count = 5
min_rate_count = 10
min_rate_population = 100
min_ratio_count = 5

[limits]                         # input size limits (a longer line or field is rejected)
line_bytes = 65536
field_bytes = 16384
json_depth = 64
json_number_digits = 64
expanded_bytes = 2147483648      # a larger file or archive member is refused

[extracts]
record_level = "auto"            # "auto" (on for data.police.uk sources), true or false;
                                 # also the disclosure mode: see "Disclosure control" below

[guards]
resupply_max_loss_percent = 20   # a re-supplied month losing more rows is quarantined
accept_resupply = []             # e.g. ["west-midlands-2023-01"]: apply that re-supply anyway
unplaced_max_percent = 5         # located searches in no area of a layer (else no release)
vanished_months_max = 0          # months of the live release missing now (else no release)
population_max_drift_percent = 1 # a layer's population total against its source total

[site]                           # no background map unless you set one: no request leaves the site
# tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"  # tiles you host or chose (one origin)
# tile_attribution = "Map data © OpenStreetMap contributors"  # required with tile_url
"""

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_FORCE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FORCE_MONTH = re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)*)-(\d{4}-(?:0[1-9]|1[0-2]))$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]i?b)$", re.IGNORECASE)
_SIZE_UNITS = {
    "kb": ("KB", 10**3),
    "mb": ("MB", 10**6),
    "gb": ("GB", 10**9),
    "tb": ("TB", 10**12),
    "kib": ("KiB", 2**10),
    "mib": ("MiB", 2**20),
    "gib": ("GiB", 2**30),
    "tib": ("TiB", 2**40),
}
MIN_MEMORY_BYTES = 128 * 10**6  # below this DuckDB runs out of memory on the demo already
MAX_MEMORY_BYTES = 2**50
MAX_RELEASES_KEPT = 1000
MAX_VANISHED_MONTHS = 10_000


@dataclass(frozen=True)
class PublishConfig:
    """Everything one publish run needs to know."""

    demo: bool = True
    force: str | None = None
    months: str | tuple[date, ...] = "latest"
    output: Path = Path("stopsearch-site")
    warehouse: Path = Path("stopsearch.duckdb")
    releases_kept: int = 5
    memory_limit: str | None = None
    police_api: bool = False
    police_api_url: str = "https://data.police.uk"
    cache: Path = Path("cache")
    paths: tuple[Path, ...] = ()
    manifest: Path | None = None
    suppression: SuppressionRules = field(default_factory=SuppressionRules)
    limits: Limits = field(default_factory=Limits)
    record_level: str | bool = "auto"
    accept_resupply: tuple[str, ...] = ()
    resupply_max_loss_percent: float = 20.0
    unplaced_max_percent: float = 5.0
    vanished_months_max: int = 0
    population_max_drift_percent: float = 1.0
    tile_url: str | None = None
    tile_attribution: str | None = None
    source_file: Path | None = None

    def with_overrides(self, **values: Any) -> PublishConfig:
        """A copy with command-line values applied (None means "not given")."""
        given = {k: v for k, v in values.items() if v is not None}
        unknown = set(given) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown option(s): {sorted(unknown)}")
        return replace(self, **given)

    @property
    def record_level_extract(self) -> bool:
        """Whether the record-level files (one per month) may be published."""
        if isinstance(self.record_level, bool):
            return self.record_level
        return (
            self.demo
            or self.police_api
            or not self.paths
            or all(
                "stop-and-search" in p.name or p.is_dir() or p.suffix == ".zip" for p in self.paths
            )
        )

    @property
    def release_rules(self) -> ReleaseRules:
        """The `[suppression]` thresholds with this release's disclosure mode (record_level)."""
        values = {f.name: getattr(self.suppression, f.name) for f in fields(SuppressionRules)}
        return ReleaseRules(**values, record_level=self.record_level_extract)

    @property
    def accepted_resupplies(self) -> frozenset[tuple[str, str]]:
        """(force, 'YYYY-MM') of every re-supply the operator accepted."""
        return frozenset(split_force_month(text) for text in self.accept_resupply)


# --- validators: each takes the value as TOML gives it and returns the value to use ---------


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"must be text, got {value!r}")
    return value


def _force(value: Any) -> str:
    if not _FORCE.match(_text(value)):
        raise ConfigError(f"{value!r} is not a data.police.uk force id")
    return value


def parse_months(value: Any) -> str | tuple[date, ...]:
    """'latest', 'all', or a list (or comma-separated text) of YYYY-MM months."""
    if value in ("latest", "all"):
        return value
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ConfigError(f"got {value!r}")
    months = []
    for item in items:
        text = str(item).strip()
        if not _MONTH.match(text):
            raise ConfigError(f"{text!r} is not YYYY-MM")
        months.append(date(int(text[:4]), int(text[5:7]), 1))
    return tuple(sorted(set(months)))


def _path(value: Any) -> Path:
    if isinstance(value, str):
        value = Path(value)
    if not isinstance(value, Path) or not str(value):
        raise ConfigError(f"must be a path (text), got {value!r}")
    return value


def _existing_file(value: Any) -> Path:
    path = _path(value)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist")
    return path


def _existing_paths(value: Any) -> tuple[Path, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(p, str | Path) for p in value):
        raise ConfigError("must be a list of files or folders")
    paths = tuple(_path(p) for p in value)
    for item in paths:
        if not item.exists():
            raise ConfigError(f"{item} does not exist")
    return paths


def _whole(value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"must be a whole number from {low} to {high:,}, got {value!r}")
    return value


def _releases_kept(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise ConfigError(f"must be at least 1, got {value!r}")
    return _whole(value, 1, MAX_RELEASES_KEPT)


def _vanished_months(value: Any) -> int:
    return _whole(value, 0, MAX_VANISHED_MONTHS)


def _percent(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"must be a number from 0 to 100, got {value!r}")
    if not 0 <= value <= 100:
        raise ConfigError(f"must be a number from 0 to 100, got {value!r}")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, got {value!r}")
    return value


def _url(value: Any) -> str:
    text = _text(value).strip()
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ConfigError(f"{value!r} is not an http(s) address")
    return text.rstrip("/")


_TILE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[^\s\"'<>\\`]*$")
MAX_ATTRIBUTION = 300


def _tile_url(value: Any) -> str:
    """A tile address with {z}, {x} and {y} on one host (the pages' CSP names that origin)."""
    text = _text(value).strip()
    if not _TILE_URL.match(text):
        raise ConfigError(f"{value!r} is not an http(s) address of one host with a path")
    for part in ("{z}", "{x}", "{y}"):
        if part not in text:
            raise ConfigError(f"{value!r} has no {part}")
    if "{s}" in text or "@" in text.split("/", 3)[2]:
        raise ConfigError(f"{value!r}: give one host, without {{s}} or a user name")
    return text


def _tile_attribution(value: Any) -> str:
    text = _text(value).strip()
    if not text or len(text) > MAX_ATTRIBUTION or any(c in text for c in "\r\n"):
        raise ConfigError(f"must be one line of 1 to {MAX_ATTRIBUTION} characters, got {value!r}")
    return text


def memory_bytes(text: str) -> int:
    """Bytes of a size such as '3GB' or '512MiB' (ConfigError when it is not one)."""
    match = _SIZE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ConfigError(f"{text!r} is not a size")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ConfigError(f"{text!r} is not a size") from None
    return int(number * _SIZE_UNITS[match.group(2).lower()][1])


def parse_memory_limit(value: Any) -> str:
    """A DuckDB memory cap, returned in a canonical form such as '3GB' (digits and a unit)."""
    text = _text(value)
    size = memory_bytes(text)
    if size < MIN_MEMORY_BYTES:
        raise ConfigError(f"{text!r} is too small: DuckDB needs at least 128MB")
    if size > MAX_MEMORY_BYTES:
        raise ConfigError(f"{text!r} is too large")
    match = _SIZE.match(text.strip())
    assert match is not None
    number = Decimal(match.group(1)).normalize()
    digits = f"{number:f}"
    return f"{digits}{_SIZE_UNITS[match.group(2).lower()][0]}"


def _record_level(value: Any) -> str | bool:
    if value not in ("auto", True, False) or isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(f"got {value!r}")
    return value


def split_force_month(text: str) -> tuple[str, str]:
    """('west-midlands', '2023-01') from 'west-midlands-2023-01'."""
    match = _FORCE_MONTH.match(text)
    if not match:
        raise ConfigError(f"{text!r} is not FORCE-YYYY-MM, e.g. west-midlands-2023-01")
    return match.group(1), match.group(2)


def _force_months(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"must be a list of FORCE-YYYY-MM texts, got {value!r}")
    for text in value:
        split_force_month(text)
    return tuple(dict.fromkeys(value))


def _shared(checker: Callable[[str, Any], int], name: str) -> Callable[[Any], int]:
    """A key's validator from a shared check that names the key itself (keep the problem)."""

    def check(value: Any) -> int:
        try:
            return checker(name, value)
        except ConfigError as exc:
            raise ConfigError(str(exc).removeprefix(f"{name} ")) from None

    return check


def _threshold(name: str) -> Callable[[Any], int]:
    return _shared(check_threshold, name)


def _limit(name: str) -> Callable[[Any], int]:
    return _shared(check_limit, name)


# --- the keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One configuration key: its TOML home, its command-line option and its one validator.

    `kind` says how a command-line text becomes the value TOML would give: text, int, number,
    bool (an on/off flag), choice (auto/on/off) or list (a repeatable option).
    """

    section: str
    name: str
    check: Callable[[Any], Any]
    example: str
    option: str
    help: str
    kind: str = "text"
    relative: bool = False  # a path: relative to the configuration file
    metavar: str | None = None

    @property
    def label(self) -> str:
        return f"[{self.section}] {self.name}"

    def default(self) -> Any:
        """The value used when neither the file nor the command line gives one."""
        base = PublishConfig()
        if self.section in NESTED:
            return getattr(getattr(base, self.section), self.name)
        return getattr(base, self.name)

    def validate(self, value: Any, where: str) -> Any:
        """The checked value, or ConfigError naming where, the key and an example."""
        try:
            return self.check(value)
        except ConfigError as exc:
            message = f"{where}: {self.label}: {exc}; for example: {self.example}"
            raise ConfigError(message) from None

    def from_text(self, text: str) -> Any:
        """A command-line text through the same validator (ConfigError with the problem)."""
        if self.kind == "int":
            try:
                value: Any = int(text.strip())
            except ValueError:
                raise ConfigError(f"{text!r} is not a whole number") from None
        elif self.kind == "number":
            try:
                value = float(text.strip())
            except ValueError:
                raise ConfigError(f"{text!r} is not a number") from None
        elif self.kind == "choice":
            choices = {"auto": "auto", "on": True, "off": False, "true": True, "false": False}
            if text not in choices:
                raise ConfigError(f"{text!r} is not one of auto, on, off")
            value = choices[text]
        elif self.kind == "list":
            return self.check([text])[0]
        else:
            value = text
        return self.check(value)


KEYS: tuple[Key, ...] = (
    Key(
        "publish",
        "force",
        _force,
        'force = "west-midlands"',
        "--police-force",
        "data.police.uk force id, e.g. west-midlands.",
        metavar="FORCE",
    ),
    Key(
        "publish",
        "months",
        parse_months,
        'months = "latest" or ["2023-01"]',
        "--months",
        "latest, all, or months such as 2023-01,2023-02.",
        metavar="MONTHS",
    ),
    Key(
        "publish",
        "output",
        _path,
        'output = "site"',
        "--out",
        "Output folder holding releases/ and the `current` link.",
        relative=True,
        metavar="DIRECTORY",
    ),
    Key(
        "publish",
        "warehouse",
        _path,
        'warehouse = "stopsearch.duckdb"',
        "--db",
        "The warehouse file (created when missing).",
        relative=True,
        metavar="FILE",
    ),
    Key(
        "publish",
        "releases_kept",
        _releases_kept,
        "releases_kept = 5",
        "--keep",
        "Number of releases to keep.",
        kind="int",
        metavar="N",
    ),
    Key(
        "publish",
        "memory_limit",
        parse_memory_limit,
        'memory_limit = "3GB"',
        "--memory-limit",
        "Cap on DuckDB's memory, e.g. 3GB (it spills to disk beyond) [default: DuckDB's].",
        metavar="SIZE",
    ),
    Key(
        "sources",
        "police_api",
        _bool,
        "police_api = true",
        "--police-api",
        "Fetch each available month from the data.police.uk API.",
        kind="bool",
    ),
    Key(
        "sources",
        "police_api_url",
        _url,
        'police_api_url = "https://data.police.uk"',
        "--api-url",
        "Base URL of the police API (for a mirror or a test server).",
        metavar="URL",
    ),
    Key(
        "sources",
        "cache",
        _path,
        'cache = "cache"',
        "--cache",
        "Folder for raw responses with checksums.",
        relative=True,
        metavar="DIRECTORY",
    ),
    Key(
        "sources",
        "paths",
        _existing_paths,
        'paths = ["data/police"]',
        "--source",
        "Local CSV/JSON file, folder or archive zip to load too (repeatable).",
        kind="list",
        relative=True,
        metavar="PATH",
    ),
    Key(
        "boundaries",
        "manifest",
        _existing_file,
        'manifest = "boundaries/west-midlands-2013.toml"',
        "--manifest",
        "Boundary manifest (boundaries/*.toml).",
        relative=True,
        metavar="FILE",
    ),
    *(
        Key(
            "suppression",
            f.name,
            _threshold(f.name),
            f"{f.name} = {f.default}",
            "--" + f.name.replace("_", "-"),
            text,
            kind="int",
            metavar="N",
        )
        for f, text in zip(
            fields(SuppressionRules),
            (
                "Counts below this (and above 0) are shown as '<N'.",
                "Fewest searches for a rate.",
                "Fewest residents for a rate.",
                "Fewest searches in each group for a ratio.",
            ),
            strict=True,
        )
    ),
    *(
        Key(
            "limits",
            f.name,
            _limit(f.name),
            f"{f.name} = {f.default}",
            "--limit-" + f.name.replace("_", "-"),
            text,
            kind="int",
            metavar="N",
        )
        for f, text in zip(
            fields(Limits),
            (
                "Longest CSV line in bytes; a longer line is rejected.",
                "Longest field in bytes; a longer field rejects its row or record.",
                "Deepest nesting of an API JSON file; deeper refuses the file.",
                "Most digits in an API JSON number; more rejects the record.",
                "Largest expanded file or archive member in bytes; larger refuses it.",
            ),
            strict=True,
        )
    ),
    Key(
        "extracts",
        "record_level",
        _record_level,
        'record_level = "auto"',
        "--record-level",
        "Publish the record-level searches extract (auto: only for data.police.uk).",
        kind="choice",
        metavar="[auto|on|off]",
    ),
    Key(
        "guards",
        "resupply_max_loss_percent",
        _percent,
        "resupply_max_loss_percent = 20",
        "--resupply-max-loss",
        "Quarantine a re-supplied month that loses more than this % of its rows (or all).",
        kind="number",
        metavar="PERCENT",
    ),
    Key(
        "guards",
        "accept_resupply",
        _force_months,
        'accept_resupply = ["west-midlands-2023-01"]',
        "--accept-resupply",
        "Apply this quarantined re-supply anyway, e.g. west-midlands-2023-01 (repeatable).",
        kind="list",
        metavar="FORCE-MONTH",
    ),
    Key(
        "guards",
        "unplaced_max_percent",
        _percent,
        "unplaced_max_percent = 5",
        "--unplaced-max",
        "Most located searches (%) that may fall in no area of a layer.",
        kind="number",
        metavar="PERCENT",
    ),
    Key(
        "guards",
        "vanished_months_max",
        _vanished_months,
        "vanished_months_max = 0",
        "--vanished-months-max",
        "Most months of the live release that may be missing from the new one.",
        kind="int",
        metavar="N",
    ),
    Key(
        "guards",
        "population_max_drift_percent",
        _percent,
        "population_max_drift_percent = 1",
        "--population-max-drift",
        "Most a layer's population total may differ (%) from its source's total.",
        kind="number",
        metavar="PERCENT",
    ),
    Key(
        "site",
        "tile_url",
        _tile_url,
        'tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"',
        "--tile-url",
        "Background map tiles, e.g. https://tiles.example.org/{z}/{x}/{y}.png; the pages'"
        " Content-Security-Policy allows that origin only [default: no background map].",
        metavar="URL",
    ),
    Key(
        "site",
        "tile_attribution",
        _tile_attribution,
        'tile_attribution = "Map data © OpenStreetMap contributors"',
        "--tile-attribution",
        "Credit line of the background map (required with --tile-url).",
        metavar="TEXT",
    ),
)
KEY_BY_NAME = {key.name: key for key in KEYS}
NESTED = ("suppression", "limits")  # sections held in an object of their own
SECTIONS = tuple(dict.fromkeys(key.section for key in KEYS))


def _read(path: Path) -> dict:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start + 1} is 0x{exc.object[exc.start]:02x});"
            " save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc


def _check_keys(section: dict, allowed: list[str], name: str, path: Path) -> None:
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{path}: {name} {unknown[0]}: unknown key; for example: one of {sorted(allowed)}"
        )


def _relative(value: Any, base: Path) -> Any:
    """Texts of a path key as paths relative to the file (other types go on to the check)."""
    if isinstance(value, str):
        return base / value
    if isinstance(value, list):
        return [base / v if isinstance(v, str) else v for v in value]
    return value


def _nested(config: PublishConfig, values: dict[str, Any]) -> PublishConfig:
    """`config` with the values of the nested sections ([suppression], [limits]) applied."""
    for section in NESTED:
        given = {k: v for k, v in values.items() if KEY_BY_NAME[k].section == section}
        if given:
            config = replace(config, **{section: replace(getattr(config, section), **given)})
    return config


def build_config(values: dict[str, Any], **extra: Any) -> PublishConfig:
    """A PublishConfig from checked key values (nested sections go into their objects)."""
    plain = {k: v for k, v in values.items() if KEY_BY_NAME[k].section not in NESTED}
    return _nested(PublishConfig(**plain, **extra), values)


def load_config(path: Path) -> PublishConfig:
    """Read and validate a stopsearch.toml; errors name the file and key with an example."""
    data = _read(path)
    _check_keys(data, list(SECTIONS), "[top]", path)
    for name in SECTIONS:
        if not isinstance(data.get(name, {}), dict):
            raise ConfigError(f"{path}: [{name}]: must be a table; for example: [{name}]")
        allowed = [key.name for key in KEYS if key.section == name]
        _check_keys(data.get(name, {}), allowed, f"[{name}]", path)
    values: dict[str, Any] = {}
    for key in KEYS:
        section = data.get(key.section, {})
        if key.name in section:
            raw = _relative(section[key.name], path.parent) if key.relative else section[key.name]
            values[key.name] = key.validate(raw, str(path))
    config = build_config(values, demo=False, source_file=path)
    if not config.police_api and not config.paths:
        raise ConfigError(
            f"{path}: [sources]: no source: set police_api = true or give paths;"
            " for example: police_api = true"
        )
    if config.police_api and not config.force:
        raise ConfigError(
            f"{path}: [publish] force: is required with police_api;"
            ' for example: force = "west-midlands"'
        )
    check_tiles(config, str(path))
    return config


def check_tiles(config: PublishConfig, where: str) -> None:
    """A background map needs its credit line (tile providers' terms require one)."""
    if config.tile_url and not config.tile_attribution:
        key = KEY_BY_NAME["tile_attribution"]
        raise ConfigError(
            f"{where}: {key.label}: is required with tile_url (or {key.option});"
            f" for example: {key.example}"
        )


def with_command_line(base: PublishConfig, values: dict[str, Any]) -> PublishConfig:
    """`base` with checked command-line key values on top.

    None (or an empty list) means "not given"; list keys add to the file's values. Naming a
    force, the police API or a local source means real data, not the demo.
    """
    given = {k: v for k, v in values.items() if v is not None and v != ()}
    for name, value in given.items():
        if KEY_BY_NAME[name].kind == "list":
            given[name] = tuple(dict.fromkeys((*getattr(base, name), *value)))
    nested = {k: given.pop(k) for k in list(given) if KEY_BY_NAME[k].section in NESTED}
    if given.get("paths") or given.get("police_api") or given.get("force"):
        given["demo"] = False
    merged = _nested(base.with_overrides(**given), nested)
    check_tiles(merged, "command line")
    return merged
