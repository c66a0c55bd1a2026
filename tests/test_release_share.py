"""Releases share unchanged month files (issue 18): hard links, digests hashed once, and
prune, rollback and verification staying correct when releases share files."""

from __future__ import annotations

import dataclasses
import html
import json
import os
import shutil
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from stopsearch import disk
from stopsearch import release as release_mod
from stopsearch.cli import main
from stopsearch.digests import BOOK, DigestBook
from stopsearch.metrics.contract import PUBLISHED_COLUMNS
from stopsearch.outputs.extracts import records as records_mod
from stopsearch.outputs.site.area_files import area_csv_parts
from stopsearch.outputs.site.data import Period
from stopsearch.release import (
    current_release,
    list_files,
    list_releases,
    prune,
    read_checksums,
    release_problem,
    verify_release,
)
from stopsearch.warehouse import connect
from tests.shared import build_once
from tests.tiny_county import config, county, publish, records

MONTH_FILES = ("searches/month={}/part-0.parquet", "searches-csv/month={}/part-0.csv")


def _month_paths(release: Path, month: str) -> list[Path]:
    return [release / "downloads" / f.format(month) for f in MONTH_FILES]


def _inode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


def _publish(settings: Path, *options: str) -> dict:
    run = publish(settings, *options)
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


_EXTRA = "[extracts]\nrecord_level = true\n"


def fresh_book(site: Path, oldest: str | None = None) -> DigestBook:
    """A digest book of the live release's files, as its publish left it (a copied folder's
    files are new inodes, so the book written there does not describe them); `oldest`, a file
    name of the release, is recorded as hashed longest ago (the first a scrub re-reads)."""
    live = current_release(site)
    assert live is not None
    book = DigestBook()
    for path in list_files(live):
        book.hash(path)
    if oldest is not None:
        key = next(k for k, e in book.entries.items() if book.entry(live / oldest) == e)
        book.entries[key] = dataclasses.replace(book.entries[key], hashed_at=0.0)
    book.save(site / BOOK)
    return book


@pytest.fixture
def county_site(tmp_path, tmp_path_factory) -> tuple[Path, Path]:
    """A tiny county whose first two months are published (release 1); returns (config, police
    folder). Published once per run and copied for each test; the tests add months and publish
    again."""

    def build(folder: Path) -> None:
        manifest = county(folder / "county")
        police = folder / "police"
        records(police, "2023-01", rows=6)
        records(police, "2023-02", rows=8)
        _publish(config(folder, police, manifest, extra=_EXTRA))

    prepared = build_once(tmp_path_factory, "release-share-county", build)[0]
    shutil.copytree(prepared, tmp_path, symlinks=True, dirs_exist_ok=True)
    settings = config(tmp_path, tmp_path / "police", tmp_path / "county" / "manifest.toml", _EXTRA)
    fresh_book(tmp_path / "site")
    return settings, tmp_path / "police"


