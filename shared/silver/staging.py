"""Splitting a Silver build's input into chunks that touch disjoint keys.

Everything a build decides about a row compares it only with rows of the same key: exact
copies share the content hash, which covers the key; versions, staleness and SCD2 islands
are per key. So a backlog split by key builds chunk by chunk with exactly the result of one
build, while memory stays bounded by the chunk. Existing Silver, held and dropped rows are
read once per table, before any chunk writes: what a chunk writes belongs to its own keys,
which no later chunk has.

Chunks are ranges of the key's text, cut at quantiles of a sample of the backlog's keys,
so each chunk's Silver files hold a narrow key range. Later MERGEs of re-delivered keys
then rewrite only the files whose range holds them (delta-rs prunes the target by the
statistics of the keys it merges), not every file, as chunks by a hash of the key did.

A backlog that fits one chunk goes straight from Bronze into DuckDB. A larger one is read
once into a DuckDB table sorted by chunk (DuckDB spills it to disk above its memory limit);
each chunk then reads only its own row groups, found by their min/max statistics. Writing
Parquet files partitioned by chunk instead took 1.3 to 1.7 times as long in all (measured on
1M and 10M order lines), and an unsorted table made every chunk scan the whole backlog.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from shared.contracts import Contract
from shared.engine import literal, quote
from shared.parquet import parquet_scan, scanned_columns
from shared.silver.normalize import normalise_sql


def chunk_count(rows: int, limit: int) -> int:
    return max(1, math.ceil(rows / max(1, limit)))


def key_text_sql(contract: Contract, typed: bool) -> str:
    """SQL for a row's key as text, as the content hash renders it: the typed value cast to
    text, or the normalised text when it does not type. `typed` says the columns already
    hold typed values (Silver rows) rather than normalised text (Bronze rows)."""
    parts = []
    for key in contract.keys:
        column = quote(key)
        sql_type = contract.columns[key].sql_type
        if typed or sql_type == "VARCHAR":
            parts.append(f"CAST({column} AS VARCHAR)")
        else:
            parts.append(f"coalesce(CAST(TRY_CAST({column} AS {sql_type}) AS VARCHAR), {column})")
    return f"concat_ws(chr(31), {', '.join(f'coalesce({p}, chr(0))' for p in parts)})"


def chunk_sql(contract: Contract, bounds: list[str], *, typed: bool) -> str:
    """SQL for the chunk (0 .. len(bounds)) a row's key belongs to: how many of the sorted
    `bounds` its key text reaches."""
    key = key_text_sql(contract, typed)
    steps = [f"CAST({key} >= {_text(b)} AS INTEGER)" for b in bounds]
    return "(" + " + ".join(steps) + ")" if steps else "0"


def bounds_sql(contract: Contract, rows: str, chunks: int, sample_every: int) -> str:
    """SQL for the `chunks - 1` bounds splitting the keys of relation `rows` (Bronze text)
    into ranges of about equal rows. The quantiles are exact over a sample of one key in
    `sample_every` by hash, so the same rows always give the same bounds."""
    key = key_text_sql(contract, typed=False)
    cuts = ", ".join(str(i / chunks) for i in range(1, chunks))
    sample = f"WHERE hash(_key) % {sample_every} = 0" if sample_every > 1 else ""
    return (
        f"SELECT quantile_disc(_key, [{cuts}]) FROM (SELECT {key} AS _key FROM ({rows})) {sample}"
    )


def _text(value: str) -> str:
    """A SQL text literal; control characters (the key text's separators and NULL marks)
    as chr() calls rather than raw bytes in the statement."""
    parts = re.split(r"([\x00-\x1f])", value)
    return (
        "("
        + " || ".join(
            f"chr({ord(p)})" if i % 2 else literal(p) for i, p in enumerate(parts) if p or i == 0
        )
        + ")"
    )


# About 1 in 64 keys: 19k of the 1.2M Bronze order rows of the 1M benchmark.
SAMPLE_EVERY = 64


@dataclass(frozen=True)
class Bronze:
    """A table's Bronze rows as DuckDB reads them: its Parquet files, on local disk, and the
    table's schema (which may hold columns older files lack)."""

    files: list[str]
    schema: pa.Schema

    def raw_sql(self, con: duckdb.DuckDBPyConnection) -> str:
        """SQL of the rows as delivered, NULL in the columns that no file has."""
        present = scanned_columns(con, self.files)
        parts = [
            quote(f.name)
            if f.name in present
            else f"CAST(NULL AS {_sql_type(f.type)}) AS {quote(f.name)}"
            for f in self.schema
        ]
        source = parquet_scan(self.files) if self.files else "(SELECT 1 WHERE false)"
        return f"SELECT {', '.join(parts)} FROM {source}"

    def normalised_sql(self, alias: str, skip: tuple[str, ...] = ()) -> str:
        """The select list of relation `alias` (of `raw_sql`'s columns) with text columns
        normalised (`normalise_sql`) and lineage as it is; columns in `skip` left out."""
        parts = []
        for field in self.schema:
            if field.name in skip:
                continue
            name = f"{alias}.{quote(field.name)}"
            if field.name.startswith("_") or not _is_text(field.type):
                parts.append(name)
            else:
                parts.append(f"{normalise_sql(name)} AS {quote(field.name)}")
        return ", ".join(parts)


def _is_text(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _sql_type(kind: pa.DataType) -> str:
    if _is_text(kind):
        return "VARCHAR"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_integer(kind):
        return "BIGINT"
    return "VARCHAR"


# Lineage that is the same for every row of a Bronze batch.
BATCH_LINEAGE = ("_batch_id", "_source_file", "_ingested_at")


def _input_sql(raw: str, bronze: Bronze, lineage: str | None = None) -> str:
    """SQL of the build's input rows (relation `raw` of a table's Bronze rows): normalised
    text, lineage, `_origin` and `_held_status`. With `lineage` (a table numbering the
    distinct `BATCH_LINEAGE` of the input), a row carries that number as `_lineage` in
    place of its batch lineage."""
    select = bronze.normalised_sql("b", skip=BATCH_LINEAGE if lineage else ())
    join = ""
    if lineage:
        select += ", l._lineage"
        join = f"JOIN {lineage} l ON " + " AND ".join(
            f"l.{c} IS NOT DISTINCT FROM b.{c}" for c in BATCH_LINEAGE
        )
    # Text is normalised after the rows are picked: a daily build rechecking held rows
    # reads every Bronze file they came from, of which it keeps a few percent.
    return f"""
        SELECT {select},
            CASE WHEN r._held_status IS NULL THEN 'new' ELSE 'retry' END AS _origin,
            r._held_status
        FROM ({raw}) b
        LEFT JOIN retry_lineage r
            ON r._batch_id = b._batch_id AND r._row_number = b._row_number
        {join}
        WHERE r._held_status IS NOT NULL
           OR b._batch_id IN (SELECT _batch_id FROM new_batches)
    """


class Backlog:
    """The input rows of one table's build (new batches, plus held rows to judge again),
    split into `chunks` key-disjoint chunks. Iterating loads each chunk in turn as the temp
    table `bronze_in` (normalised text, lineage, `_origin` new or retry, `_held_status`)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        contract: Contract,
        bronze: Bronze,
        new_batches: list[str],
        retry: pa.Table,
        chunks: int,
    ) -> None:
        self.con = con
        self.contract = contract
        self.chunks = chunks
        self.bounds: list[str] = []
        """Key text where each chunk after the first starts."""
        self._silver: str | None = None
        self._staged: list[str] = []
        self._columns = [f.name for f in bronze.schema]
        con.register("retry_lineage", retry)
        con.register("new_batches", pa.table({"_batch_id": pa.array(new_batches, pa.string())}))
        raw = bronze.raw_sql(con)
        try:
            if chunks == 1:
                con.execute(f"CREATE OR REPLACE TEMP TABLE bronze_in AS {_input_sql(raw, bronze)}")
            else:
                # A staged row carries a number for its batch, file and arrival instead of
                # them: they were half of the bytes sorted and spilled (12M Bronze order
                # rows sorted in 10.7 s instead of 17.7 s, with DuckDB at 768 MB).
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE backlog_lineage AS "
                    f"SELECT (row_number() OVER ())::INTEGER AS _lineage, * FROM ("
                    f"SELECT DISTINCT {', '.join(BATCH_LINEAGE)} FROM ({raw}) "
                    "WHERE _batch_id IN (SELECT _batch_id FROM retry_lineage) "
                    "OR _batch_id IN (SELECT _batch_id FROM new_batches))"
                )
                self._staged.append("backlog_lineage")
                rows = _input_sql(raw, bronze, lineage="backlog_lineage")
                self.bounds = self._bounds(rows)
                self._stage("backlog_input", rows, typed=False)
        finally:
            for name in ("retry_lineage", "new_batches"):
                con.unregister(name)

    def _bounds(self, rows: str) -> list[str]:
        for every in (SAMPLE_EVERY, 1):  # a few keys may leave the sample empty: take all
            sql = bounds_sql(self.contract, rows, self.chunks, every)
            (cuts,) = self.con.execute(sql).fetchall()[0]
            if cuts is not None:
                return sorted(set(cuts))
        return []

    def _stage(self, name: str, rows: str, *, typed: bool) -> None:
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT *, "
            f"{chunk_sql(self.contract, self.bounds, typed=typed)} AS _chunk "
            f"FROM ({rows}) ORDER BY _chunk"
        )
        self._staged.append(name)

    def __iter__(self) -> Iterator[int]:
        """Chunk numbers with rows, each loaded as `bronze_in` in turn."""
        if not self._staged:
            yield 0
            return
        present = self.con.execute(
            "SELECT DISTINCT _chunk FROM backlog_input ORDER BY _chunk"
        ).fetchall()
        columns = ", ".join(
            f"l.{quote(c)}" if c in BATCH_LINEAGE else f"i.{quote(c)}" for c in self._columns
        )
        for (i,) in present:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE bronze_in AS "
                f"SELECT {columns}, i._origin, i._held_status "
                f"FROM backlog_input i JOIN backlog_lineage l ON l._lineage = i._lineage "
                f"WHERE i._chunk = {i}"
            )
            yield i

    def stage_silver(self, files: list[str], columns: list[str]) -> None:
        """Existing Silver rows, from the table's Parquet files, shaped to `columns` (NULL
        where the table lacks one) and read once, before any chunk writes; `silver_rows(i)`
        gives chunk i's share."""
        self._silver = None
        if not files:
            return
        names = scanned_columns(self.con, files)
        shape = ", ".join(quote(c) if c in names else f"NULL AS {quote(c)}" for c in columns)
        self._silver = f"(SELECT {shape} FROM {parquet_scan(files)})"
        if self._staged:
            self._stage("backlog_silver", self._silver, typed=True)

    def silver_rows(self, i: int) -> str | None:
        """A relation of chunk i's existing Silver rows (a superset: every key of the
        chunk), or None when Silver has none. A single chunk reads the table's files."""
        if self._silver is None or not self._staged:
            return self._silver
        return f"(SELECT * EXCLUDE (_chunk) FROM backlog_silver WHERE _chunk = {i})"

    def close(self) -> None:
        for name in self._staged:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def __enter__(self) -> Backlog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
