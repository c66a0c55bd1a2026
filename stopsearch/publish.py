"""The nightly publish job: fetch, bring the warehouse up to date, build a release, switch to it.

A run holds the output folder's lock, builds the new release in a staging folder, verifies it
(every expected file, checksums, row counts against the warehouse) and only then renames it
into `releases/` and points `current` at it. Anything that fails leaves `current` untouched.
With no new input the job says "nothing changed" and publishes nothing (unless forced).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from stopsearch import __version__
from stopsearch.config import PublishConfig
from stopsearch.errors import StopsearchError
from stopsearch.metrics.suppression import SuppressionRules
from stopsearch.pipeline import PrepareReport, prepare
from stopsearch.release import (
    current_release,
    finalise,
    list_releases,
    new_release_id,
    prune,
    read_manifest,
    run_lock,
    staging_dir,
    switch_current,
    verify_release,
    write_checksums,
)
from stopsearch.status import MonthStatus, unmapped_summary, warehouse_status

DEMO_BANNER = "FICTIONAL DEMONSTRATION DATA: not real places, people or police records."
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REJECTED = 3
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the lock; try again later
EXPECTED_PAGES = (
    "index.html",
    "map.html",
    "methodology.html",
    "coverage.html",
    "downloads.html",
    "about.html",
)
STAGES = ("fetch", "prepare", "export", "site", "verify", "switch")
_DEPENDENCIES = ("duckdb", "pyarrow", "geopandas", "shapely", "folium", "jinja2", "click")


class PublishError(StopsearchError, RuntimeError):
    """The run failed; the previous release is still the live one."""


@dataclass
class PublishResult:
    """What one publish run did, for the human summary, the JSON summary and the exit code."""

    demo: bool
    prepared: PrepareReport | None
    months: list[MonthStatus] = field(default_factory=list)
    unmapped: list[tuple[str, str, int]] = field(default_factory=list)
    release: Path | None = None
    changed: bool = True
    fetch_lines: list[str] = field(default_factory=list)
    fetch_failed: int = 0
    durations: dict[str, float] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        ingest = self.prepared.ingest if self.prepared else None
        rejected = ingest is not None and ingest.needs_attention
        return EXIT_REJECTED if rejected or self.fetch_failed else EXIT_OK

    def as_json(self) -> dict[str, Any]:
        ingest = self.prepared.ingest if self.prepared else None
        return {
            "demo": self.demo,
            "changed": self.changed,
            "release": str(self.release) if self.release else None,
            "files_new": ingest.count("new") if ingest else 0,
            "files_resupplied": ingest.count("resupplied") if ingest else 0,
            "files_unchanged": ingest.count("unchanged") if ingest else 0,
            "files_refused": ingest.count("refused") if ingest else 0,
            "months": [m.as_json() for m in self.months],
            "rows_loaded": sum(m.rows_loaded for m in self.months),
            "rows_rejected": sum(m.rows_rejected for m in self.months),
            "unmapped_labels": [{"field": f, "label": lb, "rows": n} for f, lb, n in self.unmapped],
            "changes": self.changes,
            "ingest_notes": ingest.notes() if ingest else [],
            "fetch": self.fetch_lines,
            "durations": self.durations,
            "exit_code": self.exit_code,
        }

    def human(self) -> str:
        lines = [DEMO_BANNER] if self.demo else []
        lines += self.fetch_lines
        lines.append(f"{'force':22} {'month':8} {'rows':>7} {'rejected':>8} {'unmapped':>8}")
        for m in self.months:
            lines.append(
                f"{m.force:22} {m.month:%Y-%m}  {m.rows_loaded:7d} {m.rows_rejected:8d}"
                f" {m.unmapped_rows:8d}"
            )
        ingest = self.prepared.ingest if self.prepared else None
        total = sum(m.rows_loaded for m in self.months)
        rejected = sum(m.rows_rejected for m in self.months)
        lines.append(
            f"{len(self.months)} force-months, {total} rows, {rejected} rejected,"
            f" {len(self.unmapped)} unmapped labels"
        )
        if ingest is not None:
            lines.append(
                f"this run: {ingest.count('new')} new, {ingest.count('resupplied')} re-supplied,"
                f" {ingest.count('unchanged')} unchanged, {ingest.count('refused')} refused files"
            )
            lines += [f"refused: {f.error}" for f in ingest.files if f.error]
            lines += ingest.notes()
        lines += [f"unmapped {f} label {lb!r}: {n} rows" for f, lb, n in self.unmapped]
        lines += self.changes
        if self.changed and self.release is not None:
            lines.append(f"published release {self.release.name} (now current)")
        elif not self.changed:
            lines.append("nothing changed: the live release stays as it is")
        return "\n".join(lines)


def _fault_point(stage: str) -> None:
    """Operators' drill and test hook: STOPSEARCH_FAULT=<stage>:kill|diskfull."""
    fault = os.environ.get("STOPSEARCH_FAULT", "")
    if not fault.startswith(f"{stage}:"):
        return
    kind = fault.split(":", 1)[1]
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "diskfull":
        raise OSError(28, f"No space left on device (injected at stage {stage})")
    if kind == "sleep":  # hold the lock for a while (concurrency drills)
        time.sleep(float(os.environ.get("STOPSEARCH_FAULT_SLEEP", "5")))


