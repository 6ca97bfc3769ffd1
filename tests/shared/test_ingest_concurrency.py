"""Several function instances ingesting into the same Bronze table at once lose nothing and
duplicate nothing, on every backend (real local servers, worker processes)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from typing import Any

import pytest

from providers.storage import storage_for
from shared.lake import Lake
from tests.conftest import csv_text
from tests.servers import workers
from tests.servers.lakes import LakeTarget

WORKERS = 8


@pytest.fixture(scope="module")
def pool() -> Iterator[tuple[Any, Any]]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(WORKERS) as processes:
        yield processes, manager


def bronze_batches(target: LakeTarget) -> list[tuple[str, int]]:
    lake = Lake(storage_for(target.url, target.environ))
    rows = lake.read("bronze.orders", columns=["_batch_id", "order_id"])
    assert rows is not None
    counts: dict[str, int] = {}
    for batch in rows.column("_batch_id").to_pylist():
        counts[batch] = counts.get(batch, 0) + 1
    return sorted(counts.items())


def order_file(n: int) -> bytes:
    rows = [f"o{n}-{i},c1,s1,2024-01-0{1 + i % 9} 10:00:00,placed,2024-01-01" for i in range(3)]
    return csv_text("orders", rows).encode()


@pytest.mark.slow
def test_eight_instances_ingest_eight_files_into_one_table(
    target: LakeTarget, pool: tuple[Any, Any]
) -> None:
    processes, manager = pool
    store = storage_for(target.url, target.environ)
    names = [f"landing/pos/orders/part-{n}.csv" for n in range(WORKERS)]
    for n, name in enumerate(names):
        store.write_bytes(name, order_file(n))
    barrier = manager.Barrier(WORKERS)

    statuses = processes.starmap(
        workers.ingest, [(target.url, target.environ, [name], barrier) for name in names]
    )

    assert statuses == [["loaded"]] * WORKERS
    batches = bronze_batches(target)
    assert len(batches) == WORKERS
    assert all(rows == 3 for _, rows in batches)
    ledger = Lake(storage_for(target.url, target.environ)).read("_ops.ingest_ledger")
    assert ledger is not None
    assert sorted(ledger.column("source_file").to_pylist()) == names


@pytest.mark.slow
def test_the_same_blob_delivered_three_times_at_once_is_one_batch(
    target: LakeTarget, pool: tuple[Any, Any]
) -> None:
    processes, manager = pool
    store = storage_for(target.url, target.environ)
    name = "landing/pos/orders/again.csv"
    store.write_bytes(name, order_file(0))
    barrier = manager.Barrier(3)

    statuses = processes.starmap(
        workers.ingest, [(target.url, target.environ, [name], barrier) for _ in range(3)]
    )

    assert [rows for _, rows in bronze_batches(target)] == [3]
    assert sorted(s for (s,) in statuses) == ["duplicate", "duplicate", "loaded"]
    ledger = Lake(storage_for(target.url, target.environ)).read("_ops.ingest_ledger")
    assert ledger is not None and ledger.num_rows == 1
