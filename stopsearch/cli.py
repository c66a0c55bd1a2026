"""The `stopsearch` command: a thin click shell over the library. Only this module knows click."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import duckdb

from stopsearch import __version__
from stopsearch.config import KEY_BY_NAME, KEYS, Key
from stopsearch.errors import ConfigError, StopsearchError, error_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # click's own code for usage errors
EXIT_REJECTED = 3  # finished, but some rows or files were rejected: see `stopsearch status`
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the output folder's lock


def _emit(as_json: bool, payload: dict[str, Any], human: str) -> None:
    """Print the JSON summary on stdout, or the human one."""
    if as_json:
        click.echo(json.dumps(payload, indent=2, default=str, sort_keys=True))
    else:
        click.echo(human)


class _Group(click.Group):
    """Turns library, DuckDB and file-system errors into one line and status 1, no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (StopsearchError, duckdb.Error, OSError) as exc:
            click.echo(f"Error: {error_text(exc)}", err=True)
            ctx.exit(EXIT_FAILED)


class KeyValue(click.ParamType):
    """A command-line value checked by its configuration key's own validator."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.name = key.metavar or key.name.upper()

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):  # a default, already a checked value
            return value
        try:
            return self.key.from_text(value)
        except ConfigError as exc:
            self.fail(f"{exc}. {self.key.help}", param, ctx)


class KeyOption(click.Option):
    """An option built from a configuration key; `config_key` says which."""

    def __init__(self, *args: Any, config_key: Key, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config_key = config_key


def key_option(key: Key, dest: str | None = None, **settings: Any) -> Callable:
    """The click option of a configuration key (default: none, i.e. the file's or built-in)."""
    name = dest or key.name
    default = key.default()
    text = f"{default:g}" if isinstance(default, float) else str(default)
    shown = "" if default in (None, (), "") or "default:" in key.help else f" [default: {text}]"
    if "default" in settings:
        shown = ""
    options: dict[str, Any] = {
        "cls": KeyOption,
        "config_key": key,
        "default": None,
        "help": key.help + shown,
    }
    if key.kind == "bool":
        decls = [f"{key.option}/--no-{key.option.removeprefix('--')}", name]
    else:
        decls = [key.option, name]
        options |= {"type": KeyValue(key), "multiple": key.kind == "list", "metavar": key.metavar}
    return click.option(*decls, **(options | settings))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stopsearch")
@key_option(
    KEY_BY_NAME["warehouse"],
    "db",
    default=Path("stopsearch.duckdb"),
    show_default=True,
    envvar="STOPSEARCH_DB",
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
            held = f.action == "quarantined"
            lines.append(f"    {'held' if held else 'refused'}: {f.error}")
            if held:
                lines.append(
                    f"    to apply it anyway: --accept-resupply {f.force}-{f.month:%Y-%m}"
                )
        for u in f.unmapped:
            lines.append(
                f"    warning: unmapped {u.field} label {u.label!r} on {u.rows} rows"
                f" (first at line {u.first_line}); loaded as Unknown"
            )
    lines.append(
        f"{len(report.files)} files: {report.count('new')} new, {report.count('resupplied')}"
        f" re-supplied, {report.count('unchanged')} unchanged, {report.count('refused')} refused,"
        f" {report.count('quarantined')} quarantined;"
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
        "files_quarantined": report.count("quarantined"),
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
@key_option(KEY_BY_NAME["resupply_max_loss_percent"], "max_loss")
@key_option(KEY_BY_NAME["accept_resupply"], "accept")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    max_loss: float | None,
    accept: tuple[str, ...],
    as_json: bool,
) -> None:
    """Load stop-and-search files, folders of them, or data.police.uk archive zips.

    Files are named like 2023-01-west-midlands-stop-and-search.csv (or .json for API responses).
    A file already loaded with the same checksum is skipped; a changed one replaces its month,
    unless it loses too many of the month's rows: then it is quarantined (exit 3) until accepted,
    as in the publish job.
    """
    from datetime import UTC, datetime

    from stopsearch.config import PublishConfig
    from stopsearch.ingest import ingest_paths
    from stopsearch.ingest.resupply import ResupplyGuard
    from stopsearch.publish import record_quarantine

    settings = PublishConfig(accept_resupply=accept)
    guard = ResupplyGuard(
        settings.resupply_max_loss_percent if max_loss is None else max_loss,
        settings.accepted_resupplies,
    )
    with _connect(ctx) as con:
        report = ingest_paths(con, paths, guard=guard)
        if guard.quarantined or guard.accepted_applied:
            record_quarantine(con, guard, f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
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
    """Show what the warehouse holds: force-months, rows, rejected, unmapped labels.

    Also what the publish job held back or repaired: quarantined re-supplies, the last
    sanity-gate check and self-heals of the live release.
    """
    from stopsearch.status import (
        operator_lines,
        operator_status,
        refused_files,
        unmapped_summary,
        warehouse_status,
    )

    with _connect(ctx) as con:
        months = warehouse_status(con)
        refused = refused_files(con)
        unmapped = unmapped_summary(con)
        operator = operator_status(con)
    payload = {
        "months": [m.as_json() for m in months],
        "refused_files": [{"source": s, "reason": r} for s, r in refused],
        "unmapped_labels": [{"field": f, "label": lbl, "rows": n} for f, lbl, n in unmapped],
        **operator,
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
    lines += operator_lines(operator)
    _emit(as_json, payload, "\n".join(lines))


def _publish_config(ctx: click.Context, config: Path | None, values: dict[str, Any]):
    """The configuration file (or the demo) with command-line values on top."""
    from stopsearch.config import PublishConfig, load_config, with_command_line

    base = load_config(config) if config is not None else PublishConfig()
    db_given = ctx.parent is not None and ctx.parent.get_parameter_source("db") not in (
        None,
        click.core.ParameterSource.DEFAULT,
    )
    if db_given or config is None:
        values["warehouse"] = ctx.obj["db"]
    return with_command_line(base, values)


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


# Every configuration key is a publish option (the warehouse is the group's --db).
PUBLISH_KEYS = tuple(key for key in KEYS if key.name != "warehouse")
# Sanity gates a run may pass anyway: option -> gate name (see stopsearch.gates).
GATE_OVERRIDES = {
    "--allow-unplaced": "unplaced",
    "--allow-vanished-months": "vanished_months",
    "--allow-population-drift": "population",
}


def _key_options(command: Callable) -> Callable:
    for key in reversed(PUBLISH_KEYS):
        command = key_option(key)(command)
    return command


def _gate_options(command: Callable) -> Callable:
    for option, gate in reversed(GATE_OVERRIDES.items()):
        command = click.option(
            option,
            f"allow_{gate}",
            is_flag=True,
            help=f"Publish even though the {gate.replace('_', ' ')} sanity gate trips (once).",
        )(command)
    return command


@main.command()
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="stopsearch.toml (default: the embedded fictional demo).",
)
@_key_options
@_gate_options
@click.option("--rebuild", is_flag=True, help="Build a new release even if nothing changed.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output; only errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def publish(
    ctx: click.Context,
    config: Path | None,
    rebuild: bool,
    quiet: bool,
    as_json: bool,
    **values: Any,
) -> None:
    """The nightly job: fetch, update the warehouse, build and switch to a new release.

    \b
    Exit codes: 0 success; 3 success but rows, files or re-supplied months were
    rejected (quarantined); 1 failure, e.g. a sanity gate tripped (the previous
    release is still live); 75 another run holds the lock.
    """
    from stopsearch.publish import run_publish
    from stopsearch.release import LockHeld

    overrides = frozenset(g for g in GATE_OVERRIDES.values() if values.pop(f"allow_{g}"))
    settings = _publish_config(ctx, config, values)
    try:
        result = run_publish(
            settings,
            force_rebuild=rebuild,
            on_stage=_stage_printer(quiet, as_json),
            overrides=overrides,
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
@click.pass_context
def rollback(ctx: click.Context, out: Path, as_json: bool) -> None:
    """Point `current` at the newest release before it that passes verification."""
    from stopsearch.publish import rollback_release
    from stopsearch.release import LockHeld

    try:
        previous, skipped = rollback_release(out)
    except LockHeld as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(EXIT_LOCKED)
    lines = [f"skipped {name}: {problem}" for name, problem in skipped]
    _emit(
        as_json,
        {"current": previous.name, "skipped": [{"release": n, "problem": p} for n, p in skipped]},
        "\n".join([*lines, f"current is now {previous.name}"]),
    )


@main.command()
@key_option(KEY_BY_NAME["force"], required=True)
@key_option(KEY_BY_NAME["months"], default="latest", show_default=True)
@key_option(KEY_BY_NAME["cache"], default=Path("cache"), show_default=True)
@key_option(KEY_BY_NAME["police_api_url"], "api_url", default="https://data.police.uk")
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
@key_option(KEY_BY_NAME["tile_url"])
@key_option(KEY_BY_NAME["tile_attribution"])
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def build_site_command(
    ctx: click.Context,
    out: Path,
    template_dirs: tuple[Path, ...],
    demo: bool,
    tile_url: str | None,
    tile_attribution: str | None,
    as_json: bool,
) -> None:
    """Render the site from the warehouse's publishable metrics."""
    from stopsearch.config import PublishConfig, check_tiles
    from stopsearch.outputs.site import build_site

    check_tiles(PublishConfig(tile_url=tile_url, tile_attribution=tile_attribution), "build-site")
    with _connect(ctx) as con:
        report = build_site(
            con,
            out,
            demo=demo,
            template_dirs=template_dirs,
            tile_url=tile_url,
            tile_attribution=tile_attribution,
        )
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
