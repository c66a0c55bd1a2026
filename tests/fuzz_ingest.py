"""Fuzz the ingest (not a test: `nox -s fuzz`): corrupted months in, crashes and lost rows out.

Usage: python -m tests.fuzz_ingest [--files 10000] [--seed 0]

File i is made by `tests.corruptions` with `random.Random(f"{seed}-{i}")`, so any failure is
remade from its number. Bases: the ten real West Midlands months when ../shared/data is there,
and the fictional demo months. A *crash* is an exception out of the ingest or a file refused
"after an internal error"; a *lost row* is a physical data line (by the plain counter) that was
neither loaded nor rejected, in a file that was not refused whole. Every file is also parsed
both ways (`tests.fast_exact`): a *fast-path difference* is a file where the ASCII fast path and
the exact parser disagree on anything the loader uses (rows, rejects with line, field and reason,
warnings, refusal message). With `--ascii`, every other file is made ASCII-only after its damage
(`corruptions.ascii_only`), so the fast path sees corrupted files too.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import date
from pathlib import Path

from stopsearch.ingest import SourceFile, ingest_sources
from stopsearch.warehouse import connect
from tests.corruptions import (
    ascii_only,
    corrupt,
    corrupt_json,
    plain_data_lines,
    plain_records,
)
from tests.factories import api_record
from tests.fast_exact import compare_paths
from tests.shared import REAL_STOPS

JSON_SHARE = 0.1
FRESH_WAREHOUSE_EVERY = 500


def _bases() -> list[bytes]:
    bases = [path.read_bytes() for path in sorted(REAL_STOPS.glob("*-stop-and-search.csv"))]
    from stopsearch.demo import generate_demo

    with tempfile.TemporaryDirectory() as folder:
        generate_demo(Path(folder))
        demo = sorted((Path(folder) / "records").rglob("*-stop-and-search.csv"))
        bases += [path.read_bytes() for path in demo[:6]]
    return bases


def _reason(error: str) -> str:
    """A short class for a refusal message: after the file name, numbers as N, no details."""
    text = re.sub(r"[0-9][0-9,]*", "N", error.split(": ", 1)[-1])
    return re.split(r"[(\[;]", text, maxsplit=1)[0].strip()[:80]


def run(files: int, seed: int, ascii: bool = False) -> int:
    bases = _bases()
    con = connect(":memory:")
    refused: Counter[str] = Counter()
    crashes: list[str] = []
    lost: list[str] = []
    differ: list[str] = []
    fast_files = 0
    flagged = loaded = rejected = lines = rows_lost = 0
    started = time.perf_counter()
    for i in range(files):
        if i and i % FRESH_WAREHOUSE_EVERY == 0:
            con.close()
            con = connect(":memory:")
            print(f"{i} files, {time.perf_counter() - started:.0f} s", flush=True)
        rng = random.Random(f"{seed}-{i}")
        as_json = rng.random() < JSON_SHARE
        if as_json:
            records = [api_record()] * rng.randint(0, 20)
            data, kind, ext = corrupt_json(records, rng), "api-json", "json"
        else:
            data, kind, ext = corrupt(rng.choice(bases), rng), "csv", "csv"
            if ascii and i % 2:
                data = ascii_only(data, rng)
        force = f"fuzz{i}"
        name = f"2016-09-{force}-stop-and-search.{ext}"
        try:
            comparison = compare_paths(name, kind, data)
        except Exception:
            crashes.append(f"file {i} (fast/exact comparison): {traceback.format_exc(limit=3)}")
        else:
            fast_files += bool(comparison.ascii)
            if comparison.difference is not None:
                differ.append(f"file {i}: {comparison.difference}")
        source = SourceFile.from_bytes(name, force, date(2016, 9, 1), kind, data)
        try:
            [result] = ingest_sources(con, [source]).files
        except Exception:
            crashes.append(f"file {i}: {traceback.format_exc(limit=3)}")
            continue
        if result.action == "refused":
            error = result.error or ""
            if "internal error" in error:
                crashes.append(f"file {i}: {error}")
            refused[_reason(error)] += 1
            continue
        expected = plain_records(data) if as_json else plain_data_lines(data)
        accounted = result.rows_loaded + result.rows_rejected
        if accounted != expected:
            rows_lost += abs(expected - accounted)
            lost.append(f"file {i}: {expected} lines, {accounted} loaded or rejected")
        flagged += result.lines_disagree
        loaded += result.rows_loaded
        rejected += result.rows_rejected
        lines += expected
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"files: {files} (seed {seed}), {elapsed:.0f} s, peak RSS {peak:,.0f} MB")
    print(f"loaded files: {files - sum(refused.values())}; data lines {lines:,}:")
    print(f"  rows loaded {loaded:,}, rows rejected {rejected:,}, files flagged {flagged}")
    print(f"refused files: {sum(refused.values())}")
    for reason, count in refused.most_common():
        print(f"  {count:6d}  {reason}")
    print(f"crashes: {len(crashes)}")
    print(f"rows lost against the line counter: {rows_lost} (in {len(lost)} files)")
    print(f"fast-path differences: {len(differ)} (of {fast_files} files parsed on the fast path)")
    for line in (crashes + lost + differ)[:20]:
        print("  " + line)
    return 1 if crashes or lost or differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ascii", action="store_true", help="make every other file ASCII-only")
    args = parser.parse_args()
    sys.exit(run(args.files, args.seed, args.ascii))


if __name__ == "__main__":
    main()
