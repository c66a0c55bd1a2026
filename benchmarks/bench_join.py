"""Benchmark `assign_areas` on 1M and 10M searches against the real West Midlands ward layer.

Not a test: `.venv/bin/python benchmarks/bench_join.py [--sizes 1000000 10000000]`.

For each case a first process writes a warehouse file (the ward layer and N searches), and a
second, fresh process opens it and times `assign_areas` alone: its peak memory
(resource.getrusage ru_maxrss) is the join's, not the generator's. Two point sets:

* uniform: distinct random points inside the wards (the worst case: no point is shared);
* snap: points drawn from the 3,683 snap points of the real data, as police locations are.

Seconds are wall time; "cpu s" is the process's CPU time (user + system), which is steadier
than wall time on a shared machine: with 2 idle cores, wall is about cpu / 2.
Targets (issue 3): <= 1.5 s for 1M, <= 15 s for 10M, < 4 GB peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STOPSEARCH_SHARED_DATA", REPO.parent / "shared" / "data"))
MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"
CHUNK = 1_000_000
MONTHS = 10  # 2016-09 .. 2017-06: one load each (force and month come through the load id)
LOADS = f"""
INSERT INTO loads
SELECT i + 1, 'west-midlands', (DATE '2016-09-01' + INTERVAL (i) MONTH)::DATE, 'bench.csv', 'csv',
    '', 0, 0, 0, now()::TIMESTAMP, ''
FROM range({MONTHS}) AS t(i)
"""
INSERT = """
INSERT INTO search_rows (load_id, source_line, datetime_odd, datetime, type, latitude,
    longitude, self_defined_ethnicity, self_defined_group, officer_defined_group, object_group,
    outcome_class)
SELECT date_diff('month', DATE '2016-09-01', dt) + 1, id, '', dt, 'Person search', lat, lon,
    'Not stated', 'Not stated', 'Unknown', 'unknown', 'unknown'
FROM chunk
"""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sampler(mode: str, wards: np.ndarray, rng: np.random.Generator):
    """A function n -> (lon, lat) arrays of n points of the chosen kind."""
    if mode == "snap":
        files = sorted((SHARED / "police/stop-and-search/west-midlands").glob("*.csv"))
        real = pd.concat([pd.read_csv(f, usecols=["Latitude", "Longitude"]) for f in files])
        snap = real.drop_duplicates().to_numpy()

        def snap_points(n: int) -> tuple[np.ndarray, np.ndarray]:
            pick = rng.integers(0, len(snap), n)
            return snap[pick, 1], snap[pick, 0]

        return snap_points
    union = shapely.union_all(wards)
    shapely.prepare(union)
    x0, y0, x1, y1 = union.bounds

    def uniform_points(n: int) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = np.empty(0), np.empty(0)
        while len(lon) < n:
            x, y = rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)
            keep = shapely.contains_xy(union, x, y)
            lon, lat = np.concatenate([lon, x[keep]]), np.concatenate([lat, y[keep]])
        return lon[:n], lat[:n]

    return uniform_points


def setup(mode: str, n: int, database: Path) -> None:
    """Write a warehouse with the real ward layer and n searches over 10 months."""
    from stopsearch.geography import load_boundaries, load_manifest, read_layer
    from stopsearch.warehouse import connect

    manifest = load_manifest(MANIFEST, SHARED)
    ward = manifest.layer("wm-wards-2013")
    manifest = dataclasses.replace(manifest, layers=(ward,), lookups=(), populations=())
    con = connect(database)
    load_boundaries(con, manifest)
    rng = np.random.default_rng(20170601)
    sample = _sampler(mode, read_layer(ward).geometry.values, rng)
    start = np.datetime64("2016-09-01T00:00")
    con.execute(LOADS)
    for first in range(0, n, CHUNK):
        size = min(CHUNK, n - first)
        lon, lat = sample(size)
        minutes = rng.integers(0, 300 * 24 * 60, size).astype("timedelta64[m]")
        chunk = pa.table(
            {
                "id": np.arange(first + 1, first + size + 1),
                "lon": lon,
                "lat": lat,
                "dt": (start + minutes).astype("datetime64[us]"),
            }
        )
        con.register("chunk", chunk)
        con.execute(INSERT)
        con.unregister("chunk")
    con.execute("CHECKPOINT")
    con.close()


def join(database: Path) -> dict:
    """Open the warehouse in this fresh process and time assign_areas alone."""
    from stopsearch.geography import assign_areas
    from stopsearch.warehouse import connect

    con = connect(database)
    distinct = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT latitude, longitude FROM searches)"
    ).fetchone()[0]
    before = _peak_mb()
    cpu = _cpu_seconds()
    report = assign_areas(con)
    return {
        "seconds": report.seconds,
        "join_seconds": report.join_seconds,
        "write_seconds": report.write_seconds,
        "cpu_seconds": round(_cpu_seconds() - cpu, 2),
        "distinct_points": distinct,
        "in_ward": report.in_ward,
        "outside": report.outside_area,
        "peak_mb_before_join": round(before),
        "peak_mb": round(_peak_mb()),
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
        "load": round(os.getloadavg()[0], 1),
    }


def _run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        sys.exit(out.stderr)
    return out.stdout


def main() -> None:
    """Run every (size, mode) case: setup in one process, the timed join in another."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--modes", nargs="+", default=["uniform", "snap"])
    parser.add_argument("--setup", nargs=3, metavar=("MODE", "N", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--join", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup(args.setup[0], int(args.setup[1]), Path(args.setup[2]))
        return
    if args.join:
        print(json.dumps(join(Path(args.join))))
        return
    if not (SHARED / "boundaries").is_dir():
        sys.exit(f"real data not found at {SHARED}")
    print(
        f"{'mode':8} {'points':>11} {'distinct':>10} {'seconds':>8} {'join s':>7} {'write s':>7}"
        f" {'cpu s':>7} {'peak MB':>8}"
    )
    for n in args.sizes:
        for mode in args.modes:
            with tempfile.TemporaryDirectory() as tmp:
                database = Path(tmp) / "bench.duckdb"
                started = time.perf_counter()
                _run("--setup", mode, str(n), str(database))
                result = json.loads(_run("--join", str(database)).strip().splitlines()[-1])
            print(
                f"{mode:8} {n:>11,} {result['distinct_points']:>10,} {result['seconds']:>8.2f}"
                f" {result['join_seconds']:>7.2f} {result['write_seconds']:>7.2f}"
                f" {result['cpu_seconds']:>7.2f} {result['peak_mb']:>8,}"
                f"  in {result['in_ward']:,} / out {result['outside']:,};"
                f" opened at {result['peak_mb_before_join']:,} MB; threads {result['threads']},"
                f" load {result['load']}; case {time.perf_counter() - started:.0f} s"
            )


if __name__ == "__main__":
    main()