def _versions() -> dict[str, str]:
    out = {"stopsearch": __version__}
    for name in _DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _loads(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT force, strftime(month, '%Y-%m'), source, sha256, rows_read, rows_loaded, "
        "rows_rejected FROM loads ORDER BY force, month"
    ).fetchall()
    return [
        {
            "force": force,
            "month": month,
            "source": Path(source.split(":", 1)[-1] if ".zip:" in source else source).name,
            "sha256": sha,
            "rows_read": read,
            "rows_loaded": loaded,
            "rows_rejected": rejected,
        }
        for force, month, source, sha, read, loaded, rejected in rows
    ]


def _state(con: duckdb.DuckDBPyConnection, config: PublishConfig) -> str:
    """What the release content depends on: data, boundaries, thresholds, code, options."""
    row = con.execute(
        "SELECT state_hash FROM metrics_runs ORDER BY built_at DESC LIMIT 1"
    ).fetchone()
    parts = [
        row[0] if row else "",
        __version__,
        str(config.demo),
        str(config.record_level_extract),
        repr(config.suppression),
    ]
    return "|".join(parts)


def changes_since(previous: dict | None, loads: list[dict[str, Any]]) -> list[str]:
    """Changelog lines: months new or re-supplied since the previous release, and withdrawn."""
    before = {(x["force"], x["month"]): x["sha256"] for x in (previous or {}).get("inputs", [])}
    now = {(x["force"], x["month"]): x["sha256"] for x in loads}
    lines = []
    for key in sorted(now):
        if key not in before:
            lines.append(f"new month: {key[0]} {key[1]}")
        elif before[key] != now[key]:
            lines.append(f"re-supplied month: {key[0]} {key[1]} (figures recomputed)")
    lines += [f"month no longer available: {f} {m}" for f, m in sorted(set(before) - set(now))]
    return lines


def _changelog(previous_release: Path | None, entry: dict | None) -> list[dict]:
    history: list[dict] = []
    if previous_release is not None and (previous_release / "changelog.json").is_file():
        history = json.loads((previous_release / "changelog.json").read_text(encoding="utf-8"))
    return ([entry] if entry else []) + history


def _inputs(
    config: PublishConfig, result: PublishResult, police_api: Any = None
) -> tuple[list[Path], Path | None]:
    """Input paths and boundary manifest: fetched months, configured paths, or the demo."""
    if config.demo:
        from stopsearch.demo import generate_demo

        target = config.output / "inputs" / "demo"
        if not (target / "truth.json").exists():
            generate_demo(target)
        return [target / "records"], target / "boundaries" / "manifest.toml"
    paths = list(config.paths)
    if config.police_api:
        from stopsearch.sources import Cache, PoliceAPI, fetch_force

        cache = Cache(config.cache)
        api = police_api or PoliceAPI(base_url=config.police_api_url)
        report = fetch_force(api, cache, config.force, config.months)
        result.fetch_lines = report.lines()
        result.fetch_failed = len(report.failed)
        paths.append(cache.path(f"police/stops-force/{config.force}"))
    return paths, config.manifest


def run_publish(
    config: PublishConfig,
    *,
    force_rebuild: bool = False,
    on_stage: Callable[[str], None] | None = None,
    police_api: Any = None,
) -> PublishResult:
    """Run the whole job under the output folder's lock (LockHeld if another run has it).

    `police_api` replaces the data.police.uk source (e.g. one with a test HTTP client).
    """
    out = config.output
    with run_lock(out):
        return _run_locked(
            config, force_rebuild=force_rebuild, on_stage=on_stage, police_api=police_api
        )


