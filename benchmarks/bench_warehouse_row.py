"""Warehouse row benchmark (issue 19; not a test): ingest CPU, bytes a record, reader CPU.

Usage: python benchmarks/bench_warehouse_row.py [ROWS]   (default 1000000; inputs as
bench_ingest). Run it at two commits to compare rows (e.g. with PYTHONPATH=<other worktree>).

Ingests ROWS records into a fresh warehouse file three times (CPU seconds of the process, all
threads), then on the last warehouse: its bytes a record after CHECKPOINT (less an empty
warehouse's), then best of 3 CPU seconds of: the real West Midlands ward layer joined
(`assign_areas`, a reader of `searches`), the metrics counts (build.sql `counts` +
`monthly_counts`, the main reader) and every column of `searches` to Arrow.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inputs import REPO, SHARED, make_inputs  # noqa: E402

import stopsearch  # noqa: E402
from stopsearch.geography import assign_areas, load_boundaries, load_manifest  # noqa: E402
from stopsearch.ingest import ingest_paths  # noqa: E402
from stopsearch.metrics.build import SQL as METRICS  # noqa: E402
from stopsearch.warehouse import connect  # noqa: E402

READS = {
    "metrics counts": lambda con: (
        METRICS.execute(con, "counts"),
        METRICS.execute(con, "monthly_counts").fetchall(),
    ),
    "all columns to Arrow": lambda con: con.execute("SELECT * FROM searches").to_arrow_table(),
}


def _cpu(step) -> float:
    cpu = time.process_time()
    step()
    return time.process_time() - cpu


def main(rows: int) -> None:
    folder = make_inputs(rows)
    print(f"stopsearch from {Path(stopsearch.__file__).parent}; {rows:,} records")
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.duckdb"
        connect(empty).close()
        cpus = []
        for run in range(3):
            path = Path(tmp) / f"w{run}.duckdb"
            con = connect(path)
            cpus.append(_cpu(lambda con=con: ingest_paths(con, [folder])))
            con.execute("CHECKPOINT")
            if run < 2:
                con.close()
                path.unlink()
        size = path.stat().st_size - empty.stat().st_size
        runs = ", ".join(f"{c:.2f}" for c in cpus)
        print(f"ingest CPU s: median {statistics.median(cpus):.2f} ({runs})")
        print(f"bytes a record after CHECKPOINT: {size / rows:.1f}")
        manifest = load_manifest(REPO / "boundaries" / "west-midlands-2013.toml", SHARED)
        ward = manifest.layer("wm-wards-2013")
        load_boundaries(
            con, dataclasses.replace(manifest, layers=(ward,), lookups=(), populations=())
        )
        joins = [_cpu(lambda: assign_areas(con)) for _ in range(3)]  # each replaces the last
        print(f"assign_areas CPU s (best of 3): {min(joins):.2f}")
        for name, read in READS.items():
            best = min(_cpu(lambda read=read: read(con)) for _ in range(3))
            print(f"{name} CPU s (best of 3): {best:.3f}")
        con.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
