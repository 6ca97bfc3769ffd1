"""DuckDB connections, configured from settings: a memory limit that spills to disk,
a thread count, and the run's clock as `run_now()` for contract expressions."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import duckdb

from shared.settings import Settings


def connect(settings: Settings, *, now: datetime | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one job."""

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
