"""Table rules (unique, row_count, freshness, completeness, volume_anomaly,
quarantine_rate) and row-rule tallies, evaluated after a table's Silver build and recorded
in `_ops.dq_results`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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
from shared.parquet import local_files, parquet_scan, scanned_columns

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

    silver = _load_checked_columns(lake, con, contract)
    context = _Context(
        con,
        silver,
        "WHERE is_current" if contract.scd2 else "",
        clock,
        result,
        tallies,
        history,
        contract.table,
        list(contract.keys),
    )
    for rule in contract.table_rules:
        outcome = _TABLE_CHECKS[type(rule)](rule, context)
        if outcome is not None:
            add(
                rule.id,
                rule.check,
                "table",
                rule.severity,
                outcome.passed,
                failed=outcome.failed,
                observed=outcome.observed,
                threshold=outcome.threshold,
                message=outcome.message,
            )
    con.execute("DROP TABLE IF EXISTS dq_silver")
    return rows


def _load_checked_columns(lake: Lake, con: duckdb.DuckDBPyConnection, contract: Contract) -> bool:
    """`dq_silver`: only the Silver columns the table rules read, by DuckDB's own Parquet
    reader (which keeps to its memory limit and spills if it must). False when the table
    does not exist yet."""
    table = f"silver.{contract.table}"
    needed = {*contract.keys, "is_current"}
    for rule in contract.table_rules:
        needed.update(getattr(rule, "columns", None) or [])
        if isinstance(rule, FreshnessRule):
            needed.add(rule.column)
    if not lake.exists(table):
        return False
    with local_files(lake, con, table) as files:
        present = sorted(needed & scanned_columns(con, files))
        if present:
            columns = ", ".join(quote(c) for c in present)
            source = f"SELECT {columns} FROM {parquet_scan(files)}"
        else:  # a table with no rows yet
            con.register("dq_empty", lake.read(table, columns=sorted(needed)))
            source = "SELECT * FROM dq_empty"
        con.execute(f"CREATE OR REPLACE TEMP TABLE dq_silver AS {source}")
    return True


@dataclass(frozen=True)
class _Context:
    con: duckdb.DuckDBPyConnection
    has_silver: bool
    current: str
    """SQL restricting `dq_silver` to current versions (SCD2), or ''."""
    clock: datetime
    result: TableResult
    tallies: RowTallies
    history: pa.Table | None
    table: str
    keys: list[str]


@dataclass(frozen=True)
class _Outcome:
    passed: bool
    observed: float | None = None
    threshold: float | None = None
    failed: int = 0
    message: str = ""


def _unique(rule: UniqueRule, ctx: _Context) -> _Outcome:
    dupes = 0
    if ctx.has_silver:
        cols = ", ".join(quote(c) for c in (rule.columns or ctx.keys))
        (dupes,) = _one(
            ctx.con,
            f"SELECT count(*) FROM (SELECT {cols} FROM dq_silver "
            f"{ctx.current} GROUP BY ALL HAVING count(*) > 1)",
        )
    return _Outcome(
        dupes == 0, dupes, 0, dupes, f"{dupes} keys appear more than once" if dupes else ""
    )


def _row_count(rule: RowCountRule, ctx: _Context) -> _Outcome:
    count = 0
    if ctx.has_silver:
        (count,) = _one(ctx.con, f"SELECT count(*) FROM dq_silver {ctx.current}")
    ok = (rule.min is None or count >= rule.min) and (rule.max is None or count <= rule.max)
    return _Outcome(
        ok,
        count,
        rule.min,
        message="" if ok else f"{count} rows, expected {_bounds(rule.min, rule.max)}",
    )


def _freshness(rule: FreshnessRule, ctx: _Context) -> _Outcome:
    latest = None
    if ctx.has_silver:
        (latest,) = _one(ctx.con, f"SELECT max({quote(rule.column)}) FROM dq_silver")
    limit = parse_duration(rule.max_age)
    ok = latest is not None and ctx.clock - latest <= limit
    age = (ctx.clock - latest).total_seconds() / 3600 if latest else None
    return _Outcome(
        ok,
        age,
        limit.total_seconds() / 3600,
        message="" if ok else f"latest {rule.column} is {latest}, older than {rule.max_age}",
    )


def _completeness(rule: CompletenessRule, ctx: _Context) -> _Outcome | None:
    tallies = ctx.tallies
    if tallies.written == 0 or rule.column not in tallies.filled:
        return None
    ratio = tallies.filled[rule.column] / tallies.written
    ok = ratio >= rule.min_ratio
    return _Outcome(
        ok,
        ratio,
        rule.min_ratio,
        message="" if ok else f"{rule.column} is filled in {ratio:.1%} of new rows",
    )


def _volume(rule: VolumeAnomalyRule, ctx: _Context) -> _Outcome | None:
    fresh = ctx.result.rows_read
    if fresh == 0:
        return None
    baseline = _baseline(ctx.history, ctx.table, rule.id, rule.window)
    ratio = fresh / baseline if baseline else 1.0
    ok = rule.min_ratio <= ratio <= rule.max_ratio
    return _Outcome(
        ok,
        fresh,
        baseline,
        message="" if ok else f"{fresh} rows vs a usual {baseline:.0f} ({ratio:.2f}x)",
    )


def _quarantine_rate(rule: QuarantineRateRule, ctx: _Context) -> _Outcome | None:
    read = ctx.result.rows_read
    if read == 0 or read < rule.min_rows:
        return None
    ratio = ctx.result.quarantined / read
    ok = ratio <= rule.max_ratio
    return _Outcome(
        ok,
        ratio,
        rule.max_ratio,
        message="" if ok else f"{ratio:.1%} of rows quarantined (max {rule.max_ratio:.0%})",
    )


# One small function per check kind: (rule, context) -> outcome, or None when the rule has
# nothing to judge in this run.
_TABLE_CHECKS: dict[type, Callable[[Any, _Context], _Outcome | None]] = {
    UniqueRule: _unique,
    RowCountRule: _row_count,
    FreshnessRule: _freshness,
    CompletenessRule: _completeness,
    VolumeAnomalyRule: _volume,
    QuarantineRateRule: _quarantine_rate,
}


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
