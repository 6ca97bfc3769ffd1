"""Reading landing files (CSV, JSON Lines, Parquet; optionally gzipped) into Arrow tables
whose columns are all text, as Bronze keeps them. DuckDB does the parsing."""

from __future__ import annotations

import csv
import gzip
import re

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from shared.engine import literal, quote
from shared.errors import FileRejectedError

FORMATS = {
    "csv": "csv",
    "tsv": "csv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "jsonl",
    "parquet": "parquet",
}


def landing_format(name: str) -> str:
    """'x.csv.gz' -> 'csv'; raises FileRejectedError for anything else."""
    lowered = name.lower().removesuffix(".gz")
    ext = lowered.rsplit(".", 1)[-1] if "." in lowered else ""
    if ext not in FORMATS or (name.lower().endswith(".gz") and FORMATS[ext] == "parquet"):
        raise FileRejectedError(
            f"unsupported file type {name!r}",
            hint="deliver .csv, .jsonl or .parquet files (.csv.gz and .jsonl.gz too)",
        )
    return FORMATS[ext]


def normalize_column(name: str) -> str:
    """Header names are matched case-insensitively: ' Order ID ' -> 'order_id'."""
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


def read_landing_file(con: duckdb.DuckDBPyConnection, path: str, name: str) -> pa.Table:
    """Parse a whole landing file into text columns, or raise FileRejectedError."""
    fmt = landing_format(name)
    try:
        if fmt == "csv":
            table = _read_csv(path, delimiter="\t" if ".tsv" in name.lower() else ",")
        elif fmt == "jsonl":
            table = con.sql(_jsonl_sql(con, path)).to_arrow_table()
        else:
            sql = f"SELECT COLUMNS(*)::VARCHAR FROM read_parquet({literal(path)})"
            table = con.sql(sql).to_arrow_table()
        names = [normalize_column(c) for c in table.column_names]
    except (duckdb.Error, pa.ArrowInvalid, UnicodeDecodeError, csv.Error, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileRejectedError(
            f"cannot parse {name} as {fmt}: {first_line}",
            hint="fix or re-export the file and drop it again; nothing of it was loaded",
        ) from None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise FileRejectedError(
            f"{name} has duplicate columns: {', '.join(duplicates)}",
            hint="each column may appear once in the header",
        )
    table = table.rename_columns(names)
    return table.cast(pa.schema([pa.field(n, pa.string()) for n in names]))


def _read_csv(path: str, *, delimiter: str) -> pa.Table:
    # pyarrow's reader is strict (a row with too many or too few fields fails the file);
    # the header is read first so every column can be declared text and keep "007" as is.
    gzipped = path.lower().endswith(".gz")
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle, delimiter=delimiter), None)
    if not header:
        raise pa.ArrowInvalid("the file has no header line")
    # Compression is named, not guessed from the suffix (pyarrow knows only lower-case).
    source = pa.input_stream(path, compression="gzip" if gzipped else None)
    return pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(use_threads=True, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=False
        ),
    )


def _jsonl_sql(con: duckdb.DuckDBPyConnection, path: str) -> str:
    objects = f"read_json_objects({literal(path)}, format='newline_delimited')"
    # One pass finds the key lists and any line that is not an object; the columns are in
    # document order, the distinct key lists (usually one or two) merged, most common first.
    shapes = con.execute(
        f"SELECT json_type(json) = 'OBJECT' AS is_object, json_keys(json) AS keys, count(*) "
        f"FROM {objects} GROUP BY ALL"
    ).fetchall()
    not_objects = sum(n for is_object, _, n in shapes if not is_object)
    if not_objects:
        raise duckdb.InvalidInputException(f"{not_objects} lines are not JSON objects")
    keys: list[str] = []
    for _, names, _ in sorted(shapes, key=lambda row: (-row[2], str(row[1]))):
        keys += [k for k in names if k not in keys]
    if not keys:
        return "SELECT NULL::VARCHAR AS _empty WHERE false"
    paths = ", ".join(literal("$." + _json_path_key(k)) for k in keys)
    fields = ", ".join(f"v[{i}] AS {quote(k)}" for i, k in enumerate(keys, start=1))
    return f"SELECT {fields} FROM (SELECT json_extract_string(json, [{paths}]) AS v FROM {objects})"


def _json_path_key(key: str) -> str:
    return '"' + key.replace('"', '\\"') + '"'
