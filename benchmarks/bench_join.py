"""Benchmark `assign_areas` on 1M and 10M searches against the real West Midlands ward layer.

Not a test: run `.venv/bin/python benchmarks/bench_join.py [--sizes 1000000 10000000]`. Each
case runs in a fresh process so that peak memory (resource.getrusage) belongs to that case.
Two point sets:

* uniform: distinct random points inside the wards (the worst case: nothing to share);
* snap: points drawn from the real data's 3,683 snap points, as police locations are.

Targets (issue 3): <= 1.5 s for 1M, <= 15 s for 10M, < 4 GB peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STOPSEARCH_SHARED_DATA", REPO.parent / "shared" / "data"))
MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _points(mode: str, n: int, wards: np.ndarray, rng: np.random.Generator) -> tuple:
    """n (lon, lat) points: uniform inside the wards, or resampled real snap points."""
    if mode == "snap":
        files = sorted(glob.glob(str(SHARED / "police/stop-and-search/west-midlands/*.csv")))
        real = pd.concat([pd.read_csv(f, usecols=["Latitude", "Longitude"]) for f in files])
        snap = real.drop_duplicates().to_numpy()
        pick = rng.integers(0, len(snap), n)
        return snap[pick, 1], snap[pick, 0]
    union = shapely.union_all(wards)
    shapely.prepare(union)
    x0, y0, x1, y1 = union.bounds
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < n:
        x, y = rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)
        keep = shapely.contains_xy(union, x, y)
        lon, lat = np.concatenate([lon, x[keep]]), np.concatenate([lat, y[keep]])
    return lon[:n], lat[:n]


def run_case(mode: str, n: int) -> dict:
    """Load the ward layer, insert n searches, time assign_areas; return the measurements."""
    from stopsearch.geography.join import assign_areas
    from stopsearch.geography.load import load_boundaries
    from stopsearch.geography.manifest import load_manifest
    from stopsearch.geography.readers import read_layer
    from stopsearch.warehouse import connect

    manifest = load_manifest(MANIFEST, SHARED)
    ward = manifest.layer("wm-wards-2013")
    manifest = dataclasses.replace(manifest, layers=(ward,), lookups=(), populations=())
    con = connect(":memory:")
    load_boundaries(con, manifest)
    rng = np.random.default_rng(20170601)
    lon, lat = _points(mode, n, read_layer(ward).geometry.values, rng)
    start = np.datetime64("2016-09-01T00:00")
    minutes = rng.integers(0, 300 * 24 * 60, n).astype("timedelta64[m]")
    table = pa.table(
        {
            "id": np.arange(1, n + 1),
            "lon": lon,
            "lat": lat,
            "dt": (start + minutes).astype("datetime64[us]"),
        }
    )
    con.register("bench", table)
    con.execute(
        """
        INSERT INTO searches (search_id, load_id, force, month, source_file, source_line,
            datetime_published, datetime, type, is_person_search, latitude, longitude,
            self_defined_ethnicity, self_defined_group, officer_defined_group, object_group,
            outcome_class)
        SELECT id, 1, 'west-midlands', date_trunc('month', dt)::DATE, 'bench.csv', 2, '', dt,
            'Person search', true, lat, lon, 'Not stated', 'Not stated', 'Unknown', 'unknown',
            'unknown'
        FROM bench
        """
    )
    con.unregister("bench")
    del table, lon, lat, minutes
    before = _peak_mb()
    report = assign_areas(con)
    return {
        "mode": mode,
        "points": n,
        "distinct_points": con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT latitude, longitude FROM searches)"
        ).fetchone()[0],
        "seconds": report.seconds,
        "in_ward": report.in_ward,
        "outside": report.outside_area,
        "peak_mb_before_join": round(before),
        "peak_mb": round(_peak_mb()),
        "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
    }


def main() -> None:
    """Run every (mode, size) case in its own process and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--modes", nargs="+", default=["uniform", "snap"])
    parser.add_argument("--case", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]))))
        return
    if not (SHARED / "boundaries").is_dir():
        sys.exit(f"real data not found at {SHARED}")
    print(f"{'mode':8} {'points':>11} {'distinct':>10} {'seconds':>8} {'peak MB':>8}  in/out")
    for n in args.sizes:
        for mode in args.modes:
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--case", mode, str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{mode:8} {n:>11,} {result['distinct_points']:>10,} {result['seconds']:>8.2f}"
                f" {result['peak_mb']:>8,}  {result['in_ward']:,}/{result['outside']:,}"
                f"  (setup peak {result['peak_mb_before_join']:,} MB, threads"
                f" {result['threads']}, case {time.perf_counter() - started:.0f} s)"
            )


if __name__ == "__main__":
    main()
