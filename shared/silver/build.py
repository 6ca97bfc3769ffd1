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

from shared.background import BackgroundWriter
from shared.contracts import Contract, ContractSet
from shared.engine import memory_capped, memory_limit, quote, set_clock, to_arrow
from shared.lake import Lake
from shared.ops import (
    DQ_RESULTS,
    PROCESSED_BATCHES,
    PROCESSED_SCHEMA,
    Run,
    utcnow,
)
from shared.parquet import local_files
from shared.silver import classify, lake_io, outputs, staging
from shared.silver.normalize import hmac_sql, row_hash_sql
from shared.silver.table_rules import RowTallies, evaluate_table_rules
from shared.silver.validate import checked_select, raw, typed_select

# Rows per chunk for each GB of DuckDB's memory limit: 500,000 at the 768 MB a 1.5 GB
# instance gives DuckDB. At 2 GB, the 1M benchmark's Silver took 7.6-7.7 s in one chunk per
# table against 8.4-8.5 s in chunks of 500,000 (peak 2.0-2.1 GB against 1.1-1.2 GB); a 10M
# first load, 91.4 s in chunks of 1.34M against 96.8 s (peak 2.9 GB against 2.4 GB).
CHUNK_ROWS_PER_GB = 650_000
WRITE_MEMORY = 256 * 1024 * 1024


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
    """succeeded, failed, or skipped (another Silver build holds the lease)."""
    tables: list[TableResult]
    note: str = ""

    @property
    def critical_failures(self) -> list[str]:
        return [
            d["rule_id"]
            for t in self.tables
            for d in t.dq
            if not d["passed"] and d["severity"] == "critical" and d["scope"] == "table"
        ]


def default_chunk_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows per chunk for DuckDB's memory limit on `con`: CHUNK_ROWS_PER_GB per GB."""
    return max(1, round(CHUNK_ROWS_PER_GB * memory_limit(con) / 1e9))


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
    chunk_rows: int = 0,
    progress: Callable[[TableResult], None] | None = None,
) -> SilverResult:
    """Build Silver for every contract table (parents first), or the given ones, reading
    new Bronze batches about `chunk_rows` rows at a time (0: CHUNK_ROWS_PER_GB for each GB
    of `con`'s memory limit)."""
    for name in tables or []:
        contracts[name]  # an unknown table fails here, naming the known ones
    clock = now or utcnow()
    set_clock(con, clock)
    run = Run.start("silver_replay" if replay else "silver", clock)
    state = _RunState.load(lake, chunk_rows if chunk_rows > 0 else default_chunk_rows(con))
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
        lake_io.compact(lake, [r.table for r in results if not r.noop])
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
    arrivals = lake_io.bronze_batches(con, bronze)
    batches = [(b, n) for b, n, _ in arrivals if (table, b) not in state.processed]
    retry = lake_io.retry_lineage(lake, table, replay)
    if not batches and retry.num_rows == 0:
        return result
    result.batches = len(batches)
    present = set(bronze.schema.names)
    carried = sorted(c for c in present if c not in contract.columns and not c.startswith("_"))
    tallies = RowTallies()
    new_ids = [b for b, _ in batches]
    chunks = staging.chunk_count(sum(n for _, n in batches), state.chunk_rows)
    # State that chunks compare with is read once, before any chunk writes: chunks have
    # disjoint keys, so nothing one writes concerns another (see `staging`).
    lake_io.register_parent_keys(lake, con, contracts, contract)
    # Every Bronze batch's place in arrival order, for `classify` to order versions by.
    con.register(
        "batch_arrival",
        pa.table(
            {
                "_batch_id": pa.array([b for b, _, _ in arrivals], pa.string()),
                "_arrival": pa.array(range(len(arrivals)), pa.int32()),
            }
        ),
    )
    wanted = lake_io.silver_columns_read(contract, carried)
    held_ids = retry.column("_batch_id").to_pylist()
    wanted_batches = {*new_ids, *held_ids}
    # Batch ids are content hashes, so their statistics prune no file; arrival times do.
    since = min((at for b, _, at in arrivals if b in wanted_batches), default=None)
    with (
        lake_io.prior_dropped(lake, con, table) as dropped_files,
        local_files(lake, con, f"bronze.{table}", column="_ingested_at", low=since) as bronze_files,
        local_files(lake, con, f"silver.{table}") as silver_files,
        staging.Backlog(
            con,
            contract,
            staging.Bronze(bronze_files, bronze.schema),
            new_ids,
            retry,
            chunks,
        ) as backlog,
        BackgroundWriter("silver-write") as writer,
    ):
        lake_io.register_prior_known(lake, con, contract, dropped_files)
        backlog.stage_silver(silver_files, wanted)
        for number in backlog:
            # The bounds come from a sample of the input, held rows included: a retry whose
            # input changed cuts other chunks, which must not reuse the first run's ids.
            layout = "\n".join([f"{number}/{chunks}", *backlog.bounds]) if chunks > 1 else ""
            digest = "\n".join(new_ids) + (f"\n{layout}" if layout else "")
            write_id = hashlib.sha256(digest.encode()).hexdigest()[:24] if new_ids else run.run_id
            _build_chunk(
                lake,
                con,
                contract,
                pii_key,
                run,
                _Chunk(backlog.silver_rows(number), write_id),
                carried,
                result,
                tallies,
                writer,
            )
    state.marks += [
        {"table_name": table, "batch_id": b, "run_id": run.run_id, "processed_at": utcnow()}
        for b in new_ids
    ]
    result.dq = evaluate_table_rules(
        lake, con, contract, result, run.run_id, tallies, state.dq_history
    )
    state.dq += result.dq
    return result


