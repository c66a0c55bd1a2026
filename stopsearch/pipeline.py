"""The warehouse half of a publish: ingest, boundaries, spatial join and metrics, incrementally.

Only what changed is redone: new or re-supplied force-months are joined to their areas; the
boundary manifest is reloaded (and every record re-joined) only when its files changed; metrics
are rebuilt whenever anything they depend on changed. Each step commits on its own, so a run
killed part-way leaves a consistent warehouse that the next run completes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from stopsearch.disk import sha256_tree
from stopsearch.geography.join import assign_areas
from stopsearch.geography.load import load_boundaries
from stopsearch.geography.manifest import Manifest, load_manifest
from stopsearch.geography.population import load_population
from stopsearch.ingest import IngestReport, ingest_paths
from stopsearch.ingest.resupply import ResupplyGuard
from stopsearch.metrics.build import MetricsReport, _state_hash, build_metrics
from stopsearch.metrics.suppression import DEFAULT_RULES, SuppressionRules
from stopsearch.status import get_state, set_state

BOUNDARY_KEY = "boundary_manifest_sha256"


@dataclass
class PrepareReport:
    """What the warehouse half of a run did."""

    ingest: IngestReport
    boundaries_reloaded: bool = False
    joined_force_months: list[tuple[str, str]] = field(default_factory=list)
    metrics: MetricsReport | None = None
    metrics_rebuilt: bool = False
    notes: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)


def manifest_fingerprint(manifest: Manifest) -> str:
    """SHA-256 over the manifest text and every file it declares."""
    digest = hashlib.sha256(manifest.path.read_bytes())
    for item in (*manifest.layers, *manifest.lookups, *manifest.populations):
        digest.update(item.id.encode() + b"\0" + sha256_tree(item.path).encode())
    return digest.hexdigest()


def _timed(durations: dict[str, float], name: str, step: Callable[[], object]) -> object:
    started = time.perf_counter()
    try:
        return step()
    finally:
        durations[name] = round(durations.get(name, 0.0) + time.perf_counter() - started, 3)


def prepare(
    con: duckdb.DuckDBPyConnection,
    inputs: Sequence[Path],
    manifest_path: Path | None,
    rules: SuppressionRules = DEFAULT_RULES,
    *,
    on_stage: Callable[[str], None] | None = None,
    guard: ResupplyGuard | None = None,
) -> PrepareReport:
    """Bring the warehouse up to date with `inputs` and the boundary manifest.

    `guard` holds back re-supplied months that lose too many rows (see ingest.resupply).
    """
    durations: dict[str, float] = {}

    def stage(name: str, step: Callable[[], object]) -> object:
        if on_stage is not None:
            on_stage(name)
        return _timed(durations, name, step)

    ingest = stage("ingest", lambda: ingest_paths(con, list(inputs), guard=guard))
    report = PrepareReport(ingest=ingest, durations=durations)
    reload = False
    if manifest_path is not None:
        manifest = load_manifest(manifest_path)
        fingerprint = manifest_fingerprint(manifest)
        if fingerprint != get_state(con, BOUNDARY_KEY):
            boundaries = stage("boundaries", lambda: load_boundaries(con, manifest))
            population = stage("population", lambda: load_population(con, manifest))
            report.notes += boundaries.notes + population.notes
            set_state(con, BOUNDARY_KEY, fingerprint)
            reload = True
    report.boundaries_reloaded = reload
    if reload:
        stage("join", lambda: assign_areas(con))
        report.joined_force_months = [("*", "*")]
    else:
        unjoined = con.execute(
            "SELECT DISTINCT s.force, s.month FROM searches AS s "
            "WHERE s.latitude IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM search_areas AS a WHERE a.search_id = s.search_id) ORDER BY ALL"
        ).fetchall()
        has_areas = con.execute("SELECT count(*) FROM areas").fetchone()[0] > 0
        for force, month in unjoined if has_areas else []:
            stage("join", lambda f=force, m=month: assign_areas(con, f, m))
            report.joined_force_months.append((force, f"{month:%Y-%m}"))
    last = con.execute(
        "SELECT state_hash FROM metrics_runs ORDER BY built_at DESC LIMIT 1"
    ).fetchone()
    if last is None or last[0] != _state_hash(con, rules):
        report.metrics = stage("metrics", lambda: build_metrics(con, rules))
        report.metrics_rebuilt = True
    return report
