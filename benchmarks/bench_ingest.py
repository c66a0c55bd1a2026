"""Ingest benchmark (not a test): rows/s loading N records into a fresh warehouse file.

Usage: python benchmarks/bench_ingest.py [ROWS ...]   (default 1000000). Median of 3 runs.
Reports wall time and the process's CPU time (all threads, user + system) during the ingest: on
a shared machine the CPU time is the steadier figure. A second table times the CSV parsing alone
(`parse_csv` on every file, already read into memory), where the ASCII fast path acts: the
default path against `exact=True` (the path every file took before the fast path), interleaved in
the same process so both see the same machine.
"""

from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inputs import make_inputs, source_folder  # noqa: E402

from stopsearch.ingest import ingest_paths  # noqa: E402
from stopsearch.ingest.csv_rows import parse_csv  # noqa: E402
from stopsearch.ingest.read import RawText, read_text  # noqa: E402
from stopsearch.thresholds import DEFAULT_LIMITS  # noqa: E402
from stopsearch.warehouse import connect  # noqa: E402

PARSE_RUNS = 7


def run_once(folder: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, rows loaded) of one ingest into a fresh warehouse."""
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "bench.duckdb")
        start, cpu = time.perf_counter(), time.process_time()
        report = ingest_paths(con, [folder])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        con.close()
    return elapsed, cpu, report.rows_loaded


def read_all(folder: Path) -> list[tuple[str, RawText]]:
    """Every CSV of the inputs as the reader hands it to the parser."""
    paths = sorted(folder.rglob("*-stop-and-search.csv"))
    return [
        (p.name, read_text(lambda p=p: p.open("rb"), p.name, DEFAULT_LIMITS, csv=True))
        for p in paths
    ]


def parse_once(raws: list[tuple[str, RawText]], exact: bool) -> tuple[float, int]:
    """(CPU seconds, rows) of parsing every file once, on the exact path or the default one."""
    cpu = time.process_time()
    rows = sum(
        parse_csv(raw, name, DEFAULT_LIMITS, exact=exact).table.num_rows for name, raw in raws
    )
    return time.process_time() - cpu, rows


def main(sizes: list[int]) -> None:
    _, label = source_folder()
    print(f"inputs: {label}")
    print("| rows | median s | rows/s | median CPU s | runs (s) | runs CPU (s) |")
    print("|---:|---:|---:|---:|---|---|")
    for size in sizes:
        folder = make_inputs(size)
        runs = [run_once(folder) for _ in range(3)]
        times = [t for t, _, _ in runs]
        cpus = [c for _, c, _ in runs]
        assert all(n == size for _, _, n in runs), runs
        median = statistics.median(times)
        print(
            f"| {size:,} | {median:.2f} | {size / median:,.0f} | {statistics.median(cpus):.2f} |"
            f" {', '.join(f'{t:.2f}' for t in times)} | {', '.join(f'{c:.2f}' for c in cpus)} |"
        )
    print()
    print(f"parsing alone, {PARSE_RUNS} interleaved runs each (CPU seconds):")
    print("| rows | default path median | exact path median | ratio | default runs | exact runs |")
    print("|---:|---:|---:|---:|---|---|")
    for size in sizes:
        raws = read_all(make_inputs(size))
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(PARSE_RUNS):
            for exact in (False, True):
                cpu, rows = parse_once(raws, exact)
                assert rows == size, (rows, size)
                runs[exact].append(cpu)
        fast, slow = statistics.median(runs[False]), statistics.median(runs[True])
        print(
            f"| {size:,} | {fast:.3f} | {slow:.3f} | {fast / slow:.2f} |"
            f" {', '.join(f'{c:.2f}' for c in runs[False])} |"
            f" {', '.join(f'{c:.2f}' for c in runs[True])} |"
        )
        del raws
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000])
