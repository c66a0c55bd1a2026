"""The `stopsearch` command: a thin click shell over the library. Only this module knows click."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from stopsearch import __version__
from stopsearch.errors import StopsearchError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # click's own code for usage errors
EXIT_REJECTED = 3  # finished, but some rows or files were rejected: see `stopsearch status`


def _emit(as_json: bool, payload: dict[str, Any], human: str) -> None:
    """Print the JSON summary on stdout, or the human one."""
    if as_json:
        click.echo(json.dumps(payload, indent=2, default=str, sort_keys=True))
    else:
        click.echo(human)


class _Group(click.Group):
    """Turns library errors into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StopsearchError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_FAILED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stopsearch")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("stopsearch.duckdb"),
    show_default=True,
    envvar="STOPSEARCH_DB",
    help="The warehouse file (created when missing).",
)
@click.pass_context
def main(ctx: click.Context, db: Path) -> None:
    """Publish police stop-and-search records as a map-based transparency site."""
    ctx.obj = {"db": db}


def _connect(ctx: click.Context):
    from stopsearch.warehouse import connect

    return connect(ctx.obj["db"])


def _ingest_table(report) -> str:
    lines = [f"{'month':8} {'force':22} {'action':10} {'read':>7} {'loaded':>7} {'rejected':>8}"]
    for f in report.files:
        lines.append(
            f"{f.month:%Y-%m}  {f.force:22} {f.action:10} {f.rows_read:7d} {f.rows_loaded:7d}"
            f" {f.rows_rejected:8d}"
        )
        if f.error:
            lines.append(f"    refused: {f.error}")
        for u in f.unmapped:
            lines.append(
                f"    warning: unmapped {u.field} label {u.label!r} on {u.rows} rows"
                f" (first at line {u.first_line}); loaded as Unknown"
            )
    lines.append(
        f"{len(report.files)} files: {report.count('new')} new, {report.count('resupplied')}"
        f" re-supplied, {report.count('unchanged')} unchanged, {report.count('refused')} refused;"
        f" {report.rows_loaded} rows loaded, {report.rows_rejected} rejected"
    )
    lines += report.notes()
    return "\n".join(lines)


def _ingest_json(report) -> dict[str, Any]:
    return {
        "files": [
            {
                "source": f.source,
                "force": f.force,
                "month": f"{f.month:%Y-%m}",
                "action": f.action,
                "rows_read": f.rows_read,
                "rows_loaded": f.rows_loaded,
                "rows_rejected": f.rows_rejected,
                "warnings": f.warnings,
                "unmapped": [u.__dict__ for u in f.unmapped],
                "error": f.error,
                "lines_counted": f.lines_counted,
            }
            for f in report.files
        ],
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "files_refused": report.count("refused"),
        "inputs_refused": [s.__dict__ for s in report.inputs.refused],
        "inputs_skipped": [s.__dict__ for s in report.inputs.skipped],
        "inputs_without_files": {
            top: report.inputs.ignored.get(top, []) for top in report.inputs.empty
        },
        "notes": report.notes(),
    }


def _ingest_exit(report) -> int:
    return EXIT_REJECTED if report.needs_attention else EXIT_OK


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Load stop-and-search files, folders of them, or data.police.uk archive zips.

    Files are named like 2023-01-west-midlands-stop-and-search.csv (or .json for API responses).
    A file already loaded with the same checksum is skipped; a changed one replaces its month.
    """
    from stopsearch.ingest import ingest_paths

    with _connect(ctx) as con:
        report = ingest_paths(con, paths)
    _emit(as_json, _ingest_json(report), _ingest_table(report))
    ctx.exit(_ingest_exit(report))


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-data"),
    show_default=True,
    help="Folder to write the demo dataset into.",
)
@click.option("--seed", type=int, default=None, help="Random seed (default: the fixed demo seed).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def demo(out: Path, seed: int | None, as_json: bool) -> None:
    """Write the fictional demonstration dataset (records, boundaries, population, truth)."""
    from stopsearch.demo import generate_demo

    summary = generate_demo(out) if seed is None else generate_demo(out, seed=seed)
    payload = {
        "out_dir": str(summary.out_dir),
        "months": [str(m) for m in summary.months],
        "total_rows": summary.total_rows,
    }
    _emit(
        as_json,
        payload,
        f"Wrote fictional demo data to {summary.out_dir}: {len(summary.months)} months,"
        f" {summary.total_rows} records.",
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show what the warehouse holds: force-months, rows, rejected, unmapped labels."""
    from stopsearch.status import refused_files, unmapped_summary, warehouse_status

    with _connect(ctx) as con:
        months = warehouse_status(con)
        refused = refused_files(con)
        unmapped = unmapped_summary(con)
    payload = {
        "months": [m.as_json() for m in months],
        "refused_files": [{"source": s, "reason": r} for s, r in refused],
        "unmapped_labels": [{"field": f, "label": lbl, "rows": n} for f, lbl, n in unmapped],
    }
    lines = [
        f"{'force':22} {'month':8} {'loaded':>7} {'rejected':>8} {'warnings':>8}"
        f" {'unmapped':>8} {'no loc.':>7}"
    ]
    for m in months:
        lines.append(
            f"{m.force:22} {m.month:%Y-%m}  {m.rows_loaded:7d} {m.rows_rejected:8d}"
            f" {m.warnings:8d} {m.unmapped_rows:8d} {m.no_location:7d}"
        )
    lines.append(
        f"{len(months)} force-months, {sum(m.rows_loaded for m in months)} rows loaded,"
        f" {sum(m.rows_rejected for m in months)} rejected, {len(refused)} files refused,"
        f" {len(unmapped)} unmapped labels"
    )
    lines += [f"refused: {s}: {r}" for s, r in refused]
    lines += [f"unmapped {f} label {lbl!r}: {n} rows" for f, lbl, n in unmapped]
    _emit(as_json, payload, "\n".join(lines))


