"""Read-only views of the lake for people: table states, latest runs, quarantine by rule,
DQ results. Used by `lakehouse status`, `lakehouse quarantine` and the demo."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow.compute as pc

from shared.contracts import ContractSet
from shared.lake import Lake
from shared.ops import DQ_RESULTS, DROPPED_ROWS, INGEST_LEDGER, RUNS

LAYERS = ("bronze", "silver", "quarantine")
GOLD_TABLES = (
    "dim_date",
    "dim_customer",
    "dim_product",
    "dim_store",
    "fact_sales",
    "kpi_monthly",
    "customer_rfm",
    "cohort_retention",
    "revenue_at_risk",
)
OPS_TABLES = (RUNS, INGEST_LEDGER, DQ_RESULTS, DROPPED_ROWS, "_ops.processed_batches")


@dataclass(frozen=True)
class TableState:
    table: str
    rows: int | None
    version: int | None
    updated_at: datetime | None
    note: str = ""


def table_states(lake: Lake, contracts: ContractSet) -> list[TableState]:
    """Every layer table of every contract, plus the `_ops` tables."""
    names = [f"{layer}.{t}" for layer in LAYERS for t in contracts.build_order()]
    names += [f"gold.{t}" for t in GOLD_TABLES]
    states = []
    for name in [*names, *OPS_TABLES]:
        delta = lake.delta(name)
        if delta is None:
            states.append(TableState(name, None, None, None, "not built yet"))
            continue
        history = delta.history(1)
        stamp = history[0].get("timestamp") if history else None
        updated = datetime.fromtimestamp(stamp / 1000, UTC) if stamp else None
        note = ""
        if name.startswith("quarantine."):
            held = lake.read(name, columns=["status"])
            counts = _count_values(held.column("status")) if held is not None else {}
            note = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        elif name.startswith("silver.") and "is_current" in delta.schema().to_arrow().names:
            current = lake.read(name, columns=["is_current"], filter=pc.field("is_current"))
            note = f"{current.num_rows if current is not None else 0} current"
        states.append(TableState(name, delta.count(), delta.version(), updated, note))
    return states


def latest_runs(lake: Lake, limit: int = 10) -> list[dict[str, Any]]:
    runs = lake.read(RUNS)
    if runs is None:
        return []
    ordered = runs.sort_by([("started_at", "descending")]).slice(0, limit)
    return ordered.to_pylist()


def quarantine_by_rule(lake: Lake, contracts: ContractSet) -> list[dict[str, Any]]:
    """Held rows (not released) by table, rule and status, most first."""
    rows: list[dict[str, Any]] = []
    con = duckdb.connect()
    for table in contracts.build_order():
        held = lake.read(f"quarantine.{table}", columns=["rule_id", "severity", "status"])
        if held is None:
            continue
        con.register("held", held)
        for rule_id, severity, status, count in con.execute(
            "SELECT rule_id, severity, status, count(*) FROM held WHERE status <> 'released' "
            "GROUP BY ALL ORDER BY 4 DESC, 1"
        ).fetchall():
            rows.append(
                {
                    "table": table,
                    "rule_id": rule_id,
                    "severity": severity,
                    "status": status,
                    "rows": count,
                }
            )
        con.unregister("held")
    return sorted(rows, key=lambda r: (-r["rows"], r["table"], r["rule_id"]))


def quarantine_samples(lake: Lake, table: str, rule_id: str, limit: int = 3) -> list[dict]:
    held = lake.read(
        f"quarantine.{table}",
        columns=["reason", "raw_row", "_source_file", "_row_number", "rule_id", "status"],
        filter=(pc.field("rule_id") == rule_id) & (pc.field("status") != "released"),
    )
    if held is None:
        return []
    shown = held.select(["reason", "raw_row", "_source_file", "_row_number"])
    samples = shown.slice(0, limit).to_pylist()
    for sample in samples:
        sample["raw_row"] = json.loads(sample["raw_row"])
    return samples


def latest_dq(lake: Lake) -> list[dict[str, Any]]:
    """Per table, the DQ results of the latest Silver run that checked it."""
    results = lake.read(DQ_RESULTS)
    if results is None or results.num_rows == 0:
        return []
    rows = results.to_pylist()
    latest: dict[str, tuple[datetime, str]] = {}
    for row in rows:
        seen = latest.get(row["table_name"])
        if seen is None or row["checked_at"] > seen[0]:
            latest[row["table_name"]] = (row["checked_at"], row["run_id"])
    chosen = [r for r in rows if latest[r["table_name"]][1] == r["run_id"]]
    return sorted(chosen, key=lambda r: (r["table_name"], r["scope"], r["rule_id"]))


def _count_values(column: Any) -> dict[str, int]:
    return {c["values"]: c["counts"] for c in pc.value_counts(column).to_pylist()}


def rows_of(lake: Lake, table: str) -> list[dict[str, Any]]:
    """A small table's rows (Gold marts), or none when it does not exist."""
    data = lake.read(table)
    return [] if data is None else data.to_pylist()


def segment_counts(lake: Lake) -> dict[str, int]:
    data = lake.read("gold.customer_rfm", columns=["segment"])
    return {} if data is None else _count_values(data.column("segment"))
