"""The "find your area" index at a large force's scale (not a test).

Run `python benchmarks/bench_search.py`.

600 wards, 60 neighbourhoods and 100,000 postcodes (a CSV in the ONS Postcode Directory's
columns, read as the warehouse load reads it): seconds to read the lookup and to build the
index, the number of files, and the bytes a query reads (the shard list plus one shard).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stopsearch.geography.manifest import PostcodeLookup  # noqa: E402
from stopsearch.geography.postcodes import read_postcodes  # noqa: E402
from stopsearch.outputs.site.search import INDEX, Entry, build_index  # noqa: E402

LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
SYLLABLES = ["ash", "bro", "cal", "den", "elm", "fal", "gro", "hal", "ing", "kel", "lan", "mor"]


def main() -> None:
    names = [f"{a.title()}{b}{c}" for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES]
    wards = [
        Entry(f"{names[n]} Ward", "ward", f"E05{n:06d}", f"areas/ward/E05{n:06d}.html", "Council")
        for n in range(600)
    ]
    hoods = [
        Entry(f"{names[n * 7]} Neighbourhood", "neighbourhood", f"N{n:03d}", f"areas/n/{n}.html")
        for n in range(60)
    ]
    small = [f"E01{n:06d}" for n in range(3000)]
    rows = []
    for n in range(100_000):
        district, sector, unit = n // 2000 + 1, n // 200 % 10, n % 200
        rows.append(
            f"B{district} {sector}{LETTERS[unit // 20]}{LETTERS[unit % 20]},{small[n // 34]}"
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "onspd.csv"
        path.write_text("pcds,lsoa21\n" + "\n".join(rows) + "\n", encoding="utf-8")
        lookup = PostcodeLookup(
            "onspd", path.name, path, "lsoa", "lsoa21", "pcds", "doterm", "x", "x", "x"
        )
        reads = []
        for _ in range(3):
            started = time.perf_counter()
            read = read_postcodes(lookup, set(small))
            reads.append(time.perf_counter() - started)
    home = {code: [wards[i // 5], hoods[i // 50]] for i, code in enumerate(small)}
    postcodes = [(postcode, home[area]) for postcode, area in read.rows]
    builds = []
    for _ in range(3):
        started = time.perf_counter()
        index = build_index([*wards, *hoods], postcodes)
        builds.append(time.perf_counter() - started)
    sizes = {name: len(data) for name, data in index.files.items()}
    shards = [size for name, size in sizes.items() if name != INDEX]
    print(
        json.dumps(
            {
                "postcodes": index.postcodes,
                "read_lookup_seconds": round(statistics.median(reads), 3),
                "build_index_seconds": round(statistics.median(builds), 3),
                "files": len(sizes),
                "total_bytes": sum(sizes.values()),
                "index_json_bytes": sizes[INDEX],
                "largest_shard_bytes": max(shards),
                "median_shard_bytes": int(statistics.median(shards)),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
