"""Table rules (unique, row_count, freshness, completeness, volume_anomaly,
quarantine_rate) and row-rule tallies, evaluated after a table's Silver build and recorded
in `_ops.dq_results`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shared.contracts import Contract, parse_duration
from shared.contracts.model import (
    CompletenessRule,
    FreshnessRule,
    QuarantineRateRule,
    RowCountRule,
    UniqueRule,
    VolumeAnomalyRule,
)
from shared.engine import quote
from shared.lake import Lake
from shared.ops import utcnow

if TYPE_CHECKING:
    from shared.silver.build import TableResult


def evaluate_table_rules(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    result: TableResult,
    run_id: str,
    tallies: RowTallies,
    history: pa.Table | None,
) -> list[dict[str, Any]]:
    """One DQ result per row rule that was evaluated and per table rule."""
    now = utcnow()
    (clock,) = con.execute("SELECT run_now()").fetchall()[0]
    rows: list[dict[str, Any]] = []

    def add(
        rule_id: str,
        check: str,
        scope: str,
        severity: str,
        passed: bool,
        *,
        failed: int = 0,
        observed: float | None = None,
        threshold: float | None = None,
        message: str = "",
    ) -> None:
        rows.append(
            {
                "run_id": run_id,
                "table_name": contract.table,
                "rule_id": rule_id,
                "check": check,
                "scope": scope,
                "severity": severity,
                "passed": passed,
                "failed_rows": failed,
                "observed": observed,
                "threshold": threshold,
                "message": message,
                "contract_version": contract.version,
                "checked_at": now,
            }
        )

    fired = tallies.failed
    for rule in contract.rules:
        failed = fired.get(rule.id, 0)
        add(
            rule.id,
            rule.check,
            "row",
            rule.severity,
            failed == 0,
            failed=failed,
            message=f"{failed} of {result.rows_read} rows failed" if failed else "",
        )
    for rule_id, failed in sorted(fired.items()):
        if rule_id not in {r.id for r in contract.rules}:
            check = rule_id.rsplit(".", 1)[-1]
            severity = "warning" if check == "stale_record" else "critical"
            add(
                rule_id,
                check,
                "row",
                severity,
                False,
                failed=failed,
                message=f"{failed} of {result.rows_read} rows failed",
            )

    needed = {*contract.keys, "is_current"}
    for rule in contract.table_rules:
        needed.update(getattr(rule, "columns", None) or [])
        if isinstance(rule, FreshnessRule):
            needed.add(rule.column)
    silver = lake.stream(f"silver.{contract.table}", sorted(needed))
    if silver is not None:
        # Only the columns the rules read, streamed into DuckDB (which spills if it must).
        con.register("dq_stream", silver)
        con.execute("CREATE OR REPLACE TEMP TABLE dq_silver AS SELECT * FROM dq_stream")
        con.unregister("dq_stream")
    current = "WHERE is_current" if contract.scd2 else ""
    for rule in contract.table_rules:
        if isinstance(rule, UniqueRule):
            cols = ", ".join(quote(c) for c in (rule.columns or contract.keys))
            (dupes,) = (
                _one(
                    con,
                    f"SELECT count(*) FROM (SELECT {cols} FROM dq_silver {current} "
                    f"GROUP BY ALL HAVING count(*) > 1)",
                )
                if silver
                else (0,)
            )
            add(
                rule.id,
                rule.check,
                "table",
                rule.severity,
                dupes == 0,
                failed=dupes,
                observed=dupes,
                threshold=0,
                message=f"{dupes} keys appear more than once" if dupes else "",
            )
        elif isinstance(rule, RowCountRule):
            (count,) = _one(con, f"SELECT count(*) FROM dq_silver {current}") if silver else (0,)
            ok = (rule.min is None or count >= rule.min) and (rule.max is None or count <= rule.max)
            add(
                rule.id,
                rule.check,
                "table",
                rule.severity,
                ok,
                observed=count,
                threshold=rule.min,
                message="" if ok else f"{count} rows, expected {_bounds(rule.min, rule.max)}",
            )
        elif isinstance(rule, FreshnessRule):
            (latest,) = (
                _one(con, f"SELECT max({quote(rule.column)}) FROM dq_silver") if silver else (None,)
            )
            limit = parse_duration(rule.max_age)
            age_h = (clock - latest).total_seconds() / 3600 if latest else None
            ok = latest is not None and clock - latest <= limit
            add(
                rule.id,
                rule.check,
                "table",
                rule.severity,
                ok,
                observed=age_h,
                threshold=limit.total_seconds() / 3600,
                message=""
                if ok
                else f"latest {rule.column} is {latest}, older than {rule.max_age}",
            )
        elif isinstance(rule, CompletenessRule):
            if tallies.written == 0 or rule.column not in tallies.filled:
                continue
            ratio = tallies.filled[rule.column] / tallies.written
            ok = ratio >= rule.min_ratio
            add(
                rule.id,
                rule.check,
                "table",
                rule.severity,
                ok,
                observed=ratio,
                threshold=rule.min_ratio,
                message="" if ok else f"{rule.column} is filled in {ratio:.1%} of new rows",
            )
        elif isinstance(rule, VolumeAnomalyRule):
            fresh = result.rows_read
            if fresh == 0:
                continue
            baseline = _baseline(history, contract.table, rule.id, rule.window)
            ratio = fresh / baseline if baseline else 1.0
            ok = rule.min_ratio <= ratio <= rule.max_ratio
            add(
                rule.id,
                rule.check,
                "table",
                rule.severity,
                ok,
                observed=fresh,
                threshold=baseline,
                message="" if ok else f"{fresh} rows vs a usual {baseline:.0f} ({ratio:.2f}x)",
            )
        elif isinstance(rule, QuarantineRateRule):
            if result.rows_read == 0 or result.rows_read < rule.min_rows:
                continue
            ratio = result.quarantined / result.rows_read
            ok = ratio <= rule.max_ratio
            add(
                rule.id,
                rule.check,
                "table",
                rule.severity,
                ok,
                observed=ratio,
                threshold=rule.max_ratio,
                message="" if ok else f"{ratio:.1%} of rows quarantined (max {rule.max_ratio:.0%})",
            )
    con.execute("DROP TABLE IF EXISTS dq_silver")
    return rows


def _bounds(low: int | None, high: int | None) -> str:
    return f"{'-' if low is None else low}..{'-' if high is None else high}"


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    return con.execute(sql).fetchall()[0]


@dataclass
class RowTallies:
    """Row-level counts of one table's build, added up over its chunks."""

    failed: Counter[str] = field(default_factory=Counter)
    """Rows per failed rule id: held rows' rules and Silver rows' warnings."""
    filled: Counter[str] = field(default_factory=Counter)
    """Non-null values per column among the rows written to Silver."""
    written: int = 0

    def add(self, written: pa.Table, held: pa.Table) -> None:
        self.failed.update(_tally(held, "failed_rules"))
        self.failed.update(_tally(written, "_dq_warnings"))
        self.written += written.num_rows
        for name in written.column_names:
            self.filled[name] += written.num_rows - written.column(name).null_count


def _tally(data: pa.Table, column: str) -> dict[str, int]:
    if data.num_rows == 0:
        return {}
    flat = pc.list_flatten(data.column(column))
    if len(flat) == 0:
        return {}
    counts = pc.value_counts(flat).to_pylist()
    return {c["values"]: c["counts"] for c in counts}


def _baseline(history: pa.Table | None, table: str, rule_id: str, window: int) -> float | None:
    if history is None or history.num_rows == 0:
        return None
    mine = history.filter((pc.field("table_name") == table) & (pc.field("rule_id") == rule_id))
    recent = mine.sort_by([("checked_at", "descending")]).slice(0, window)
    values = [v for v in recent.column("observed").to_pylist() if v]
    return sum(values) / len(values) if values else None
