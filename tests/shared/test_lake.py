"""The lake's table verbs under races: another writer committing between our read and our
commit makes Delta refuse the commit, and the write is re-run against the new version."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable

import shared.lake
from providers.storage import LocalStorage
from shared.errors import TransientError
from shared.lake import Lake


def two_writers(tmp_path: Path) -> tuple[Lake, Lake]:
    store = LocalStorage(tmp_path / "lake")
    return Lake(store), Lake(store)


def rows(lake: Lake, table: str) -> list[tuple[Any, ...]]:
    data = Lake(lake.storage).read(table)
    assert data is not None
    return sorted(tuple(r.values()) for r in data.to_pylist())


def test_batches_already_committed_are_skipped(tmp_path: Path) -> None:
    lake, _ = two_writers(tmp_path)
    first = pa.table({"k": [1]})
    assert lake.append_batches("bronze.t", {"a": first}) == ["a"]
    assert lake.append_batches("bronze.t", {"a": first, "b": pa.table({"k": [2]})}) == ["b"]
    assert lake.append("bronze.t", first, app_id="a") is False
    assert rows(lake, "bronze.t") == [(1,), (2,)]


def test_an_append_racing_another_with_the_same_id_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = two_writers(tmp_path)
    ours.append("bronze.t", pa.table({"k": [0]}))
    real_write = shared.lake.write_deltalake
    raced: list[int] = []

    def theirs_commit_first(*args: Any, **kwargs: Any) -> None:
        # Another instance commits the same batch after we checked, before we commit.
        if not raced:
            raced.append(1)
            theirs.append_batches("bronze.t", {"batch-1": pa.table({"k": [1]})})
        real_write(*args, **kwargs)

    monkeypatch.setattr(shared.lake, "write_deltalake", theirs_commit_first)
    committed = ours.append_batches("bronze.t", {"batch-1": pa.table({"k": [1]})})

    assert raced == [1]
    assert committed == []  # Delta refused our commit; the retry found the batch there
    assert rows(ours, "bronze.t") == [(0,), (1,)]


def test_a_merge_that_loses_a_race_is_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = two_writers(tmp_path)
    ours.append("silver.t", pa.table({"k": [1, 2], "v": ["one", "two"]}))
    real_merge = DeltaTable.merge
    calls: list[int] = []

    def theirs_update_first(self: DeltaTable, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # the other writer rewrites the file our merge has read
            theirs.upsert("silver.t", pa.table({"k": [1], "v": ["theirs"]}), keys=["k"])
        return real_merge(self, *args, **kwargs)

    monkeypatch.setattr(DeltaTable, "merge", theirs_update_first)
    ours.upsert("silver.t", pa.table({"k": [2], "v": ["ours"]}), keys=["k"])

    assert len(calls) == 3  # ours, theirs, ours again after the conflict
    assert rows(ours, "silver.t") == [(1, "theirs"), (2, "ours")]


def test_a_table_that_keeps_conflicting_gives_a_transient_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = two_writers(tmp_path)
    ours.append("silver.t", pa.table({"k": [1], "v": ["one"]}))
    real_merge = DeltaTable.merge
    monkeypatch.setattr(shared.lake, "COMMIT_ATTEMPTS", 3)
    monkeypatch.setattr(shared.lake.time, "sleep", lambda seconds: None)

    racing: list[bool] = []

    def always_raced(self: DeltaTable, *args: Any, **kwargs: Any) -> Any:
        builder = real_merge(self, *args, **kwargs)
        if not racing:  # every merge of ours is overtaken by one of theirs
            racing.append(True)
            theirs.upsert("silver.t", pa.table({"k": [1], "v": ["again"]}), keys=["k"])
            racing.pop()
        return builder

    monkeypatch.setattr(DeltaTable, "merge", always_raced)
    with pytest.raises(TransientError) as info:
        ours.upsert("silver.t", pa.table({"k": [1], "v": ["ours"]}), keys=["k"])
    assert "could not commit to silver.t after 3 attempts" in str(info.value)
    assert "run again" in str(info.value)


def test_local_files_are_the_files_whose_statistics_overlap(target, tmp_path: Path) -> None:
    """On every backend: only files whose statistics overlap the bounds, readable from
    local disk (the files themselves on a local lake, copies on a cloud one)."""
    from datetime import datetime

    import pyarrow.parquet as pq

    from providers.storage import storage_for

    lake = Lake(storage_for(target.url, target.environ))
    times = [datetime(2026, 1, d, 12, 0, 0, 999) for d in (1, 2, 3)]
    for batch, at in zip(("b1", "b2", "b3"), times, strict=True):
        lake.append("bronze.t", pa.table({"_batch_id": [batch, batch], "at": [at, at]}))
    copies = tmp_path / "copies"
    copies.mkdir()

    def read(files: list[str]) -> list[str]:
        return sorted(b for f in files for b in pq.read_table(f).column("_batch_id").to_pylist())

    files = lake.local_files("bronze.t", copies, column="_batch_id", low="b2", high="b2")
    assert read(files) == ["b2", "b2"]
    assert files[0].startswith(str(copies)) == (target.backend != "local")
    # Timestamp statistics are kept to the millisecond: a bound with microseconds still
    # finds its own file.
    assert read(lake.local_files("bronze.t", copies, column="at", low=times[1])) == [
        "b2",
        "b2",
        "b3",
        "b3",
    ]
    every = lake.local_files("bronze.t", copies, column="no_such_column", low="x")
    assert len(every) == 3  # no statistics: every file may hold it
    assert lake.local_files("bronze.none", copies, column="_batch_id", low="b1") == []


def test_compaction_merges_only_small_files_and_keeps_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files of the append size are left as they are (each of Silver's holds a range of
    keys), and do not count toward compaction; once there are `min_files` small ones, as a
    daily build adds, they are merged, in log order."""
    monkeypatch.setattr(shared.lake, "TARGET_FILE_SIZE", 16 * 1024)
    lake, _ = two_writers(tmp_path)
    noise = random.Random(7)
    for i in range(4):  # random text, hardly compressible: files of the append size
        keys = list(range(i * 5000, (i + 1) * 5000))
        lake.append(
            "silver.t", pa.table({"k": keys, "v": [noise.randbytes(24).hex() for _ in keys]})
        )
    big = set(lake.delta("silver.t").file_uris())
    for i in range(32):
        keys = list(range(20_000 + i * 10, 20_000 + (i + 1) * 10))
        lake.append("silver.t", pa.table({"k": keys, "v": [str(k) for k in keys]}))
        if i == 30:  # 35 files, but only 31 small ones
            assert not lake.compact("silver.t", min_files=32)
    before = rows(lake, "silver.t")
    assert lake.compact("silver.t", min_files=32)

    files = set(lake.delta("silver.t").file_uris())
    assert big <= files  # untouched
    assert 1 <= len(files - big) <= 2  # the 32 small files became one or two
    assert rows(lake, "silver.t") == before
    ranges = sorted(
        (a["min.k"], a["max.k"])
        for a in pa.table(lake.delta("silver.t").get_add_actions(flatten=True)).to_pylist()
    )
    assert all(high < low for (_, high), (low, _) in pairwise(ranges))
    assert not lake.compact("silver.t", min_files=32)  # too few files now


