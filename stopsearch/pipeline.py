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
from functools import partial
from pathlib import Path
from typing import TypeVar

import duckdb

from stopsearch.disk import sha256_tree
from stopsearch.geography.join import assign_areas, unjoined_force_months
from stopsearch.geography.load import load_boundaries
from stopsearch.geography.manifest import (
    Layer,
    Lookup,
    Manifest,
    PopulationPoints,
    PopulationTable,
    PostcodeLookup,
    Reference,
    load_manifest,
    without_unbuilt,
)
from stopsearch.geography.population import load_population
from stopsearch.geography.postcodes import load_postcodes
from stopsearch.ingest import IngestReport, ingest_paths
from stopsearch.ingest.resupply import ResupplyGuard
from stopsearch.metrics.build import MetricsReport, build_metrics, metrics_stale
from stopsearch.metrics.definitions import DEFINITIONS_VERSION
from stopsearch.metrics.reference import load_references
from stopsearch.metrics.suppression import DEFAULT_RULES, SuppressionRules
from stopsearch.status import get_state, set_state
from stopsearch.thresholds import DEFAULT_LIMITS, Limits

T = TypeVar("T")  # what a timed stage returns

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
    """SHA-256 over the manifest text and every file it declares.

    A fetched layer (stopsearch.geography.fetched) counts by its stored file's digest and its
    validity dates, which come from the fetch dates, not from the manifest text.
    """
    digest = hashlib.sha256(manifest.path.read_bytes())
    digest.update(f"definitions {DEFINITIONS_VERSION}".encode())  # e.g. apportionment method
    declared: tuple[
        Layer | Lookup | PopulationTable | PopulationPoints | Reference | PostcodeLookup, ...
    ] = (
        *manifest.layers,
        *manifest.lookups,
        *manifest.populations,
        *manifest.population_points,
        *manifest.references,
        *manifest.postcodes,
    )
    for item in declared:
        digest.update(item.id.encode() + b"\0" + sha256_tree(item.path).encode())
        if isinstance(item, Layer) and item.source:
            digest.update(f"\0{item.valid_from}\0{item.valid_to}".encode())
    return digest.hexdigest()


def _timed(durations: dict[str, float], name: str, step: Callable[[], T]) -> T:
    started = time.perf_counter()
    try:
        return step()
    finally:
        durations[name] = round(durations.get(name, 0.0) + time.perf_counter() - started, 3)


def prepare(
    con: duckdb.DuckDBPyConnection,
    inputs: Sequence[Path],
    manifest_path: Path | Manifest | None,
    rules: SuppressionRules = DEFAULT_RULES,
    *,
    on_stage: Callable[[str], None] | None = None,
    guard: ResupplyGuard | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> PrepareReport:
    """Bring the warehouse up to date with `inputs` and the boundary manifest.

    `guard` holds back re-supplied months that lose too many rows (see ingest.resupply);
    `limits` bound the input files' lines, fields and sizes. A Manifest given instead of a
    path is used as it is (publish passes one whose fetched layers are built).
    """
    durations: dict[str, float] = {}

    def stage(name: str, step: Callable[[], T]) -> T:
        if on_stage is not None:
            on_stage(name)
        return _timed(durations, name, step)

    ingest = stage("ingest", lambda: ingest_paths(con, list(inputs), guard=guard, limits=limits))
    report = PrepareReport(ingest=ingest, durations=durations)
    reload = False
    if manifest_path is not None:
        if isinstance(manifest_path, Manifest):
            manifest = manifest_path
        else:
            manifest = load_manifest(manifest_path)
        manifest, skipped = without_unbuilt(manifest)  # (a path: its fetched layers are not)
        report.notes += skipped
        fingerprint = manifest_fingerprint(manifest)
        if fingerprint != get_state(con, BOUNDARY_KEY):
            boundaries = stage("boundaries", lambda: load_boundaries(con, manifest))
            population = stage("population", lambda: load_population(con, manifest))
            stage("reference", lambda: load_references(con, manifest))
            postcodes = stage("postcodes", lambda: load_postcodes(con, manifest))
            report.notes += boundaries.notes + population.notes + postcodes.notes
            set_state(con, BOUNDARY_KEY, fingerprint)
            reload = True
    report.boundaries_reloaded = reload
    if reload:
        stage("join", lambda: assign_areas(con))
        report.joined_force_months = [("*", "*")]
    else:
        for force, month in unjoined_force_months(con):
            stage("join", partial(assign_areas, con, force, month))
            report.joined_force_months.append((force, f"{month:%Y-%m}"))
    if metrics_stale(con, rules):
        report.metrics = stage("metrics", lambda: build_metrics(con, rules))
        report.metrics_rebuilt = True
    return report
