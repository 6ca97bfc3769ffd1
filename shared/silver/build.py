"""`build silver`: validate, deduplicate, hash PII and version new Bronze batches.

Incremental: only Bronze batches not yet in `_ops.processed_batches` are read, plus the
quarantined rows that wait for a parent (or, with `replay`, every held row), which are
re-read from Bronze by lineage and judged again under the current contract.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shared.contracts import Contract, ContractSet
from shared.engine import quote, set_clock, to_arrow
from shared.lake import Lake
from shared.ops import (
    DQ_RESULTS,
    DROPPED_ROWS,
    INGEST_LEDGER,
    PROCESSED_BATCHES,
    PROCESSED_SCHEMA,
    RUNS,
    Run,
    utcnow,
)
from shared.silver import classify, outputs
from shared.silver.normalize import hmac_sql, normalise_texts, row_hash_sql
from shared.silver.table_rules import RowTallies, evaluate_table_rules
from shared.silver.validate import LINEAGE, checked_select, raw, typed_select

DEFAULT_CHUNK_ROWS = 500_000


@dataclass
class TableResult:
    """What one table's Silver build did; the counts reconcile with the rows read."""

    table: str
    batches: int = 0
    """New Bronze batches read."""
    rows_read: int = 0
    """Rows from new batches; they reconcile: silver + quarantined + duplicates +
    superseded + applied."""
    silver: int = 0
    quarantined: int = 0
    """Of them, held in quarantine (critical failure, waiting for a parent, or stale)."""
    stale: int = 0
    duplicates: int = 0
    superseded: int = 0
    applied: int = 0
    rechecked: int = 0
    """Held rows judged again (waiting for a parent, or all with --replay)."""
    released: int = 0
    """Of them, no longer held (now in Silver, or dropped as duplicate/superseded)."""
    written: int = 0
    """Rows written to the Silver table (new versions and updated ones)."""
    status_changed: int = 0
    """Rechecked held rows whose status changed (pending -> quarantined past the grace)."""
    dq: list[dict[str, Any]] = field(default_factory=list)

    @property
    def noop(self) -> bool:
        return self.rows_read == 0 and self.released == 0 and self.status_changed == 0


@dataclass
class SilverResult:
    run_id: str
    status: str
    tables: list[TableResult]

    @property
    def critical_failures(self) -> list[str]:
        return [
            d["rule_id"]
            for t in self.tables
            for d in t.dq
            if not d["passed"] and d["severity"] == "critical" and d["scope"] == "table"
        ]


@dataclass
class _RunState:
    """Bookkeeping read once per run and written once at its end."""

    processed: set[tuple[str, str]]
    dq_history: pa.Table | None
    chunk_rows: int
    marks: list[dict[str, Any]] = field(default_factory=list)
    dq: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, lake: Lake, chunk_rows: int) -> _RunState:
        done = lake.read(PROCESSED_BATCHES, columns=["table_name", "batch_id"])
        processed = set(zip(*done.to_pydict().values(), strict=True)) if done is not None else set()
        history = lake.read(DQ_RESULTS, columns=["table_name", "rule_id", "observed", "checked_at"])
        return cls(processed, history, chunk_rows)

    def save(self, lake: Lake, run_id: str) -> None:
        # Written after every table's data: a crash before this re-reads the same batches,
        # and the idempotent appends and merges of the data make that harmless.
        if self.marks:
            lake.append(
                PROCESSED_BATCHES,
                pa.Table.from_pylist(self.marks, schema=PROCESSED_SCHEMA),
                app_id=f"processed-{run_id}",
            )
        if self.dq:
            lake.append(DQ_RESULTS, pa.Table.from_pylist(self.dq), app_id=f"dq-{run_id}")