@dataclass
class _Chunk:
    silver: str | None
    """Relation of the existing Silver rows of this chunk's keys (a superset), or None."""
    write_id: str
    """Idempotency id of this chunk's appends."""


def _build_chunk(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    pii_key: bytes,
    run: Run,
    chunk: _Chunk,
    carried: list[str],
    result: TableResult,
    tallies: RowTallies,
    writer: BackgroundWriter,
) -> None:
    """Build the input rows in `bronze_in` (one chunk of the table's input); its writes go
    to `writer`, so they overlap the next chunk's SQL."""
    present = set(con.sql("SELECT * FROM bronze_in LIMIT 0").columns)
    # `_processed_at` is wall-clock time, not the run's clock: Gold reads Silver
    # incrementally from it, so it must only move forward.
    params = {
        "run_id": run.run_id,
        "contract_version": contract.version,
        "processed_at": utcnow(),
    }
    _classify(con, contract, present, carried, pii_key, chunk.silver)

    to_silver, dropped = _decide(con, contract, carried, params)
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
    retried = sum(n for origin, _, n in fates if origin == "retry")
    result.rechecked += retried
    result.stale += con.execute(
        "SELECT count(*) FROM candidates WHERE _stale AND _origin = 'new'"
    ).fetchall()[0][0]
    quarantine = to_arrow(con, outputs.quarantine_rows_sql(contract, carried), params)
    released = to_arrow(
        con,
        """
        SELECT _batch_id, _row_number, 'released' AS status, $run_id AS released_run_id,
            run_now() AS released_at, run_now() AS checked_at
        FROM rows WHERE _origin = 'retry'
          AND rowid NOT IN (SELECT _rid FROM outcomes WHERE _outcome = 'quarantine')
          AND rowid NOT IN (SELECT _rid FROM candidates WHERE _stale)
        """,
        params,
    )
    result.written += to_silver.adding.num_rows + to_silver.replacing.num_rows
    result.released += released.num_rows
    if retried:
        con.register("held_out", quarantine)
        split = (
            "SELECT q.* FROM held_out q JOIN bronze_in b "
            "ON q._batch_id = b._batch_id AND q._row_number = b._row_number WHERE "
        )
        held_new = to_arrow(con, split + "b._origin = 'new'")
        held_changed = to_arrow(con, split + "b._origin = 'retry' AND q.status <> b._held_status")
    else:  # every held row is new: nothing to split
        held_new, held_changed = quarantine, quarantine.slice(0, 0)
    result.status_changed += held_changed.num_rows
    _drop_chunk_tables(con, contract)
    outputs_ = lake_io.Outputs(to_silver, held_new, held_changed, released, dropped)

    def write() -> None:
        lake_io.write_results(lake, contract, outputs_, chunk.write_id)

    if to_silver.replacing.num_rows:
        # A delta-rs MERGE reads and rewrites Silver files outside DuckDB's limit: it runs
        # alone, with DuckDB's buffers given up first (the chunk's own tables are gone by
        # then; a staged backlog spills), so the two do not peak together.
        writer.wait()
        with memory_capped(con, WRITE_MEMORY):
            write()
    else:
        # Appends encode a file at a time beside the next chunk's SQL. Spilling before
        # them made a 1M first build 15% slower.
        writer.submit(write)
    tallies.add(to_silver.rows, held_new)


