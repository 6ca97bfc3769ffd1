"""Chaos incidents for evaluating the advisor: a clean generated lake, broken in one known
way per incident (a missing column, an empty file, orphan orders, a late customer file, a
re-sent file, a price-format change, a freshness breach...), each with the root-cause
category a good answer names. `benchmarks/advisor_eval.py` and the tests run them.

Every incident starts from a copy of the same baseline lake (three clean days delivered
and built), drops its files into the landing zone and runs the pipeline as the timers
would; the clock is the real one, shifted forward where grace periods or freshness need it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from shared.engine import connect
from shared.generate import GenerateOptions, generate
from shared.gold.build import build_gold
from shared.ingest import LANDING, LandingFile, ingest_files
from shared.jobs import Platform
from shared.settings import Settings
from shared.silver.build import build_silver

HEADERS = {
    "customers": "customer_id,first_name,last_name,email,phone,city,country,loyalty_tier,"
    "signup_date,updated_at",
    "products": "product_id,product_name,category,unit_cost,unit_price,updated_at",
    "stores": "store_id,store_name,city,country,channel",
    "orders": "order_id,customer_id,store_id,order_ts,status,updated_at",
    "order_lines": "order_id,line_no,product_id,quantity,unit_price,discount_pct",
}
SOURCE = {"customers": "crm", "products": "erp", "stores": "erp", "orders": "pos"}
BASELINE_DAYS = 3


class Bench:
    """One incident's lake: write landing files, run the pipeline, read what it holds."""

    def __init__(self, root: Path, contracts_dir: Path | None = None) -> None:
        self.root = root
        settings = Settings.from_env({}, lake_url=str(root / "lake"), secrets_dir=root / "secrets")
        self.settings = settings.with_(contracts_dir=contracts_dir)
        self.platform = Platform(self.settings)
        self.lake = self.platform.lake
        self.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        self._files = 0

    def file(self, table: str, rows: list[list[Any]], *, header: str | None = None) -> LandingFile:
        """A CSV landing file for `table` (its contract's header unless given)."""
        out = io.StringIO()
        out.write((header or HEADERS[table]) + "\n")
        csv.writer(out, lineterminator="\n").writerows(rows)
        return self.raw(f"{SOURCE.get(table, 'pos')}/{table}", out.getvalue())

    def raw(self, folder: str, text: str, name: str | None = None) -> LandingFile:
        self._files += 1
        path = f"{LANDING}/{folder}/{name or f'incident_{self._files:02d}.csv'}"
        self.lake.storage.write_bytes(path, text.encode("utf-8"))
        return LandingFile(path, self.lake.storage.local_path(path), path)

    def ingest(self, *files: LandingFile) -> str:
        con = connect(self.settings)
        ingest_files(self.lake, self.platform.contracts, con, list(files))
        return self.latest("ingest")

    def silver(self, *, days_later: float = 0) -> str:
        con = connect(self.settings)
        clock = self.now + timedelta(days=days_later)
        build_silver(self.lake, self.platform.contracts, con, self.platform.pii_key(), now=clock)
        return self.latest("silver")

    def gold(self, *, days_later: float = 0) -> str:
        con = connect(self.settings)
        build_gold(self.lake, con, now=self.now + timedelta(days=days_later))
        return self.latest("gold")

    def deliver(self, *files: LandingFile, days_later: float = 0) -> dict[str, str]:
        """Ingest, build Silver and Gold; the run ids."""
        return {
            "ingest": self.ingest(*files),
            "silver": self.silver(days_later=days_later),
            "gold": self.gold(days_later=days_later),
        }

    def latest(self, job: str) -> str:
        runs = self.lake.read("_ops.runs", filter=pc.field("job") == job)
        assert runs is not None and runs.num_rows, f"no {job} run"
        return runs.sort_by([("started_at", "descending")]).column("run_id")[0].as_py()

    def ids(self, table: str, column: str) -> list[str]:
        rows = self.lake.read(f"silver.{table}", columns=[column])
        return sorted(set(rows.column(column).to_pylist())) if rows is not None else []

    def stamp(self, hours_ago: float = 2) -> str:
        return (self.now - timedelta(hours=hours_ago)).isoformat(timespec="seconds")

    def new_orders(self, n: int, *, prefix: str = "O9", **override: Any) -> list[list[Any]]:
        """Valid new orders of known customers and stores (fields overridable)."""
        customers, stores = self.ids("customers", "customer_id"), self.ids("stores", "store_id")
        rows = []
        for i in range(n):
            row = {
                "order_id": f"{prefix}{self._files:02d}{i:05d}",
                "customer_id": customers[i % len(customers)],
                "store_id": stores[i % len(stores)],
                "order_ts": self.stamp(3 + i % 5),
                "status": "placed",
                "updated_at": self.stamp(1),
            }
            rows.append(_fields(row, override, i))
        return rows

    def new_lines(self, orders: list[list[Any]], **override: Any) -> list[list[Any]]:
        """One valid line per order, of known products (fields overridable)."""
        products = self.ids("products", "product_id")
        rows = []
        for i, order in enumerate(orders):
            row = {
                "order_id": order[0],
                "line_no": 1,
                "product_id": products[i % len(products)],
                "quantity": 1 + i % 3,
                "unit_price": f"{10 + i % 40}.50",
                "discount_pct": "0",
            }
            rows.append(_fields(row, override, i))
        return rows