def test_a_new_month_links_the_unchanged_ones(county_site):
    settings, police = county_site
    site = settings.parent / "site"
    first = current_release(site)
    records(police, "2023-03", rows=4)
    _publish(settings)
    second = current_release(site)
    assert second != first
    for month in ("2023-01", "2023-02"):  # unchanged: the same files, linked, not written
        for old, new in zip(_month_paths(first, month), _month_paths(second, month), strict=True):
            assert _inode(old) == _inode(new)
            assert new.stat().st_nlink == 2
    for path in _month_paths(second, "2023-03"):  # new: written in this release only
        assert path.stat().st_nlink == 1
    assert pq.ParquetFile(_month_paths(second, "2023-03")[0]).metadata.num_rows == 4
    # The digests recorded (manifest, data package, SHA256SUMS) are the files' own.
    manifest = json.loads((second / "manifest.json").read_text())
    recorded = {m["month"]: m for m in manifest["record_months"]}
    assert sorted(recorded) == ["2023-01", "2023-02", "2023-03"]
    assert [recorded[m]["rows"] for m in sorted(recorded)] == [6, 8, 4]
    sums = read_checksums(second)
    package = json.loads((second / "downloads" / "datapackage.json").read_text())
    hashes = {r["path"]: r["hash"] for r in package["resources"]}
    for entry in recorded.values():
        for kind in ("parquet", "csv"):
            name = entry[kind]["name"]
            digest = disk.sha256_file(second / "downloads" / name)
            assert entry[kind]["sha256"] == digest
            assert sums[f"downloads/{name}"] == digest
            assert hashes[name] == f"sha256:{digest}"
            assert (second / "downloads" / name).stat().st_size == entry[kind]["bytes"]
    assert release_problem(second) is None and release_problem(first) is None
    # Metrics: the periods whose rows did not change (the two earlier months, and their trend
    # points: under 13 months each month is its own window, issue 17) are linked; the
    # latest-12 period, the year, the quarter and the new month (and its point) are written.
    periods = {m["month"]: m for m in manifest["metric_periods"]}
    assert sorted(periods) == [
        "1m-2023-01",
        "1m-2023-02",
        "1m-2023-03",
        "2023",
        "2023-01",
        "2023-02",
        "2023-03",
        "2023-Q1",
        "latest-12",
    ]
    for period in periods:
        old = first / "downloads" / "metrics" / f"{period}.parquet"
        new = second / "downloads" / "metrics" / f"{period}.parquet"
        linked = period in ("2023-01", "2023-02", "1m-2023-01", "1m-2023-02")
        assert old.exists() is (period not in ("2023-03", "1m-2023-03")), period
        assert (old.exists() and _inode(old) == _inode(new)) is linked, period
        assert (new.stat().st_nlink == 2) is linked, period
        assert sums[f"downloads/metrics/{period}.parquet"] == periods[period]["parquet"]["sha256"]
    # Every other file with the bytes of the same file of the live release is linked too.
    before = read_checksums(first)
    same = [name for name, digest in sums.items() if before.get(name) == digest]
    assert any(n.startswith("assets/") for n in same)
    for name in same:
        assert _inode(first / name) == _inode(second / name), name
    for name in set(sums) - set(same):
        assert (second / name).stat().st_nlink == 1, name
    # The downloads page and the README list every month file with its size and SHA-256, and
    # both (and the data package) give the one-line DuckDB query reading them all.
    page = html.unescape((second / "downloads.html").read_text(encoding="utf-8"))
    readme = (second / "downloads" / "README.txt").read_text(encoding="utf-8")
    for text in (page, readme, package["description"]):
        assert records_mod.DUCKDB_QUERY in text
    for entry in recorded.values():
        for kind in ("parquet", "csv"):
            file = entry[kind]
            assert f'href="downloads/{file["name"]}"' in page
            assert file["sha256"] in page
            line = f"{file['name']}  {entry['rows']:,} rows  {file['bytes']:,} bytes  sha256"
            assert f"{line} {file['sha256']}\n" in readme