# The temp tables of one chunk's decisions, rebuilt by each chunk.
_CHUNK_TABLES = (
    "bronze_in",
    "rows",
    "silver_keyed",
    "known",
    "outcomes",
    "silver_cur",
    "candidates",
    "decided_wins",
    "scd_fresh",
    "replaced_current",
    "placed",
    "versions",
)


def _drop_chunk_tables(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Drop the chunk's tables once its results are in Arrow: lowering DuckDB's limit for a
    MERGE spilled them to disk first, 1.4 s of a daily build at 10M order lines."""
    chunk_parent_keys = [f"chunk_parent_keys_{i}" for i in range(len(contract.references))]
    for name in (*_CHUNK_TABLES, *chunk_parent_keys):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _classify(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    present: set[str],
    carried: list[str],
    pii_key: bytes,
    silver: str | None,
) -> None:
    parent_keys = lake_io.register_chunk_parent_keys(con, contract, present)
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
            _warnings AS _dq_warnings, len(_failures) > 0 AS _failed
        FROM {source}"""
    )
    lake_io.register_existing(con, contract, carried, silver)
    con.execute(f"CREATE OR REPLACE TEMP TABLE outcomes AS {classify.outcome_sql(contract)}")
    lake_io.register_current(con, contract)
    con.execute(f"CREATE OR REPLACE TEMP TABLE candidates AS {classify.candidates_sql(contract)}")


def _decide(
    con: duckdb.DuckDBPyConnection, contract: Contract, carried: list[str], params: dict[str, Any]
) -> tuple[lake_io.SilverRows, pa.Table]:
    """Silver rows to write and dropped-row records."""
    dropped_parts = [
        outputs.dropped_rows_sql(
            contract,
            "(SELECT * FROM rows WHERE rowid IN "
            "(SELECT _rid FROM outcomes WHERE _outcome = 'duplicate'))",
            "exact_duplicate",
            raw_keys=True,
        )
    ]
    if contract.scd2:
        cols = outputs.silver_columns(contract, carried)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE scd_fresh AS {classify.scd2_fresh_sql(contract)}"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE replaced_current AS "
            f"{classify.replaced_current_sql(contract)}"
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE placed AS {classify.scd2_sql(contract, cols)}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE versions AS {classify.scd2_versions_sql(contract)}"
        )
        silver_rows = outputs.silver_rows_sql(contract, carried, "versions")
        dropped_parts.append(
            outputs.dropped_rows_sql(
                contract,
                "(SELECT * FROM placed WHERE _pos > 1 UNION ALL BY NAME SELECT * FROM "
                f"{classify.with_lineage('scd_fresh')} WHERE _collapsed UNION ALL BY NAME "
                "SELECT * FROM replaced_current)",
                "superseded",
            )
        )
        dropped_parts.append(
            outputs.dropped_rows_sql(
                contract,
                f"(SELECT * FROM {classify.with_lineage('candidates')} "
                f"WHERE NOT _stale AND NOT {classify.beats_silver()})",
                "superseded",
            )
        )
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE decided_wins AS {classify.latest_sql(contract)}")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW decided AS "
            "SELECT c.*, d._wins FROM candidates c JOIN decided_wins d USING (_rid)"
        )
        winners = (
            "(SELECT r.* FROM rows r SEMI JOIN decided_wins d ON r.rowid = d._rid AND d._wins)"
        )
        silver_rows = outputs.silver_rows_sql(contract, carried, winners)
        dropped_parts.append(
            outputs.dropped_rows_sql(
                contract,
                f"(SELECT * FROM {classify.with_lineage('decided')} WHERE NOT _wins)",
                "superseded",
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
    to_silver = lake_io.SilverRows.split(
        to_arrow(con, outputs.replacing_sql(contract, silver_rows), params)
    )
    return to_silver, dropped
