"""Releases share unchanged month files (issue 18): hard links, digests hashed once, and
prune, rollback and verification staying correct when releases share files."""

from __future__ import annotations

import html
import importlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from stopsearch import disk
from stopsearch import release as release_mod
from stopsearch.cli import main
from stopsearch.outputs.extracts import records as records_mod
from stopsearch.release import (
    current_release,
    list_releases,
    prune,
    read_checksums,
    release_problem,
    verify_release,
)
from tests.tiny_county import config, county, publish, records

export_mod = importlib.import_module("stopsearch.outputs.extracts.export")  # not the function
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


@pytest.fixture
def county_site(tmp_path) -> tuple[Path, Path]:
    """A tiny county whose first two months are published (release 1); returns (config, police
    folder). The tests add months and publish again."""
    manifest = county(tmp_path / "county")
    police = tmp_path / "police"
    records(police, "2023-01", rows=6)
    records(police, "2023-02", rows=8)
    settings = config(tmp_path, police, manifest, extra="[extracts]\nrecord_level = true\n")
    _publish(settings)
    return settings, police


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


def test_each_month_file_is_hashed_once_per_night(county_site, monkeypatch):
    """A nightly run adding one month: every month file shared with the live release is hashed
    once (the start-of-run verification of the live release), never by the export, SHA256SUMS
    or the new release's verification; the new month's files by the export and the new
    release's verification (their bytes were never verified)."""
    settings, police = county_site
    site = settings.parent / "site"
    first = current_release(site)
    hashed: Counter[str] = Counter()
    real = disk.sha256_file

    def counting(path: Path) -> str:
        name = Path(path).resolve().relative_to(site.resolve()).as_posix()
        hashed[name.replace("/.building-", "/")] += 1  # staged, then renamed into releases/
        return real(path)

    for module in (records_mod, export_mod, release_mod):
        monkeypatch.setattr(module, "sha256_file", counting)
    records(police, "2023-03", rows=4)
    _publish(settings)
    second = current_release(site)
    for month in ("2023-01", "2023-02"):
        for name in MONTH_FILES:
            path = f"downloads/{name.format(month)}"
            assert hashed[f"releases/{first.name}/{path}"] == 1  # the live check
            assert hashed[f"releases/{second.name}/{path}"] == 0
    for name in MONTH_FILES:
        path = f"downloads/{name.format('2023-03')}"
        assert hashed[f"releases/{second.name}/{path}"] == 2  # written, then verified
    # Everything else of the new release: hashed when written, and once more by verification.
    for name in read_checksums(second):
        if "/month=" not in name:
            assert hashed[f"releases/{second.name}/{name}"] == 2, name


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


def test_verify_rereads_a_shared_file_unless_it_is_the_same_file(tmp_path):
    """verify_release skips re-reading only a hard link to the trusted release's file with the
    same digest; a copy with the same name and digest is read (and caught when it differs)."""
    trusted, staged = tmp_path / "a", tmp_path / "b"
    for root in (trusted, staged):
        (root / "downloads").mkdir(parents=True)
    (trusted / "downloads" / "m.csv").write_text("month\n")
    (trusted / "SHA256SUMS").write_text(
        f"{disk.sha256_file(trusted / 'downloads' / 'm.csv')}  downloads/m.csv\n"
    )
    os.link(trusted / "downloads" / "m.csv", staged / "downloads" / "m.csv")
    shutil.copy(trusted / "SHA256SUMS", staged / "SHA256SUMS")
    verify_release(staged, ["downloads/m.csv"], shared_with=trusted)
    (staged / "downloads" / "m.csv").unlink()
    (staged / "downloads" / "m.csv").write_text("MONTH\n")  # a different file, same size
    with pytest.raises(Exception, match="checksum mismatch for downloads/m.csv"):
        verify_release(staged, ["downloads/m.csv"], shared_with=trusted)
