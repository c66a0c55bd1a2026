"""The export and hashing stages of one nightly run, on a warehouse (not a test).

    .venv/bin/python benchmarks/bench_month_export.py WAREHOUSE WORKDIR

With month files (this code): a full export into WORKDIR/a plays the previous release; then the
nightly export into WORKDIR/b with the newest month treated as new (written and hashed) and every
other month linked from a, as the publish job does (with metrics per period: the latest-12
period, the newest month's year and month written, every other period linked); then SHA256SUMS
of b from the known digests, the files equal to a's linked, and the verification of b (by the
digest book when the code has one: files hashed once are not re-read). Code without month files
(before issue 18) exports everything into WORKDIR/b, then SHA256SUMS and verify hash every
file. Only the downloads folder is checksummed here (the job adds the site's pages). Prints one
JSON line: wall and CPU seconds of each step. Compare codes with PYTHONPATH=<checkout of the
other code>.
"""

from __future__ import annotations

import inspect
import json
import shutil
import sys
import time
from pathlib import Path


def _timed(result: dict, name: str, step, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    wall, cpu = time.perf_counter(), time.process_time()
    value = step(*args, **kwargs)
    result[f"{name}_wall"] = round(time.perf_counter() - wall, 3)
    result[f"{name}_cpu"] = round(time.process_time() - cpu, 3)
    return value


def main(warehouse: Path, work: Path) -> None:
    from stopsearch import release
    from stopsearch.outputs.extracts import export
    from stopsearch.warehouse import connect

    book = None
    if "hasher" in inspect.signature(export).parameters:  # code with the digest book
        from stopsearch.digests import DigestBook

        book = DigestBook()
    hashing = {"hasher": book.hash} if book is not None else {}

    shutil.rmtree(work, ignore_errors=True)
    a, b = work / "a", work / "b"
    result: dict = {"code": str(Path(release.__file__).parent)}
    months = "reuse" in inspect.signature(export).parameters
    with connect(warehouse, read_only=True) as con:
        options: dict = {}
        if months:
            from stopsearch.outputs.extracts.records import Reuse

            full = _timed(result, "full_export", export, con, a / "downloads",
                          record_level=True, demo=False, **hashing)
            known = {f"downloads/{f.name}": f.sha256 for f in full.files}
            release.write_checksums(a, known, *([book] if book else []))
            newest = max(p.month for p in full.months)
            parts = {p.month: p for p in full.months if p.month != newest}
            digests = {name: f.sha256 for f in full.files for name in [f.name]}
            options["reuse"] = Reuse(a / "downloads", parts, digests)
            if getattr(full, "periods", None):  # a new month changes these three periods
                changed = {"latest-12", newest[:4], newest}
                kept = {p.month: p for p in full.periods if p.month not in changed}
                options["metric_reuse"] = Reuse(a / "downloads", kept, digests)
        report = _timed(result, "export", export, con, b / "downloads", record_level=True,
                        demo=False, **options, **hashing)
    names = [f"downloads/{f.name}" for f in report.files]
    if months:
        known = {f"downloads/{f.name}": f.sha256 for f in report.files}
        if book is not None:
            sums = _timed(result, "sums", release.write_checksums, b, known, book)
            _timed(result, "link", release.link_unchanged, b, sums, a, book)
            _timed(result, "verify", release.verify_release, b, names, book)
        else:
            _timed(result, "sums", release.write_checksums, b, known)
            _timed(result, "verify", release.verify_release, b, names, shared_with=a)
        result["linked_months"] = sum(p.linked for p in report.months)
        result["linked_periods"] = sum(p.linked for p in getattr(report, "periods", []))
    else:
        _timed(result, "sums", release.write_checksums, b)
        _timed(result, "verify", release.verify_release, b, names)
    result["files"] = len(report.files)
    result["megabytes"] = round(sum(f.bytes for f in report.files) / 1e6, 1)
    shutil.rmtree(work)
    print(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