class MonthsType(click.ParamType):
    """latest, all, or a comma-separated list of YYYY-MM months."""

    name = "MONTHS"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from stopsearch.config import parse_months
        from stopsearch.errors import ConfigError

        try:
            return parse_months(value)
        except ConfigError:
            self.fail(f"{value!r} is not a month list; for example: latest, all or 2023-01,2023-02")


class ForceIdType(click.ParamType):
    """A data.police.uk force id such as west-midlands."""

    name = "FORCE"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        import re

        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value):
            self.fail(f"{value!r} is not a data.police.uk force id; for example: west-midlands")
        return value


def _publish_config(ctx: click.Context, config: Path | None, **options: Any):
    """The configuration file (or the demo) with command-line values on top."""
    from stopsearch.config import PublishConfig, Suppression, load_config

    base = load_config(config) if config is not None else PublishConfig()
    db_given = ctx.parent is not None and ctx.parent.get_parameter_source("db") not in (
        None,
        click.core.ParameterSource.DEFAULT,
    )
    if db_given or config is None:
        options["warehouse"] = ctx.obj["db"]
    thresholds = {
        key: options.pop(key)
        for key in ("min_count", "min_rate_count", "min_rate_population", "min_ratio_count")
    }
    given = {k: v for k, v in thresholds.items() if v is not None}
    if given:
        options["suppression"] = Suppression(**{**vars(base.suppression), **given})
    sources = options.pop("source")
    if sources:
        options["paths"] = tuple(base.paths) + tuple(sources)
        options["demo"] = False
    if options.get("police_api") or options.get("force"):
        options["demo"] = False
    return base.with_overrides(**options)


def _stage_printer(quiet: bool, as_json: bool):
    """Progress: a bar on a terminal, plain log lines otherwise, nothing with --quiet/--json."""
    if quiet or as_json:
        return None
    if sys.stderr.isatty():
        from stopsearch.publish import STAGES

        bar = click.progressbar(length=len(STAGES), label="publishing", file=sys.stderr)
        seen: set[str] = set()

        def on_stage(name: str) -> None:
            if name in STAGES and name not in seen:
                seen.add(name)
                bar.label = f"publishing: {name}"
                bar.update(1)

        return on_stage
    started = time.monotonic()

    def log(name: str) -> None:
        click.echo(f"[{time.monotonic() - started:7.1f}s] stage {name}", err=True)

    return log


