"""Zip-bomb check (not a test): a ~1 MB archive member expanding to one 1 GiB line.

Usage: python benchmarks/bench_zip_bomb.py [GIB]   (default 1)

The member holds the CSV header, then one line of GIB GiB (the header-less variant is refused after
its first 64 KiB, so it proves less). Prints what the ingest did, the time and the peak RSS of this
process; run it under `/usr/bin/time -v` for an outside view of the same peak.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from stopsearch.ingest import ingest_paths
from stopsearch.police_files import CSV_HEADER
from stopsearch.warehouse import connect

MEMBER = "2023-01/2023-01-bombshire-stop-and-search.csv"


def make_bomb(path: Path, gib: int) -> None:
    block = b"A" * (1 << 20)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(MEMBER, "w", force_zip64=True) as out,
    ):
        out.write(",".join(CSV_HEADER).encode() + b"\r\n")
        for _ in range(gib << 10):
            out.write(block)


def main(gib: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "archive.zip"
        make_bomb(archive, gib)
        info = zipfile.ZipFile(archive).getinfo(MEMBER)
        print(f"member: {info.compress_size:,} bytes compressed, {info.file_size:,} expanded")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        con = connect(Path(folder) / "bomb.duckdb")
        started = time.perf_counter()
        report = ingest_paths(con, [archive])
        elapsed = time.perf_counter() - started
        rejected = con.execute("SELECT line, left(reason, 60) FROM rejected").fetchall()
        con.close()
    [result] = report.files
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"result: {result.action}, {result.rows_loaded} loaded, {result.rows_rejected} rejected")
    print(f"rejected: {rejected}")
    print(f"ingest: {elapsed:.1f} s; peak RSS {peak:,.0f} MB (before the ingest: {before:,.0f} MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
