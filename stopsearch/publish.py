"""The nightly publish job: fetch, bring the warehouse up to date, build a release, switch to it.

A run holds the output folder's lock, builds the new release in a staging folder, verifies it
(every expected file, checksums, row counts against the warehouse) and only then renames it
into `releases/` and points `current` at it. Anything that fails leaves `current` untouched.
With no new input the job says "nothing changed" and publishes nothing (unless forced).

Guards: a re-supplied month that loses too many rows is quarantined (stopsearch.ingest.resupply);
sanity gates (stopsearch.gates) stop a release that places too few searches, loses months or
population; a live release found missing or damaged at the start of a run is replaced by a new
verified one (self-healing), never repaired from its own files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from stopsearch import __version__
from stopsearch.config import PublishConfig
from stopsearch.digests import BOOK, DigestBook
from stopsearch.disk import sha256_file
from stopsearch.errors import ConfigError, StopsearchError, error_text
from stopsearch.gates import Thresholds, Trip, check_gates
from stopsearch.geography.manifest import Manifest, load_manifest
from stopsearch.ingest.resupply import ResupplyGuard
from stopsearch.outputs.extracts.export import ExportReport
from stopsearch.outputs.extracts.metric_files import csv_name as period_csv
from stopsearch.outputs.extracts.metric_files import parquet_name as period_parquet
from stopsearch.outputs.extracts.records import MonthPart, Reuse, csv_name, parquet_name
from stopsearch.pipeline import PrepareReport, prepare
from stopsearch.release import (
    Sharer,
    choose_rollback,
    current_release,
    finalise,
    link_unchanged,
    list_files,
    live_problem,
    new_release_id,
    newest_verified,
    prune,
    read_checksums,
    read_manifest,
    run_lock,
    staging_dir,
    switch_current,
    verify_release,
    write_checksums,
)

if TYPE_CHECKING:
    from stopsearch.outputs.site.area_files import Keep
from stopsearch.status import (
    GATES_KEY,
    QUARANTINE_KEY,
    MonthStatus,
    add_heal,
    get_json,
    quarantine_line,
    set_json,
    unmapped_summary,
    warehouse_status,
)
from stopsearch.thresholds import SuppressionRules

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
# Files every finished release has: what self-healing and rollback verify (with SHA256SUMS).
RELEASE_FILES = (
    *EXPECTED_PAGES,
    "manifest.json",
    "changelog.json",
    "downloads/datapackage.json",
)
STAGES = ("fetch", "prepare", "export", "site", "verify", "switch")
QUARANTINE_DIR = "quarantine"  # under the output folder: copies of quarantined re-supplies
ACCEPTED_KEY = "accepted_resupplies"  # pipeline_state: re-supplies applied on the operator's word
RECORD_MONTHS = "record_months"  # manifest.json: each month file's inputs and digests (reuse)
METRIC_PERIODS = "metric_periods"  # manifest.json: each metrics period file's, likewise
AREA_FILES = "site_area_files"  # manifest.json: each per-area CSV's fingerprint and bytes
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
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    gates: list[Trip] = field(default_factory=list)
    heal: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        ingest = self.prepared.ingest if self.prepared else None
        rejected = ingest is not None and ingest.needs_attention
        held = bool(self.quarantined)
        return EXIT_REJECTED if rejected or held or self.fetch_failed else EXIT_OK

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
            "files_quarantined": ingest.count("quarantined") if ingest else 0,
            "months": [m.as_json() for m in self.months],
            "rows_loaded": sum(m.rows_loaded for m in self.months),
            "rows_rejected": sum(m.rows_rejected for m in self.months),
            "unmapped_labels": [{"field": f, "label": lb, "rows": n} for f, lb, n in self.unmapped],
            "quarantined": self.quarantined,
            "sanity_gates": [t.as_json() for t in self.gates],
            "self_heal": self.heal,
            "changes": self.changes,
            "ingest_notes": ingest.notes() if ingest else [],
            "boundary_notes": self.prepared.notes if self.prepared else [],
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
                f" {ingest.count('unchanged')} unchanged, {ingest.count('refused')} refused,"
                f" {ingest.count('quarantined')} quarantined files"
            )
            lines += [f"refused: {f.error}" for f in ingest.files if f.action == "refused"]
            lines += ingest.notes()
        lines += self.prepared.notes if self.prepared else []
        lines += [f"unmapped {f} label {lb!r}: {n} rows" for f, lb, n in self.unmapped]
        lines += [quarantine_line(q) for q in self.quarantined]
        lines += [t.message() for t in self.gates]
        if self.heal is not None:
            lines.append(f"self-heal: {self.heal['problem']}; {self.heal['outcome']}")
        lines += self.changes
        if self.changed and self.release is not None:
            lines.append(f"published release {self.release.name} (now current)")
        elif not self.changed:
            lines.append("nothing changed: the live release stays as it is")
        return "\n".join(lines)


def _fault_point(stage: str) -> None:
    """Operators' drill and test hook: STOPSEARCH_FAULT=<stage>:kill|diskfull|sleep|wait."""
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
    if kind == "wait":  # hold the lock until the FIFO named by STOPSEARCH_FAULT_WAIT is closed
        with open(os.environ["STOPSEARCH_FAULT_WAIT"], "rb") as gate:
            gate.read()


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
    if config.tile_url:  # (added only when set: releases without tiles keep their state)
        parts += [config.tile_url, config.tile_attribution or ""]
    return "|".join(parts)


