"""Hostile-input benchmark (not a test): one file of N one-byte junk lines, every one a reject.

Usage: python benchmarks/bench_rejects.py [LINES]   (default 5000000)
Prints the ingest's CPU seconds (process, all threads), the peak RSS of the process, the
rejected lines counted and the `rejected` rows stored (capped per file: ingest.parse).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from stopsearch.ingest import CSV_HEADER, ingest_paths
from stopsearch.warehouse import connect


def main(lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "2023-01-testshire-stop-and-search.csv"
        path.write_bytes((",".join(CSV_HEADER) + "\n").encode() + b"x\n" * lines)
        con = connect(Path(tmp) / "w.duckdb")
        cpu, wall = time.process_time(), time.perf_counter()
        [result] = ingest_paths(con, [path]).files
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stored = con.execute("SELECT count(*) FROM rejected").fetchone()[0]
        con.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{lines:,} junk lines: ingest CPU {cpu:.1f} s (wall {wall:.1f} s), peak RSS {peak:,.0f}"
        f" MB; rejected {result.rows_rejected:,}, stored {stored:,} rows"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000)
