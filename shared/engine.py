"""DuckDB connections, configured from settings: a memory limit that spills to disk,
a thread count, and the run's clock as `run_now()` for contract expressions."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from shared.settings import Settings


def connect(settings: Settings, *, now: datetime | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one job (and Arrow's allocator set for one)."""
    _use_jemalloc()

    # Insertion order stays preserved: landing files are read in file order, which is what
    # gives each Bronze row its `_row_number`.
    config: dict[str, str | int | bool] = {
        "memory_limit": settings.duckdb_memory_limit,
        # An in-memory DuckDB would spill into ./.tmp of whatever folder the job runs in.
        "temp_directory": settings.duckdb_temp_dir
        or str(Path(tempfile.gettempdir()) / "lakehouse-duckdb"),
    }
    if settings.duckdb_threads:
        config["threads"] = settings.duckdb_threads
    con = duckdb.connect(config=config)
    # Zoned timestamps (Parquet) render in UTC, whatever the machine's zone is.
    con.execute("SET TimeZone = 'UTC'")
    set_clock(con, now or datetime.now())
    return con


def _use_jemalloc() -> None:
    # pyarrow's default mimalloc keeps freed memory for reuse: a Gold build of 10M order
    # lines peaked 0.3 GB higher with it than with jemalloc, at the same speed (the system
    # allocator costs CPU instead). A pool chosen by ARROW_DEFAULT_MEMORY_POOL is left alone.
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    with suppress(NotImplementedError):  # a pyarrow built without jemalloc (Windows wheels)
        pa.set_memory_pool(pa.jemalloc_memory_pool())


@contextmanager
def memory_capped(con: duckdb.DuckDBPyConnection, limit: int) -> Iterator[None]:
    """DuckDB's memory limit lowered to at most `limit` bytes for a while (e.g. while a
    result streams out to a writer that needs memory of its own), then put back (as DuckDB
    renders it: to a tenth of its unit)."""
    (current,) = con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
    if _bytes(current) <= limit:
        yield
        return
    con.execute(f"SET memory_limit = '{limit}B'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{current}'")


def memory_limit(con: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory limit in bytes, as it resolved the setting (a percentage of RAM
    too)."""
    (current,) = con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
    return _bytes(current)


def _bytes(setting: str) -> float:
    """DuckDB's rendering of a size ('640.0 MiB', '2GB', '1.5 GiB') in bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)(i?)B\s*", setting, re.IGNORECASE)
    if match is None:
        raise ValueError(f"not a DuckDB memory size: {setting!r}")
    number, unit, binary = match.groups()
    power = "KMGT".index(unit.upper()) + 1 if unit else 0
    return float(number) * (1024 if binary else 1000) ** power


def set_clock(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Expose the run's clock to SQL as `run_now()` (a naive UTC TIMESTAMP)."""
    con.execute("SET VARIABLE run_now = $now::TIMESTAMP", {"now": now.replace(tzinfo=None)})
    con.execute("CREATE OR REPLACE MACRO run_now() AS getvariable('run_now')")


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def to_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object] | None = None):
    """Run a query and return an Arrow table; only the `$name` parameters it uses are bound."""
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    return con.sql(sql, params=used or None).to_arrow_table()
