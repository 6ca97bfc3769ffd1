"""The local folder backend: files under one root, addressed as a path or a file:// URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from providers.storage import LocalStorage, storage_for
from shared.errors import ConfigError


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "lake")


def test_root_is_created_and_resolved(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "a" / ".." / "lake")
    assert storage.root == tmp_path / "lake"
    assert storage.root.is_dir()
    assert storage.root_url == (tmp_path / "lake").as_uri()
    assert storage.root_url.startswith("file:///")


def test_file_url_root(tmp_path: Path) -> None:
    storage = LocalStorage((tmp_path / "my lake").as_uri())
    assert storage.root == tmp_path / "my lake"
    assert storage.root.is_dir()
    assert storage.root_url.endswith("/my%20lake")


def test_write_creates_parents_and_read_returns_the_bytes(store: LocalStorage) -> None:
    store.write_bytes("landing/pos/orders/x.csv", b"a,b\n1,2\n")
    assert (store.root / "landing/pos/orders/x.csv").read_bytes() == b"a,b\n1,2\n"
    assert store.read_bytes("landing/pos/orders/x.csv") == b"a,b\n1,2\n"


def test_write_overwrites_and_leaves_no_temporary_file(store: LocalStorage) -> None:
    store.write_bytes("f/x.txt", b"first version")
    store.write_bytes("f/x.txt", b"2nd")
    assert store.read_bytes("f/x.txt") == b"2nd"
    assert os.listdir(store.root / "f") == ["x.txt"]


def test_write_is_atomic(store: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_bytes("f/x.txt", b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk went away"):
        store.write_bytes("f/x.txt", b"new content")
    # the reader never sees a half-written or empty file
    assert store.read_bytes("f/x.txt") == b"old"


def test_failed_write_leaves_no_temporary_file(
    store: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_bytes("f/x.txt", b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk went away"):
        store.write_bytes("f/x.txt", b"new content")
    assert os.listdir(store.root / "f") == ["x.txt"]


def test_list_is_sorted_recursive_and_relative(store: LocalStorage) -> None:
    for path in ["landing/b/y.csv", "landing/a/x.csv", "landing/a/deep/z.csv", "bronze/t.txt"]:
        store.write_bytes(path, b"x")
    assert store.list("landing") == ["landing/a/deep/z.csv", "landing/a/x.csv", "landing/b/y.csv"]
    assert store.list("landing/a/x.csv") == ["landing/a/x.csv"]
    assert store.list("nothing/here") == []
    assert store.list("") == [
        "bronze/t.txt",
        "landing/a/deep/z.csv",
        "landing/a/x.csv",
        "landing/b/y.csv",
    ]


def test_move_creates_parents(store: LocalStorage) -> None:
    store.write_bytes("landing/pos/orders/x.csv", b"data")
    store.move("landing/pos/orders/x.csv", "landing/_rejected/pos/orders/x.csv")
    assert not store.exists("landing/pos/orders/x.csv")
    assert store.read_bytes("landing/_rejected/pos/orders/x.csv") == b"data"


def test_move_overwrites_the_target(store: LocalStorage) -> None:
    store.write_bytes("a.txt", b"new")
    store.write_bytes("b.txt", b"old")
    store.move("a.txt", "b.txt")
    assert store.list("") == ["b.txt"]
    assert store.read_bytes("b.txt") == b"new"


def test_delete_and_exists(store: LocalStorage) -> None:
    store.write_bytes("x/y.txt", b"1")
    assert store.exists("x/y.txt")
    assert store.exists("x")
    store.delete("x/y.txt")
    assert not store.exists("x/y.txt")
    store.delete("x/y.txt")  # deleting a missing file is fine


def test_read_missing_file_raises(store: LocalStorage) -> None:
    with pytest.raises(FileNotFoundError):
        store.read_bytes("nope.txt")


def test_local_path_and_table_url(store: LocalStorage) -> None:
    assert store.local_path("") == str(store.root)
    assert store.local_path("landing/x.csv") == str(store.root / "landing" / "x.csv")
    assert store.table_url("bronze", "orders") == str(store.root / "bronze" / "orders")
    assert store.table_url("_ops", "runs") == str(store.root / "_ops" / "runs")
    assert store.delta_options() == {}


@pytest.mark.parametrize("path", ["../x", "../lake2/x", "a/../../x", "/etc/passwd", ".."])
def test_paths_escaping_the_root_are_refused(store: LocalStorage, path: str) -> None:
    for action in (
        lambda: store.read_bytes(path),
        lambda: store.write_bytes(path, b"x"),
        lambda: store.exists(path),
        lambda: store.delete(path),
        lambda: store.local_path(path),
        lambda: store.list(path),
        lambda: store.move("inside.txt", path),
    ):
        with pytest.raises(ValueError, match="leaves the lake root"):
            action()
    assert not (store.root.parent / "x").exists()


def test_symlink_out_of_the_root_is_refused(store: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="leaves the lake root"):
        store.write_bytes("link/x.txt", b"x")
    assert not (outside / "x.txt").exists()


def test_dot_segments_inside_the_root_are_fine(store: LocalStorage) -> None:
    store.write_bytes("a/../b/./c.txt", b"x")
    assert store.list("b") == ["b/c.txt"]


def test_storage_for_paths_and_file_urls(tmp_path: Path) -> None:
    by_path = storage_for(str(tmp_path / "lake"))
    by_url = storage_for((tmp_path / "lake").as_uri())
    assert isinstance(by_path, LocalStorage)
    assert isinstance(by_url, LocalStorage)
    assert by_path.root == by_url.root == tmp_path / "lake"


def test_storage_for_upper_case_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where the stray 'FILE:' folder would go
    storage = storage_for("FILE://" + str(tmp_path / "lake"))
    assert storage.root == tmp_path / "lake"


def test_storage_for_unsupported_scheme() -> None:
    with pytest.raises(ConfigError) as info:
        storage_for("ftp://host/x", {})
    assert info.value.message == "lake URL scheme 'ftp' is not supported: ftp://host/x"
    assert info.value.hint is not None
    assert "LAKEHOUSE_LAKE" in info.value.hint
