"""Test helpers: read landing files back and check them independently of the generator.

Files are read with the standard library (CSV, JSONL, gzip) and pyarrow (Parquet) only, and
every rule is re-implemented in plain Python from the generator's specification, so a bug in
the generator's own writers or defect bookkeeping cannot hide itself.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

TABLE_ORDER = ("customers", "products", "stores", "orders", "order_lines")
SOURCE_ORDER = ("crm", "erp", "pos", "web")
KEYS = {
    "customers": ("customer_id",),
    "products": ("product_id",),
    "stores": ("store_id",),
    "orders": ("order_id",),
    "order_lines": ("order_id", "line_no"),
}
COLUMNS = {
    "customers": (
        "customer_id", "first_name", "last_name", "email", "phone", "city", "country",
        "loyalty_tier", "signup_date", "updated_at",
    ),
    "products": ("product_id", "product_name", "category", "unit_cost", "unit_price",
                 "updated_at"),
    "stores": ("store_id", "store_name", "city", "country", "channel"),
    "orders": ("order_id", "customer_id", "store_id", "order_ts", "status", "updated_at"),
    "order_lines": ("order_id", "line_no", "product_id", "quantity", "unit_price",
                    "discount_pct"),
}  # fmt: skip
STATUSES = {"placed", "shipped", "delivered", "cancelled", "returned"}
TIERS = {"bronze", "silver", "gold", "platinum"}
EMAIL = re.compile(r"^[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}$")
FILE_NAME = re.compile(
    r"^(?P<source>crm|erp|pos|web)/(?P<table>[a-z_]+)/(?P<date>\d{4}-\d{2}-\d{2})_"
    r"(?P=table)_(?P<part>\d{2})\.(?P<ext>csv|csv\.gz|jsonl|jsonl\.gz|parquet)$"
)

Value = str | None


@dataclass(frozen=True)
class Record:
    """One landing row as text, with where it came from."""

    table: str
    file: str  # relative to the landing root, forward slashes
    row: int  # 1-based
    day: date  # delivery day from the file name
    values: dict[str, Value]


def delivery_key(rel: str) -> tuple[str, int, int, int]:
    m = FILE_NAME.match(rel)
    assert m, rel
    return (
        m["date"],
        TABLE_ORDER.index(m["table"]),
        SOURCE_ORDER.index(m["source"]),
        int(m["part"]),
    )


def _text(value: object) -> Value:
    """Parquet native values back to the landing text form."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | int):
        return str(value)
    raise AssertionError(f"unexpected parquet value {value!r}")


def read_file(path: Path) -> list[dict[str, Value]]:
    """All rows of one landing file, values as text (None for JSON/Parquet nulls)."""
    name = path.name
    if name.endswith(".parquet"):
        return [{k: _text(v) for k, v in r.items()} for r in pq.read_table(path).to_pylist()]
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8")
    if ".csv" in name:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    rows = []
    for line in text.splitlines():
        obj = json.loads(line, parse_int=str, parse_float=str)
        rows.append(obj)
    return rows


def read_landing(root: Path) -> list[Record]:
    """Every landing row under ``root``, in delivery order (independently sorted)."""
    rels = sorted(
        (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
         and p.name != "_ground_truth.jsonl"),
        key=delivery_key,
    )  # fmt: skip
    out = []
    for rel in rels:
        m = FILE_NAME.match(rel)
        assert m, rel
        for i, values in enumerate(read_file(root / rel), start=1):
            assert tuple(values) == COLUMNS[m["table"]], (rel, tuple(values))
            out.append(Record(m["table"], rel, i, date.fromisoformat(m["date"]), values))
    return out


def blank(v: Value) -> bool:
    return v is None or v.strip() == ""


def as_int(v: Value) -> int | None:
    return int(v) if v is not None and re.fullmatch(r"-?\d+", v) else None


def as_money(v: Value) -> Decimal | None:
    return Decimal(v) if v is not None and re.fullmatch(r"-?\d+\.\d{2}", v) else None


def as_ts(v: Value) -> datetime | None:
    try:
        return datetime.strptime(v or "", "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def as_date(v: Value) -> date | None:
    try:
        return date.fromisoformat(v or "") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v or "") else None
    except ValueError:
        return None