@main.command()
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="stopsearch.toml (default: the embedded fictional demo).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder holding releases/ and the `current` link [default: stopsearch-site].",
)
@click.option(
    "--police-force",
    "force",
    type=ForceIdType(),
    default=None,
    help="data.police.uk force id, e.g. west-midlands.",
)
@click.option(
    "--months",
    type=MonthsType(),
    default=None,
    help="latest, all, or months such as 2023-01,2023-02.",
)
@click.option(
    "--police-api/--no-police-api",
    default=None,
    help="Fetch each available month from the data.police.uk API.",
)
@click.option(
    "--api-url",
    "police_api_url",
    default=None,
    help="Base URL of the police API (for a mirror or a test server).",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for raw responses with checksums.",
)
@click.option(
    "--source",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Local CSV/JSON file, folder or archive zip to load too (repeatable).",
)
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Boundary manifest (boundaries/*.toml).",
)
@click.option(
    "--keep",
    "releases_kept",
    type=click.IntRange(min=1),
    default=None,
    help="Number of releases to keep [default: 5].",
)
@click.option(
    "--record-level",
    type=click.Choice(["auto", "on", "off"]),
    default=None,
    help="Publish the record-level searches extract (auto: only for data.police.uk).",
)
@click.option(
    "--min-count",
    type=click.IntRange(min=1),
    default=None,
    help="Counts below this (and above 0) are shown as '<N' [default: 5].",
)
@click.option(
    "--min-rate-count",
    type=click.IntRange(min=1),
    default=None,
    help="Fewest searches for a rate [default: 10].",
)
@click.option(
    "--min-rate-population",
    type=click.IntRange(min=1),
    default=None,
    help="Fewest residents for a rate [default: 100].",
)
@click.option(
    "--min-ratio-count",
    type=click.IntRange(min=1),
    default=None,
    help="Fewest searches in each group for a ratio [default: 5].",
)
@click.option(
    "--memory-limit",
    default=None,
    help="Cap on DuckDB's memory, e.g. 3GB (it spills to disk beyond) [default: DuckDB's].",
)
@click.option("--rebuild", is_flag=True, help="Build a new release even if nothing changed.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output; only errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def publish(
    ctx: click.Context,
    config: Path | None,
    out: Path | None,
    force: str | None,
    months: Any,
    police_api: bool | None,
    police_api_url: str | None,
    cache: Path | None,
    source: tuple[Path, ...],
    manifest: Path | None,
    releases_kept: int | None,
    record_level: str | None,
    min_count: int | None,
    min_rate_count: int | None,
    min_rate_population: int | None,
    min_ratio_count: int | None,
    memory_limit: str | None,
    rebuild: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """The nightly job: fetch, update the warehouse, build and switch to a new release.

    \b
    Exit codes: 0 success; 3 success but rows or files were rejected;
    1 failure (the previous release is still live); 75 another run holds the lock.
    """
    from stopsearch.publish import EXIT_LOCKED, run_publish
    from stopsearch.release import LockHeld

    levels = {"auto": "auto", "on": True, "off": False, None: None}
    settings = _publish_config(
        ctx,
        config,
        output=out,
        force=force,
        months=months,
        police_api=police_api,
        police_api_url=police_api_url,
        cache=cache,
        source=source,
        manifest=manifest,
        releases_kept=releases_kept,
        record_level=levels[record_level],
        min_count=min_count,
        min_rate_count=min_rate_count,
        min_rate_population=min_rate_population,
        min_ratio_count=min_ratio_count,
        memory_limit=memory_limit,
    )
    try:
        result = run_publish(
            settings, force_rebuild=rebuild, on_stage=_stage_printer(quiet, as_json)
        )
    except LockHeld as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(EXIT_LOCKED)
    if not quiet or as_json:
        _emit(as_json, result.as_json(), result.human())
    ctx.exit(result.exit_code)


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("stopsearch-site"),
    show_default=True,
    help="Output folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def rollback(out: Path, as_json: bool) -> None:
    """Point `current` back at the release before it."""
    from stopsearch.release import rollback as switch_back
    from stopsearch.release import run_lock

    with run_lock(out):
        previous = switch_back(out)
    _emit(as_json, {"current": previous.name}, f"current is now {previous.name}")


@main.command()
@click.option(
    "--police-force",
    "force",
    type=ForceIdType(),
    required=True,
    help="data.police.uk force id, e.g. west-midlands.",
)
@click.option(
    "--months",
    type=MonthsType(),
    default="latest",
    show_default=True,
    help="latest, all, or months such as 2023-01,2023-02.",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cache"),
    show_default=True,
    help="Cache folder.",
)
@click.option(
    "--api-url",
    default="https://data.police.uk",
    show_default=True,
    help="Base URL of the police API.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def fetch(
    ctx: click.Context, force: str, months: Any, cache: Path, api_url: str, as_json: bool
) -> None:
    """Fetch stop-and-search months from data.police.uk into the cache (no ingest)."""
    from stopsearch.sources import Cache, PoliceAPI, fetch_force

    report = fetch_force(PoliceAPI(base_url=api_url), Cache(cache), force, months)
    payload = {"lines": report.lines(), "ok": report.ok}
    _emit(as_json, payload, "\n".join(report.lines()))
    ctx.exit(EXIT_OK if report.ok else EXIT_FAILED)


@main.command("build-site")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site-build"),
    show_default=True,
    help="Folder to write pages into.",
)
@click.option(
    "--templates",
    "template_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of templates that override the shipped ones (repeatable).",
)
@click.option("--demo/--no-demo", default=False, help="Show the fictional-data banner.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def build_site_command(
    ctx: click.Context, out: Path, template_dirs: tuple[Path, ...], demo: bool, as_json: bool
) -> None:
    """Render the site from the warehouse's publishable metrics."""
    from stopsearch.outputs.site import build_site

    with _connect(ctx) as con:
        report = build_site(con, out, demo=demo, template_dirs=template_dirs)
    _emit(
        as_json,
        {"pages": len(report.pages), "bytes": report.total_bytes},
        f"Wrote {len(report.pages)} pages ({report.total_bytes:,} bytes) to {out}",
    )


@main.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("downloads"),
    show_default=True,
    help="Folder to write files into.",
)
@click.option(
    "--record-level/--no-record-level",
    default=True,
    show_default=True,
    help="Also write the record-level searches files.",
)
@click.option("--demo/--no-demo", default=False, help="Label the files as fictional data.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def export(ctx: click.Context, out: Path, record_level: bool, demo: bool, as_json: bool) -> None:
    """Write GeoParquet, CSV and GeoJSON extracts with a data package description."""
    from stopsearch.outputs.extracts import export as write_extracts

    with _connect(ctx) as con:
        report = write_extracts(con, out, record_level=record_level, demo=demo)
    _emit(
        as_json,
        {"files": [f.name for f in report.files]},
        "\n".join(f"{f.name}: {f.bytes:,} bytes" for f in report.files),
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