def test_each_file_is_hashed_once(county_site, monkeypatch):
    """A nightly run adding one month reads each file it writes once (to hash it, from disk)
    and no other: the live release's files are trusted by their stamps (the digest book), its
    months, unchanged metrics periods and unchanged pages are linked, not written, and the new
    release is verified by stamps. The live check's scrub re-reads the file hashed longest ago
    (here made README.txt), and only that one."""
    settings, police = county_site
    site = settings.parent / "site"
    first = current_release(site)
    fresh_book(site, oldest="downloads/README.txt")
    monkeypatch.setattr(release_mod, "SCRUB_RUNS", 10**9)  # the smallest scrub: one file
    hashed: Counter[str] = Counter()
    real_hash, real_sha = DigestBook.hash, release_mod.sha256_file

    def name(path: Path) -> str:
        relative = Path(path).resolve().relative_to(site.resolve()).as_posix()
        return relative.replace("/.building-", "/")  # staged, then renamed into releases/

    def counting(book: DigestBook, path: Path) -> str:
        hashed[name(path)] += 1
        return real_hash(book, path)

    def full_read(path: Path) -> str:  # release.verify_release without a book
        hashed[f"full read {name(path)}"] += 1
        return real_sha(path)

    monkeypatch.setattr(DigestBook, "hash", counting)
    monkeypatch.setattr(release_mod, "sha256_file", full_read)
    records(police, "2023-03", rows=4)
    _publish(settings)
    second = current_release(site)
    assert second is not None and first is not None and second != first
    assert {n for n, count in hashed.items() if n.startswith(f"releases/{first.name}/")} == {
        f"releases/{first.name}/downloads/README.txt"
    }
    reused = {f"downloads/{f.format(m)}" for m in ("2023-01", "2023-02") for f in MONTH_FILES}
    reused |= {  # the metrics of the two earlier months and their trend points (issue 17: one
        # window per month under 13 months): unchanged periods, linked
        f"downloads/{name}"
        for m in ("2023-01", "2023-02", "1m-2023-01", "1m-2023-02")
        for name in (f"metrics/{m}.parquet", f"metrics-csv/{m}.csv")
    }
    # Pages and site files holding the first release's bytes are linked too, not written (the
    # sharer compares them in memory), so never read from disk: every file this release shares
    # with the first is read 0 times, every other file once.
    listed = read_checksums(second)
    shared = {n for n in listed if (first / n).exists() and _inode(first / n) == _inode(second / n)}
    assert reused <= shared
    assert {"assets/site.css", "map-data/wards.geojson", "search/index.json"} <= shared
    for name in listed:
        expected = 0 if name in shared else 1
        assert hashed[f"releases/{second.name}/{name}"] == expected, name
    assert sum(hashed.values()) == 1 + len(listed) - len(shared)


def test_pruning_the_oldest_release_keeps_shared_files_alive(county_site):
    settings, police = county_site
    site = settings.parent / "site"
    first = current_release(site)
    records(police, "2023-03", rows=4)
    _publish(settings)
    records(police, "2023-04", rows=5)
    _publish(settings)
    releases = list_releases(site)
    assert len(releases) == 3 and releases[0] == first
    shared = _month_paths(releases[2], "2023-01")
    assert all(p.stat().st_nlink == 3 for p in shared)
    before = [p.read_bytes() for p in shared]
    assert prune(site, keep=2) == [first]
    assert not first.exists()
    assert all(p.stat().st_nlink == 2 for p in shared)  # the data lives on in the others
    assert [p.read_bytes() for p in shared] == before
    for release in list_releases(site):
        assert release_problem(release) is None
    # Roll back to the older of the two: it verifies, with its files shared with the newer one.
    code = CliRunner().invoke(main, ["rollback", "--out", str(site), "--json"]).exit_code
    assert code == 0
    assert current_release(site) == releases[1].resolve()
    assert release_problem(releases[1]) is None
    assert prune(site, keep=1) == []  # the newest is not current: prune keeps current too
    # Roll forward again by publishing: the new release links from the live (older) one.
    records(police, "2023-05", rows=3)
    _publish(settings)
    newest = current_release(site)
    assert _inode(_month_paths(newest, "2023-02")[0]) == _inode(
        _month_paths(releases[1], "2023-02")[0]
    )
    assert release_problem(newest) is None


def test_damage_to_a_shared_file_fails_every_release_sharing_it(county_site):
    settings, police = county_site
    site = settings.parent / "site"
    first = current_release(site)
    records(police, "2023-03", rows=4)
    _publish(settings)
    second = current_release(site)
    damaged = _month_paths(second, "2023-01")[1]
    with damaged.open("r+b") as handle:  # damaged in place: one file, two releases
        handle.write(b"X")
    name = "downloads/" + MONTH_FILES[1].format("2023-01")
    for release in (first, second):
        assert release_problem(release) == f"{release}: checksum mismatch for {name}"
    # Rollback finds no release that verifies; the next run heals by writing every file anew.
    code = CliRunner().invoke(main, ["rollback", "--out", str(site)]).exit_code
    assert code == 1
    summary = _publish(settings)
    assert "checksum mismatch" in summary["self_heal"]["problem"]
    healed = current_release(site)
    assert release_problem(healed) is None
    old = {_inode(p) for r in (first, second) for p in (r / "downloads").rglob("*") if p.is_file()}
    new = [p for p in (healed / "downloads").rglob("*") if p.is_file()]
    assert new and not any(_inode(p) in old for p in new)  # nothing linked from damage


