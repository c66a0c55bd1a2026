"""The nightly publish job: gather inputs (the demo when unconfigured), ingest, summarise."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from stopsearch.errors import ConfigError
from stopsearch.ingest import IngestReport, ingest_paths
from stopsearch.status import MonthStatus, unmapped_summary, warehouse_status

DEMO_BANNER = "FICTIONAL DEMONSTRATION DATA: not real places, people or police records."


@dataclass
class PublishResult:
    """What one publish run did, for the human summary, the JSON summary and the exit code."""

    demo: bool
    ingest: IngestReport
    months: list[MonthStatus]
    unmapped: list[tuple[str, str, int]]
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        rejected = self.ingest.rows_rejected or self.ingest.count("refused")
        return 3 if rejected else 0

    def as_json(self) -> dict[str, Any]:
        return {
            "demo": self.demo,
            "files_new": self.ingest.count("new"),
            "files_resupplied": self.ingest.count("resupplied"),
            "files_unchanged": self.ingest.count("unchanged"),
            "files_refused": self.ingest.count("refused"),
            "months": [m.as_json() for m in self.months],
            "rows_loaded": sum(m.rows_loaded for m in self.months),
            "rows_rejected": sum(m.rows_rejected for m in self.months),
            "unmapped_labels": [{"field": f, "label": lb, "rows": n} for f, lb, n in self.unmapped],
            "outputs": self.outputs,
        }

    def human(self) -> str:
        lines = [DEMO_BANNER] if self.demo else []
        lines.append(f"{'force':22} {'month':8} {'rows':>7} {'rejected':>8} {'unmapped':>8}")
        for m in self.months:
            lines.append(
                f"{m.force:22} {m.month:%Y-%m}  {m.rows_loaded:7d} {m.rows_rejected:8d}"
                f" {m.unmapped_rows:8d}"
            )
        total = sum(m.rows_loaded for m in self.months)
        rejected = sum(m.rows_rejected for m in self.months)
        lines.append(
            f"{len(self.months)} force-months, {total} rows, {rejected} rejected,"
            f" {len(self.unmapped)} unmapped labels; this run: {self.ingest.count('new')} new,"
            f" {self.ingest.count('resupplied')} re-supplied,"
            f" {self.ingest.count('unchanged')} unchanged, {self.ingest.count('refused')} refused"
        )
        for f in self.ingest.files:
            if f.error:
                lines.append(f"refused: {f.error}")
        lines += [f"unmapped {f} label {lb!r}: {n} rows" for f, lb, n in self.unmapped]
        lines += [f"{name}: {path}" for name, path in sorted(self.outputs.items())]
        return "\n".join(lines)


def _config_paths(config: Path) -> list[Path]:
    """Input paths from a stopsearch.toml `[sources] paths = [...]`, relative to the file."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config}: not valid TOML ({exc})") from exc
    paths = data.get("sources", {}).get("paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) or not paths:
        raise ConfigError(
            f"{config}: [sources] paths must be a list of files or folders, e.g."
            ' paths = ["data/police"]'
        )
    resolved = [(config.parent / p) for p in paths]
    for path in resolved:
        if not path.exists():
            raise ConfigError(f"{config}: [sources] paths: {path} does not exist")
    return resolved


def demo_inputs(out: Path) -> Path:
    """Generate the demo dataset under `out` once (deterministic, so reuse is safe)."""
    from stopsearch.demo import generate_demo

    target = out / "inputs" / "demo"
    if not (target / "truth.json").exists():
        generate_demo(target)
    return target


def run_publish(con: duckdb.DuckDBPyConnection, *, config: Path | None, out: Path) -> PublishResult:
    """Run the job; without a config it publishes the embedded fictional demo."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [demo_inputs(out) / "records"] if config is None else _config_paths(config)
    report = ingest_paths(con, paths)
    return PublishResult(
        demo=config is None,
        ingest=report,
        months=warehouse_status(con),
        unmapped=unmapped_summary(con),
    )