def test_every_write_is_compressed(tmp_path: Path) -> None:
    """Appends, overwrites, merges and compaction all write zstd-compressed Parquet (given
    writer properties, delta-rs writes uncompressed unless told)."""
    import pyarrow.parquet as pq

    lake = Lake(LocalStorage(tmp_path / "lake"))
    table = pa.table({"k": [1, 2], "v": ["a", "b"]})
    lake.append("t.appended", table)
    lake.overwrite("t.overwritten", table)
    lake.append("t.merged", table)
    lake.upsert("t.merged", pa.table({"k": [2, 3], "v": ["B", "c"]}), keys=["k"])
    for i in range(3):
        lake.append("t.compacted", pa.table({"k": [i], "v": ["x"]}))
    assert lake.compact("t.compacted", min_files=2)
    files = sorted((tmp_path / "lake").rglob("*.parquet"))
    assert len(files) >= 6
    for file in files:
        meta = pq.ParquetFile(file).metadata
        codecs = {
            meta.row_group(g).column(c).compression
            for g in range(meta.num_row_groups)
            for c in range(meta.num_columns)
        }
        assert codecs == {"ZSTD"}, (file, codecs)


def test_vacuum_deletes_only_files_unused_for_longer_than_the_retention(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "lake")
    kept = Lake(store)  # the default retention: a week
    kept.overwrite("gold.t", pa.table({"k": [1]}))
    kept.overwrite("gold.t", pa.table({"k": [2]}))
    files = lambda: sorted((tmp_path / "lake" / "gold" / "t").glob("*.parquet"))  # noqa: E731
    assert len(files()) == 2
    assert kept.vacuum("gold.t") == 0  # the replaced file was removed moments ago
    assert len(files()) == 2
    version = kept.delta("gold.t").version()

    eager = Lake(store, retention_hours=0)
    assert eager.vacuum("gold.t") == 1
    assert [f.name for f in files()] == [Path(u).name for u in eager.delta("gold.t").file_uris()]
    assert rows(eager, "gold.t") == [(2,)]
    assert eager.vacuum("gold.t") == 0
    assert eager.delta("gold.t").version() == version + 2  # VACUUM START and END, once
    assert eager.vacuum("gold.missing") == 0