def build_silver(
    lake: Lake,
    contracts: ContractSet,
    con: duckdb.DuckDBPyConnection,
    pii_key: bytes,
    *,
    now: datetime | None = None,
    tables: list[str] | None = None,
    replay: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[TableResult], None] | None = None,
) -> SilverResult:
    """Build Silver for every contract table (parents first), or the given ones, reading
    new Bronze batches `chunk_rows` rows at a time."""
    for name in tables or []:
        contracts[name]  # an unknown table fails here, naming the known ones
    clock = now or utcnow()
    set_clock(con, clock)
    run = Run.start("silver_replay" if replay else "silver", clock)
    state = _RunState.load(lake, chunk_rows)
    results = []
    try:
        for table in contracts.build_order():
            if tables and table not in tables:
                continue
            # A cursor per table: its temp tables and registrations vanish when it closes.
            cursor = con.cursor()
            set_clock(cursor, clock)
            try:
                result = _build_table(
                    lake, contracts, cursor, contracts[table], pii_key, run, replay, state
                )
            finally:
                cursor.close()
            results.append(result)
            if progress:
                progress(result)
        state.save(lake, run.run_id)
        _compact(lake, [r.table for r in results if not r.noop])
    except Exception as exc:
        run.details = {"tables": [_summary(r) for r in results]}
        run.record(lake, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    run.rows_read = sum(r.rows_read for r in results)
    run.rows_written = sum(r.written for r in results)
    run.rows_quarantined = sum(r.quarantined for r in results)
    status = "noop" if all(r.noop for r in results) else "succeeded"
    result = SilverResult(run.run_id, status, results)
    run.details = {
        "tables": [_summary(r) for r in results],
        "critical_failures": result.critical_failures,
    }
    run.record(lake, status)
    return result


def _compact(lake: Lake, tables: list[str]) -> None:
    names = [f"{layer}.{t}" for t in tables for layer in ("silver", "quarantine")]
    for name in [*names, PROCESSED_BATCHES, DQ_RESULTS, DROPPED_ROWS, RUNS, INGEST_LEDGER]:
        lake.compact(name)


def _summary(result: TableResult) -> dict[str, Any]:
    return {k: v for k, v in result.__dict__.items() if k != "dq"}


def _build_table(
    lake: Lake,
    contracts: ContractSet,
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    pii_key: bytes,
    run: Run,
    replay: bool,
    state: _RunState,
) -> TableResult:
    table = contract.table
    result = TableResult(table)
    bronze = lake.dataset(f"bronze.{table}")
    if bronze is None:
        return result
    batches = _new_batches(con, bronze, table, state.processed)
    retry = _retry_lineage(lake, table, replay)
    if not batches and retry.num_rows == 0:
        return result
    result.batches = len(batches)
    present = set(bronze.schema.names)
    carried = sorted(c for c in present if c not in contract.columns and not c.startswith("_"))
    tallies = RowTallies()
    # Batches are built in arrival order, a chunk at a time, so memory does not grow with
    # the backlog; each chunk is exactly what one build of those batches would do.
    for number, chunk in enumerate(_chunks(batches, state.chunk_rows)):
        cursor = con.cursor()
        set_clock(cursor, run.started_at)
        try:
            chunk_input = _Input(bronze, chunk, retry if number == 0 else retry.slice(0, 0))
            _build_chunk(
                lake,
                contracts,
                cursor,
                contract,
                pii_key,
                run,
                chunk_input,
                carried,
                result,
                tallies,
            )
        finally:
            cursor.close()
        state.marks += [
            {"table_name": table, "batch_id": b, "run_id": run.run_id, "processed_at": utcnow()}
            for b in chunk
        ]
    result.dq = evaluate_table_rules(
        lake, con, contract, result, run.run_id, tallies, state.dq_history
    )
    state.dq += result.dq
    return result


@dataclass
class _Input:
    bronze: Any
    batches: list[str]
    retry: pa.Table


def _chunks(batches: list[tuple[str, int]], limit: int) -> list[list[str]]:
    """Consecutive groups of batches of at most `limit` rows (a larger batch alone);
    one empty group when there are no new batches (held rows may still be rechecked)."""
    groups: list[list[str]] = [[]]
    size = 0
    for batch_id, rows in batches:
        if groups[-1] and size + rows > limit:
            groups.append([])
            size = 0
        groups[-1].append(batch_id)
        size += rows
    return groups


def _build_chunk(
    lake: Lake,
    contracts: ContractSet,
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    pii_key: bytes,
    run: Run,
    chunk: _Input,
    carried: list[str],
    result: TableResult,
    tallies: RowTallies,
) -> None:
    table = contract.table
    new_batches = chunk.batches
    _load_input(con, chunk.bronze, new_batches, chunk.retry)
    present = set(chunk.bronze.schema.names)
    _register_known(lake, con, contracts, contract)
    params = {"run_id": run.run_id, "contract_version": contract.version}
    _classify(con, contract, present, carried, pii_key, lake, table)

    to_silver, dropped, replaces = _decide(con, contract, carried, params)
    fates = con.execute(
        f"SELECT _origin, fate, count(*) FROM ({classify.fates_sql(contract)}) GROUP BY ALL"
    ).fetchall()
    new = {fate: n for origin, fate, n in fates if origin == "new"}
    result.rows_read += sum(new.values())
    result.silver += new.get("silver", 0)
    result.quarantined += new.get("quarantine", 0)
    result.duplicates += new.get("duplicate", 0)
    result.superseded += new.get("superseded", 0)
    result.applied += new.get("applied", 0)
    result.rechecked += sum(n for origin, _, n in fates if origin == "retry")
    result.stale += con.execute(
        "SELECT count(*) FROM candidates WHERE _stale AND _origin = 'new'"
    ).fetchall()[0][0]
    quarantine = to_arrow(con, outputs.quarantine_rows_sql(contract, carried), params)
    released = to_arrow(
        con,
        """
        SELECT _batch_id, _row_number, 'released' AS status, $run_id AS released_run_id,
            run_now() AS released_at, run_now() AS checked_at
        FROM bronze_in b WHERE _origin = 'retry' AND NOT EXISTS (
            SELECT 1 FROM outcomes o WHERE o._outcome = 'quarantine'
              AND o._batch_id = b._batch_id AND o._row_number = b._row_number)
          AND NOT EXISTS (SELECT 1 FROM candidates c WHERE c._stale
              AND c._batch_id = b._batch_id AND c._row_number = b._row_number)
        """,
        params,
    )
    result.written += to_silver.num_rows
    result.released += released.num_rows
    con.register("held_out", quarantine)
    split = (
        "SELECT q.* FROM held_out q JOIN bronze_in b "
        "ON q._batch_id = b._batch_id AND q._row_number = b._row_number WHERE "
    )
    held_new = to_arrow(con, split + "b._origin = 'new'")
    held_changed = to_arrow(con, split + "b._origin = 'retry' AND q.status <> b._held_status")
    result.status_changed += held_changed.num_rows
    digest = hashlib.sha256("\n".join(new_batches).encode()).hexdigest()[:24]
    write_id = digest if new_batches else run.run_id
    _write(
        lake,
        contract,
        _Outputs(to_silver, replaces, held_new, held_changed, released, dropped),
        write_id,
    )
    tallies.add(to_silver, held_new)


def _new_batches(
    con: duckdb.DuckDBPyConnection, bronze: Any, table: str, processed: set[tuple[str, str]]
) -> list[tuple[str, int]]:
    """Bronze batches not yet built, with their row counts, in arrival order."""
    con.register("bronze_scan", bronze)
    batches = con.execute(
        "SELECT _batch_id, count(*) FROM bronze_scan GROUP BY _batch_id "
        "ORDER BY min(_ingested_at), _batch_id"
    ).fetchall()
    con.unregister("bronze_scan")
    return [(b, n) for b, n in batches if (table, b) not in processed]


def _retry_lineage(lake: Lake, table: str, replay: bool) -> pa.Table:
    held = lake.read(
        f"quarantine.{table}",
        columns=["_batch_id", "_row_number", "status", "retryable"],
        filter=pc.field("status") != "released",
    )
    if held is None:
        return pa.table(
            {
                "_batch_id": pa.array([], pa.string()),
                "_row_number": pa.array([], pa.int64()),
                "_held_status": pa.array([], pa.string()),
            }
        )
    if not replay:
        held = held.filter(pc.field("retryable"))
    return held.select(["_batch_id", "_row_number", "status"]).rename_columns(
        ["_batch_id", "_row_number", "_held_status"]
    )


def _load_input(
    con: duckdb.DuckDBPyConnection, bronze: Any, new_batches: list[str], retry: pa.Table
) -> None:
    batches = set(new_batches) | set(retry.column("_batch_id").to_pylist())
    rows = normalise_texts(bronze.to_table(filter=pc.field("_batch_id").isin(sorted(batches))))
    con.register("bronze_rows", rows)
    con.register("retry_lineage", retry)
    con.register("new_batches", pa.table({"_batch_id": pa.array(new_batches, pa.string())}))
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE bronze_in AS
        SELECT b.*, CASE WHEN b._batch_id IN (SELECT _batch_id FROM new_batches)
                         THEN 'new' ELSE 'retry' END AS _origin,
            (SELECT r._held_status FROM retry_lineage r
             WHERE r._batch_id = b._batch_id AND r._row_number = b._row_number) AS _held_status
        FROM bronze_rows b
        WHERE b._batch_id IN (SELECT _batch_id FROM new_batches)
           OR EXISTS (SELECT 1 FROM retry_lineage r
                      WHERE r._batch_id = b._batch_id AND r._row_number = b._row_number)
        """
    )
    for name in ("bronze_rows", "retry_lineage", "new_batches"):
        con.unregister(name)


def _register_known(
    lake: Lake, con: duckdb.DuckDBPyConnection, contracts: ContractSet, contract: Contract
) -> None:
    """Parent keys for each references rule: keys in the parent's Silver or quarantine
    (a quarantined parent has arrived; its own problem is reported on its own table)."""
    for i, rule in enumerate(contract.references):
        parts = []
        silver = lake.read(f"silver.{rule.table}", columns=[rule.to])
        if silver is not None:
            con.register(f"parent_silver_{i}", silver)
            parts.append(f"SELECT CAST({quote(rule.to)} AS VARCHAR) AS key FROM parent_silver_{i}")
        held = lake.read(f"quarantine.{rule.table}", columns=[rule.to, "status"])
        if held is not None and rule.to in contracts[rule.table].keys:
            con.register(f"parent_held_{i}", held)
            parts.append(
                f"SELECT {quote(rule.to)} AS key FROM parent_held_{i} WHERE status <> 'released'"
            )
        union = " UNION ".join(parts) or "SELECT NULL::VARCHAR AS key WHERE false"
        # NULL keys are left out: one NULL would make every `NOT IN` unknown, i.e. passing.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE parent_keys_{i} AS "
            f"SELECT key FROM ({union}) WHERE key IS NOT NULL"
        )


def _classify(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    present: set[str],
    carried: list[str],
    pii_key: bytes,
    lake: Lake,
    table: str,
) -> None:
    parent_keys = {rule.id: f"parent_keys_{i}" for i, rule in enumerate(contract.references)}
    typed = typed_select(contract, present, "bronze_in", [*carried, "_origin"])
    checked = f"({checked_select(contract, f'({typed})', parent_keys)})"
    replaced = ", ".join(
        f"{hmac_sql(f'lower({raw(c)})', pii_key)} AS {quote(c)}, "
        f"{hmac_sql(f'lower({raw(c)})', pii_key)} AS {raw(c)}"
        for c in contract.pii_columns
    )
    source = f"(SELECT * REPLACE ({replaced}) FROM {checked})" if replaced else checked
    # The hash is over typed values, so the same row sent as CSV text and as Parquet with
    # native types (or "12.5" and "12.50") is one row; text that did not type counts as is.
    hashed = row_hash_sql(
        [f"coalesce(CAST({quote(c)} AS VARCHAR), {raw(c)})" for c in contract.columns]
        + [quote(c) for c in carried]
    )
    # The one wide table of the build; later steps carry only its rowid (as `_rid`), keys
    # and lineage.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE rows AS
        SELECT *, {hashed} AS _row_hash, {classify.seq_expr(contract)} AS _seq,
            _warnings AS _dq_warnings
        FROM {source}"""
    )
    _register_existing(lake, con, contract, table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE outcomes AS {classify.outcome_sql(contract)}")
    _register_current(lake, con, contract, carried)
    con.execute(f"CREATE OR REPLACE TEMP TABLE candidates AS {classify.candidates_sql(contract)}")


def _register_existing(
    lake: Lake, con: duckdb.DuckDBPyConnection, contract: Contract, table: str
) -> None:
    """`silver_seen` (hash and lineage of every Silver row, streamed into DuckDB, which
    spills under its memory limit) and `known` (hash and lineage of rows held in Silver,
    quarantine or dropped as superseded, for the content hashes of this input)."""
    lineage = ["_row_hash", "_batch_id", "_row_number"]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE silver_seen AS SELECT _row_hash, _batch_id, _row_number "
        "FROM rows LIMIT 0"
    )
    silver = lake.stream(f"silver.{table}", lineage)
    if silver is not None:
        con.register("silver_scan", silver)
        con.execute("INSERT INTO silver_seen SELECT * FROM silver_scan")
        con.unregister("silver_scan")
    parts = ["SELECT _row_hash, _batch_id, _row_number FROM silver_seen"]
    held = lake.read(f"quarantine.{table}", columns=[*lineage, "status"])
    if held is not None:
        con.register("held_scan", held)
        parts.append(
            "SELECT _row_hash, _batch_id, _row_number FROM held_scan WHERE status <> 'released'"
        )
    # A copy of a version that was later superseded is still a copy, not a stale record.
    gone = lake.read(DROPPED_ROWS, columns=lineage, filter=pc.field("table_name") == table)
    if gone is not None:
        con.register("dropped_scan", gone)
        parts.append("SELECT _row_hash, _batch_id, _row_number FROM dropped_scan")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE known AS
        SELECT * FROM ({" UNION ALL ".join(parts)})
        WHERE _row_hash IN (SELECT _row_hash FROM rows)"""
    )


def _register_current(
    lake: Lake, con: duckdb.DuckDBPyConnection, contract: Contract, carried: list[str]
) -> None:
    """`silver_cur`: the current Silver rows of the keys among this input's candidates,
    filtered from a stream of the table."""
    cols = outputs.silver_columns(contract, carried)
    scd = ["valid_from", "valid_to", "is_current"] if contract.scd2 else []
    wanted = [*cols, *scd, "_row_hash", *LINEAGE, "_dq_warnings"]
    empty = ", ".join(
        [quote(c) for c in cols]
        + [
            f"NULL::{t} AS {c}"
            for c, t in zip(scd, ("TIMESTAMP", "TIMESTAMP", "BOOLEAN"), strict=False)
        ]
        + ["_row_hash", *LINEAGE, "_dq_warnings"]
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE silver_cur AS SELECT {empty} FROM rows LIMIT 0")
    silver = lake.stream(f"silver.{contract.table}", wanted)
    if silver is None:
        return
    con.register("silver_scan", silver)
    names = set(silver.schema.names)
    shape = ", ".join(quote(c) if c in names else f"NULL AS {quote(c)}" for c in wanted)
    current = "s.is_current AND " if contract.scd2 else ""
    con.execute(
        f"""INSERT INTO silver_cur BY NAME
        SELECT {shape} FROM silver_scan s
        WHERE {current}EXISTS (SELECT 1 FROM outcomes o WHERE o._outcome = 'candidate'
                               AND {classify.keys_match(contract, "o", "s")})"""
    )
    con.unregister("silver_scan")


def _decide(
    con: duckdb.DuckDBPyConnection, contract: Contract, carried: list[str], params: dict[str, Any]
) -> tuple[pa.Table, pa.Table, bool]:
    """Silver rows to write, dropped-row records, and whether any write replaces a row."""
    dropped_parts = [
        outputs.dropped_rows_sql(
            contract,
            "(SELECT * FROM outcomes WHERE _outcome = 'duplicate')",
            "exact_duplicate",
            raw_keys=True,
        )
    ]
    if contract.scd2:
        cols = outputs.silver_columns(contract, carried)
        con.execute(f"CREATE OR REPLACE TEMP TABLE placed AS {classify.scd2_sql(contract, cols)}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE versions AS {classify.scd2_versions_sql(contract)}"
        )
        to_silver = to_arrow(con, outputs.silver_rows_sql(contract, carried, "versions"), params)
        dropped_parts.append(
            outputs.dropped_rows_sql(
                contract, "(SELECT * FROM placed WHERE _pos > 1)", "superseded"
            )
        )
        dropped_parts.append(
            outputs.dropped_rows_sql(
                contract,
                f"(SELECT * FROM candidates WHERE NOT _stale AND NOT {classify.beats_silver()})",
                "superseded",
            )
        )
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE decided AS {classify.latest_sql(contract)}")
        winners = "(SELECT r.* FROM rows r SEMI JOIN decided d ON r.rowid = d._rid AND d._wins)"
        to_silver = to_arrow(con, outputs.silver_rows_sql(contract, carried, winners), params)
        dropped_parts.append(
            outputs.dropped_rows_sql(
                contract, "(SELECT * FROM decided WHERE NOT _wins)", "superseded"
            )
        )
        dropped_parts.append(
            outputs.dropped_rows_sql(
                contract,
                "(SELECT * FROM decided WHERE _wins AND _silver_batch IS NOT NULL)",
                "superseded",
                prefix="_silver_",
            )
        )
    dropped = to_arrow(con, " UNION ALL ".join(dropped_parts), params)
    touched = (
        "SELECT count(*) FROM placed WHERE _existing"
        if contract.scd2
        else "SELECT count(*) FROM decided WHERE _wins AND _silver_batch IS NOT NULL"
    )
    replaces = bool(con.execute(touched).fetchall()[0][0])
    return to_silver, dropped, replaces


def _write(
    lake: Lake,
    contract: Contract,
    outputs_: _Outputs,
    write_id: str,
) -> None:
    """Silver first, then quarantine and dropped rows. Appends carry an idempotency id
    derived from the input batches, so a re-run after a crash does not add them twice;
    MERGE is used only where existing rows change."""
    table = contract.table
    silver = f"silver.{table}"
    if not outputs_.replaces:
        lake.append(silver, outputs_.silver, app_id=f"silver-{table}-{write_id}")
    elif contract.scd2:
        lake.upsert(silver, outputs_.silver, keys=[*contract.keys, "valid_from"])
    else:
        lake.upsert(silver, outputs_.silver, keys=list(contract.keys))
    lineage = ["_batch_id", "_row_number"]
    held = f"quarantine.{table}"
    lake.append(held, outputs_.held_new, app_id=f"quarantine-{table}-{write_id}")
    if outputs_.held_changed.num_rows:
        keep_first_seen = [c for c in outputs_.held_changed.column_names if c != "quarantined_at"]
        lake.upsert(
            held, outputs_.held_changed, keys=lineage, update_columns=keep_first_seen, insert=False
        )
    if outputs_.released.num_rows:
        lake.upsert(
            held,
            outputs_.released,
            keys=lineage,
            update_columns=["status", "released_run_id", "released_at", "checked_at"],
            insert=False,
        )
    lake.append(DROPPED_ROWS, outputs_.dropped, app_id=f"dropped-{table}-{write_id}")


@dataclass
class _Outputs:
    silver: pa.Table
    replaces: bool
    """Whether any Silver row is replaced (MERGE) rather than only added (append)."""
    held_new: pa.Table
    held_changed: pa.Table
    """Rechecked held rows whose status changed (pending -> quarantined)."""
    released: pa.Table
    dropped: pa.Table
