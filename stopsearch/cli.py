"""The `stopsearch` command: a thin click shell over the library. Only this module knows click."""

from __future__ import annotations

import json
import sys
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
            }
            for f in report.files
        ],
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "files_refused": report.count("refused"),
    }


def _ingest_exit(report) -> int:
    return EXIT_REJECTED if report.rows_rejected or report.count("refused") else EXIT_OK


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
    default=Path("stopsearch-site"),
    show_default=True,
    help="Output folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_context
def publish(ctx: click.Context, config: Path | None, out: Path, as_json: bool) -> None:
    """The nightly job: fetch, ingest, and publish (on the demo data when no config is given)."""
    from stopsearch.publish import run_publish

    with _connect(ctx) as con:
        result = run_publish(con, config=config, out=out)
    _emit(as_json, result.as_json(), result.human())
    ctx.exit(result.exit_code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