@dataclass
class Checker:
    """Plain-Python defect detection over all landing rows, in delivery order."""

    records: list[Record]
    end_date: date
    first_seen: dict[tuple[str, str], date] = field(default_factory=dict)
    flags: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    def run(self) -> dict[tuple[str, int], list[str]]:
        for r in self.records:
            key = r.values[KEYS[r.table][0]]
            if not blank(key):
                self.first_seen.setdefault((r.table, str(key)), r.day)
        seen_rows: set[tuple[str, tuple[Value, ...]]] = set()
        versions: dict[tuple[str, str], list[tuple[date, datetime, dict[str, Value]]]]
        versions = defaultdict(list)
        for r in self.records:
            found = self._row_flags(r)
            # Compared as a trimming, case-insensitive reader would: a defect row that only
            # differs from an earlier row by whitespace or case would carry two defects.
            content = (r.table, tuple(_normalised(v) for v in r.values.values()))
            if content in seen_rows:
                found.append("exact_duplicate")
            seen_rows.add(content)
            ts = as_ts(r.values.get("updated_at"))
            if not found and ts is not None:
                key = (r.table, str(r.values[KEYS[r.table][0]]))
                newer = [v for d, t, v in versions[key] if d < r.day and t > ts]
                if newer:
                    found.append("stale_redelivery")
                    assert all(_business(v) != _business(r.values) for v in newer)
                else:
                    versions[key].append((r.day, ts, r.values))
            if found:
                self.flags[(r.file, r.row)] = found
        return self.flags

    def _arrived(self, table: str, key: Value, by: date | None = None) -> bool:
        seen = self.first_seen.get((table, str(key)))
        return seen is not None and (by is None or seen <= by)

    def _row_flags(self, r: Record) -> list[str]:
        v = r.values
        found: list[str] = []
        if any(blank(v[k]) for k in KEYS[r.table]):
            found.append("null_key")
        if r.table == "customers":
            if as_date(v["signup_date"]) is None or as_ts(v["updated_at"]) is None:
                found.append("wrong_type")
            if not EMAIL.match((v["email"] or "").strip().lower()):
                found.append("malformed_email")
            assert v["loyalty_tier"] in TIERS and v["country"] in {
                "GB", "DE", "FR", "NL", "IE", "ES"}  # fmt: skip
        elif r.table == "products":
            cost, price = as_money(v["unit_cost"]), as_money(v["unit_price"])
            if cost is None or price is None or as_ts(v["updated_at"]) is None:
                found.append("wrong_type")
            else:
                assert 0 < cost < price, v
        elif r.table == "stores":
            assert v["channel"] in {"store", "web"}
        elif r.table == "orders":
            found += self._order_flags(r)
        else:
            found += self._line_flags(r)
        return found

    def _order_flags(self, r: Record) -> list[str]:
        v = r.values
        found = []
        order_ts = as_ts(v["order_ts"])
        if order_ts is None or as_ts(v["updated_at"]) is None:
            found.append("wrong_type")
        elif order_ts >= datetime.combine(self.end_date + timedelta(days=1), datetime.min.time()):
            found.append("future_order_date")
        if v["status"] not in STATUSES:
            found.append("unknown_status")
        if not self._arrived("customers", v["customer_id"]) or not self._arrived(
            "stores", v["store_id"]
        ):
            found.append("orphan_reference")
        elif not self._arrived("customers", v["customer_id"], r.day):
            found.append("late_reference")
            late = (self.first_seen[("customers", str(v["customer_id"]))] - r.day).days
            assert late in (1, 2), late
        return found

    def _line_flags(self, r: Record) -> list[str]:
        v = r.values
        found = []
        line_no = v["line_no"]
        quantity, discount = as_int(v["quantity"]), as_int(v["discount_pct"])
        if (not blank(line_no) and as_int(line_no) is None) or quantity is None or discount is None:
            found.append("wrong_type")
        if as_money(v["unit_price"]) is None:
            found.append("wrong_type")
        if quantity is not None and quantity <= 0:
            found.append("non_positive_quantity")
        if discount is not None and not 0 <= discount <= 100:
            found.append("discount_out_of_range")
        if not self._arrived("products", v["product_id"]):
            found.append("orphan_reference")
        elif not self._arrived("products", v["product_id"], r.day):
            found.append("late_product")  # never produced: must stay unflagged
        if not blank(v["order_id"]) and not self._arrived("orders", v["order_id"], r.day):
            found.append("orphan_reference")  # never produced: must stay unflagged
        return found


def _normalised(value: Value) -> Value:
    text = (value or "").strip().lower()
    return text or None


def _business(values: dict[str, Value]) -> dict[str, Value]:
    """Row values without updated_at, whitespace-normalised."""
    return {k: (v.strip() if v else v) for k, v in values.items() if k != "updated_at"}


def load_truth(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
