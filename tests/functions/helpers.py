"""What the AWS and GCP handler tests share: a lake on a test server reached the way a
deployment reaches it (the process environment), landing files, and readers of the data
that lands."""

from __future__ import annotations

from typing import Any

import pytest

from providers.storage import storage_for
from shared.lake import Lake
from shared.ops import INGEST_LEDGER, RUNS
from tests.conftest import csv_text
from tests.servers.lakes import LakeTarget

# A key for these tests only, passed as a deployment passes it: in the environment.
PII = {"PII_HASH_KEY": "handler-test-key-not-a-secret"}
STORES = [
    ["s1", "Main Street", "Leeds", "GB", "store"],
    ["s2", "Web shop", "", "GB", "web"],
]
MORE_STORES = [["s3", "Harbour", "Hull", "GB", "store"]]


def use_lake(monkeypatch: pytest.MonkeyPatch, target: LakeTarget) -> None:
    """Point `Settings.from_env()` at the lake, as the function's settings would."""
    environ = {**target.environ, **PII, "LAKEHOUSE_LAKE": target.url, "LAKEHOUSE_SECRETS": "env"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


def lake_of(target: LakeTarget) -> Lake:
    return Lake(storage_for(target.url, target.environ))


def land(target: LakeTarget, path: str, rows: list[list[str]]) -> tuple[str, str]:
    """Upload a stores CSV to the lake path; returns the bucket and key an event names."""
    lake = lake_of(target)
    lake.storage.write_bytes(path, csv_text("stores", rows).encode("utf-8"))
    return lake.storage.layout.locate(path)


def rows(target: LakeTarget, table: str) -> list[dict[str, Any]]:
    data = lake_of(target).read(table)
    return [] if data is None else data.to_pylist()


def ledger(target: LakeTarget) -> list[dict[str, Any]]:
    return rows(target, INGEST_LEDGER)


def runs(target: LakeTarget, job: str) -> list[dict[str, Any]]:
    return [r for r in rows(target, RUNS) if r["job"] == job]
