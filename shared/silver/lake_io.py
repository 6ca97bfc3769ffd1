"""What a Silver build reads from and writes to the lake: new Bronze batches, held rows
to recheck, parent keys, existing Silver rows (streamed into DuckDB), and the writes of
its results. The decisions themselves are SQL in `classify`, `validate` and `outputs`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shared.contracts import Contract, ContractSet
from shared.engine import literal, quote
from shared.lake import Lake
from shared.ops import DQ_RESULTS, DROPPED_ROWS, INGEST_LEDGER, PROCESSED_BATCHES, RUNS
from shared.parquet import local_files, parquet_scan
from shared.silver import classify, outputs
from shared.silver.validate import LINEAGE


def compact(lake: Lake, tables: list[str]) -> None:
    """Compact the Silver and quarantine tables a build wrote, and the bookkeeping tables,
    and delete the files they stopped using past the lake's retention. Silver and
    quarantine tables a build left alone are not touched: a vacuum that deletes files
    commits, and Gold would take that for a change of its input."""
    names = [f"{layer}.{t}" for t in tables for layer in ("silver", "quarantine")]
    for name in [*names, PROCESSED_BATCHES, DQ_RESULTS, DROPPED_ROWS, RUNS, INGEST_LEDGER]:
        lake.compact(name)
        lake.vacuum(name)


def bronze_batches(con: duckdb.DuckDBPyConnection, bronze: Any) -> list[tuple[str, int, Any]]:
    """Every Bronze batch with its row count and arrival time, in arrival order."""
    con.register("bronze_scan", bronze)
    batches = con.execute(
        "SELECT _batch_id, count(*), min(_ingested_at) FROM bronze_scan GROUP BY _batch_id "
        "ORDER BY min(_ingested_at), _batch_id"
    ).fetchall()
    con.unregister("bronze_scan")
    return [(b, n, at) for b, n, at in batches]


def retry_lineage(lake: Lake, table: str, replay: bool) -> pa.Table:
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


def register_parent_keys(
    lake: Lake, con: duckdb.DuckDBPyConnection, contracts: ContractSet, contract: Contract
) -> None:
    """Parent keys for each references rule: keys in the parent's Silver or quarantine
    (a quarantined parent has arrived; its own problem is reported on its own table)."""
    for i, rule in enumerate(contract.references):
        parts = []
        held = None
        if rule.to in contracts[rule.table].keys:
            held = lake.read(f"quarantine.{rule.table}", columns=[rule.to, "status"])
        if held is not None:
            con.register(f"parent_held_{i}", held)
            parts.append(
                f"SELECT {quote(rule.to)} AS key FROM parent_held_{i} WHERE status <> 'released'"
            )
        # A parent such as orders has as many keys as the lake has orders: read by DuckDB's
        # Parquet reader (5M order keys taken in from Arrow took the process 0.3 GB over
        # DuckDB's limit in a daily build of the 10M lake).
        with local_files(lake, con, f"silver.{rule.table}") as files:
            if files:
                key = f"CAST({quote(rule.to)} AS VARCHAR)"
                parts.append(f"SELECT {key} AS key FROM {parquet_scan(files)}")
            union = " UNION ".join(parts) or "SELECT NULL::VARCHAR AS key WHERE false"
            # NULL keys are left out: one NULL would make every `NOT IN` unknown (passing).
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE parent_keys_{i} AS "
                f"SELECT key FROM ({union}) WHERE key IS NOT NULL"
            )
        if held is not None:
            con.unregister(f"parent_held_{i}")


def register_chunk_parent_keys(
    con: duckdb.DuckDBPyConnection, contract: Contract, present: set[str]
) -> dict[str, str]:
    """`chunk_parent_keys_<i>`: the parent keys of references rule i that this chunk's
    rows name (from `parent_keys_<i>`); returns the relation of each rule id. Checking a
    chunk against all of a parent's keys built a hash table of them per chunk: 5M order
    keys for every chunk of order lines at 10M, half a second each under memory pressure.
    The values are the checked ones, typed and cast back to text as `validate` does."""
    relations = {}
    for i, rule in enumerate(contract.references):
        if rule.column not in present:
            # The column is NULL in every row, which no references check looks up.
            relations[rule.id] = f"parent_keys_{i}"
            continue
        name = f"chunk_parent_keys_{i}"
        relations[rule.id] = name
        column = quote(rule.column)
        value = f"CAST(TRY_CAST({column} AS {contract.columns[rule.column].sql_type}) AS VARCHAR)"
        # An inner join builds its hash table on the smaller side, the chunk's values.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {name} AS
            SELECT p.key FROM parent_keys_{i} p
            JOIN (SELECT DISTINCT {value} AS key FROM bronze_in) c ON p.key = c.key"""
        )
    return relations


def silver_columns_read(contract: Contract, carried: list[str]) -> list[str]:
    """The Silver columns a build compares new rows with."""
    scd = ["valid_from", "valid_to", "is_current"] if contract.scd2 else []
    return [*outputs.silver_columns(contract, carried), *scd, "_row_hash", *LINEAGE, "_dq_warnings"]


def prior_dropped(
    lake: Lake, con: duckdb.DuckDBPyConnection, table: str
) -> AbstractContextManager[list[str]]:
    """A context giving the files of `_ops.dropped_rows` that may hold rows of `table`: the
    dropped rows of every table are one table, and DuckDB's Parquet reader takes only the
    files whose statistics admit this one (a build writes one table's rows at a time)."""
    return local_files(lake, con, DROPPED_ROWS, column="table_name", low=table, high=table)


