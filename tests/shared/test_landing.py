"""Landing files (CSV, TSV, JSON Lines, Parquet, gzipped) become all-text Arrow tables, or
are rejected whole with a clear reason."""

from __future__ import annotations

import gzip
import json
import os
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shared.engine import connect
from shared.errors import FileRejectedError
from shared.landing import landing_format, normalize_column, read_landing_file
from shared.settings import Settings


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    if name.lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def read(con, folder: Path, name: str, content: str | bytes) -> pa.Table:
    return read_landing_file(con, str(write(folder, name, content)), name)


def rejected(con, folder: Path, name: str, content: str | bytes) -> str:
    with pytest.raises(FileRejectedError) as info:
        read(con, folder, name, content)
    return str(info.value)


def assert_all_text(table: pa.Table) -> None:
    assert all(field.type == pa.string() for field in table.schema), table.schema


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("x.csv", "csv"),
        ("x.CSV", "csv"),
        ("x.csv.gz", "csv"),
        ("x.tsv", "csv"),
        ("x.jsonl", "jsonl"),
        ("x.ndjson", "jsonl"),
        ("x.json", "jsonl"),
        ("x.jsonl.gz", "jsonl"),
        ("x.parquet", "parquet"),
        ("landing/pos/orders/2024.01.02.csv", "csv"),
    ],
)
def test_landing_format(name: str, fmt: str) -> None:
    assert landing_format(name) == fmt


@pytest.mark.parametrize("name", ["x.txt", "x.xlsx", "x.gz", "x", "x.parquet.gz", "csv"])
def test_unsupported_extensions_are_rejected(name: str) -> None:
    with pytest.raises(FileRejectedError) as info:
        landing_format(name)
    assert str(info.value) == (
        f"unsupported file type {name!r} (hint: deliver .csv, .jsonl or .parquet files "
        "(.csv.gz and .jsonl.gz too))"
    )


def test_unsupported_file_is_rejected_before_reading(con, tmp_path: Path) -> None:
    assert "unsupported file type 'x.xml'" in rejected(con, tmp_path, "x.xml", "<a/>")
    message = rejected(con, tmp_path, "p.parquet.gz", b"PAR1")
    assert message.startswith("unsupported file type 'p.parquet.gz'")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (" Order ID ", "order_id"),
        ("order_id", "order_id"),
        ("Order-ID", "order_id"),
        ("UNIT  PRICE", "unit_price"),
        ("line\tno", "line_no"),
        ("Discount_Pct", "discount_pct"),
    ],
)
def test_normalize_column(raw: str, normal: str) -> None:
    assert normalize_column(raw) == normal


# --- CSV -----------------------------------------------------------------------------------

CSV = 'order_id,name,note,code\n007,"Smith, J","line one\nline two",\n008,"say ""hi""",plain,NULL\n'
CSV_ROWS = [
    {"order_id": "007", "name": "Smith, J", "note": "line one\nline two", "code": ""},
    {"order_id": "008", "name": 'say "hi"', "note": "plain", "code": "NULL"},
]


