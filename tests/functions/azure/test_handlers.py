"""The Azure handlers invoked with real trigger objects against a lake on Azurite."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import azure.functions as func
import pytest
from azure.functions.blob import InputStream
from azure.functions.timer import TimerRequest

from providers.storage import storage_for
from shared.lake import Lake
from shared.ops import INGEST_LEDGER, RUNS
from tests.conftest import csv_text
from tests.functions.azure import indexed
from tests.servers import lakes
from tests.servers.lakes import LakeTarget

ORDERS = ["o1,c1,s1,2026-01-05 10:00:00,placed,2026-01-05"]


def handlers() -> dict[str, Callable[..., Any]]:
    return {name: f.get_user_function() for name, f in indexed.functions().items()}


@pytest.fixture
def target(azurite_connection: str, monkeypatch: pytest.MonkeyPatch) -> LakeTarget:
    """A fresh lake on Azurite, and the app settings that point the functions at it."""
    lake = lakes.azure_lake(azurite_connection)
    for name, value in {
        **lake.environ,
        "LAKEHOUSE_LAKE": lake.url,
        "LAKEHOUSE_SECRETS": "env",
        "PII_HASH_KEY": "azure-functions-test-key",
    }.items():
        monkeypatch.setenv(name, value)
    return lake


def drop(target: LakeTarget, path: str, body: str) -> InputStream:
    """Put a file in the landing container; the InputStream the host would pass."""
    store = storage_for(target.url, target.environ)
    store.write_bytes(path, body.encode())
    container, key = store.layout.locate(path)
    return InputStream(name=f"{container}/{key}", data=body.encode(), length=len(body))


def lake_of(target: LakeTarget) -> Lake:
    return Lake(storage_for(target.url, target.environ))


def call_http(name: str, url: str, **route: str) -> tuple[int, Any]:
    request = func.HttpRequest("GET", url, params={}, route_params=route, body=b"")
    response = handlers()[name](request)
    return response.status_code, json.loads(response.get_body())


def test_a_blob_triggered_twice_is_ingested_once(target: LakeTarget) -> None:
    blob = drop(target, "landing/pos/orders/o1.csv", csv_text("orders", ORDERS))
    handlers()["ingest"](blob)
    handlers()["ingest"](blob)

    lake = lake_of(target)
    bronze = lake.read("bronze.orders")
    assert bronze is not None and bronze.column("order_id").to_pylist() == ["o1"]
    ledger = lake.read(INGEST_LEDGER)
    assert ledger is not None and ledger.column("status").to_pylist() == ["loaded"]


def test_a_rejected_file_is_set_aside_and_its_event_ignored(target: LakeTarget) -> None:
    blob = drop(target, "landing/pos/orders/bad.csv", "order_id\n1\n")
    handlers()["ingest"](blob)
    store = storage_for(target.url, target.environ)
    assert not store.exists("landing/pos/orders/bad.csv")
    reason = store.read_bytes("landing/_rejected/pos/orders/bad.csv.reason.txt").decode()
    assert "lacks required column(s)" in reason
    # Writing into _rejected/ fires the trigger again: that event is ignored.
    container, key = store.layout.locate("landing/_rejected/pos/orders/bad.csv")
    handlers()["ingest"](InputStream(name=f"{container}/{key}", data=b""))
    assert lake_of(target).read("bronze.orders") is None


def test_the_reconciliation_timer_ingests_what_the_trigger_missed(target: LakeTarget) -> None:
    handlers()["ingest"](drop(target, "landing/pos/orders/o1.csv", csv_text("orders", ORDERS)))
    store = storage_for(target.url, target.environ)
    missed = ["o2,c1,s1,2026-01-05 11:00:00,placed,2026-01-05"]
    store.write_bytes("landing/pos/orders/o2.csv", csv_text("orders", missed).encode())

    handlers()["reconcile_landing"](TimerRequest(past_due=False))

    bronze = lake_of(target).read("bronze.orders")
    assert bronze is not None
    assert sorted(bronze.column("order_id").to_pylist()) == ["o1", "o2"]
    handlers()["reconcile_landing"](TimerRequest(past_due=True))  # nothing new: no change
    assert lake_of(target).read("bronze.orders").num_rows == 2


PARENTS = {
    "customers": [
        "c1,Ann,Lee,ann@example.org,+44 113 496 0000,Leeds,GB,gold,2025-01-01,2025-01-02"
    ],
    "products": ["p1,Mug,home,2.00,5.00,2025-01-01"],
    "stores": ["s1,Main Street,Leeds,GB,store"],
    "order_lines": ["o1,1,p1,2,5.00,0"],
}


def test_timers_build_silver_and_gold_and_sweep(target: LakeTarget) -> None:
    for table, rows in PARENTS.items():
        handlers()["ingest"](drop(target, f"landing/src/{table}/1.csv", csv_text(table, rows)))
    handlers()["ingest"](drop(target, "landing/pos/orders/o1.csv", csv_text("orders", ORDERS)))
    handlers()["build_silver"](TimerRequest())
    handlers()["build_gold"](TimerRequest())
    handlers()["monitor"](TimerRequest())

    runs = lake_of(target).read(RUNS)
    assert runs is not None
    by_job = {r["job"]: r for r in runs.to_pylist()}
    assert by_job["silver"]["status"] == "succeeded"
    assert by_job["silver"]["rows_read"] == 5
    assert by_job["gold"]["status"] == "succeeded"
    fact = lake_of(target).read("gold.fact_sales")
    assert fact is not None and fact.column("net_revenue").to_pylist() == [Decimal("10.00")]
    assert by_job["monitor"]["status"] == "succeeded"


def test_http_routes_answer_json(target: LakeTarget) -> None:
    handlers()["ingest"](drop(target, "landing/pos/orders/o1.csv", csv_text("orders", ORDERS)))

    status, health = call_http("health", "http://localhost/api/health")
    assert status == 200 and health["status"] == "ok"
    status, runs = call_http("runs", "http://localhost/api/runs")
    assert status == 200
    (ingest,) = runs["runs"]
    assert ingest["job"] == "ingest" and ingest["details"]["loaded"] == 1
    run_id = ingest["run_id"]
    status, run = call_http("run", f"http://localhost/api/runs/{run_id}", run_id=run_id)
    assert status == 200
    assert [f["source_file"] for f in run["files"]] == ["landing/pos/orders/o1.csv"]
    status, missing = call_http("run", "http://localhost/api/runs/nope", run_id="nope")
    assert status == 404 and "no run 'nope'" in missing["error"]
    status, tables = call_http("tables", "http://localhost/api/tables")
    assert status == 200
    rows = {t["table"]: t["rows"] for t in tables["tables"]}
    assert rows["bronze.orders"] == 1
    status, quality = call_http("quality", "http://localhost/api/quality")
    assert status == 200 and set(quality) == {"tables", "quarantine", "gold"}


def test_a_blob_that_keeps_failing_ends_in_rejected(
    target: LakeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = drop(target, "landing/pos/orders/o1.csv", csv_text("orders", ORDERS))

    def storage_fault(*args: object, **kwargs: object) -> None:
        raise OSError("the storage account went away")

    monkeypatch.setattr("shared.jobs.ingest_landing", storage_fault)
    for _ in range(4):  # the platform retries: the first attempts fail loudly
        with pytest.raises(OSError):
            handlers()["ingest"](blob)
    handlers()["ingest"](blob)  # the fifth sets it aside instead of failing again

    store = storage_for(target.url, target.environ)
    assert not store.exists("landing/pos/orders/o1.csv")
    reason = store.read_bytes("landing/_rejected/pos/orders/o1.csv.reason.txt").decode()
    assert reason.startswith("gave up after 5 attempts; last error: OSError: the storage")
    ledger = lake_of(target).read(INGEST_LEDGER)
    assert ledger is not None and ledger.column("status").to_pylist() == ["rejected"]