def test_never_links_from_a_release_that_fails_verification(county_site):
    """The live release fails verification on a file of its own (a month the older release
    does not have): the next run links the months of the older, verified release and writes
    the damaged month anew."""
    settings, police = county_site
    site = settings.parent / "site"
    first = current_release(site)
    records(police, "2023-03", rows=4)
    _publish(settings)
    second = current_release(site)
    damaged = _month_paths(second, "2023-03")[0]
    with damaged.open("r+b") as handle:
        handle.seek(10)
        handle.write(b"\0\0\0")
    assert release_problem(first) is None and release_problem(second) is not None
    summary = _publish(settings)
    assert summary["self_heal"] is not None
    third = current_release(site)
    assert release_problem(third) is None
    for month in ("2023-01", "2023-02"):  # linked from the release that verifies
        for old, new in zip(_month_paths(first, month), _month_paths(third, month), strict=True):
            assert _inode(old) == _inode(new)
    for old, new in zip(
        _month_paths(second, "2023-03"), _month_paths(third, "2023-03"), strict=True
    ):
        assert _inode(old) != _inode(new)
    assert pq.ParquetFile(_month_paths(third, "2023-03")[0]).metadata.num_rows == 4


def test_a_resupplied_month_is_written_again(county_site):
    settings, police = county_site
    site = settings.parent / "site"
    first = current_release(site)
    records(police, "2023-02", rows=9)  # re-supplied with one more row
    _publish(settings)
    second = current_release(site)
    jan_old, jan_new = _month_paths(first, "2023-01")[0], _month_paths(second, "2023-01")[0]
    feb_old, feb_new = _month_paths(first, "2023-02")[0], _month_paths(second, "2023-02")[0]
    assert _inode(jan_old) == _inode(jan_new)
    assert _inode(feb_old) != _inode(feb_new)
    assert pq.ParquetFile(feb_new).metadata.num_rows == 9
    assert pq.ParquetFile(feb_old).metadata.num_rows == 8


def _one_file_release(root: Path, text: str = "month\n") -> Path:
    (root / "downloads").mkdir(parents=True)
    path = root / "downloads" / "m.csv"
    path.write_text(text)
    (root / "SHA256SUMS").write_text(f"{disk.sha256_file(path)}  downloads/m.csv\n")
    return path


def test_the_sharer_links_only_the_baselines_very_bytes(tmp_path):
    """release.Sharer (the site's files): the same bytes are a hard link to the baseline's
    trusted file; other bytes of the same size, a file the book does not trust, or a second put
    of a linked name are written, never through the link into the baseline."""
    baseline = tmp_path / "old"
    old = _one_file_release(baseline)
    staged = tmp_path / "new"
    untrusted = release_mod.Sharer(staged, baseline, DigestBook())
    untrusted.put(staged / "downloads" / "m.csv", b"month\n")
    assert _inode(staged / "downloads" / "m.csv") != _inode(old) and not untrusted.linked
    shutil.rmtree(staged)
    book = DigestBook()
    book.hash(old)
    sharer = release_mod.Sharer(staged, baseline, book)
    target = staged / "downloads" / "m.csv"
    sharer.put(target, b"month\n")
    assert _inode(target) == _inode(old)
    assert sharer.linked == {"downloads/m.csv": disk.sha256_file(old)}
    sharer.put(target, b"MONTH\n")  # same size, other bytes
    assert target.read_bytes() == b"MONTH\n" and old.read_bytes() == b"month\n"
    assert _inode(target) != _inode(old) and not sharer.linked
    sharer.put(staged / "index.html", b"page")  # not in the baseline
    assert (staged / "index.html").read_bytes() == b"page" and not sharer.linked


