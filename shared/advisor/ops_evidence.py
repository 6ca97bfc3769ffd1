"""Evidence from the `_ops` tables and quarantine: runs and their errors, ingest
rejections and schema drift, failed DQ checks, held rows by rule with a few masked sample
rows, and rows dropped as duplicates. Everything is read through `Lake.read`, aggregated
with Arrow; only the few groups and samples become Python objects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from shared.advisor.evidence import Evidence
from shared.contracts import ContractSet
from shared.lake import Lake
from shared.ops import DQ_RESULTS, DROPPED_ROWS, INGEST_LEDGER, RUNS

SAMPLES_PER_RULE = 3
SAMPLE_CHARS = 300
# A problem's rank when choosing which run a question is about: a crash beats a refusal
# or a blocked build, which beat held rows and warnings.
PROBLEM_FAILED, PROBLEM_BLOCKING, PROBLEM_NOTICE = 3, 2, 1

_MISSING = re.compile(r"lacks required column\(s\) (.+?) of contract")
_ADDED = re.compile(r"has columns not in contract \w+: (.+)")


def read_runs(lake: Lake, limit: int) -> list[dict[str, Any]]:
    """The latest `limit` runs, newest first."""
    runs = lake.read(RUNS)
    if runs is None or runs.num_rows == 0:
        return []
    ordered = runs.sort_by([("started_at", "descending"), ("run_id", "descending")])
    return [with_details(row) for row in ordered.slice(0, limit).to_pylist()]


def with_details(run: dict[str, Any]) -> dict[str, Any]:
    """The run row with its `details` JSON decoded."""
    try:
        details = json.loads(run.get("details") or "{}")
    except ValueError:
        details = {}
    return {**run, "details": details if isinstance(details, dict) else {}}


def problem_rank(run: dict[str, Any], checks_failed: set[str] | None = None) -> int:
    """How serious a run's trouble is (0: none); `checks_failed` holds the ids of runs
    with a failed table check."""
    details = run.get("details") or {}
    if run.get("status") == "failed":
        return PROBLEM_FAILED
    if (
        run.get("status") == "blocked"
        or details.get("rejected")
        or details.get("critical_failures")
    ):
        return PROBLEM_BLOCKING
    duplicates = any(isinstance(t, dict) and t.get("duplicates") for t in details.get("tables", []))
    if (
        details.get("duplicate")
        or run.get("rows_quarantined")
        or duplicates
        or run["run_id"] in (checks_failed or set())
    ):
        return PROBLEM_NOTICE
    return 0


def runs_with_failed_checks(lake: Lake) -> set[str]:
    """Ids of runs in which a table check failed (any severity)."""
    results = lake.read(DQ_RESULTS, columns=["run_id", "scope", "passed"])
    if results is None:
        return set()
    failed = results.filter(
        (pc.field("scope") == "table") & (pc.field("passed") == pa.scalar(False))
    )
    return set(pc.unique(failed.column("run_id")).to_pylist())


def run_evidence(run: dict[str, Any], *, anchored: bool) -> Evidence:
    details = run.get("details") or {}
    facts: dict[str, Any] = {
        "run_id": run["run_id"],
        "job": run["job"],
        "status": run["status"],
        "started_at": _iso(run.get("started_at")),
        "error": run.get("error"),
        "rows_read": run.get("rows_read"),
        "rows_quarantined": run.get("rows_quarantined"),
    }
    for key in ("loaded", "duplicate", "rejected", "critical_failures", "blocked_by"):
        if details.get(key):
            facts[key] = details[key]
    if details.get("silver_run_id"):
        facts["silver_run_id"] = details["silver_run_id"]
    held = {
        t["table"]: t["quarantined"]
        for t in details.get("tables", [])
        if isinstance(t, dict) and t.get("quarantined")
    }
    if held:
        facts["quarantined_by_table"] = held
    text = f"{run['job']} run {run['run_id']} {run['status']} (started {facts['started_at']})"
    extras = [f"{k} {facts[k]}" for k in ("loaded", "duplicate", "rejected") if k in facts]
    if held:
        extras.append("rows held: " + ", ".join(f"{t} {n}" for t, n in held.items()))
    if facts.get("critical_failures"):
        extras.append("critical checks failed: " + ", ".join(map(str, facts["critical_failures"])))
    if run.get("error"):
        extras.append(f"error: {run['error']}")
    text += ("; " + "; ".join(extras)) if extras else ""
    return Evidence("run", {"run_id": run["run_id"], "table": RUNS}, text, facts, anchored)


def ingest_evidence(lake: Lake, run_ids: set[str], anchors: set[str]) -> list[Evidence]:
    """Rejected files and files with schema drift, of the given ingest runs."""
    ledger = lake.read(INGEST_LEDGER)
    if ledger is None or not run_ids:
        return []
    wanted = ledger.filter(
        pc.field("run_id").isin(list(run_ids))
        & ((pc.field("status") == "rejected") | pc.field("schema_drift").is_valid())
    )
    found = []
    for row in wanted.to_pylist():
        drift = json.loads(row["schema_drift"]) if row.get("schema_drift") else {}
        kind, columns = reason_kind(row.get("reason") or "")
        facts = {
            "run_id": row["run_id"],
            "table": row.get("table_name"),
            "source_file": row["source_file"],
            "status": row["status"],
            "reason": row.get("reason"),
            "reason_kind": kind,
            "columns": columns,
            "drift_added": drift.get("added", []),
            "drift_missing": drift.get("missing", []),
        }
        if row["status"] == "rejected":
            text = (
                f"file {row['source_file']} rejected by ingest run {row['run_id']}: {row['reason']}"
            )
        else:
            text = f"file {row['source_file']} loaded with schema drift {json.dumps(drift)}"
        ref = {"run_id": row["run_id"], "source_file": row["source_file"], "table": INGEST_LEDGER}
        if row.get("table_name"):
            ref["contract"] = f"contracts/{row['table_name']}.yaml"
        found.append(Evidence("ingest", ref, text, facts, row["run_id"] in anchors))
    return found


def reason_kind(reason: str) -> tuple[str, list[str]]:
    """What a rejection reason says, and the columns it names."""
    if match := _MISSING.search(reason):
        return "missing_column", [c.strip() for c in match.group(1).split(",")]
    if "holds no data rows" in reason:
        return "empty_file", []
    if "cannot tell which table" in reason:
        return "unroutable_file", []
    if match := _ADDED.search(reason):
        return "schema_drift", [c.strip() for c in match.group(1).split("(")[0].split(",")]
    return "other", []


def dq_evidence(lake: Lake, run_ids: set[str], anchors: set[str]) -> list[Evidence]:
    """Failed table checks of the given runs (row-rule failures show as held rows)."""
    results = lake.read(DQ_RESULTS)
    if results is None or not run_ids:
        return []
    failed = results.filter(
        pc.field("run_id").isin(list(run_ids))
        & (pc.field("passed") == pa.scalar(False))
        & (pc.field("scope") == "table")
    )
    found = []
    for row in failed.to_pylist():
        table = row["table_name"]
        facts = {
            "run_id": row["run_id"],
            "table": table,
            "rule_id": row["rule_id"],
            "check": row["check"],
            "scope": row["scope"],
            "severity": row["severity"],
            "passed": False,
            "failed_rows": row["failed_rows"],
            "observed": row["observed"],
            "threshold": row["threshold"],
            "message": row["message"],
        }
        text = (
            f"check {row['rule_id']} ({row['check']}, {row['severity']}) on {table} failed in "
            f"run {row['run_id']}: {row['message'] or 'no message'}"
        )
        ref = {
            "contract": f"contracts/{table}.yaml",
            "rule_id": row["rule_id"],
            "run_id": row["run_id"],
            "table": DQ_RESULTS,
        }
        found.append(Evidence("dq", ref, text, facts, row["run_id"] in anchors))
    return found


def quarantine_evidence(
    lake: Lake, contracts: ContractSet, anchors: set[str], *, held_only: bool = True
) -> list[Evidence]:
    """Held rows per table, rule and status, with a few masked sample rows. With anchors,
    counts are the rows those runs held (anchored evidence); otherwise all held rows."""
    found = []
    for table in contracts.build_order():
        name = f"quarantine.{table}"
        held = lake.read(
            name, columns=["rule_id", "severity", "status", "run_id", "reason", "raw_row"]
        )
        if held is None or held.num_rows == 0:
            continue
        if held_only:
            held = held.filter(pc.field("status") != "released")
        if anchors:
            mine = held.filter(pc.field("run_id").isin(list(anchors)))
            if mine.num_rows:
                held = mine
        anchored = bool(anchors) and held.num_rows > 0 and _any_in(held, anchors)
        groups = held.group_by(["rule_id", "status", "severity"]).aggregate([("rule_id", "count")])
        for group in groups.sort_by([("rule_id_count", "descending")]).to_pylist():
            rule_id, status, count = group["rule_id"], group["status"], group["rule_id_count"]
            rows = held.filter((pc.field("rule_id") == rule_id) & (pc.field("status") == status))
            found.append(
                _held_group(
                    contracts, table, rule_id, status, group["severity"], count, rows, anchored
                )
            )
    return found


def _held_group(
    contracts: ContractSet,
    table: str,
    rule_id: str,
    status: str,
    severity: str,
    count: int,
    rows: pa.Table,
    anchored: bool,
) -> Evidence:
    check, column = rule_check(contracts, table, rule_id)
    sample = rows.slice(0, SAMPLES_PER_RULE).to_pylist()
    raw_rows = [str(r["raw_row"] or "")[:SAMPLE_CHARS] for r in sample]
    values = []
    if column:
        for r in sample:
            try:
                value = json.loads(r["raw_row"] or "{}").get(column)
            except ValueError:
                value = None
            if isinstance(value, str) and re.fullmatch(r"[\w\- ]{1,40}", value):
                values.append(value)
    run_ids = sorted(set(rows.column("run_id").to_pylist()))
    facts = {
        "table": table,
        "rule_id": rule_id,
        "check": check,
        "column": column,
        "severity": severity,
        "status": status,
        "rows": count,
        "run_id": run_ids[-1] if run_ids else None,
        "reason": sample[0]["reason"] if sample else None,
        "sample_values": sorted(set(values)),
        "sample_rows": raw_rows,
    }
    # Sample rows are quoted as JSON strings: data to read, never instructions.
    text = (
        f"{count} rows of {table} {status} by rule {rule_id} ({check}, {severity}); "
        f"reason: {facts['reason']}; sample raw rows: {json.dumps(raw_rows, ensure_ascii=False)}"
    )
    ref = {
        "contract": f"contracts/{table}.yaml",
        "rule_id": rule_id,
        "table": f"quarantine.{table}",
    }
    if facts["run_id"]:
        ref["run_id"] = facts["run_id"]
    return Evidence("quarantine", ref, text, facts, anchored)


def rule_check(contracts: ContractSet, table: str, rule_id: str) -> tuple[str, str | None]:
    """The check kind of a rule id (contract rules, and the implicit `<table>.<column>.type`,
    `.not_null` and `<table>.stale_record`) and the column it reads."""
    contract = contracts.contracts.get(table)
    if contract is not None:
        for rule in [*contract.rules, *contract.table_rules]:
            if rule.id == rule_id:
                return rule.check, getattr(rule, "column", None)
    parts = rule_id.split(".")
    if len(parts) == 3 and parts[2] in ("type", "not_null"):
        return parts[2], parts[1]
    return parts[-1], None


def dropped_evidence(lake: Lake, anchors: set[str]) -> list[Evidence]:
    """Rows dropped as exact duplicates by the anchored runs."""
    dropped = lake.read(DROPPED_ROWS, columns=["table_name", "reason", "run_id"])
    if dropped is None or not anchors:
        return []
    mine = dropped.filter(
        pc.field("run_id").isin(list(anchors)) & (pc.field("reason") == "exact_duplicate")
    )
    groups = mine.group_by(["table_name", "reason", "run_id"]).aggregate([("reason", "count")])
    found = []
    for g in groups.to_pylist():
        facts = {
            "table": g["table_name"],
            "reason": g["reason"],
            "rows": g["reason_count"],
            "run_id": g["run_id"],
        }
        text = (
            f"{g['reason_count']} rows of {g['table_name']} dropped as {g['reason']} "
            f"in run {g['run_id']}"
        )
        ref = {"run_id": g["run_id"], "table": DROPPED_ROWS}
        found.append(Evidence("dropped", ref, text, facts, True))
    return found


def _any_in(rows: pa.Table, run_ids: Iterable[str]) -> bool:
    return bool(pc.any(pc.is_in(rows.column("run_id"), pa.array(list(run_ids)))).as_py())


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else None
