"""The lake's Delta tables: the one thin module that reads and writes them.

Tables are named `<layer>.<name>` (`bronze.orders`, `_ops.runs`) and live at
`<lake root>/<layer>/<name>`, so any Delta reader finds them without this code.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import (
    CommitProperties,
    DeltaTable,
    Transaction,
    WriterProperties,
    write_deltalake,
)
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from providers.storage import Storage
from shared.errors import TransientError

T = TypeVar("T")
COMMIT_ATTEMPTS = 8
FRESH_SECONDS = 1.0
READ_CACHE_ENTRIES = 32
READ_CACHE_BYTES = 32 * 1024 * 1024
# pyarrow reads ahead 16 batches of 4 files by default: hundreds of MB on a large table,
# which a stream exists to avoid. Two batches of one file keep the reader busy enough.
STREAM_READAHEAD = {"batch_readahead": 2, "fragment_readahead": 1}
# Row groups of 128k rows rather than delta-rs's 1M: a reader decodes a whole row group
# at once, and 1M rows of Bronze text took about 700 MB. Compressed with zstd at level 1
# (given writer properties, delta-rs writes uncompressed unless told): the lake of the 1M
# benchmark takes 142 MiB rather than 338 MiB (snappy kept 72%), for about 0.6 s more of its
# 10.3 s on a local disk; a cloud lake moves the smaller files.
WRITER_PROPERTIES = WriterProperties(
    max_row_group_size=128 * 1024, compression="ZSTD", compression_level=1
)
# Files a table stopped using (rewritten by a merge, compaction or overwrite) are deleted
# this long after: Delta's own default, so a reader of a recent version still finds them.
DEFAULT_RETENTION_HOURS = 7 * 24
# delta-rs holds a file in memory until it is uploaded whole: files of 32 MB rather than its
# 100 MB default keep a streamed write of a large table about 100 MB smaller.
TARGET_FILE_SIZE = 32 * 1024 * 1024


class Lake:
    """Delta tables under one storage root."""

    def __init__(self, storage: Storage, *, retention_hours: int = DEFAULT_RETENTION_HOURS) -> None:
        self.storage = storage
        self.retention_hours = retention_hours
        """How long files a table no longer uses are kept (`vacuum`)."""
        self.options = storage.delta_options()
        self._open: dict[str, DeltaTable] = {}
        self._checked: dict[str, float] = {}
        self._reads: OrderedDict[tuple[str, int, tuple[str, ...] | None], pa.Table] = OrderedDict()
        # Tables found missing; forgotten when this Lake writes them. A Lake lives for one
        # job, so a table another job creates meanwhile is seen by the next job.
        self._missing: set[str] = set()

    def url(self, table: str) -> str:
        layer, _, name = table.partition(".")
        if not layer or not name:
            raise ValueError(f"table name {table!r} must be <layer>.<name>")
        return self.storage.table_url(layer, name)

    def delta(self, table: str) -> DeltaTable | None:
        """The Delta table at its latest version, or None when it does not exist yet.
        Opened tables are kept and brought up to date by reading only the new log entries,
        at most once per `FRESH_SECONDS` (this Lake's own writes update them directly)."""
        cached = self._open.get(table)
        if cached is not None:
            now = time.monotonic()
            if now - self._checked.get(table, 0.0) > FRESH_SECONDS:
                cached.update_incremental()
                self._checked[table] = now
            return cached
        if table in self._missing:
            return None
        try:
            opened = DeltaTable(self.url(table), storage_options=self.options or None)
        except TableNotFoundError:
            self._missing.add(table)
            return None
        self._open[table] = opened
        self._checked[table] = time.monotonic()
        return opened

    def exists(self, table: str) -> bool:
        return self.delta(table) is not None

    def dataset(self, table: str) -> ds.Dataset | None:
        """A lazily read Arrow dataset. Only for tables written by appends alone (Bronze):
        delta-rs MERGE and DELETE write string columns as `string_view` (delta-io/delta-rs
        #4579), and pyarrow cannot evaluate a pushed-down string filter on those files."""
        delta = self.delta(table)
        return None if delta is None else self._arrow_dataset(delta)

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        filter: ds.Expression | None = None,
    ) -> pa.Table | None:
        """The table's rows (projected to `columns` where present), filtered in memory
        after the scan, so files written by MERGE read as plain strings. The filter may
        name only columns in `columns`: only those are read."""
        delta = self.delta(table)
        if delta is None:
            return None
        names = delta.schema().to_arrow().names
        wanted = None if columns is None else tuple(c for c in columns if c in names)
        data = self._scan(table, delta, wanted)
        return data if filter is None else data.filter(filter)

    def stream(self, table: str, columns: list[str]) -> pa.RecordBatchReader | None:
        """The table's rows as a stream of batches, projected to those of `columns` that
        exist; memory stays bounded however large the table is. Filter downstream (DuckDB
        reads a stream without pushing filters into the files)."""
        delta = self.delta(table)
        if delta is None:
            return None
        names = set(delta.schema().to_arrow().names)
        wanted = [c for c in columns if c in names]
        scanner = self._arrow_dataset(delta).scanner(columns=wanted, **STREAM_READAHEAD)
        return scanner.to_reader()

    def local_files(
        self,
        table: str,
        folder: Path,
        *,
        column: str | None = None,
        low: Any = None,
        high: Any = None,
    ) -> list[str]:
        """Filesystem paths of the table's current data files (the table: none has
        partitions or deletion vectors): the files themselves on a local lake, else copies
        made in `folder`. With `column`, only files whose min/max statistics of it overlap
        [`low`, `high`] (None: unbounded); a file without statistics is kept."""
        delta = self.delta(table)
        if delta is None:
            return []
        actions = pa.table(delta.get_add_actions(flatten=True))
        keep = actions.column("path").to_pylist()
        if column is not None:
            # Delta keeps timestamp statistics to the millisecond, truncated: widen by one.
            if isinstance(low, datetime):
                low -= timedelta(milliseconds=1)
            if isinstance(high, datetime):
                high += timedelta(milliseconds=1)
            smallest = _column_or_nulls(actions, f"min.{column}")
            largest = _column_or_nulls(actions, f"max.{column}")
            keep = [
                name
                for name, lo, hi in zip(keep, smallest, largest, strict=True)
                if not (low is not None and hi is not None and hi < low)
                and not (high is not None and lo is not None and lo > high)
            ]
        layer, _, name = table.partition(".")
        paths = []
        for index, relative in enumerate(keep):
            path = f"{layer}/{name}/{relative}"
            local = self.storage.local_path(path)
            if local is None:
                local = str(folder / f"{index:05d}.parquet")
                Path(local).write_bytes(self.storage.read_bytes(path))
            paths.append(local)
        return paths

    def _arrow_dataset(self, delta: DeltaTable) -> ds.Dataset:
        # On a local lake, pyarrow reads the table's current files itself: the dataset
        # delta-rs builds reads through a Python filesystem whose readahead threads can
        # outlive the interpreter and abort it at exit (delta-io/delta-rs#2184). Tables
        # here have no partitions or deletion vectors, so the file list is the table.
        if self.storage.local_path("") is None:
            return delta.to_pyarrow_dataset()
        return ds.dataset(
            delta.file_uris(), schema=pa.schema(delta.schema().to_arrow()), format="parquet"
        )

    def _scan(self, table: str, delta: DeltaTable, columns: tuple[str, ...] | None) -> pa.Table:
        # A job reads the same small tables (parents, ledgers) many times between writes;
        # a read is kept until the table's version moves on.
        key = (table, delta.version(), columns)
        cached = self._reads.get(key)
        if cached is not None:
            self._reads.move_to_end(key)
            return cached
        data = self._arrow_dataset(delta).to_table(
            columns=None if columns is None else list(columns)
        )
        # Older versions of the same read are never asked for again: let them go.
        for stale in [k for k in self._reads if k[0] == table and k[2] == columns]:
            del self._reads[stale]
        # Large reads are not kept: a job's memory must not grow with the lake.
        if data.nbytes <= READ_CACHE_BYTES:
            self._reads[key] = data
        while len(self._reads) > READ_CACHE_ENTRIES:
            self._reads.popitem(last=False)
        return data

    def append(
        self,
        table: str,
        data: pa.Table,
        *,
        app_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> bool:
        """Append rows; new columns are added to the schema. `app_id` makes the commit
        idempotent: an append whose id was already committed is skipped (False)."""
        if app_id is None:
            if data.num_rows:
                self._retry(
                    table, lambda: self._write_append(self._target(table), data, [], metadata)
                )
            return data.num_rows > 0
        return bool(self.append_batches(table, {app_id: data}, metadata=metadata))

    def append_batches(
        self,
        table: str,
        batches: Mapping[str, pa.Table],
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Append several batches in one commit, each tagged with its idempotency id, and
        return the ids this call committed. Ids already in the table are skipped, on every
        attempt: a concurrent writer committing the same id makes this commit fail (Delta
        checks transaction ids), and the retry then leaves that batch out."""

        if not batches:
            return []

        def attempt() -> list[str]:
            delta = self._existing(table, next(iter(batches.values())).schema)
            # The ids are checked on the very snapshot the write commits against, so a
            # commit slipping in between is caught by Delta as a conflict.
            todo = [
                i
                for i, part in batches.items()
                if part.num_rows and delta.transaction_version(i) is None
            ]
            if todo:
                data = pa.concat_tables([batches[i] for i in todo], promote_options="default")
                self._write_append(delta, data, _transactions(todo), metadata)
            return todo

        return self._retry(table, attempt)

    def append_versioned(self, table: str, data: pa.Table, *, app_id: str, expected: int) -> bool:
        """Append only if the table's transaction version for `app_id` is still `expected`,
        moving it to `expected + 1` in the same commit (compare-and-set; a missing id is
        version 0). False when another writer moved it first: checked on the snapshot the
        commit is made against, and a concurrent commit with the same id makes Delta
        refuse ours. Not retried: the caller looks again and decides."""
        self._missing.discard(table)
        self._checked.pop(table, None)
        delta = self._existing(table, data.schema)
        if (delta.transaction_version(app_id) or 0) != expected:
            return False
        try:
            self._write_append(
                delta, data, [Transaction(app_id=app_id, version=expected + 1)], None
            )
        except CommitFailedError:
            self._open.pop(table, None)
            return False
        finally:
            self._checked.pop(table, None)
        return True

    def _existing(self, table: str, schema: pa.Schema) -> DeltaTable:
        """The table, created empty first if it does not exist. Delta checks transaction
        ids against concurrent commits only once a table exists: writers racing to create
        it with the same id would all win, so ids are only ever committed to an existing
        table."""
        delta = self.delta(table)
        if delta is None:
            self._write_append(self.url(table), schema.empty_table(), [], None)
            self._missing.discard(table)
            delta = self.delta(table)
            assert delta is not None
        return delta

    def _write_append(
        self,
        target: DeltaTable | str,
        data: pa.Table,
        transactions: list[Transaction],
        metadata: Mapping[str, str] | None,
    ) -> None:
        write_deltalake(
            target,
            data,
            mode="append",
            schema_mode="merge",
            storage_options=self.options or None,
            target_file_size=TARGET_FILE_SIZE,
            writer_properties=WRITER_PROPERTIES,
            commit_properties=CommitProperties(
                custom_metadata=dict(metadata or {}), app_transactions=transactions or None
            ),
        )

    def overwrite(self, table: str, data: pa.Table | Callable[[], pa.RecordBatchReader]) -> None:
        """Replace the table's rows (and schema). `data` may be a function returning a
        stream of batches, which delta-rs writes as they come, so a table larger than
        memory never sits in Arrow whole; it is called again if the commit is retried."""
        self._retry(
            table,
            lambda: write_deltalake(
                self._target(table),
                data if isinstance(data, pa.Table) else data(),
                mode="overwrite",
                schema_mode="overwrite",
                storage_options=self.options or None,
                target_file_size=TARGET_FILE_SIZE,
                writer_properties=WRITER_PROPERTIES,
            ),
        )

    def upsert(
        self,
        table: str,
        data: pa.Table,
        *,
        keys: list[str],
        update_when: str | None = None,
        update_columns: list[str] | None = None,
        insert: bool = True,
        delete_unmatched: str | None = None,
    ) -> dict[str, Any]:
        """MERGE `data` into `table` on `keys`: update matched rows (all columns, or only
        `update_columns`; only where `update_when` holds, over `s.`/`t.` aliases) and insert
        the rest unless `insert` is False; with `delete_unmatched` (a predicate over `t.`),
        target rows it selects that no source row matches are deleted. Creates the table."""
        if data.num_rows == 0 and delete_unmatched is None:
            return {}
        if not self.exists(table):
            self.append(table, data)
            return {"num_target_rows_inserted": data.num_rows}
        predicate = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in keys)

        def run() -> dict[str, Any]:
            delta = self.delta(table)
            assert delta is not None
            # Not streamed: the source is in memory anyway. Merging 158k re-delivered orders
            # into the 5M-row Silver orders of a 10M lake took 2.35 s and 1.77 GB streamed,
            # 0.45 s and 0.35 GB not (delta-rs 1.6; the same one file rewritten).
            merger = delta.merge(
                data,
                predicate=predicate,
                source_alias="s",
                target_alias="t",
                merge_schema=True,
                writer_properties=WRITER_PROPERTIES,
                streamed_exec=False,
            )
            if update_columns is None:
                merger = merger.when_matched_update_all(predicate=update_when)
            else:
                updates = {_q(c): f"s.{_q(c)}" for c in update_columns}
                merger = merger.when_matched_update(updates, predicate=update_when)
            if insert:
                merger = merger.when_not_matched_insert_all()
            if delete_unmatched is not None:
                merger = merger.when_not_matched_by_source_delete(predicate=delete_unmatched)
            return merger.execute()

        return self._retry(table, run)

    def _target(self, table: str) -> DeltaTable | str:
        # Writing through the open table object spares re-reading its log and keeps it
        # current; a table that does not exist yet is created from its URL.
        return self.delta(table) or self.url(table)

    def compact(self, table: str, *, min_files: int = 32) -> bool:
        """Rewrite many small files into few (Delta OPTIMIZE), once a table has at least
        `min_files` under a quarter of TARGET_FILE_SIZE; every incremental run adds such
        files, and readers pay per file. Files of a large load's chunks are not small:
        merging them in pairs made a 10M first load rewrite all 718 MB of its dropped-row
        records. Only files under the size appends write are merged, in log order: Silver's
        files each hold a range of keys (see `shared.silver.staging`), which merging them
        into delta-rs's default 100 MB files would mix, and a MERGE would then rewrite more
        of the table."""
        delta = self.delta(table)
        if delta is None:
            return False
        sizes = pa.table(delta.get_add_actions(flatten=False)).column("size_bytes")
        small = pc.sum(pc.less(sizes, TARGET_FILE_SIZE // 4)).as_py() or 0  # None: no files
        if small < min_files:
            return False
        self._retry(
            table,
            lambda: delta.optimize.compact(
                target_size=TARGET_FILE_SIZE, writer_properties=WRITER_PROPERTIES
            ),
        )
        return True

    def vacuum(self, table: str) -> int:
        """Delete the files `table` stopped using more than `retention_hours` ago (Delta
        VACUUM); returns how many. Without it, every rewrite (a daily Gold rebuild above
        all) leaves the old files behind for good."""
        delta = self.delta(table)
        if delta is None:
            return 0

        def vacuum(dry_run: bool) -> list[str]:
            # The retention is this Lake's, not the table's `deletedFileRetentionDuration`.
            return delta.vacuum(
                retention_hours=self.retention_hours,
                dry_run=dry_run,
                enforce_retention_duration=False,
            )

        # delta-rs lists a removed file again in every vacuum until a checkpoint drops it,
        # deleted or not, and each vacuum that deletes commits twice: only files still
        # there are worth a vacuum (and Gold takes a commit to its input for a change).
        expired = {path.rsplit("/", 1)[-1] for path in vacuum(dry_run=True)}
        if not expired:
            return 0
        layer, _, name = table.partition(".")
        stale = expired & {p.rsplit("/", 1)[-1] for p in self.storage.list(f"{layer}/{name}/")}
        if stale:
            self._retry(table, lambda: vacuum(dry_run=False))
        return len(stale)

    def _retry(self, table: str, action: Callable[[], T]) -> T:
        self._missing.discard(table)
        # Optimistic concurrency: another writer may commit first; the write is re-run
        # against the new table version, after a backoff with jitter so that instances
        # started together do not collide again in step.
        delay = 0.05
        # Whatever happens, the next look at this table reads its log again.
        self._checked.pop(table, None)
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                result = action()
                self._checked.pop(table, None)
                self._missing.discard(table)
                return result
            except DeltaError as exc:
                self._checked.pop(table, None)
                if not _lost_race(exc):
                    raise
                # The open table object may hold the state of the failed attempt.
                self._open.pop(table, None)
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise TransientError(
                        f"could not commit to {table} after {COMMIT_ATTEMPTS} attempts: {exc}",
                        hint="another job keeps writing the same table; run again shortly",
                    ) from exc
                time.sleep(delay * (1 + random.random()))
                delay *= 2
        raise AssertionError("unreachable")


def _transactions(app_ids: list[str]) -> list[Transaction]:
    """Idempotency ids as Delta transactions: version 1 means "this batch is in"."""
    return [Transaction(app_id=i, version=1) for i in app_ids]


def _lost_race(exc: DeltaError) -> bool:
    """Whether a failed write lost a race with another writer, so that re-running it
    against the table's new version can succeed."""
    return isinstance(exc, CommitFailedError)


def _column_or_nulls(table: pa.Table, name: str) -> list[Any]:
    if name in table.column_names:
        return table.column(name).to_pylist()
    return [None] * table.num_rows


def _q(name: str) -> str:
    return f"`{name}`"
