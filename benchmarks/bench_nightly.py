"""The nightly publish job end to end, through verify and switch (not a test).

    .venv/bin/python benchmarks/bench_nightly.py [--months 120] [--rows 10000] [--nights 5]

It makes `--months + --nights` monthly files of `--rows` records (benchmarks/inputs.py: real West
Midlands months replicated, or the demo without the real data), publishes the first `--months`
with `run_publish` (the real job: live-release check, ingest, join, metrics, export, site,
checksums, verify, switch, prune), then runs `--nights` nightly publishes, each adding one month.
Each publish runs in a fresh Python process, as cron starts one each night. Per run it prints
the seconds of each stage, timed from the job's own stage callbacks:

    check    start of the run to the fetch stage: verifying the live release (self-healing)
    fetch, prepare (ingest, join, metrics), export, site
    export_records   of export: the record-level month files (code with month files only)
    verify   SHA256SUMS written, then the staged release verified
    switch   rename into releases/, `current` switched, old releases pruned
    process  the whole child process, from its start (imports included) to its end

and the same in CPU seconds of the process (all its threads: steadier than wall seconds on a
loaded machine), with `export+hash` = check + export + verify, the issue's "export and hashing
stages"; and, after the last night, the disk the output folder takes (each file counted once however
many releases link it) against one release. Everything goes to benchmarks/work/nightly-*/
(ignored by git); one JSON line with every figure is printed last.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inputs import REPO, WORK, make_inputs, source_folder  # noqa: E402

MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"
SHARED = Path(os.environ.get("STOPSEARCH_SHARED_DATA", REPO.parent / "shared" / "data"))
STAGES = (
    "check",
    "fetch",
    "prepare",
    "export",
    "export_records",
    "site",
    "verify",
    "switch",
    "export+hash",
    "process",
)
CPU_STAGES = ("check", "fetch", "prepare", "export", "site", "verify", "switch", "export+hash")


def disk_bytes(root: Path) -> tuple[int, int]:
    """(allocated bytes, apparent bytes) of the files under `root`, each inode counted once."""
    seen: set[tuple[int, int]] = set()
    blocks = apparent = 0
    for folder, _, names in os.walk(root):
        for name in names:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            blocks += st.st_blocks * 512
            apparent += st.st_size
    return blocks, apparent


def offline_manifest(folder: Path) -> Path:
    """The West Midlands manifest without its fetched (police-api) layer: no network here."""
    sections = MANIFEST.read_text(encoding="utf-8").split("\n[[")
    kept = [s for s in sections if 'source = "police-api"' not in s]
    path = folder / "manifest.toml"
    path.write_text("\n[[".join(kept), encoding="utf-8")
    return path


def _publish(config) -> dict[str, float]:  # noqa: ANN001 - PublishConfig, imported late
    """One publish in a fresh Python process, as cron starts one each night (in this process,
    a night's collector passes also walked the objects earlier nights left behind); `process`
    is the child's seconds from its start to its end, imports included."""
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        stages = pool.submit(_publish_here, config).result()
    stages["process"] = round(time.perf_counter() - started, 3)
    return stages


def _publish_here(config) -> dict[str, float]:  # noqa: ANN001 - PublishConfig, imported late
    from stopsearch.publish import run_publish

    def mark(name: str) -> None:
        marks.append((name, time.perf_counter(), time.process_time()))

    marks: list[tuple[str, float, float]] = []
    mark("check")
    result = run_publish(config, on_stage=mark)
    mark("end")
    if result.exit_code != 0 or not result.changed:
        raise RuntimeError(f"publish exit {result.exit_code}, changed {result.changed}")
    stages = {}
    for (name, wall, cpu), (_, wall_next, cpu_next) in zip(marks, marks[1:], strict=False):
        stages[name] = round(wall_next - wall, 3)
        stages[f"{name}_cpu"] = round(cpu_next - cpu, 3)
    stages["total"] = round(marks[-1][1] - marks[0][1], 3)
    stages["total_cpu"] = round(marks[-1][2] - marks[0][2], 3)
    for suffix in ("", "_cpu"):
        stages[f"export+hash{suffix}"] = round(
            sum(stages.get(f"{s}{suffix}", 0.0) for s in ("check", "export", "verify")), 3
        )
    if "export_records" in result.durations:  # the month files, within export (issue 18 on)
        stages["export_records"] = result.durations["export_records"]
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--nights", type=int, default=5)
    parser.add_argument("--label", default="", help="suffix of the work folder")
    args = parser.parse_args()

    from stopsearch.config import PublishConfig

    months = args.months + args.nights
    inputs = make_inputs(months * args.rows, months=months, start=(2008, 4))
    work = WORK / f"nightly-{args.months}x{args.rows}{args.label}"
    shutil.rmtree(work, ignore_errors=True)
    staged = work / "inputs"
    staged.mkdir(parents=True)
    folders = sorted(p for p in inputs.iterdir() if p.is_dir())
    for folder in folders[: args.months]:
        (staged / folder.name).symlink_to(folder)
    os.environ.setdefault("STOPSEARCH_SHARED_DATA", str(SHARED))
    config = PublishConfig(
        demo=False,
        output=work / "site",
        warehouse=work / "bench.duckdb",
        paths=(staged,),
        manifest=offline_manifest(work),
        record_level=True,
        releases_kept=5,
    )
    import stopsearch

    report: dict = {
        "inputs": source_folder()[1],
        "months": args.months,
        "rows": args.rows,
        "code": str(Path(stopsearch.__file__).parent),
    }
    report["history"] = _publish(config)
    print(f"history: {report['history']}", file=sys.stderr)
    report["one_release_bytes"] = disk_bytes(config.output / "current/")
    nights = []
    for folder in folders[args.months :]:
        (staged / folder.name).symlink_to(folder)
        nights.append(_publish(config))
        print(f"night {folder.name}: {nights[-1]}", file=sys.stderr)
    report["nights"] = nights
    report["last_release_bytes"] = disk_bytes(config.output / "current/")
    report["releases_bytes"] = disk_bytes(config.output / "releases")
    report["releases"] = len([p for p in (config.output / "releases").iterdir()])
    print(table(report))
    print(json.dumps(report, sort_keys=True))


def table(report: dict) -> str:
    """A markdown table: one row per run, seconds per stage; then the disk figures."""
    lines = [
        f"inputs: {report['inputs']}; {report['months']} months x {report['rows']:,} records",
        "| run | " + " | ".join(STAGES) + " | total |",
        "|---|" + "---:|" * (len(STAGES) + 1),
    ]
    runs = [("history", report["history"])] + [
        (f"night {i}", s) for i, s in enumerate(report["nights"], 1)
    ]
    for name, stages in runs:
        cells = " | ".join(f"{stages.get(s, 0.0):.2f}" for s in STAGES)
        lines.append(f"| {name} | {cells} | {stages['total']:.2f} |")
    lines += [
        "\nCPU seconds (process, all threads):",
        "| run | " + " | ".join(CPU_STAGES) + " | total |",
        "|---|" + "---:|" * (len(CPU_STAGES) + 1),
    ]
    for name, stages in runs:
        cells = " | ".join(f"{stages.get(f'{s}_cpu', 0.0):.2f}" for s in CPU_STAGES)
        lines.append(f"| {name} | {cells} | {stages.get('total_cpu', 0.0):.2f} |")
    one = report["last_release_bytes"][0]
    kept = report["releases_bytes"][0]
    lines.append(
        f"\ndisk: one release {one / 1e6:,.1f} MB; {report['releases']} releases kept"
        f" {kept / 1e6:,.1f} MB = {kept / one:.2f}x one release"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