def test_csv_keeps_text_quotes_newlines_and_empty_fields(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.csv", CSV)
    assert_all_text(table)
    assert table.column_names == ["order_id", "name", "note", "code"]
    assert table.to_pylist() == CSV_ROWS


def test_csv_gz(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.csv.gz", CSV)
    assert_all_text(table)
    assert table.to_pylist() == CSV_ROWS


def test_tsv(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.tsv", "a\tb c\n007\tx, y\n\t1.50\n")
    assert_all_text(table)
    assert table.to_pylist() == [{"a": "007", "b_c": "x, y"}, {"a": "", "b_c": "1.50"}]


def test_csv_numbers_and_dates_stay_as_written(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.csv", "q,p,d,b\n0010,1.50,2024-01-02,TRUE\n")
    assert table.to_pylist() == [{"q": "0010", "p": "1.50", "d": "2024-01-02", "b": "TRUE"}]


def test_csv_header_is_normalised(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.csv", " Order ID ,Line-No,UNIT PRICE\n1,2,3.00\n")
    assert table.column_names == ["order_id", "line_no", "unit_price"]
    assert table.to_pylist() == [{"order_id": "1", "line_no": "2", "unit_price": "3.00"}]


def test_csv_with_byte_order_mark_and_crlf(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.csv", "\ufeffOrder ID,name\r\n007,a\r\n")
    assert table.column_names == ["order_id", "name"]
    assert table.to_pylist() == [{"order_id": "007", "name": "a"}]


def test_csv_header_only_returns_no_rows(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.csv", "order_id,status\n")
    assert table.num_rows == 0
    assert table.column_names == ["order_id", "status"]
    assert_all_text(table)


def test_empty_csv_is_rejected(con, tmp_path: Path) -> None:
    assert rejected(con, tmp_path, "x.csv", "") == (
        "cannot parse x.csv as csv: the file has no header line "
        "(hint: fix or re-export the file and drop it again; nothing of it was loaded)"
    )


def test_empty_csv_gz_is_rejected(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.csv.gz", "")
    assert message.startswith("cannot parse x.csv.gz as csv: the file has no header line")


def test_ragged_csv_row_is_rejected(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.csv", "a,b\n1,2\n3\n")
    assert message.startswith("cannot parse x.csv as csv: CSV parse error: Expected 2 columns")
    assert message.endswith("nothing of it was loaded)")


def test_csv_row_with_too_many_fields_is_rejected(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.csv", "a,b\n1,2,3\n")
    assert message.startswith("cannot parse x.csv as csv: CSV parse error: Expected 2 columns")


def test_csv_that_is_not_utf8_is_rejected(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.csv", "city\nMünchen\n".encode("latin-1"))
    assert message.startswith("cannot parse x.csv as csv:")


@pytest.mark.parametrize(
    "header", ["Order ID,order_id", "a,a", "Order-ID, order id"], ids=["case", "same", "dash"]
)
def test_duplicate_column_after_normalisation(con, tmp_path: Path, header: str) -> None:
    message = rejected(con, tmp_path, "x.csv", f"{header}\n1,2\n")
    expected = normalize_column(header.split(",")[0])
    assert message == (
        f"x.csv has duplicate columns: {expected} (hint: each column may appear once in the header)"
    )


def test_upper_case_csv_gz_is_read(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "ORDERS.CSV.GZ", "a,b\n1,2\n")
    assert table.to_pylist() == [{"a": "1", "b": "2"}]


# --- JSON Lines ----------------------------------------------------------------------------

JSONL = (
    '{"order_id": 7, "price": 1.5, "tags": {"a": [1, 2]}, "paid": true, "note": null}\n'
    '{"order_id": "007", "extra": "x"}\n'
)
JSONL_ROWS = [
    {
        "order_id": "7",
        "price": "1.5",
        "tags": '{"a":[1,2]}',
        "paid": "true",
        "note": None,
        "extra": None,
    },
    {
        "order_id": "007",
        "price": None,
        "tags": None,
        "paid": None,
        "note": None,
        "extra": "x",
    },
]


def test_jsonl_values_become_text_and_missing_keys_null(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.jsonl", JSONL)
    assert_all_text(table)
    assert sorted(table.column_names) == ["extra", "note", "order_id", "paid", "price", "tags"]
    assert table.to_pylist() == JSONL_ROWS


def test_jsonl_gz(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.jsonl.gz", JSONL)
    assert_all_text(table)
    assert table.to_pylist() == JSONL_ROWS


def test_json_and_ndjson_are_json_lines(con, tmp_path: Path) -> None:
    for name in ("x.json", "x.ndjson"):
        table = read(con, tmp_path, name, '{"a": 1}\n{"a": 2}\n')
        assert table.to_pylist() == [{"a": "1"}, {"a": "2"}]


def test_jsonl_keys_are_normalised(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.jsonl", '{" Order ID ": "1", "a.b": "2"}\n')
    assert sorted(table.column_names) == ["a.b", "order_id"]
    assert table.to_pylist() == [{"order_id": "1", "a.b": "2"}]


def test_jsonl_blank_lines_are_skipped(con, tmp_path: Path) -> None:
    table = read(con, tmp_path, "x.jsonl", '{"a": "1"}\n\n{"a": "2"}\n')
    assert table.to_pylist() == [{"a": "1"}, {"a": "2"}]


def test_empty_jsonl_returns_no_rows(con, tmp_path: Path) -> None:
    assert read(con, tmp_path, "x.jsonl", "").num_rows == 0


def test_malformed_json_line_is_rejected(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.jsonl", '{"a": 1}\n{"a": \n')
    assert message.startswith("cannot parse x.jsonl as jsonl: ")
    assert "Malformed JSON" in message


def test_json_line_that_is_an_array_is_rejected(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.jsonl", '{"a": 1}\n[1, 2]\n"text"\n')
    assert message.startswith("cannot parse x.jsonl as jsonl: 2 lines are not JSON objects")


def test_jsonl_duplicate_key_after_normalisation(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.jsonl", '{"Order ID": "1", "order_id": "2"}\n')
    assert message.startswith("x.jsonl has duplicate columns: order_id")


def test_jsonl_columns_keep_the_order_of_first_appearance(tmp_path: Path) -> None:
    keys = [f"k{i:02d}" for i in range(12)]
    body = "".join(json.dumps({k: i for i, k in enumerate(keys)}) + "\n" for _ in range(3))
    path = write(tmp_path, "x.jsonl", body)
    con = connect(Settings(duckdb_threads=4))
    try:
        orders = {
            tuple(read_landing_file(con, str(path), "x.jsonl").column_names) for _ in range(5)
        }
    finally:
        con.close()
    assert orders == {tuple(keys)}


# --- Parquet -------------------------------------------------------------------------------


def test_parquet_native_types_become_text(con, tmp_path: Path) -> None:
    table = pa.table(
        {
            "Order ID": pa.array(["007", ""]),
            "quantity": pa.array([3, None], pa.int64()),
            "ratio": pa.array([1.5, 0.25], pa.float64()),
            "unit_price": pa.array([Decimal("12.50"), Decimal("-0.01")], pa.decimal128(18, 2)),
            "order_ts": pa.array([datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us")),
            "day": pa.array([date(2024, 1, 2), date(2024, 2, 29)], pa.date32()),
            "paid": pa.array([True, False]),
        }
    )
    pq.write_table(table, tmp_path / "x.parquet")
    result = read_landing_file(con, str(tmp_path / "x.parquet"), "x.parquet")
    assert_all_text(result)
    assert result.to_pylist() == [
        {
            "order_id": "007",
            "quantity": "3",
            "ratio": "1.5",
            "unit_price": "12.50",
            "order_ts": "2024-01-02 03:04:05",
            "day": "2024-01-02",
            "paid": "true",
        },
        {
            "order_id": "",
            "quantity": None,
            "ratio": "0.25",
            "unit_price": "-0.01",
            "order_ts": None,
            "day": "2024-02-29",
            "paid": "false",
        },
    ]


def test_parquet_duplicate_column_after_normalisation(con, tmp_path: Path) -> None:
    pq.write_table(pa.table({"Order ID": ["1"], "order_id": ["2"]}), tmp_path / "x.parquet")
    with pytest.raises(FileRejectedError, match=r"x\.parquet has duplicate columns: order_id"):
        read_landing_file(con, str(tmp_path / "x.parquet"), "x.parquet")


def test_corrupt_parquet_is_rejected(con, tmp_path: Path) -> None:
    message = rejected(con, tmp_path, "x.parquet", b"not a parquet file at all")
    assert message.startswith("cannot parse x.parquet as parquet: ")


@pytest.fixture
def new_york_clock():
    """The process's local time zone set to America/New_York for the test."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_parquet_zoned_timestamp_is_the_same_instant_on_any_machine(
    tmp_path: Path, settings: Settings, new_york_clock: None
) -> None:
    stamp = pa.array([datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"order_ts": stamp}), tmp_path / "x.parquet")
    con = connect(settings)
    try:
        (text,) = read_landing_file(con, str(tmp_path / "x.parquet"), "x.parquet")["order_ts"]
        (typed,) = con.execute("SELECT TRY_CAST($t AS TIMESTAMP)", {"t": text.as_py()}).fetchone()
    finally:
        con.close()
    assert typed == datetime(2024, 1, 2, 3, 4, 5)
