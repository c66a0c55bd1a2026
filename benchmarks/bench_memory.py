"""Peak memory and seconds of each stage of a cold publish (not a test).

    python benchmarks/bench_memory.py ROWS [--memory-limit 2GB]

Makes ROWS records of inputs (inputs.py: real West Midlands months replicated, ten months), then
runs the stages `run_stage.py publish` runs (prepare: ingest, boundaries, population, join,
metrics; then the extracts and the site) on a fresh warehouse in benchmarks/work/memory-ROWS,
sampling this process's resident memory every 50 ms. Prints one JSON line: per stage its wall
and CPU seconds and peak resident MB, and the process's peak (ru_maxrss). `--memory-limit` caps
DuckDB as the publish job's `memory_limit` does (default: DuckDB's own, 80% of RAM).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inputs import REPO, WORK, make_inputs  # noqa: E402

MANIFEST = REPO / "boundaries" / "west-midlands-2013.toml"


class Sampler:
    """The peak resident memory (MB) seen while each named stage ran."""

    def __init__(self) -> None:
        self.stage = "start"
        self.peaks: dict[str, float] = {}
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            rss = _rss_mb()
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), rss)
            time.sleep(0.05)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("--memory-limit", default=None, help='e.g. "2GB"')
    args = parser.parse_args()

    from stopsearch.outputs.extracts import export
    from stopsearch.outputs.site import build_site
    from stopsearch.pipeline import prepare
    from stopsearch.warehouse import connect

    inputs = make_inputs(args.rows)
    work = WORK / f"memory-{args.rows}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sampler = Sampler()
    marks: list[tuple[str, float, float]] = []

    def stage(name: str) -> None:
        marks.append((name, time.perf_counter(), time.process_time()))
        sampler.stage = name

    con = connect(work / "bench.duckdb", memory_limit=args.memory_limit)
    prepare(con, [inputs], MANIFEST, on_stage=stage)
    stage("export")
    export(con, work / "site" / "downloads", record_level=True, demo=False)
    stage("site")
    build_site(con, work / "site", demo=False)
    stage("end")
    report = {
        name: {
            "wall": round(wall_next - wall, 2),
            "cpu": round(cpu_next - cpu, 2),
            "peak_mb": round(sampler.peaks.get(name, 0.0)),
        }
        for (name, wall, cpu), (_, wall_next, cpu_next) in zip(marks, marks[1:], strict=False)
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": args.rows, "stages": report, "peak_mb": round(peak)}))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
