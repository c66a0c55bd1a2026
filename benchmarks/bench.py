"""End-to-end benchmark (not a test): `nox -s bench`, or
`python benchmarks/bench.py [--repeats N] [--no-naive] [--no-nightly] [ROWS...]`.

For each size it makes inputs from the real months (inputs.py), then runs, each in its own
process and three times (median): our whole publish (ingest, join, metrics, extracts, site), the
hardware floor (DuckDB read_csv + ST_DWithin join + group by) and the naive analyst script
(pandas + geopandas sjoin + groupby). It also times the nightly run: one new month on 120 months
of 10,000 records, through the real publish job up to verify and switch (bench_nightly.py).
Results go to benchmarks/results/<date>.json and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inputs import FORCE, REAL_WARDS, REPO, WORK, make_inputs, source_folder  # noqa: E402

RUNNER = Path(__file__).resolve().parent / "run_stage.py"
NIGHTLY = Path(__file__).resolve().parent / "bench_nightly.py"
MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"
RESULTS = REPO / "benchmarks" / "results"


def _run(*args: object) -> dict:
    done = subprocess.run(
        [sys.executable, str(RUNNER), *map(str, args)], capture_output=True, text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    stages = sorted({k for r in runs for k in r["stages"]})
    return {
        "stages": {s: statistics.median(r["stages"].get(s, 0.0) for r in runs) for s in stages},
        "peak_mb": max(r["peak_mb"] for r in runs),
        "runs": runs,
    }


def bench_size(rows: int, repeats: int, naive: bool = True) -> dict:
    inputs = make_inputs(rows)
    results: dict[str, dict] = {}
    ours = []
    for attempt in range(repeats):
        work = WORK / f"run-{rows}-{attempt}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        ours.append(_run("publish", inputs, MANIFEST, work))
    results["ours"] = _median(ours)
    results["floor"] = _median([_run("floor", inputs, REAL_WARDS) for _ in range(repeats)])
    if naive:  # the analyst's script: slow at 10M, and it measures nothing of ours
        results["naive"] = _median([_run("naive", inputs, REAL_WARDS) for _ in range(repeats)])
    return results


TEN_YEARS = 120
MONTHLY_ROWS = 10_000  # about ten times West Midlands' monthly volume in 2016-17


def bench_incremental() -> dict:
    """One new month on a ten-year output (120 months of 10,000 records), through the real
    publish job up to verify and switch (bench_nightly.py, one night)."""
    done = subprocess.run(
        [sys.executable, str(NIGHTLY), "--months", str(TEN_YEARS), "--rows", str(MONTHLY_ROWS),
         "--nights", "1"],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"nightly failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {"stages": report["nights"][0], "history_publish": report["history"]}


def main(sizes: list[int], repeats: int = 3, naive: bool = True, nightly: bool = True) -> None:
    _, label = source_folder()
    report = {"date": f"{date.today()}", "inputs": label, "force": FORCE, "sizes": {}}
    for rows in sizes:
        report["sizes"][rows] = bench_size(rows, repeats, naive)
        print(f"done {rows:,}", file=sys.stderr)
    if nightly:
        report["incremental"] = bench_incremental()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{date.today()}.json"
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(table(report))
    print(f"\nwritten to {out}")


def table(report: dict) -> str:
    lines = [
        f"inputs: {report['inputs']}",
        "| rows | ingest | join | metrics | ingest+join+metrics | export | site | total | "
        "peak MB | floor | naive | ours/floor | ours/naive |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, result in report["sizes"].items():
        s = result["ours"]["stages"]
        core = s.get("ingest", 0) + s.get("boundaries", 0) + s.get("population", 0) + s.get(
            "join", 0) + s.get("metrics", 0)
        floor = result["floor"]["stages"]["total"]
        naive = result["naive"]["stages"]["total"] if "naive" in result else float("nan")
        lines.append(
            f"| {int(rows):,} | {s.get('ingest', 0):.2f} | "
            f"{s.get('boundaries', 0) + s.get('population', 0) + s.get('join', 0):.2f} | "
            f"{s.get('metrics', 0):.2f} | {core:.2f} | {s.get('export', 0):.2f} | "
            f"{s.get('site', 0):.2f} | {s.get('total', 0):.2f} | {result['ours']['peak_mb']:,.0f} |"
            f" {floor:.2f} | {naive:.2f} | {core / floor:.2f} | {core / naive:.2f} |"
        )
    inc = report.get("incremental")
    if inc:
        lines.append(
            f"\nnightly publish (one new month on 120 months x {MONTHLY_ROWS:,}, through verify"
            f" and switch): {inc['stages']['total']:.2f} s; stages "
            + ", ".join(f"{k} {v:.2f}" for k, v in sorted(inc["stages"].items()))
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="*", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (median)")
    parser.add_argument("--no-naive", dest="naive", action="store_false")
    parser.add_argument("--no-nightly", dest="nightly", action="store_false")
    args = parser.parse_args()
    main(args.rows, args.repeats, args.naive, args.nightly)
