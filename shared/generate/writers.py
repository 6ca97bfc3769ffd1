"""Landing file formats: CSV, JSONL (each optionally gzipped) and Parquet.

Output is byte-for-byte deterministic for a given pyarrow version: gzip headers carry
``mtime=0`` and no file name, and the Parquet writer stores no timestamps.

What a reader gets, per format:

- ``csv`` / ``csv.gz``: UTF-8, ``\\n`` line ends, a header row, every value a quoted
  string (``"12.50"``); a null is an empty unquoted field, an empty string is ``""``.
- ``jsonl`` / ``jsonl.gz``: one object per line with every column present.  The integer
  columns in ``JSON_NUMBER_COLUMNS`` hold a JSON number when the raw value is an integer
  literal, otherwise a JSON string; all other columns (money included, so ``"12.50"`` keeps
  its decimals through any JSON reader) are strings; nulls are ``null``.
- ``parquet``: columns in ``NATIVE_TYPES`` are stored with that type when every value of
  the column in that file converts; if any does not (an injected ``wrong_type``, a blank
  ``line_no``), that column is plain string in that file.  Timestamps are naive UTC.

Read back as text, every format yields the same strings except Parquet timestamps (an
engine's VARCHAR cast gives ``2026-11-03 10:00:00``, not ``2026-11-03T10:00:00``, and a
Parquet file whose timestamp column holds a wrong_type value keeps the ISO text):
:func:`timestamp_rendering` lets defect injection keep exact duplicates of rows with
timestamps out of any Parquet file other than their original's.
"""

from __future__ import annotations

import contextlib
import gzip
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

FORMATS: tuple[str, ...] = ("csv", "csv.gz", "jsonl", "jsonl.gz", "parquet")

NATIVE_TYPES: dict[str, pa.DataType] = {
    "line_no": pa.int32(),
    "quantity": pa.int32(),
    "discount_pct": pa.int32(),
    "unit_price": pa.decimal128(10, 2),
    "unit_cost": pa.decimal128(10, 2),
    "order_ts": pa.timestamp("ms"),
    "updated_at": pa.timestamp("ms"),
    "signup_date": pa.date32(),
}
JSON_NUMBER_COLUMNS = frozenset({"line_no", "quantity", "discount_pct"})
TIMESTAMP_COLUMNS = frozenset({"order_ts", "updated_at"})
_JSON_INTEGER = r"^-?(0|[1-9][0-9]*)$"
_GZIP_LEVEL = 6  # level 9 triples the time for a few percent of size


def write_landing_file(path: Path, columns: dict[str, pa.Array], fmt: str) -> None:
    """Write string ``columns`` (landing order) to ``path`` in format ``fmt``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(_native(columns), path, compression="snappy")
        return
    base, _, compressed = fmt.partition(".")
    data = _csv_bytes(columns) if base == "csv" else _jsonl_bytes(columns)
    if compressed:
        data = gzip.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)
    path.write_bytes(data)


def timestamp_rendering(fmt: str) -> int:
    """1 where timestamps are stored natively (Parquet), 0 where they are the ISO text."""
    return int(fmt == "parquet")


def _csv_bytes(columns: dict[str, pa.Array]) -> bytes:
    sink = io.BytesIO()
    pa_csv.write_csv(pa.table(columns), sink)
    return sink.getvalue()


def _json_value(name: str, values: pa.Array) -> pa.Array:
    """Each value rendered as a JSON literal (string, number or null)."""
    escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    rendered = pc.binary_join_element_wise('"', escaped, '"', "")
    if name in JSON_NUMBER_COLUMNS:
        numeric = pc.fill_null(pc.match_substring_regex(values, _JSON_INTEGER), False)
        rendered = pc.if_else(numeric, values, rendered)
    return pc.fill_null(rendered, "null")


def _jsonl_bytes(columns: dict[str, pa.Array]) -> bytes:
    parts: list[pa.Array | str] = ["{"]
    for i, (name, values) in enumerate(columns.items()):
        parts.append(("," if i else "") + f'"{name}":')
        parts.append(_json_value(name, values))
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    if len(lines) == 0:
        return b""
    # The string array's data buffer already holds every line back to back: slice it
    # instead of materialising millions of Python strings.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[start:end].tobytes()


def _native(columns: dict[str, pa.Array]) -> pa.Table:
    out: dict[str, pa.Array] = {}
    for name, values in columns.items():
        target = NATIVE_TYPES.get(name)
        out[name] = values
        if target is not None:
            # A defect value in this file makes the cast fail: keep the column as raw text.
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                out[name] = pc.cast(values, target)
    return pa.table(out)
