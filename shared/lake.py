"""The lake's Delta tables: the one thin module that reads and writes them.

Tables are named `<layer>.<name>` (`bronze.orders`, `_ops.runs`) and live at
`<lake root>/<layer>/<name>`, so any Delta reader finds them without this code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from providers.storage import Storage
from shared.errors import TransientError

T = TypeVar("T")
COMMIT_ATTEMPTS = 6


class Lake:
    """Delta tables under one storage root."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.options = storage.delta_options()
        self._open: dict[str, DeltaTable] = {}

    def url(self, table: str) -> str:
        layer, _, name = table.partition(".")
        if not layer or not name:
            raise ValueError(f"table name {table!r} must be <layer>.<name>")
        return self.storage.table_url(layer, name)

    def delta(self, table: str) -> DeltaTable | None:
        """The Delta table at its latest version, or None when it does not exist yet.
        Opened tables are kept and brought up to date by reading only the new log entries."""
        cached = self._open.get(table)
        if cached is not None:
            cached.update_incremental()
            return cached
        try:
            opened = DeltaTable(self.url(table), storage_options=self.options or None)
        except TableNotFoundError:
            return None
        self._open[table] = opened
        return opened

    def exists(self, table: str) -> bool:
        return self.delta(table) is not None

    def dataset(self, table: str) -> ds.Dataset | None:
        """A lazily read Arrow dataset. Only for tables written by appends alone (Bronze):
        delta-rs MERGE and DELETE write string columns as `string_view` (delta-io/delta-rs
        #4579), and pyarrow cannot evaluate a pushed-down string filter on those files."""
        delta = self.delta(table)
        return None if delta is None else delta.to_pyarrow_dataset()

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        filter: ds.Expression | None = None,
    ) -> pa.Table | None:
        """The table's rows (projected to `columns` where present), filtered in memory
        after the scan, so files written by MERGE read as plain strings."""
        dataset = self.dataset(table)
        if dataset is None:
            return None
        if columns is not None:
            columns = [c for c in columns if c in dataset.schema.names]
        if filter is None:
            return dataset.to_table(columns=columns)
        # The filter may name columns outside the projection: scan, filter, then project.
        data = dataset.to_table().filter(filter)
        return data if columns is None else data.select(columns)

    def applied(self, table: str, app_id: str) -> bool:
        """Whether a write tagged with this idempotency id was already committed."""
        return bool(self.applied_ids(table, [app_id]))

    def applied_ids(self, table: str, app_ids: list[str]) -> set[str]:
        """Which of these idempotency ids were already committed to the table."""
        delta = self.delta(table)
        if delta is None:
            return set()
        return {a for a in app_ids if delta.transaction_version(a) is not None}

    def append(
        self,
        table: str,
        data: pa.Table,
        *,
        app_id: str | None = None,
        app_ids: list[str] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Append rows; new columns are added to the schema. `app_id` makes the commit
        idempotent: a second append with the same id is skipped. `app_ids` tags one commit
        with several ids (the caller has checked none was applied)."""
        if data.num_rows == 0:
            return
        if app_id and self.applied(table, app_id):
            return
        ids = [app_id] if app_id else list(app_ids or [])
        transactions = [Transaction(app_id=i, version=1) for i in ids] or None
        props = CommitProperties(
            custom_metadata=dict(metadata or {}), app_transactions=transactions
        )
        self._retry(
            table,
            lambda: write_deltalake(
                self.url(table),
                data,
                mode="append",
                schema_mode="merge",
                storage_options=self.options or None,
                commit_properties=props,
            ),
        )

    def overwrite(self, table: str, data: pa.Table) -> None:
        self._retry(
            table,
            lambda: write_deltalake(
                self.url(table),
                data,
                mode="overwrite",
                schema_mode="overwrite",
                storage_options=self.options or None,
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
    ) -> dict[str, Any]:
        """MERGE `data` into `table` on `keys`: update matched rows (all columns, or only
        `update_columns`; only where `update_when` holds, over `s.`/`t.` aliases) and insert
        the rest unless `insert` is False. Creates the table."""
        if data.num_rows == 0:
            return {}
        if not self.exists(table):
            self.append(table, data)
            return {"num_target_rows_inserted": data.num_rows}
        predicate = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in keys)

        def run() -> dict[str, Any]:
            delta = self.delta(table)
            assert delta is not None
            merger = delta.merge(
                data, predicate=predicate, source_alias="s", target_alias="t", merge_schema=True
            )
            if update_columns is None:
                merger = merger.when_matched_update_all(predicate=update_when)
            else:
                updates = {_q(c): f"s.{_q(c)}" for c in update_columns}
                merger = merger.when_matched_update(updates, predicate=update_when)
            if insert:
                merger = merger.when_not_matched_insert_all()
            return merger.execute()

        return self._retry(table, run)

    def delete(self, table: str, predicate: str) -> None:
        delta = self.delta(table)
        if delta is not None:
            self._retry(table, lambda: delta.delete(predicate))

    def _retry(self, table: str, action: Callable[[], T]) -> T:
        # Optimistic concurrency: another writer may commit first; the write is re-run
        # against the new table version with backoff.
        delay = 0.05
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                return action()
            except CommitFailedError as exc:
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise TransientError(
                        f"could not commit to {table} after {COMMIT_ATTEMPTS} attempts: {exc}",
                        hint="another job keeps writing the same table; run again shortly",
                    ) from exc
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")


def _q(name: str) -> str:
    return f"`{name}`"