def _run_locked(
    config: PublishConfig,
    *,
    force_rebuild: bool,
    on_stage: Callable[[str], None] | None,
    police_api: Any = None,
) -> PublishResult:
    from stopsearch.warehouse import connect

    out = config.output
    result = PublishResult(demo=config.demo, prepared=None)
    durations = result.durations

    def stage(name: str) -> None:
        _fault_point(name)
        if on_stage is not None:
            on_stage(name)

    started = time.perf_counter()
    stage("fetch")
    inputs, manifest = _inputs(config, result, police_api)
    durations["fetch"] = round(time.perf_counter() - started, 3)
    rules = SuppressionRules(**vars(config.suppression))
    with connect(config.warehouse, memory_limit=config.memory_limit) as con:
        stage("prepare")
        prepared = prepare(con, inputs, manifest, rules, on_stage=lambda s: _fault_point(s))
        result.prepared = prepared
        durations.update(prepared.durations)
        result.months = warehouse_status(con)
        result.unmapped = unmapped_summary(con)
        live = current_release(out)
        previous = read_manifest(live) if live is not None else None
        state = _state(con, config)
        loads = _loads(con)
        result.changes = changes_since(previous, loads)
        if previous is not None and previous.get("state") == state and not force_rebuild:
            result.changed = False
            result.release = live
            return result
        release_id = new_release_id()
        staged = staging_dir(out, release_id)
        entry = (
            {"published_at": f"{datetime.now(UTC):%Y-%m-%d}", "lines": result.changes}
            if result.changes
            else None
        )
        changelog = _changelog(live, entry)
        try:
            result.release = _build(con, config, staged, changelog, durations, stage)
            manifest_data = {
                "release": release_id,
                "created_at": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
                "state": state,
                "demo": config.demo,
                "versions": _versions(),
                "inputs": loads,
                "rows_loaded": sum(x["rows_loaded"] for x in loads),
                "rows_rejected": sum(x["rows_rejected"] for x in loads),
                "unmapped_labels": [
                    {"field": f, "label": lb, "rows": n} for f, lb, n in result.unmapped
                ],
                "changes": result.changes,
                "durations": durations,
            }
            (staged / "changelog.json").write_text(
                json.dumps(changelog, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            (staged / "manifest.json").write_text(
                json.dumps(manifest_data, indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
            stage("verify")
            write_checksums(staged)
            _verify(con, staged, config)
            stage("switch")
            final = finalise(out, staged, release_id)
            switch_current(out, final)
            result.release = final
            prune(out, config.releases_kept)
        except BaseException as exc:
            import shutil

            shutil.rmtree(staged, ignore_errors=True)
            if isinstance(exc, StopsearchError | OSError):
                raise PublishError(
                    f"publish failed: {exc}; the live release is unchanged"
                    f" ({live.name if live else 'none published yet'})"
                ) from exc
            raise
    durations["total"] = round(time.perf_counter() - started, 3)
    return result


def _build(
    con: duckdb.DuckDBPyConnection,
    config: PublishConfig,
    staged: Path,
    changelog: list[dict],
    durations: dict[str, float],
    stage: Callable[[str], None],
) -> Path:
    """Write extracts and pages into the staging folder."""
    from stopsearch.outputs.extracts import export
    from stopsearch.outputs.site import build_site

    stage("export")
    started = time.perf_counter()
    exported = export(
        con, staged / "downloads", record_level=config.record_level_extract, demo=config.demo
    )
    durations["export"] = round(time.perf_counter() - started, 3)
    stage("site")
    started = time.perf_counter()
    downloads = [
        {
            "name": f.name,
            "title": f.title,
            "bytes": f.bytes,
            "sha256": f.sha256,
            "description": f.description,
        }
        for f in exported.files
    ]
    build_site(
        con,
        staged,
        demo=config.demo,
        downloads=downloads,
        changelog=changelog,
        record_level=config.record_level_extract,
    )
    durations["site"] = round(time.perf_counter() - started, 3)
    return staged


def _verify(con: duckdb.DuckDBPyConnection, staged: Path, config: PublishConfig) -> None:
    """Every expected page and file exists, checksums hold, row counts match the warehouse."""
    import pyarrow.parquet as pq

    expected = [
        *EXPECTED_PAGES,
        "downloads/metrics.parquet",
        "downloads/datapackage.json",
        "manifest.json",
        "changelog.json",
    ]
    if config.record_level_extract:
        expected.append("downloads/searches.parquet")
    verify_release(staged, expected)
    metrics_rows = pq.ParquetFile(staged / "downloads" / "metrics.parquet").metadata.num_rows
    published = con.execute("SELECT count(*) FROM published_metrics").fetchone()[0]
    if metrics_rows != published:
        raise PublishError(
            f"{staged}: metrics.parquet has {metrics_rows} rows, the warehouse {published}"
        )
    if config.record_level_extract:
        records = pq.ParquetFile(staged / "downloads" / "searches.parquet").metadata.num_rows
        in_warehouse = con.execute("SELECT count(*) FROM searches").fetchone()[0]
        if records != in_warehouse:
            raise PublishError(
                f"{staged}: searches.parquet has {records} rows, the warehouse {in_warehouse}"
            )


def releases_summary(out: Path) -> list[dict[str, Any]]:
    """Releases kept, newest last, with which one is current."""
    live = current_release(out)
    return [
        {"release": r.name, "current": live is not None and r.resolve() == live}
        for r in list_releases(out)
    ]
