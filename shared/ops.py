"""The `_ops` tables: run ledger, ingest ledger, DQ results, processed batches and
dropped rows. Each is append-only, with a fixed schema declared here."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from shared.lake import Lake

RUNS = "_ops.runs"
INGEST_LEDGER = "_ops.ingest_ledger"
DQ_RESULTS = "_ops.dq_results"
PROCESSED_BATCHES = "_ops.processed_batches"
DROPPED_ROWS = "_ops.dropped_rows"

TS = pa.timestamp("us")

RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("job", pa.string()),
        ("started_at", TS),
        ("finished_at", TS),
        ("status", pa.string()),
        ("rows_read", pa.int64()),
        ("rows_written", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("error", pa.string()),
        ("details", pa.string()),
    ]
)
LEDGER_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("content_sha256", pa.string()),
        ("table_name", pa.string()),
        ("batch_id", pa.string()),
        ("status", pa.string()),
        ("rows", pa.int64()),
        ("reason", pa.string()),
        ("schema_drift", pa.string()),
        ("run_id", pa.string()),
        ("ingested_at", TS),
    ]
)
DQ_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("table_name", pa.string()),
        ("rule_id", pa.string()),
        ("check", pa.string()),
        ("scope", pa.string()),
        ("severity", pa.string()),
        ("passed", pa.bool_()),
        ("failed_rows", pa.int64()),
        ("observed", pa.float64()),
        ("threshold", pa.float64()),
        ("message", pa.string()),
        ("contract_version", pa.int64()),
        ("checked_at", TS),
    ]
)
PROCESSED_SCHEMA = pa.schema(
    [
        ("table_name", pa.string()),
        ("batch_id", pa.string()),
        ("run_id", pa.string()),
        ("processed_at", TS),
    ]
)


def utcnow() -> datetime:
    """Naive UTC now: every timestamp in the lake is UTC without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id(job: str, now: datetime) -> str:
    return f"{job}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class Run:
    """One job run, recorded in `_ops.runs` when it finishes."""

    job: str
    run_id: str
    started_at: datetime
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, job: str, now: datetime | None = None) -> Run:
        started = now or utcnow()
        return cls(job=job, run_id=new_run_id(job, started), started_at=started)

    def record(self, lake: Lake, status: str, error: str | None = None) -> None:
        row = {
            "run_id": self.run_id,
            "job": self.job,
            "started_at": self.started_at,
            "finished_at": utcnow(),
            "status": status,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_quarantined": self.rows_quarantined,
            "error": error,
            "details": json.dumps(self.details, default=str, sort_keys=True),
        }
        lake.append(RUNS, pa.Table.from_pylist([row], schema=RUNS_SCHEMA), app_id=self.run_id)


def append_rows(
    lake: Lake, table: str, rows: Iterable[Mapping[str, Any]], schema: pa.Schema
) -> None:
    """Append a few bookkeeping rows (never data rows) to an `_ops` table."""
    data = pa.Table.from_pylist(list(rows), schema=schema)
    lake.append(table, data)