def _fields(row: dict[str, Any], override: dict[str, Any], i: int) -> list[Any]:
    for key, value in override.items():
        row[key] = value(i) if callable(value) else value
    return list(row.values())


@dataclass(frozen=True)
class Incident:
    name: str
    category: str
    """The root-cause category a correct answer names."""
    question: str | None
    """Asked as a question; None: the advisor is asked about the run `run` returns."""
    run: Callable[[Bench], str]
    """Breaks the lake; returns the run id the incident is about."""
    contracts: Callable[[Path], Path] | None = None
    """Makes a contracts folder for the incident (default: the shipped ones)."""


def baseline(folder: Path, *, seed: int = 7) -> Path:
    """A clean lake: three days delivered day by day and built, Gold published."""
    bench = Bench(folder)
    end = bench.now.date() - timedelta(days=1)
    options = GenerateOptions(
        days=BASELINE_DAYS, orders_per_day=30, defect_rate=0.0, seed=seed, end_date=end
    )
    landing = folder / "generated"
    result = generate(landing, options)
    for day in range(BASELINE_DAYS):
        stamp = (end - timedelta(days=BASELINE_DAYS - 1 - day)).isoformat()
        todays = [p for p in result.files if p.name.startswith(stamp)]
        files = [
            LandingFile(f"{LANDING}/{p.relative_to(landing).as_posix()}", str(p), None)
            for p in todays
        ]
        bench.ingest(*files)
        bench.silver()
    bench.gold()
    return folder


def prepare(template: Path, folder: Path, incident: Incident) -> Bench:
    """A copy of the baseline lake for one incident."""
    shutil.copytree(template, folder)
    contracts = incident.contracts(folder) if incident.contracts else None
    return Bench(folder, contracts)


def _broken_expression(folder: Path) -> Path:
    from shared.settings import PACKAGE_ROOT

    target = folder / "contracts"
    shutil.copytree(PACKAGE_ROOT / "contracts", target)
    orders = target / "orders.yaml"
    text = orders.read_text(encoding="utf-8")
    orders.write_text(text.replace("sql: order_ts <= run_now()", "sql: order_tss <= run_now()"))
    return target


def _drop_column(rows: list[list[Any]], header: str, column: str) -> tuple[list[list[Any]], str]:
    names = header.split(",")
    index = names.index(column)
    return [r[:index] + r[index + 1 :] for r in rows], ",".join(n for n in names if n != column)


def _missing_column(table: str, column: str) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        rows = b.new_orders(5) if table == "orders" else b.new_lines(b.new_orders(5))
        if table == "products":
            rows = [[f"P9{i:04d}", "Thing", "misc", "5.00", "9.50", b.stamp()] for i in range(5)]
        kept, header = _drop_column(rows, HEADERS[table], column)
        return b.ingest(b.file(table, kept, header=header))

    return run


def _empty(table: str) -> Callable[[Bench], str]:
    return lambda b: b.ingest(b.file(table, []))