def test_verify_rereads_a_file_unless_its_stamp_is_unchanged(tmp_path, monkeypatch):
    """verify_release with a digest book skips re-reading only a file hashed to the listed
    digest whose device, inode, size and mtime are unchanged (a hard link shares them); a
    different file of the same name and size, or the same file written again, is read (and
    caught when it differs)."""
    trusted, staged = tmp_path / "a", tmp_path / "b"
    original = _one_file_release(trusted)
    book = DigestBook()
    book.hash(original)
    (staged / "downloads").mkdir(parents=True)
    os.link(original, staged / "downloads" / "m.csv")
    shutil.copy(trusted / "SHA256SUMS", staged / "SHA256SUMS")
    reads: list[Path] = []
    real = DigestBook.hash
    monkeypatch.setattr(DigestBook, "hash", lambda b, p: reads.append(p) or real(b, p))
    verify_release(staged, ["downloads/m.csv"], book)
    assert reads == []  # the link: trusted by its stamp
    (staged / "downloads" / "m.csv").unlink()
    (staged / "downloads" / "m.csv").write_text("MONTH\n")  # a different file, same size
    with pytest.raises(Exception, match="checksum mismatch for downloads/m.csv"):
        verify_release(staged, ["downloads/m.csv"], book)
    assert reads == [staged / "downloads" / "m.csv"]
    stat = original.stat()
    original.write_text("MONTH\n")  # written in place: same inode and size, mtime moves
    os.utime(original, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert release_problem(trusted, [], book) == f"{trusted}: checksum mismatch for downloads/m.csv"


def test_the_scrub_finds_damage_the_stamp_cannot_see(tmp_path):
    """Damage with the mtime put back (or below the file system) keeps the stamp; the live
    check's scrub re-reads the files hashed longest ago, at least `scrub` of the bytes per check,
    so it is found within 1/scrub checks."""
    root = tmp_path / "r"
    (root / "downloads").mkdir(parents=True)
    book = DigestBook()
    lines = []
    for i in range(4):  # four files of equal size, hashed in order
        path = root / "downloads" / f"m{i}.csv"
        path.write_text(f"month {i}\n")
        lines.append(f"{book.hash(path)}  downloads/m{i}.csv\n")
        book.entries[next(reversed(book.entries))] = dataclasses.replace(
            book.entries[next(reversed(book.entries))], hashed_at=float(i)
        )
    (root / "SHA256SUMS").write_text("".join(lines))
    damaged = root / "downloads" / "m3.csv"  # hashed last: the last a scrub reaches
    stat = damaged.stat()
    damaged.write_text("MONTH 3\n")
    os.utime(damaged, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert release_problem(root, [], book, scrub=0.0) is None  # the stamp alone cannot see it
    problems = [release_problem(root, [], book, scrub=0.25) for _ in range(4)]
    assert problems == [None, None, None, f"{root}: checksum mismatch for downloads/m3.csv"]
    assert release_problem(root) == problems[-1]  # a full read (rollback, self-healing)


def test_area_csvs_split_closed_years_from_what_a_new_month_changes():
    """Per-area CSVs: each calendar year before the latest month's year in its own file with its
    quarters and the trend windows ending in it (the same bytes night after night, so shared);
    the latest 12 months, the months and the latest year with its quarters and windows in
    <code>.csv."""
    latest = Period("latest-12", "rolling", date(2023, 6, 1), date(2024, 5, 1), 12)
    end_at = PUBLISHED_COLUMNS.index("period_end")

    def row(kind: str, start: date, end: date | None = None) -> tuple:
        values = ["x"] * len(PUBLISHED_COLUMNS)
        values[PUBLISHED_COLUMNS.index("period_kind")] = kind
        values[PUBLISHED_COLUMNS.index("period_start")] = start
        values[end_at] = end or start
        return tuple(values)

    rows = [
        row("rolling", date(2023, 6, 1), date(2024, 5, 1)),
        row("year", date(2022, 1, 1), date(2022, 12, 1)),
        row("year", date(2023, 1, 1), date(2023, 12, 1)),
        row("year", date(2024, 1, 1), date(2024, 12, 1)),
        row("month", date(2023, 7, 1)),
        row("month", date(2024, 5, 1)),
        row("quarter", date(2023, 10, 1), date(2023, 12, 1)),
        row("quarter", date(2024, 1, 1), date(2024, 3, 1)),
        row("window", date(2022, 2, 1), date(2023, 1, 1)),  # by its last month: 2023
        row("window", date(2023, 2, 1), date(2024, 1, 1)),
    ]
    parts = area_csv_parts(rows, latest.end.year)
    assert parts == {
        None: [rows[0], rows[3], rows[4], rows[5], rows[7], rows[9]],
        2022: [rows[1]],
        2023: [rows[2], rows[6], rows[8]],
    }
    assert area_csv_parts(rows, None) == {None: rows}


def test_closed_year_area_csvs_are_linked_not_made(county_site, monkeypatch):
    """A per-area CSV the live release made from the same rows (its fingerprint, recorded in
    manifest.json) is linked from it and never made again: a closed year's files cost nothing
    night after night. A re-supplied month of that year makes them again, with its new rows;
    a recorded file that is gone from the live release is made again too."""
    from stopsearch.outputs.site import area_files

    made: list[str] = []
    contents = area_files.contents

    def spy(con, files, latest_year):
        made.extend(f.rel for f in files)
        return contents(con, files, latest_year)

    monkeypatch.setattr(area_files, "contents", spy)
    settings, police = county_site
    site = settings.parent / "site"
    records(police, "2024-01", rows=5)  # 2023 is now an earlier year: files of its own
    _publish(settings)
    first = current_release(site)
    closed = sorted(n for n in read_checksums(first) if n.endswith("-2023.csv"))
    assert closed and all(n.startswith("downloads/areas/") for n in closed)
    assert set(closed) <= set(made)
    recorded = json.loads((first / "manifest.json").read_text())["site_area_files"]
    area_csvs = sorted(n for n in read_checksums(first) if n.startswith("downloads/areas/"))
    assert sorted(recorded) == area_csvs
    for name, (_, size) in recorded.items():
        assert (first / name).stat().st_size == size

    made.clear()
    records(police, "2024-02", rows=3)
    _publish(settings)
    second = current_release(site)
    assert not set(closed) & set(made)  # linked, not made
    assert {n for n in made if n.startswith("downloads/areas/")} == {
        n for n in area_csvs if not n.endswith("-2023.csv")
    }  # every area's <code>.csv holds the new month
    for name in closed:
        assert _inode(first / name) == _inode(second / name), name
    assert release_problem(second) is None

    made.clear()
    (second / closed[0]).unlink()  # gone from the live release: made again
    records(police, "2023-02", rows=9)  # re-supplied: some areas' 2023 rows change
    _publish(settings)
    third = current_release(site)
    changed = {n for n in closed if (third / n).read_bytes() != (first / n).read_bytes()}
    assert changed  # the new rows are in them
    assert {n for n in closed if n in made} == changed | {closed[0]}
    for name in set(closed) - set(made):
        assert _inode(first / name) == _inode(third / name), name
    # Every per-area CSV, linked or made, holds what a build from nothing makes now.
    with connect(settings.parent / "warehouse.duckdb", read_only=True) as con:
        files = area_files.fingerprints(con, ["force", "local_authority", "ward"], 2024)
        fresh = dict(contents(con, files, 2024))
    assert sorted(f.rel for f in fresh) == sorted(
        n for n in read_checksums(third) if n.startswith("downloads/areas/")
    )
    for file, content in fresh.items():
        assert (third / file.rel).read_bytes() == content, file.rel
    assert release_problem(third) is None