def changes_since(
    previous: dict | None,
    loads: list[dict[str, Any]],
    accepted: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """Changelog lines: months new or re-supplied since the previous release, and withdrawn.

    `accepted` maps the checksum of a re-supply the operator accepted despite the guard to its
    rows before and after; its line says so.
    """
    before = {(x["force"], x["month"]): x["sha256"] for x in (previous or {}).get("inputs", [])}
    now = {(x["force"], x["month"]): x["sha256"] for x in loads}
    accepted = accepted or {}
    lines = []
    for key in sorted(now):
        if key not in before:
            lines.append(f"new month: {key[0]} {key[1]}")
        elif before[key] != now[key] and now[key] in accepted:
            held = accepted[now[key]]
            lines.append(
                f"re-supplied month: {key[0]} {key[1]} accepted by the operator: it has"
                f" {held['rows_after']} rows where the previous supply had {held['rows_before']}"
                " (figures recomputed)"
            )
        elif before[key] != now[key]:
            lines.append(f"re-supplied month: {key[0]} {key[1]} (figures recomputed)")
    lines += [f"month no longer available: {f} {m}" for f, m in sorted(set(before) - set(now))]
    return lines


def _changelog(previous_release: Path | None, entry: dict | None) -> list[dict]:
    """The new entry on top of the changelog of `previous_release` (a verified release)."""
    history: list[dict] = []
    if previous_release is not None and (previous_release / "changelog.json").is_file():
        history = json.loads((previous_release / "changelog.json").read_text(encoding="utf-8"))
    return ([entry] if entry else []) + history


def record_quarantine(
    con: duckdb.DuckDBPyConnection, guard: ResupplyGuard, now: str
) -> list[dict[str, Any]]:
    """Record this run's quarantined re-supplies (and accepted ones) in the warehouse."""
    earlier = {(q["force"], q["month"], q["sha256"]): q for q in get_json(con, QUARANTINE_KEY, [])}
    held = []
    for h in guard.quarantined:
        entry = {**asdict(h), "since": now}
        entry["since"] = earlier.get((h.force, h.month, h.sha256), entry)["since"]
        held.append(entry)
    set_json(con, QUARANTINE_KEY, held)
    if guard.accepted_applied:
        accepted = get_json(con, ACCEPTED_KEY, {})
        for h in guard.accepted_applied:
            accepted[h.sha256] = {**asdict(h), "accepted_at": now}
        set_json(con, ACCEPTED_KEY, dict(list(accepted.items())[-200:]))
    return held


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
        if config.force is None:  # a configuration file requires it; the command line may not
            raise ConfigError("force is required with police_api: give --police-force FORCE")
        report = fetch_force(api, cache, config.force, config.months)
        result.fetch_lines = report.lines()
        result.fetch_failed = len(report.failed)
        paths.append(cache.path(f"police/stops-force/{config.force}"))
    return paths, config.manifest


def _boundaries(
    config: PublishConfig,
    result: PublishResult,
    manifest_path: Path | None,
    api: Any,
    today: date | None,
) -> Manifest | None:
    """The boundary manifest with the layers it declares by source fetched and built."""
    if manifest_path is None:
        return None
    from stopsearch.geography.fetched import build_fetched_layers
    from stopsearch.sources import Cache

    manifest = load_manifest(manifest_path)
    if not manifest.fetched:
        return manifest
    built = build_fetched_layers(manifest, Cache(config.cache), api, today=today)
    result.fetch_lines += built.lines
    result.fetch_failed += len(built.failed)
    return built.manifest


def run_publish(
    config: PublishConfig,
    *,
    force_rebuild: bool = False,
    on_stage: Callable[[str], None] | None = None,
    police_api: Any = None,
    overrides: frozenset[str] = frozenset(),
    today: date | None = None,
) -> PublishResult:
    """Run the whole job under the output folder's lock (LockHeld if another run has it).

    `police_api` replaces the data.police.uk source (e.g. one with a test HTTP client);
    `overrides` names sanity gates this run may pass anyway (see stopsearch.gates); `today`
    is the fetch date of fetched boundary layers (default: today in Europe/London).
    """
    out = config.output
    with run_lock(out):
        live = current_release(out)
        try:
            return _run_locked(config, force_rebuild, on_stage, police_api, overrides, today)
        except PublishError:
            raise
        except (StopsearchError, OSError, duckdb.Error) as exc:
            raise PublishError(
                f"publish failed: {error_text(exc)}; the live release is unchanged"
                f" ({live.name if live else 'none published yet'})"
            ) from exc


def rollback_release(out: Path) -> tuple[Path, list[tuple[str, str]]]:
    """Under the lock, point `current` at the newest earlier release that verifies.

    Returns it and the releases skipped because they failed verification.
    """
    with run_lock(out):
        target, skipped = choose_rollback(out, RELEASE_FILES)
        switch_current(out, target)
    return target, skipped


@dataclass
class _Run:
    """What a run knows before it touches the warehouse: the live release and its baseline."""

    config: PublishConfig
    result: PublishResult
    live: Path | None
    baseline: Path | None  # the newest release that verifies: changes and changelog start here
    previous: dict | None  # its manifest
    guard: ResupplyGuard
    overrides: frozenset[str]
    force_rebuild: bool
    stage: Callable[[str], None]
    book: DigestBook  # digests by file identity (stopsearch.digests): each file hashed once


def _start(
    config: PublishConfig,
    force_rebuild: bool,
    overrides: frozenset[str],
    stage: Callable[[str], None],
) -> _Run:
    """Inspect the live release: when it is missing or damaged, plan a self-heal."""
    out = config.output
    result = PublishResult(demo=config.demo, prepared=None)
    live = current_release(out)
    book = DigestBook.load(out / BOOK)
    problem = live_problem(out, RELEASE_FILES, book)
    baseline = live
    if problem is not None:
        baseline = newest_verified(out, RELEASE_FILES)[0]
        result.heal = {
            "at": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
            "problem": problem,
            "outcome": "not healed yet: this run failed; the next run tries again",
        }
    guard = ResupplyGuard(
        config.resupply_max_loss_percent, config.accepted_resupplies, out / QUARANTINE_DIR
    )
    previous = read_manifest(baseline) if baseline is not None else None
    return _Run(
        config, result, live, baseline, previous, guard, overrides, force_rebuild, stage, book
    )


def _run_locked(
    config: PublishConfig,
    force_rebuild: bool,
    on_stage: Callable[[str], None] | None,
    police_api: Any,
    overrides: frozenset[str],
    today: date | None = None,
) -> PublishResult:
    def stage(name: str) -> None:
        _fault_point(name)
        if on_stage is not None:
            on_stage(name)

    started = time.perf_counter()
    run = _start(config, force_rebuild, overrides, stage)
    try:
        return _run_started(config, run, police_api, today, started)
    finally:
        _save_book(config.output, run.book)


def _save_book(out: Path, book: DigestBook) -> None:
    """Keep the digests of the live release's files (what the next run's check trusts).

    The book is only a cache of reads: failing to write it costs the next run a full read.
    """
    live = current_release(out)
    with contextlib.suppress(OSError):
        book.save(out / BOOK, keep=list_files(live) if live is not None and live.is_dir() else [])


def _run_started(
    config: PublishConfig,
    run: _Run,
    police_api: Any,
    today: date | None,
    started: float,
) -> PublishResult:
    from stopsearch.sources import PoliceAPI
    from stopsearch.warehouse import connect

    stage, result = run.stage, run.result
    stage("fetch")
    api = police_api or PoliceAPI(base_url=config.police_api_url)  # one rate limit for all
    inputs, manifest_path = _inputs(config, result, api)
    manifest = _boundaries(config, result, manifest_path, api, today)
    result.durations["fetch"] = round(time.perf_counter() - started, 3)
    rules = config.release_rules
    with connect(config.warehouse, memory_limit=config.memory_limit) as con:
        try:
            stage("prepare")
            prepared = prepare(
                con,
                inputs,
                manifest,
                rules,
                on_stage=_fault_point,
                guard=run.guard,
                limits=config.limits,
            )
            result.prepared = prepared
            result.durations.update(prepared.durations)
            _release(con, run, rules)
        finally:
            if result.heal is not None:
                with contextlib.suppress(duckdb.Error):
                    add_heal(con, result.heal)
    result.durations["total"] = round(time.perf_counter() - started, 3)
    return result


def _release(con: duckdb.DuckDBPyConnection, run: _Run, rules: SuppressionRules) -> None:
    """After the warehouse is up to date: nothing changed, a gate trips, or a new release."""
    config, result, out = run.config, run.result, run.config.output
    now = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
    result.quarantined = record_quarantine(con, run.guard, now)
    result.months = warehouse_status(con)
    result.unmapped = unmapped_summary(con)
    state = _state(con, config)
    loads = _loads(con)
    result.changes = changes_since(run.previous, loads, get_json(con, ACCEPTED_KEY, {}))
    unchanged = run.previous is not None and run.previous.get("state") == state
    if unchanged and not run.force_rebuild and result.heal is None:
        result.changed = False
        result.release = run.live
        return
    _check_gates(con, run, loads, now)
    release_id = new_release_id()
    staged = staging_dir(out, release_id)
    entry = {"published_at": now[:10], "lines": result.changes} if result.changes else None
    changelog = _changelog(run.baseline, entry)
    try:
        reuse = _reuse(run.baseline, run.previous, RECORD_MONTHS)
        if not config.record_level_extract:
            reuse = None
        metric_reuse = _reuse(run.baseline, run.previous, METRIC_PERIODS)
        # The site's files: linked from the verified baseline when their bytes are its bytes.
        sharer = Sharer(staged, run.baseline, run.book)
        built, area_files = _build(
            con,
            config,
            staged,
            changelog,
            result.durations,
            run.stage,
            rules,
            (reuse, metric_reuse),
            run.book,
            sharer,
            _area_keep(sharer, run.previous),
        )
        result.release = staged
        manifest_data = _manifest(release_id, state, config, loads, result)
        manifest_data[RECORD_MONTHS] = [part.as_json() for part in built.months]
        manifest_data[METRIC_PERIODS] = [part.as_json() for part in built.periods]
        manifest_data[AREA_FILES] = {rel: list(made) for rel, made in area_files.items()}
        (staged / "changelog.json").write_text(
            json.dumps(changelog, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        (staged / "manifest.json").write_text(
            json.dumps(manifest_data, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        run.stage("verify")
        started = time.perf_counter()
        known = {f"downloads/{f.name}": f.sha256 for f in built.files} | sharer.linked
        sums = write_checksums(staged, known, run.book)
        if run.baseline is not None:  # what did not change is shared with the verified baseline
            link_unchanged(staged, sums, run.baseline, run.book)
        _verify(con, staged, config, run.book, built)
        result.durations["verify"] = round(time.perf_counter() - started, 3)
        run.stage("switch")
        final = finalise(out, staged, release_id)
        switch_current(out, final)
        result.release = final
        if result.heal is not None:
            result.heal["outcome"] = f"switched to the new verified release {final.name}"
            result.heal["release"] = final.name
        prune(out, config.releases_kept)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def _check_gates(
    con: duckdb.DuckDBPyConnection, run: _Run, loads: list[dict[str, Any]], now: str
) -> None:
    """Run the sanity gates, record them for `stopsearch status`, stop on a trip."""
    config = run.config
    thresholds = Thresholds(
        config.unplaced_max_percent,
        config.vanished_months_max,
        config.population_max_drift_percent,
    )
    before = [(x["force"], x["month"]) for x in (run.previous or {}).get("inputs", [])]
    trips = check_gates(
        con, before, [(x["force"], x["month"]) for x in loads], thresholds, run.overrides
    )
    run.result.gates = trips
    set_json(con, GATES_KEY, {"checked_at": now, "trips": [t.as_json() for t in trips]})
    stopping = [t for t in trips if not t.overridden]
    if stopping:
        live = run.live.name if run.live is not None else "none published yet"
        raise PublishError(
            "; ".join(t.message() for t in stopping)
            + f". Nothing was published; the live release is unchanged ({live})"
        )


def _manifest(
    release_id: str,
    state: str,
    config: PublishConfig,
    loads: list[dict[str, Any]],
    result: PublishResult,
) -> dict[str, Any]:
    """The run report kept in the release (manifest.json)."""
    return {
        "release": release_id,
        "created_at": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
        "state": state,
        "demo": config.demo,
        "versions": _versions(),
        "inputs": loads,
        "rows_loaded": sum(x["rows_loaded"] for x in loads),
        "rows_rejected": sum(x["rows_rejected"] for x in loads),
        "unmapped_labels": [{"field": f, "label": lb, "rows": n} for f, lb, n in result.unmapped],
        "quarantined": result.quarantined,
        "sanity_gates_overridden": [t.as_json() for t in result.gates if t.overridden],
        "self_heal": result.heal,
        "changes": result.changes,
        "durations": result.durations,
    }


def _reuse(baseline: Path | None, previous: dict | None, key: str) -> Reuse | None:
    """The month (or metrics period) files, recorded under `key` of its manifest, that the new
    release may link from `baseline`, the release this run verified at its start (never one that
    failed verification); None when there is none or it recorded no such files (a release of an
    older version: every file is written)."""
    if baseline is None or previous is None:
        return None
    try:
        parts = {
            part.month: part
            for part in (MonthPart.from_json(item) for item in previous.get(key, []))
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    digests = {
        name.removeprefix("downloads/"): digest
        for name, digest in read_checksums(baseline).items()
        if name.startswith("downloads/")
    }
    return Reuse(baseline / "downloads", parts, digests)


def _area_keep(sharer: Sharer, previous: dict | None) -> Keep | None:
    """Links a per-area CSV from the verified baseline when its manifest recorded the same
    fingerprint for it (see site.area_files); None when it recorded none."""
    recorded = (previous or {}).get(AREA_FILES)
    if not isinstance(recorded, dict) or not recorded:
        return None

    def keep(rel: str, fingerprint: str) -> int | None:
        made = recorded.get(rel)
        if not isinstance(made, list) or len(made) != 2 or made[0] != fingerprint:
            return None
        size = made[1]
        if not isinstance(size, int) or not sharer.link_recorded(rel, size):
            return None
        return size

    return keep


def _build(
    con: duckdb.DuckDBPyConnection,
    config: PublishConfig,
    staged: Path,
    changelog: list[dict],
    durations: dict[str, float],
    stage: Callable[[str], None],
    rules: SuppressionRules,
    reuse: tuple[Reuse | None, Reuse | None] = (None, None),
    book: DigestBook | None = None,
    sharer: Sharer | None = None,
    keep: Keep | None = None,
) -> tuple[ExportReport, dict[str, tuple[str, int]]]:
    """Write extracts and pages into the staging folder; the export's report and the site's
    per-area CSVs ({path: (fingerprint, bytes)}).

    With `book`, each extract is hashed once, from disk, into it (see stopsearch.digests). With
    `sharer`, each page or site file holding the baseline's bytes is linked, not written; with
    `keep`, each per-area CSV the baseline made from the same rows is linked, not made.
    """
    from stopsearch.outputs.extracts import export
    from stopsearch.outputs.site import build_site

    stage("export")
    started = time.perf_counter()
    exported = export(
        con,
        staged / "downloads",
        record_level=config.record_level_extract,
        demo=config.demo,
        reuse=reuse[0],
        metric_reuse=reuse[1],
        hasher=book.hash if book is not None else sha256_file,
    )
    durations["export"] = round(time.perf_counter() - started, 3)
    durations["export_records"] = exported.records_seconds  # of which: the month files
    stage("site")
    started = time.perf_counter()
    downloads = [
        {
            "name": f.name,
            "title": f.title,
            "bytes": f.bytes,
            "sha256": f.sha256,
            "description": f.description,
            "month": f.month,
            "period": f.period,
            "rows": f.rows,
        }
        for f in exported.files
    ]
    site = build_site(
        con,
        staged,
        demo=config.demo,
        downloads=downloads,
        changelog=changelog,
        record_level=config.record_level_extract,
        rules=rules,
        updated=_last_changed(changelog),
        tile_url=config.tile_url,
        tile_attribution=config.tile_attribution,
        put=sharer.put if sharer is not None else None,
        keep=keep,
    )
    durations["site"] = round(time.perf_counter() - started, 3)
    return exported, site.area_files


def _last_changed(changelog: list[dict]) -> date | None:
    """The day the published figures last changed: the newest changelog entry's date.

    Taken from the changelog rather than the clock, so that a --rebuild with nothing new gives
    the same pages.
    """
    days = [str(entry.get("published_at", ""))[:10] for entry in changelog]
    valid = [date.fromisoformat(d) for d in days if len(d) == 10]
    return max(valid) if valid else None


def _verify(
    con: duckdb.DuckDBPyConnection,
    staged: Path,
    config: PublishConfig,
    book: DigestBook,
    built: ExportReport,
) -> None:
    """Every expected page and file exists, checksums hold, row counts match the warehouse.

    The checksums: see release.verify_release with the run's digest book. Every file of the new
    release was hashed once from disk (written by this run: by the export or SHA256SUMS; linked
    from the verified live release: when it was first written) and is not read again while its
    stamp (device, inode, size, mtime) is unchanged; any other file is read again. The row
    counts: every month with records and every period with published rows has both of its files
    and no other has any; each file written by this run holds, by its Parquet footer, that
    month's records or that period's rows; a linked file's footer was checked when it was written
    (same bytes), so its recorded count is compared instead.
    """
    import pyarrow.parquet as pq

    expected = list(RELEASE_FILES)
    months: dict[str, int] = {}
    if config.record_level_extract:
        months = dict(
            con.execute(
                "SELECT strftime(month, '%Y-%m'), count(*) FROM searches GROUP BY ALL"
            ).fetchall()
        )
    periods = dict(
        con.execute("SELECT period, count(*) FROM published_metrics GROUP BY ALL").fetchall()
    )
    layouts = (
        ("record", months, built.months, ("searches", "searches-csv"), parquet_name, csv_name),
        ("metrics", periods, built.periods, ("metrics", "metrics-csv"), period_parquet, period_csv),
    )
    for _, counts, _, _, parquet, csv in layouts:
        expected += [f"downloads/{name(key)}" for key in sorted(counts) for name in (parquet, csv)]
    verify_release(staged, expected, book)
    downloads = staged / "downloads"
    for what, counts, parts, tops, parquet, csv in layouts:
        written = sorted(
            p.relative_to(downloads).as_posix()
            for top in tops
            for p in (downloads / top).rglob("*")
            if p.is_file()
        )
        wanted = sorted(name(key) for key in counts for name in (parquet, csv))
        if written != wanted:
            extra = sorted(set(written) - set(wanted))
            raise PublishError(f"{staged}: {what} files without rows, e.g. {extra[:3]}")
        recorded = {part.month: part for part in parts}
        for key, count in sorted(counts.items()):
            part = recorded.get(key)
            rows = (
                part.rows
                if part is not None and part.linked
                else pq.ParquetFile(downloads / parquet(key)).metadata.num_rows
            )
            if rows != count:
                raise PublishError(
                    f"{staged}: {parquet(key)} has {rows} rows, the warehouse {count}"
                )
