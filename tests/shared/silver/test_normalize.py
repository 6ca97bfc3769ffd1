import hashlib
import hmac

import duckdb
import pytest

from shared.silver.normalize import (
    WHITESPACE,
    hmac_sql,
    normalise_sql,
    normalise_text,
    row_hash_sql,
)


@pytest.mark.parametrize(
    "value",
    ["a@b.com", "Ann.Smith+tag@Example.CO.UK", "ünïcødé@x.org", "", "x" * 200, "ä\u00a0b"],
)
@pytest.mark.parametrize("key", [b"k", b"a-32-byte-key-for-hmac-sha256!!!", b"long" * 40])
def test_hmac_sql_equals_python_hmac(value: str, key: bytes) -> None:
    con = duckdb.connect()
    (got,) = con.execute(f"SELECT {hmac_sql('$v', key)}", {"v": value}).fetchall()[0]
    assert got == hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def test_hmac_of_null_is_null() -> None:
    (got,) = duckdb.connect().execute(f"SELECT {hmac_sql('NULL::VARCHAR', b'k')}").fetchall()[0]
    assert got is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  x  ", "x"),
        ("\t\n x y \r\n", "x y"),
        ("\u00a0x\u2003", "x"),
        ("\ufeffx\u200b", "x"),
        (" \u00a0\t ", None),
        ("", None),
        (None, None),
    ],
)
def test_trim_strips_every_whitespace_and_blank_is_null(raw: str | None, expected: str | None):
    con = duckdb.connect()
    (got,) = con.execute(f"SELECT {normalise_sql('$v::VARCHAR')}", {"v": raw}).fetchall()[0]
    assert got == expected
    assert normalise_text(raw) == expected


def test_whitespace_set_covers_python_isspace() -> None:
    assert all(ch in WHITESPACE for ch in " \t\n\r\x0b\x0c\u00a0\u2028\u3000")
    every = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(WHITESPACE) == every | {"\ufeff", "\u200b"}


def test_row_hash_is_sha256_of_fields_joined_by_unit_separator() -> None:
    con = duckdb.connect()
    sql = row_hash_sql(["$a::VARCHAR", "$b::VARCHAR"])
    (got,) = con.execute(f"SELECT {sql}", {"a": "x", "b": None}).fetchall()[0]
    assert got == hashlib.sha256(b"x\x1f\x00").hexdigest()


def test_sql_trim_strips_exactly_the_whitespace_set() -> None:
    chars = [chr(c) for c in range(1, 0x3100)] + ["\ufeff", "\u200b", "\U0001f600"]
    values = [f"{ch}a{ch}" for ch in chars] + [f"{ch}{ch}a b{ch}" for ch in chars]
    con = duckdb.connect()
    (got,) = con.execute(
        f"SELECT list_transform($values, lambda v: {normalise_sql('v')})", {"values": values}
    ).fetchall()[0]
    wrong = [v for v, out in zip(values, got, strict=True) if out != normalise_text(v)]
    assert wrong == []