def _unroutable(b: Bench) -> str:
    return b.ingest(b.raw("exports", HEADERS["orders"] + "\nO1,C1,S1,2026-01-01,placed,x\n"))


def _drift(table: str, column: str) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        rows = b.new_orders(5) if table == "orders" else b.new_lines(b.new_orders(5))
        extended = [[*r, "X"] for r in rows]
        return b.ingest(b.file(table, extended, header=f"{HEADERS[table]},{column}"))

    return run


def _format_change(
    table: str, column: str, render: Callable[[int], str], ask: str
) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        orders = b.new_orders(40)
        if table == "order_lines":
            lines = b.new_lines(orders, **{column: render})
            runs = b.deliver(b.file("orders", orders), b.file("order_lines", lines))
        else:
            bad = b.new_orders(40, **{column: render})
            runs = b.deliver(b.file("orders", bad))
        return runs[ask]

    return run


def _products_comma_prices(b: Bench) -> str:
    products = b.ids("products", "product_id")[:30]
    rows = [
        [p, f"Item {i}", "misc", "4,10", f"{9 + i},50", b.stamp()] for i, p in enumerate(products)
    ]
    return b.deliver(b.file("products", rows))["gold"]


def _invalid(
    table: str, column: str, value: Callable[[int], Any], ask: str
) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        orders = b.new_orders(40, **({column: value} if table == "orders" else {}))
        files = [b.file("orders", orders)]
        if table == "order_lines":
            files.append(b.file("order_lines", b.new_lines(orders, **{column: value})))
        return b.deliver(*files)[ask]

    return run


def _orphans(table: str, ask: str) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        if table == "orders":
            orders = b.new_orders(40, customer_id=lambda i: f"C95{i:04d}")
            files = [b.file("orders", orders)]
        else:
            orders = b.new_orders(40)
            lines = b.new_lines(orders, product_id=lambda i: f"P95{i:03d}")
            files = [b.file("orders", orders), b.file("order_lines", lines)]
        b.deliver(*files)
        # Four days later, past the 72h grace, the next delivery comes without the parents.
        later = b.new_orders(30, prefix="O8", order_ts=lambda i: b.stamp(-4 * 24 + 3 + i % 5))
        return b.deliver(b.file("orders", later), days_later=4)[ask]

    return run


def _late(parent: str, ask: str) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        if parent == "customers":
            orders = b.new_orders(30, customer_id=lambda i: f"C96{i:04d}")
        else:
            orders = b.new_orders(30, store_id=lambda i: f"S9{i % 3 + 70}")
        return b.deliver(b.file("orders", orders))[ask]

    return run


def _same_file_again(b: Bench) -> str:
    orders = b.new_orders(10)
    first = b.file("orders", orders)
    b.deliver(first)
    again = LandingFile(first.name, first.local_path, None)
    return b.ingest(again)


def _rows_again(ask: str) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        orders = b.new_orders(20)
        b.deliver(b.file("orders", orders))
        # The same rows re-exported: a new file (other bytes, same content).
        return b.deliver(b.file("orders", [list(r) for r in reversed(orders)]))[ask]

    return run


def _stale(b: Bench) -> str:
    customers = b.lake.read("silver.customers", filter=pc.field("is_current"))
    rows = customers.slice(0, 25).to_pylist()
    old = [
        [
            r["customer_id"],
            "Old",
            "Name",
            "",
            "",
            "Oldtown",
            "GB",
            "bronze",
            "2020-01-01",
            (r["updated_at"] - timedelta(days=400)).isoformat(),
        ]
        for r in rows
    ]
    return b.deliver(b.file("customers", old))["silver"]


def _freshness(ask: str) -> Callable[[Bench], str]:
    def run(b: Bench) -> str:
        # Only status updates of old orders arrive: nothing newer than the baseline.
        orders = b.lake.read("silver.orders").slice(0, 30).to_pylist()
        rows = [
            [
                o["order_id"],
                o["customer_id"],
                o["store_id"],
                o["order_ts"].isoformat(),
                "delivered",
                b.stamp(-5 * 24 + 1),
            ]
            for o in orders
        ]
        return b.deliver(b.file("orders", rows), days_later=5)[ask]

    return run


