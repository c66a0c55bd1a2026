"""The warehouse half of a nightly run (ingest, join, metrics), one new month a night (not a test).

    .venv/bin/python benchmarks/bench_metrics_nightly.py --inputs DIR --months 120 --nights 2 \
        [--history WAREHOUSE] [--protected]

DIR holds one folder of monthly files per month (benchmarks/inputs.make_inputs makes them; the
first `--months` are the history, each of the next `--nights` is one night). The history is
prepared once into `--history` (reused when it exists: copy it to try other code on the same
warehouse), then each night adds one month and runs `pipeline.prepare`. A first run of the
copied history ("night 0", no new month) lets the code under test fill whatever it caches.
Per night it prints CPU seconds (the process, all threads: steadier than wall seconds on a
loaded machine) of prepare, of build_metrics and of publishable inside it; one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_nightly import offline_manifest  # noqa: E402


def _cpu_wrapped(module, name: str, sink: dict[str, float]) -> None:
    """Replace module.name by a wrapper adding its CPU seconds to sink[name]."""
    inner = getattr(module, name)

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - any signature
        started = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            sink[name] = sink.get(name, 0.0) + time.process_time() - started

    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=Path, required=True)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--history", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-metrics-nightly"))
    parser.add_argument("--protected", action="store_true", help="record_level = false")
    args = parser.parse_args()

    import stopsearch.metrics.build as build
    import stopsearch.pipeline as pipeline
    from stopsearch.thresholds import ReleaseRules
    from stopsearch.warehouse import connect

    cpu: dict[str, float] = {}
    _cpu_wrapped(pipeline, "build_metrics", cpu)
    _cpu_wrapped(build, "publishable", cpu)
    rules = ReleaseRules(record_level=not args.protected)
    folders = sorted(p for p in args.inputs.iterdir() if p.is_dir())
    shutil.rmtree(args.work, ignore_errors=True)
    staged = args.work / "inputs"
    staged.mkdir(parents=True)
    manifest = offline_manifest(args.work)
    for folder in folders[: args.months]:
        (staged / folder.name).symlink_to(folder)
    if not args.history.exists():
        with connect(args.history) as con:
            started = time.process_time()
            pipeline.prepare(con, [staged], manifest, rules)
            print(f"history: {time.process_time() - started:.2f} s CPU", file=sys.stderr)
    warehouse = args.work / "w.duckdb"
    shutil.copy(args.history, warehouse)
    runs = []
    with connect(warehouse) as con:
        for night, folder in enumerate([None, *folders[args.months : args.months + args.nights]]):
            if folder is not None:
                (staged / folder.name).symlink_to(folder)
            cpu.clear()
            started, wall = time.process_time(), time.perf_counter()
            report = pipeline.prepare(con, [staged], manifest, rules)
            run = {
                "night": night,
                "prepare_cpu": round(time.process_time() - started, 3),
                "prepare_wall": round(time.perf_counter() - wall, 3),
                "metrics_cpu": round(cpu.get("build_metrics", 0.0), 3),
                "publishable_cpu": round(cpu.get("publishable", 0.0), 3),
                "durations": report.durations,
            }
            for name in ("cpu_seconds", "force_months_counted", "periods_computed"):
                if report.metrics is not None and hasattr(report.metrics, name):
                    run[name] = getattr(report.metrics, name)
            runs.append(run)
            print(f"night {night}: {run}", file=sys.stderr)
    print(json.dumps({"months": args.months, "protected": args.protected, "runs": runs}))
    print(f"kept {warehouse}", file=sys.stderr)


if __name__ == "__main__":
    main()
