"""Leases: one build of a kind at a time, by compare-and-set on Delta transaction ids."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import shared.lake
from providers.storage import LocalStorage
from shared import lease
from shared.lake import Lake
from shared.ops import PROCESSED_BATCHES
from tests.conftest import csv_text
from tests.servers import workers

NOW = datetime(2026, 1, 5, 6, 0)
TTL = timedelta(minutes=15)


def test_a_lease_is_held_until_given_back(tmp_path: Path) -> None:
    lake = Lake(LocalStorage(tmp_path / "lake"))
    assert lease.take(lake, "silver", "run-a", NOW, TTL) is None
    held = lease.take(lake, "silver", "run-b", NOW + timedelta(minutes=1), TTL)
    assert held == lease.Holder("run-a", NOW + TTL)
    assert lease.take(lake, "gold", "run-g", NOW, TTL) is None  # another job's lease

    lease.give_back(lake, "silver", "run-b", NOW)  # not the holder: nothing happens
    assert lease.take(lake, "silver", "run-c", NOW, TTL) == lease.Holder("run-a", NOW + TTL)
    lease.give_back(lake, "silver", "run-a", NOW + timedelta(minutes=2))
    assert lease.take(lake, "silver", "run-c", NOW + timedelta(minutes=2), TTL) is None


def test_a_lease_whose_holder_died_expires(tmp_path: Path) -> None:
    lake = Lake(LocalStorage(tmp_path / "lake"))
    assert lease.take(lake, "silver", "dead", NOW, TTL) is None
    assert lease.take(lake, "silver", "next", NOW + TTL - timedelta(seconds=1), TTL) is not None
    assert lease.take(lake, "silver", "next", NOW + TTL, TTL) is None


def test_of_two_instances_taking_a_free_lease_at_once_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStorage(tmp_path / "lake")
    ours, theirs = Lake(store), Lake(store)
    assert lease.take(ours, "silver", "old", NOW - timedelta(hours=1), TTL) is None
    real_write = shared.lake.write_deltalake
    raced: list[int] = []

    def theirs_first(*args: Any, **kwargs: Any) -> None:
        # Both saw the lease free; the other instance commits its take before ours.
        if not raced:
            raced.append(1)
            assert lease.take(theirs, "silver", "theirs", NOW, TTL) is None
        real_write(*args, **kwargs)

    monkeypatch.setattr(shared.lake, "write_deltalake", theirs_first)
    assert lease.take(ours, "silver", "ours", NOW, TTL) == lease.Holder("theirs", NOW + TTL)
    assert raced == [1]


@pytest.mark.slow
def test_two_silver_builds_started_at_once_process_each_batch_once(tmp_path: Path) -> None:
    url = str(tmp_path / "lake")
    environ = {"PII_HASH_KEY": "lease-test-key"}
    store = LocalStorage(url)
    for n in range(3):
        rows = [
            f"c{n}{i},A,B,a{i}@x.org,+1 555 0{i},Leeds,GB,gold,2024-01-01,2024-01-02"
            for i in range(5)
        ]
        store.write_bytes(f"landing/crm/customers/c{n}.csv", csv_text("customers", rows).encode())
    from shared.jobs import ingest_landing
    from shared.settings import Settings

    ingest_landing(Settings.from_env(environ, lake_url=url))
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        barrier = manager.Barrier(2)
        outcomes = pool.starmap(workers.build_silver, [(url, environ, barrier)] * 2)

    statuses = sorted(status for status, _ in outcomes)
    assert statuses == ["skipped", "succeeded"], outcomes
    (note,) = [note for status, note in outcomes if status == "skipped"]
    assert "another Silver build" in note and "nothing to do" in note
    processed = Lake(store).read(PROCESSED_BATCHES)
    assert processed is not None
    pairs = list(
        zip(
            processed.column("table_name").to_pylist(),
            processed.column("batch_id").to_pylist(),
            strict=True,
        )
    )
    assert len(pairs) == len(set(pairs)) == 3
    silver = Lake(store).read("silver.customers")
    assert silver is not None and silver.num_rows == 15
    assert pa.compute.count_distinct(silver.column("customer_id")).as_py() == 15