def _volume(n: int, ask: str) -> Callable[[Bench], str]:
    return lambda b: b.deliver(b.file("orders", b.new_orders(n)))[ask]


def _empty_emails(b: Bench) -> str:
    rows = [
        [f"C97{i:04d}", "Ana", "Lopez", "", "", "Leeds", "GB", "gold", "2025-01-01", b.stamp()]
        for i in range(30)
    ]
    return b.deliver(b.file("customers", rows))["silver"]


def _broken_contract(b: Bench) -> str:
    # The failure under test: the build raises, and its run is recorded as failed.
    with contextlib.suppress(Exception):
        b.deliver(b.file("orders", b.new_orders(5)))
    return b.latest("silver")


INCIDENTS: list[Incident] = [
    Incident(
        "orders file without customer_id",
        "missing_column",
        None,
        _missing_column("orders", "customer_id"),
    ),
    Incident(
        "products file without unit_price",
        "missing_column",
        "Why didn't today's products file load?",
        _missing_column("products", "unit_price"),
    ),
    Incident(
        "order lines without quantity",
        "missing_column",
        None,
        _missing_column("order_lines", "quantity"),
    ),
    Incident("empty orders file", "empty_file", None, _empty("orders")),
    Incident(
        "empty customers file",
        "empty_file",
        "Why was the customers delivery rejected?",
        _empty("customers"),
    ),
    Incident("file outside any feed folder", "unroutable_file", None, _unroutable),
    Incident(
        "orders with a new promo_code column", "schema_drift", None, _drift("orders", "promo_code")
    ),
    Incident(
        "order lines with a new gift_wrap column",
        "schema_drift",
        None,
        _drift("order_lines", "gift_wrap"),
    ),
    Incident("product prices with a decimal comma", "format_change", None, _products_comma_prices),
    Incident(
        "line prices with a currency sign",
        "format_change",
        "Why was the gold build blocked?",
        _format_change("order_lines", "unit_price", lambda i: f"€{10 + i}.50", "silver"),
    ),
    Incident(
        "order timestamps in day/month/year",
        "format_change",
        None,
        _format_change("orders", "order_ts", lambda i: f"{1 + i % 28:02d}/01/2026 10:00", "silver"),
    ),
    Incident(
        "spike of an unknown order status",
        "invalid_values",
        None,
        _invalid("orders", "status", lambda i: "on_hold", "silver"),
    ),
    Incident(
        "order lines with zero quantity",
        "invalid_values",
        "Why are so many order lines quarantined?",
        _invalid("order_lines", "quantity", lambda i: 0, "silver"),
    ),
    Incident("spike of orphan orders", "missing_reference", None, _orphans("orders", "silver")),
    Incident(
        "order lines of unknown products",
        "missing_reference",
        "Why did the last silver build fail its checks?",
        _orphans("order_lines", "silver"),
    ),
    Incident("late customer file", "late_reference", None, _late("customers", "silver")),
    Incident(
        "late store file",
        "late_reference",
        "Why are today's orders held back?",
        _late("stores", "silver"),
    ),
    Incident("the same orders file dropped twice", "duplicate_delivery", None, _same_file_again),
    Incident("orders re-exported in a new file", "duplicate_delivery", None, _rows_again("silver")),
    Incident("old customer versions re-sent", "stale_redelivery", None, _stale),
    Incident("no new orders for five days", "freshness_breach", None, _freshness("silver")),
    Incident(
        "stale orders behind the dashboards",
        "freshness_breach",
        "Why is the latest silver run failing a check?",
        _freshness("silver"),
    ),
    Incident("fifteen times the usual orders", "volume_anomaly", None, _volume(600, "silver")),
    Incident(
        "a single order in a day",
        "volume_anomaly",
        "What went wrong with today's orders volume?",
        _volume(1, "silver"),
    ),
    Incident("customers delivered without e-mails", "missing_values", None, _empty_emails),
    Incident(
        "a contract rule with broken SQL",
        "pipeline_error",
        "Why did the silver build crash?",
        _broken_contract,
        contracts=_broken_expression,
    ),
]
