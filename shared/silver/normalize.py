"""Text normalisation and keyed hashing, specified rather than left to an engine's default.

- Trimming strips every character Python's `str.isspace` accepts, plus the byte-order
  mark and zero-width space, from both ends; a value that trims to '' is NULL.
- PII values are hashed as HMAC-SHA256(key, utf8(lower(trim(value)))), hex encoded.
- A row's content hash is SHA-256 of its column texts joined by U+001F, NULL written as
  U+0000, in contract column order; a column's text is its typed value rendered as
  DuckDB casts it to VARCHAR (ISO dates and timestamps, decimals with their scale), or
  its normalised text when it does not type; PII columns enter as their keyed hash.
These definitions are reproducible in any engine (`tests/shared/silver` checks them
against plain Python).
"""

from __future__ import annotations

import hashlib
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

T = TypeVar("T", pa.Table, pa.RecordBatch)

# Every character `str.isspace` accepts (a test checks the list against Python's), plus the
# byte-order mark and zero-width space. Written out: scanning all of Unicode at import took
# a quarter of a second of every job's start.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
) + "\ufeff\u200b"
FIELD_SEPARATOR = "\x1f"
NULL_MARK = "\x00"


def normalise_texts(table: T) -> T:
    """Every text column not starting with '_' trimmed (the WHITESPACE set, from both ends)
    and blank made NULL, in a table or a record batch. Done in Arrow before SQL sees the
    rows: Arrow's set trim is about ten times faster than a regular expression in DuckDB."""
    for index, field in enumerate(table.schema):
        if field.name.startswith("_") or not pa.types.is_string(field.type):
            continue
        trimmed = pc.utf8_trim(table.column(index), characters=WHITESPACE)
        blank = pc.equal(trimmed, "")
        table = table.set_column(index, field, pc.if_else(blank, None, trimmed))
    return table


def hmac_sql(expr: str, key: bytes) -> str:
    """SQL computing HMAC-SHA256 of a text expression, composed from SHA-256 (RFC 2104) so
    it runs vectorised inside DuckDB; NULL stays NULL."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in block).hex()
    opad = bytes(b ^ 0x5C for b in block).hex()
    inner = f"unhex(sha256(unhex('{ipad}') || encode({expr})))"
    return f"sha256(unhex('{opad}') || {inner})"


def row_hash_sql(exprs: list[str]) -> str:
    """SQL for the content hash over already-normalised text expressions."""
    parts = ", ".join(f"coalesce({e}, chr(0))" for e in exprs) or "''"
    return f"sha256(concat_ws(chr(31), {parts}))"


def normalise_text(value: str | None) -> str | None:
    """Plain-Python reference of `normalise_texts`, for tests and small lookups."""
    if value is None:
        return None
    trimmed = value.strip(WHITESPACE)
    return trimmed or None
