"""Delta tables read by DuckDB's own Parquet reader, over the table's current files.

DuckDB keeps to its memory limit reading Parquet and reads only the columns a query names;
taking the same rows in from Arrow overshot the limit by over a gigabyte at 10M order lines.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from shared.engine import literal
from shared.lake import Lake


@contextmanager
def local_files(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    column: str | None = None,
    low: Any = None,
    high: Any = None,
) -> Iterator[list[str]]:
    """The table's Parquet files (with `column`, only those whose statistics of it overlap
    [`low`, `high`]) where DuckDB's reader can read them: on a cloud lake, copied to the
    local disk DuckDB spills to, and removed on leaving."""
    (spill,) = con.execute("SELECT current_setting('temp_directory')").fetchall()[0]
    folder = Path(spill or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lake-", dir=folder) as copies:
        yield lake.local_files(table, Path(copies), column=column, low=low, high=high)


def parquet_scan(files: list[str]) -> str:
    """SQL reading Parquet files with DuckDB's own reader, columns matched by name (NULL in
    the rows of a file that lacks one)."""
    return "read_parquet([" + ", ".join(literal(f) for f in files) + "], union_by_name = true)"


def scanned_columns(con: duckdb.DuckDBPyConnection, files: list[str]) -> set[str]:
    if not files:
        return set()
    return set(con.sql(f"SELECT * FROM {parquet_scan(files)} LIMIT 0").columns)
