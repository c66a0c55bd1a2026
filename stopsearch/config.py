"""The publish configuration (`stopsearch.toml`): what to fetch, where to publish, what to keep.

Every key can also be given on the command line; command-line values win. Without a file the
job publishes the embedded fictional demo. Paths in the file are relative to the file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from stopsearch.errors import ConfigError

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

[boundaries]
manifest = "boundaries/west-midlands-2013.toml"

[suppression]
min_count = 5
min_rate_count = 10
min_rate_population = 100
min_ratio_count = 5

[extracts]
record_level = "auto"            # "auto" (on for data.police.uk sources), true or false
"""

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_FORCE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Suppression:
    """Disclosure-control thresholds (defaults from the project's methodology)."""

    min_count: int = 5
    min_rate_count: int = 10
    min_rate_population: int = 100
    min_ratio_count: int = 5


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
    suppression: Suppression = field(default_factory=Suppression)
    record_level: str | bool = "auto"
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
        """Whether searches.parquet (record level) may be published."""
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


def _fail(path: Path, key: str, problem: str, example: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {problem}; for example: {example}")


def parse_months(value: Any, where: Path | None = None) -> str | tuple[date, ...]:
    """'latest', 'all', or a list of YYYY-MM texts."""
    origin = where or Path("command line")
    if value in ("latest", "all"):
        return value
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise _fail(origin, "months", f"got {value!r}", 'months = "latest" or ["2023-01"]')
    months = []
    for item in items:
        text = str(item).strip()
        if not _MONTH.match(text):
            raise _fail(origin, "months", f"{text!r} is not YYYY-MM", 'months = ["2023-01"]')
        months.append(date(int(text[:4]), int(text[5:7]), 1))
    return tuple(sorted(set(months)))


def _section(data: dict, name: str, path: Path) -> dict:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise _fail(path, f"[{name}]", "must be a table", f"[{name}]")
    return section


def _check_keys(section: dict, allowed: set[str], name: str, path: Path) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise _fail(path, f"[{name}] {unknown[0]}", "unknown key", f"one of {sorted(allowed)}")


def _typed(section: dict, key: str, kind: type, name: str, path: Path, example: str) -> Any:
    value = section[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise _fail(path, f"[{name}] {key}", f"must be a whole number >= 0, got {value!r}", example)
    if kind is str and not isinstance(value, str):
        raise _fail(path, f"[{name}] {key}", f"must be text, got {value!r}", example)
    if kind is bool and not isinstance(value, bool):
        raise _fail(path, f"[{name}] {key}", f"must be true or false, got {value!r}", example)
    return value


def load_config(path: Path) -> PublishConfig:
    """Read and validate a stopsearch.toml; errors name the file and key with an example."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    _check_keys(data, {"publish", "sources", "boundaries", "suppression", "extracts"}, "top", path)
    base = path.parent
    publish = _section(data, "publish", path)
    sources = _section(data, "sources", path)
    boundaries = _section(data, "boundaries", path)
    suppression = _section(data, "suppression", path)
    extracts = _section(data, "extracts", path)
    _check_keys(
        publish,
        {"force", "months", "output", "warehouse", "releases_kept", "memory_limit"},
        "publish",
        path,
    )
    _check_keys(sources, {"police_api", "police_api_url", "cache", "paths"}, "sources", path)
    _check_keys(boundaries, {"manifest"}, "boundaries", path)
    _check_keys(suppression, {f.name for f in fields(Suppression)}, "suppression", path)
    _check_keys(extracts, {"record_level"}, "extracts", path)

    values: dict[str, Any] = {"demo": False, "source_file": path}
    if "force" in publish:
        force = _typed(publish, "force", str, "publish", path, 'force = "west-midlands"')
        if not _FORCE.match(force):
            raise _fail(
                path,
                "[publish] force",
                f"{force!r} is not a data.police.uk force id",
                'force = "west-midlands"',
            )
        values["force"] = force
    if "months" in publish:
        values["months"] = parse_months(publish["months"], path)
    for key in ("output", "warehouse"):
        if key in publish:
            values[key] = base / _typed(publish, key, str, "publish", path, f'{key} = "site"')
    if "memory_limit" in publish:
        limit = _typed(publish, "memory_limit", str, "publish", path, 'memory_limit = "3GB"')
        if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", limit):
            raise _fail(
                path, "[publish] memory_limit", f"{limit!r} is not a size", 'memory_limit = "3GB"'
            )
        values["memory_limit"] = limit
    if "releases_kept" in publish:
        kept = _typed(publish, "releases_kept", int, "publish", path, "releases_kept = 5")
        if kept < 1:
            raise _fail(path, "[publish] releases_kept", "must be at least 1", "releases_kept = 5")
        values["releases_kept"] = kept
    if "police_api" in sources:
        values["police_api"] = _typed(
            sources, "police_api", bool, "sources", path, "police_api = true"
        )
    if "police_api_url" in sources:
        values["police_api_url"] = _typed(
            sources,
            "police_api_url",
            str,
            "sources",
            path,
            'police_api_url = "https://data.police.uk"',
        ).rstrip("/")
    if "cache" in sources:
        values["cache"] = base / _typed(sources, "cache", str, "sources", path, 'cache = "cache"')
    if "paths" in sources:
        paths = sources["paths"]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise _fail(
                path,
                "[sources] paths",
                "must be a list of files or folders",
                'paths = ["data/police"]',
            )
        resolved = tuple(base / p for p in paths)
        for item in resolved:
            if not item.exists():
                raise _fail(
                    path, "[sources] paths", f"{item} does not exist", 'paths = ["data/police"]'
                )
        values["paths"] = resolved
    if "manifest" in boundaries:
        manifest = base / _typed(
            boundaries,
            "manifest",
            str,
            "boundaries",
            path,
            'manifest = "boundaries/west-midlands-2013.toml"',
        )
        if not manifest.is_file():
            raise _fail(
                path,
                "[boundaries] manifest",
                f"{manifest} does not exist",
                'manifest = "boundaries/west-midlands-2013.toml"',
            )
        values["manifest"] = manifest
    if suppression:
        values["suppression"] = Suppression(
            **{
                key: _typed(suppression, key, int, "suppression", path, f"{key} = 5")
                for key in suppression
            }
        )
    if "record_level" in extracts:
        value = extracts["record_level"]
        if value not in ("auto", True, False):
            raise _fail(path, "[extracts] record_level", f"got {value!r}", 'record_level = "auto"')
        values["record_level"] = value
    config = PublishConfig(**values)
    if not config.police_api and not config.paths:
        raise _fail(
            path, "[sources]", "no source: set police_api = true or give paths", "police_api = true"
        )
    if config.police_api and not config.force:
        raise _fail(
            path, "[publish] force", "is required with police_api", 'force = "west-midlands"'
        )
    return config
