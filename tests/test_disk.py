"""Files on disk: checksums match hashlib's, atomic writes never leave a half-written target."""

from __future__ import annotations

import hashlib

import pytest

from stopsearch.disk import atomic_path, fsync_dir, sha256_file, sha256_tree, write_atomic


def test_sha256_file_is_the_sha256_of_the_bytes(tmp_path):
    data = bytes(range(256)) * 5000  # larger than one read buffer
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_sha256_tree_covers_names_and_bytes_in_name_order(tmp_path):
    folder = tmp_path / "layer"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.dbf").write_bytes(b"BBB")
    (folder / "a.shp").write_bytes(b"AA")
    (folder / "sub" / "c.prj").write_bytes(b"C")
    expected = hashlib.sha256(b"a.shp\0AA" + b"b.dbf\0BBB" + b"sub/c.prj\0C").hexdigest()
    assert sha256_tree(folder) == expected
    (folder / "a.shp").rename(folder / "z.shp")  # same bytes, another name: another checksum
    assert sha256_tree(folder) != expected
    assert sha256_tree(folder / "b.dbf") == hashlib.sha256(b"BBB").hexdigest()


def test_write_atomic_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "SHA256SUMS"
    target.write_text("old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["SHA256SUMS"]


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.csv"
    target.write_text("good\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("writer crashed")
    assert target.read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.csv"]


def test_atomic_files_get_the_usual_permissions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = tmp_path / "written.txt"
    write_atomic(written, "x")
    assert written.stat().st_mode == plain.stat().st_mode  # served files must stay readable


def test_fsync_dir_accepts_a_folder(tmp_path):
    fsync_dir(tmp_path)  # must not raise on a normal local folder
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "missing")