def register_prior_known(
    lake: Lake, con: duckdb.DuckDBPyConnection, contract: Contract, dropped_files: list[str]
) -> None:
    """`prior_known`: hash and lineage of the rows held in quarantine or dropped as
    superseded before this table's build (`dropped_files`, from `prior_dropped`, read while
    they exist); a copy of a version that was later superseded is still a copy, not a stale
    record. A view: each chunk takes just its own hashes from the files (DuckDB filters the
    scan by them), where copying every dropped hash of the table first took 3 s of a daily
    build at 10M order lines."""
    lineage = ["_row_hash", "_batch_id", "_row_number"]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE prior_held AS SELECT NULL::VARCHAR AS _row_hash, "
        "NULL::VARCHAR AS _batch_id, NULL::BIGINT AS _row_number WHERE false"
    )
    held = lake.read(f"quarantine.{contract.table}", columns=[*lineage, "status"])
    if held is not None:
        con.register("held_scan", held)
        con.execute(
            "INSERT INTO prior_held SELECT _row_hash, _batch_id, _row_number FROM held_scan "
            "WHERE status <> 'released'"
        )
        con.unregister("held_scan")
    parts = ["SELECT * FROM prior_held"]
    if dropped_files:
        parts.append(
            f"SELECT _row_hash, _batch_id, _row_number FROM {parquet_scan(dropped_files)} "
            f"WHERE table_name = {literal(contract.table)}"
        )
    con.execute(f"CREATE OR REPLACE TEMP VIEW prior_known AS {' UNION ALL '.join(parts)}")


def register_existing(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    carried: list[str],
    silver: str | None,
) -> None:
    """From `silver` (a relation of existing Silver rows with the columns of
    `silver_columns_read`, or None): `silver_keyed` (every
    version of the keys in this input; exact copies and re-runs can only be among them),
    `silver_seen` (their hash and lineage) and `known` (hash and lineage of rows held in
    Silver, quarantine or dropped as superseded, for the content hashes of this input)."""
    cols = outputs.silver_columns(contract, carried)
    scd = ["valid_from", "valid_to", "is_current"] if contract.scd2 else []
    empty = ", ".join(
        [quote(c) for c in cols]
        + [
            f"NULL::{t} AS {c}"
            for c, t in zip(scd, ("TIMESTAMP", "TIMESTAMP", "BOOLEAN"), strict=False)
        ]
        + ["_row_hash", *LINEAGE, "_dq_warnings"]
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE silver_keyed AS SELECT {empty} FROM rows LIMIT 0")
    if silver is not None:
        con.execute(
            f"""INSERT INTO silver_keyed BY NAME
            SELECT * FROM {silver} s
            WHERE EXISTS (SELECT 1 FROM rows r WHERE {classify.keys_match(contract, "r", "s")})"""
        )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW silver_seen AS "
        "SELECT _row_hash, _batch_id, _row_number FROM silver_keyed"
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE known AS
        SELECT * FROM (SELECT _row_hash, _batch_id, _row_number FROM silver_seen
                       UNION ALL SELECT * FROM prior_known)
        WHERE _row_hash IN (SELECT _row_hash FROM rows)"""
    )


def register_current(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """`silver_cur`: the current Silver rows of the keys among this input's candidates."""
    current = "s.is_current AND " if contract.scd2 else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE silver_cur AS
        SELECT * FROM silver_keyed s
        WHERE {current}EXISTS (SELECT 1 FROM outcomes o WHERE o._outcome = 'candidate'
                               AND {classify.keys_match(contract, "o", "s")})"""
    )


def write_results(
    lake: Lake,
    contract: Contract,
    outputs_: Outputs,
    write_id: str,
) -> None:
    """Silver first, then quarantine and dropped rows. Appends carry an idempotency id
    derived from the input batches, so a re-run after a crash does not add them twice;
    MERGE is used only where existing rows change."""
    table = contract.table
    silver = f"silver.{table}"
    # Only rows that replace one go through MERGE, which rewrites every file holding a
    # matched key; new keys are appended, so their files keep to their chunk's key range.
    if outputs_.silver.replacing.num_rows:
        lake.upsert(silver, outputs_.silver.replacing, keys=outputs.merge_keys(contract))
    lake.append(silver, outputs_.silver.adding, app_id=f"silver-{table}-{write_id}")
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
class SilverRows:
    """A chunk's Silver rows: those whose merge key is new, and those replacing a row."""

    adding: pa.Table
    replacing: pa.Table

    @classmethod
    def split(cls, rows: pa.Table) -> SilverRows:
        """From rows with a boolean `_replaces` column (`outputs.replacing_sql`)."""
        flag = rows.column("_replaces")
        rows = rows.drop_columns(["_replaces"])
        replacing = pc.sum(flag).as_py() or 0
        # A filter copies every column: a first build, which replaces nothing, need not.
        if replacing == 0:
            return cls(rows, rows.slice(0, 0))
        if replacing == rows.num_rows:
            return cls(rows.slice(0, 0), rows)
        return cls(rows.filter(pc.invert(flag)), rows.filter(flag))

    @property
    def rows(self) -> pa.Table:
        return pa.concat_tables([self.adding, self.replacing])


@dataclass
class Outputs:
    silver: SilverRows
    held_new: pa.Table
    held_changed: pa.Table
    """Rechecked held rows whose status changed (pending -> quarantined)."""
    released: pa.Table
    dropped: pa.Table
