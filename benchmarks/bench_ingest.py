"""Ingest benchmark (not a test): rows/s loading N records into a fresh warehouse file.

Usage: python benchmarks/bench_ingest.py [ROWS ...]   (default 1000000). Median of 3 runs.
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
from stopsearch.warehouse import connect  # noqa: E402


def run_once(folder: Path) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "bench.duckdb")
        start = time.perf_counter()
        report = ingest_paths(con, [folder])
        elapsed = time.perf_counter() - start
        con.close()
    return elapsed, report.rows_loaded


def main(sizes: list[int]) -> None:
    _, label = source_folder()
    print(f"inputs: {label}")
    print("| rows | median s | rows/s | runs (s) |")
    print("|---:|---:|---:|---|")
    for size in sizes:
        folder = make_inputs(size)
        runs = [run_once(folder) for _ in range(3)]
        times = [t for t, _ in runs]
        assert all(n == size for _, n in runs), runs
        median = statistics.median(times)
        print(
            f"| {size:,} | {median:.2f} | {size / median:,.0f} |"
            f" {', '.join(f'{t:.2f}' for t in times)} |"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000])
