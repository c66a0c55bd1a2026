"""Benchmark `stopsearch.outputs.extracts.export` on ~1M records (not a test).

    .venv/bin/python benchmarks/bench_export.py [--records 1000000]

The demo dataset is generated, prepared into a warehouse (ingest, join, metrics), then its
searches (with their area and priority-area rows) are replicated under new ids until there are
about --records of them; published metrics are left as they are (the export only reads them).
Then a record-level export runs and its seconds, peak memory and file sizes are printed, followed
by a GeoParquet bbox read of a small box against a full read. Everything goes to
benchmarks/work/ (ignored by git).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work" / "export"
OFFSET = 1_000_000_000_000  # search_id offset of each copy (ids are load * 1e7 + line)


def _base_warehouse() -> Path:
    """The prepared demo warehouse (built once, reused)."""
    from stopsearch.demo import generate_demo
    from stopsearch.pipeline import prepare
    from stopsearch.warehouse import connect

    path = WORK / "demo.duckdb"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    demo = WORK / "demo-data"
    if not (demo / "truth.json").exists():
        generate_demo(demo)
    with connect(path) as con:
        prepare(con, [demo / "records"], demo / "boundaries" / "manifest.toml")
    return path


def _replicated(records: int) -> tuple[Path, int]:
    """A copy of the demo warehouse with its searches replicated to about `records` rows."""
    from stopsearch.warehouse import connect

    base = _base_warehouse()
    path = WORK / f"bench-{records}.duckdb"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        shutil.copy(base, tmp)
        with connect(tmp) as con:
            demo = con.execute("SELECT count(*) FROM searches").fetchone()[0]
            copies = max(1, round(records / demo))
            con.execute("BEGIN TRANSACTION")
            for table in ("searches", "search_areas", "search_priority_areas"):
                con.execute(
                    f"INSERT INTO {table} SELECT t.* REPLACE (t.search_id + r.k * {OFFSET}"
                    f" AS search_id) FROM {table} AS t, range(1, ?) AS r(k)",
                    [copies],
                )
            con.execute("COMMIT")
        tmp.rename(path)
    with connect(path, read_only=True) as con:
        count = con.execute("SELECT count(*) FROM searches").fetchone()[0]
    return path, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()

    from stopsearch.outputs.extracts import export
    from stopsearch.warehouse import connect

    path, count = _replicated(args.records)
    out = WORK / f"downloads-{args.records}"
    shutil.rmtree(out, ignore_errors=True)
    with connect(path, read_only=True) as con:
        started = time.perf_counter()
        report = export(con, out, record_level=True, demo=True)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records: {count:,}")
    print(f"export: {seconds:.2f} s wall (report: {report.seconds:.2f} s), peak RSS {peak:,.0f} MB")
    for f in report.files:
        rows = f"{f.rows:>10,}" if f.rows is not None else " " * 10
        print(f"  {f.name:28} {f.bytes / 1e6:9.2f} MB {rows} rows")
    total = sum(f.bytes for f in report.files)
    print(f"  {'total':28} {total / 1e6:9.2f} MB")

    import geopandas as gpd
    import pyarrow.parquet as pq

    searches = out / "searches"  # one file per month, read as one dataset
    files = sorted(searches.glob("month=*/part-0.parquet"))
    groups = sum(pq.ParquetFile(p).metadata.num_row_groups for p in files)
    print(f"searches/: {len(files)} month files, {groups} row groups")
    points = gpd.read_parquet(searches, columns=["geometry"], partitioning=None).geometry.dropna()
    xmin, ymin, xmax, ymax = points.total_bounds
    middle = points.iloc[len(points) // 2]  # a real point: the box is never empty
    cx, cy = middle.x, middle.y
    dx, dy = (xmax - xmin) / 40, (ymax - ymin) / 40  # a box 1/400 of the extent
    box = (cx - dx, cy - dy, cx + dx, cy + dy)
    started = time.perf_counter()
    part = gpd.read_parquet(searches, bbox=box, partitioning=None)
    small = time.perf_counter() - started
    started = time.perf_counter()
    full = gpd.read_parquet(searches, partitioning=None)
    whole = time.perf_counter() - started
    print(
        f"geopandas read: bbox (1/400 of the extent) {small:.2f} s for {len(part):,} rows;"
        f" full {whole:.2f} s for {len(full):,} rows"
    )


if __name__ == "__main__":
    main()
