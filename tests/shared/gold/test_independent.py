"""Gold checked against an independent computation of the same figures, written another
way: plain Python and `decimal.Decimal` over the Silver rows read back from the lake
(never over fact_sales), on generated data delivered day by day.

The data set spans three calendar months (2025-12-22 .. 2026-02-04). To keep the run
short, the first `BACKFILL_DAYS` days are delivered as one historical load (one Silver
build), then every later day is ingested and built on its own, each with the timer's clock
(the morning after the delivery day). Gold is built after every Silver build, as its timer
would: the first build in full, the later ones incrementally (fact_sales merged for the
orders Silver changed, with no look-back so that only those are recomputed).

Money is compared to the cent, including the lines whose value ends in exactly half a
cent (rounded half up; a DOUBLE intermediate once rounded them down).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from providers.storage import LocalStorage
from shared.contracts import ContractSet
from shared.engine import connect
from shared.generate import GenerateOptions, generate
from shared.gold.build import GoldResult, build_gold
from shared.ingest import LANDING, LandingFile, ingest_files
from shared.lake import Lake
from shared.settings import Settings
from shared.silver.build import build_silver
from tests.conftest import PII_KEY
from tests.shared.gold.helpers import COUNTED, by_key, gold

END = date(2026, 2, 4)
OPTIONS = GenerateOptions(days=45, orders_per_day=30, end_date=END)
BACKFILL_DAYS = 33
CENT = Decimal("0.01")
RATE_TOLERANCE = 1e-12

# --- what the independent computation gives for OPTIONS (pinned) ------------------------

# month: (revenue, orders, units, unique customers, customers with 2+ orders)
KPI = {
    date(2025, 12, 1): ("18041.75", 231, 728, 153, 56),
    date(2026, 1, 1): ("62311.83", 766, 2529, 371, 182),
    date(2026, 2, 1): ("7292.17", 105, 316, 93, 11),
}
# cohort month: {months since: active customers}; the cohort size is months since 0.
COHORTS = {
    date(2025, 12, 1): {0: 153, 1: 106, 2: 26},
    date(2026, 1, 1): {0: 265, 1: 43},
    date(2026, 2, 1): {0: 24},
}
# Orders each incremental Gold build recomputed (changed orders, and orders of customers and
# products with a new version).
RECOMPUTED = [130, 181, 103, 105, 102, 110, 100, 139, 132, 95, 82, 253]
# Fact lines whose product's unit_cost changed after the order.
COST_CHANGED = 253
SEGMENTS = {"Champions": 3, "Loyal": 250, "Promising": 189}
SHAPE = {
    "fact rows": 2278,
    "lines without their order": 192,
    "statuses": {
        "cancelled": 124,
        "delivered": 1852,
        "placed": 143,
        "returned": 67,
        "shipped": 92,
    },
    # Lines joined to a customer or product version that is no longer current, and
    # orders older than every version of their customer (joined to the earliest).
    "old customer version": 367,
    "old product version": 596,
    "before every customer version": 44,
    "before every product version": 0,
    "half-cent lines": 30,
    "r scores": {3: 58, 4: 384},
    "as of": "2026-02-04",
}


# --- the lake ---------------------------------------------------------------------------


def build_clock(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(6))


@dataclass
class Built:
    lake: Lake
    gold: GoldResult
    """The last Gold build."""
    golds: list[GoldResult]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, contracts: ContractSet) -> Built:
    root: Path = tmp_path_factory.mktemp("independent")
    generated = generate(root / LANDING, OPTIONS)
    lake = Lake(LocalStorage(str(root)))
    con = connect(Settings.from_env({}, lake_url=str(root)))
    days = [
        (day, list(files))
        for day, files in groupby(generated.files, key=lambda p: p.name.split("_", 1)[0])
    ]
    assert len(days) == OPTIONS.days
    golds = []
    for n, (day, files) in enumerate(days, start=1):
        landing = [
            LandingFile(name, str(p), name)
            for p in files
            for name in [f"{LANDING}/{p.relative_to(root / LANDING).as_posix()}"]
        ]
        ingested = ingest_files(lake, contracts, con, landing)
        assert all(r.status == "loaded" for r in ingested), [r.reason for r in ingested]
        if n < BACKFILL_DAYS:
            continue
        silver = build_silver(lake, contracts, con, PII_KEY, now=build_clock(day))
        assert silver.status == "succeeded" and silver.critical_failures == [], day
        golds.append(
            build_gold(lake, con, now=build_clock(day) + timedelta(hours=1), lookback=timedelta(0))
        )
        assert golds[-1].status == "succeeded", day
    con.close()
    return Built(lake, golds[-1], golds)


# --- the independent computation --------------------------------------------------------


def _rows(lake: Lake, table: str) -> list[dict[str, Any]]:
    data = lake.read(table)
    assert data is not None, table
    return data.to_pylist()


def _version_at(versions: list[dict[str, Any]], ts: datetime) -> dict[str, Any]:
    """The version whose [valid_from, valid_to) holds ts; the earliest one when ts is
    older than all of them."""
    for v in versions:
        if v["valid_from"] <= ts and (v["valid_to"] is None or ts < v["valid_to"]):
            return v
    first = min(versions, key=lambda v: v["valid_from"])
    assert ts < first["valid_from"], "versions leave a gap"
    return first


def _month(ts: datetime) -> date:
    return ts.date().replace(day=1)


def r_score(days: int) -> int:
    return 4 if days <= 30 else 3 if days <= 60 else 2 if days <= 90 else 1


def f_score(orders: int) -> int:
    return 4 if orders >= 5 else 3 if orders >= 3 else 2 if orders == 2 else 1


def m_score(spent: Decimal) -> int:
    return 4 if spent >= 2000 else 3 if spent >= 1000 else 2 if spent >= 300 else 1


def segment(r: int, f: int, m: int) -> str:
    if r >= 3 and f >= 3 and m >= 3:
        return "Champions"
    if r >= 3 and f >= 2:
        return "Loyal"
    if r >= 3 and f == 1:
        return "Promising"
    if r == 2 and f >= 2:
        return "At Risk"
    return "Need Attention"


@dataclass
class Sale:
    """A Silver order line of an order in Silver, valued independently."""

    order_id: str
    line_no: int
    customer_id: str
    product_id: str
    store_id: str
    order_ts: datetime
    status: str
    quantity: int
    unit_price: Decimal
    discount_pct: Decimal
    net: Decimal
    half_cent: bool
    """The unrounded value ends in exactly half a cent: where Gold may round down."""
    customer_version: dict[str, Any]
    product_version: dict[str, Any]

    @property
    def counted(self) -> bool:
        return self.status in COUNTED


@dataclass
class Expected:
    sales: dict[tuple[str, int], Sale]
    orphan_lines: int
    """Silver lines whose order is not in Silver (held, or not delivered)."""
    kpi: dict[date, dict[str, Any]]
    halves_per_month: Counter[date]
    rfm: dict[str, dict[str, Any]]
    halves_per_customer: Counter[str]
    as_of: date
    cohorts: dict[tuple[date, int], dict[str, Any]]


@pytest.fixture(scope="module")
def expected(built: Built) -> Expected:
    lake = built.lake
    orders = {o["order_id"]: o for o in _rows(lake, "silver.orders")}
    customers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in _rows(lake, "silver.customers"):
        customers[c["customer_id"]].append(c)
    products: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in _rows(lake, "silver.products"):
        products[p["product_id"]].append(p)

    sales: dict[tuple[str, int], Sale] = {}
    orphans = 0
    for line in _rows(lake, "silver.order_lines"):
        head = orders.get(line["order_id"])
        if head is None:
            orphans += 1
            continue
        discount = line["discount_pct"] if line["discount_pct"] is not None else Decimal(0)
        raw = line["quantity"] * line["unit_price"] * (1 - discount / 100)
        key = (line["order_id"], line["line_no"])
        assert key not in sales, key
        sales[key] = Sale(
            order_id=line["order_id"],
            line_no=line["line_no"],
            customer_id=head["customer_id"],
            product_id=line["product_id"],
            store_id=head["store_id"],
            order_ts=head["order_ts"],
            status=head["status"],
            quantity=line["quantity"],
            unit_price=line["unit_price"],
            discount_pct=discount,
            net=raw.quantize(CENT, rounding=ROUND_HALF_UP),
            half_cent=(raw * 100) % 1 == Decimal("0.5"),
            customer_version=_version_at(customers[head["customer_id"]], head["order_ts"]),
            product_version=_version_at(products[line["product_id"]], head["order_ts"]),
        )
    counted = [s for s in sales.values() if s.counted]

    # kpi_monthly
    revenue: dict[date, Decimal] = defaultdict(Decimal)
    units: Counter[date] = Counter()
    orders_of: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    halves_per_month: Counter[date] = Counter()
    for s in counted:
        month = _month(s.order_ts)
        revenue[month] += s.net
        units[month] += s.quantity
        orders_of[month][s.customer_id].add(s.order_id)
        halves_per_month[month] += s.half_cent
    kpi = {}
    for month, per_customer in orders_of.items():
        n_orders = sum(len(o) for o in per_customer.values())
        kpi[month] = {
            "revenue": revenue[month],
            "orders": n_orders,
            "units": units[month],
            "aov": (revenue[month] / n_orders).quantize(CENT, rounding=ROUND_HALF_UP),
            "unique_customers": len(per_customer),
            "repeaters": sum(len(o) >= 2 for o in per_customer.values()),
            "repeat_purchase_rate": sum(len(o) >= 2 for o in per_customer.values())
            / len(per_customer),
        }

    # customer_rfm, as of the latest order_ts among all fact rows
    as_of = max(s.order_ts for s in sales.values()).date()
    last: dict[str, date] = {}
    bought: dict[str, set[str]] = defaultdict(set)
    spent: dict[str, Decimal] = defaultdict(Decimal)
    halves_per_customer: Counter[str] = Counter()
    for s in counted:
        last[s.customer_id] = max(last.get(s.customer_id, s.order_ts.date()), s.order_ts.date())
        bought[s.customer_id].add(s.order_id)
        spent[s.customer_id] += s.net
        halves_per_customer[s.customer_id] += s.half_cent
    rfm = {}
    for cid, day in last.items():
        r, f, m = r_score((as_of - day).days), f_score(len(bought[cid])), m_score(spent[cid])
        rfm[cid] = {
            "recency_days": (as_of - day).days,
            "frequency": len(bought[cid]),
            "monetary": spent[cid],
            "r_score": r,
            "f_score": f,
            "m_score": m,
            "segment": segment(r, f, m),
        }

    # cohort_retention
    active = {(s.customer_id, _month(s.order_ts)) for s in counted}
    cohort_of: dict[str, date] = {}
    for cid, month in active:
        cohort_of[cid] = min(cohort_of.get(cid, month), month)
    size = Counter(cohort_of.values())
    cells: Counter[tuple[date, int]] = Counter()
    for cid, month in active:
        first = cohort_of[cid]
        cells[(first, (month.year - first.year) * 12 + month.month - first.month)] += 1
    cohorts = {
        (first, since): {
            "cohort_size": size[first],
            "active_customers": n,
            "retention_rate": n / size[first],
        }
        for (first, since), n in cells.items()
    }
    return Expected(sales, orphans, kpi, halves_per_month, rfm, halves_per_customer, as_of, cohorts)


@pytest.fixture(scope="module")
def fact(built: Built) -> dict[tuple[str, int], dict[str, Any]]:
    return by_key(gold(built.lake, "fact_sales"), "order_id", "line_no")


# --- the data set exercises what the tests check ----------------------------------------


def test_pinned_figures_of_the_independent_computation(built: Built, expected: Expected):
    # One full Gold build, then incremental ones that recompute only some orders.
    assert len(built.golds) == OPTIONS.days - BACKFILL_DAYS + 1
    assert built.golds[0].recomputed_orders is None
    recomputed = [g.recomputed_orders for g in built.golds[1:]]
    assert recomputed == RECOMPUTED
    kpi = {
        m: (
            str(k["revenue"]),
            k["orders"],
            k["units"],
            k["unique_customers"],
            k["repeaters"],
        )
        for m, k in sorted(expected.kpi.items())
    }
    cohorts: dict[date, dict[int, int]] = defaultdict(dict)
    for (first, since), c in sorted(expected.cohorts.items()):
        cohorts[first][since] = c["active_customers"]
    sales = expected.sales.values()
    segments = Counter(r["segment"] for r in expected.rfm.values())
    shape = {
        "fact rows": len(expected.sales),
        "lines without their order": expected.orphan_lines,
        "statuses": dict(sorted(Counter(s.status for s in sales).items())),
        "old customer version": sum(not s.customer_version["is_current"] for s in sales),
        "old product version": sum(not s.product_version["is_current"] for s in sales),
        "before every customer version": sum(
            s.order_ts < s.customer_version["valid_from"] for s in sales
        ),
        "before every product version": sum(
            s.order_ts < s.product_version["valid_from"] for s in sales
        ),
        "half-cent lines": sum(s.half_cent for s in sales),
        "r scores": dict(sorted(Counter(r["r_score"] for r in expected.rfm.values()).items())),
        "as of": str(expected.as_of),
    }
    assert kpi == KPI
    assert cohorts == COHORTS
    assert segments == SEGMENTS
    assert shape == SHAPE


# --- dimensions and fact_sales -----------------------------------------------------------


def test_dimensions_hold_every_silver_version(built: Built):
    lake = built.lake
    pick = ("customer_id", "city", "country", "loyalty_tier", "valid_from", "valid_to")
    silver = sorted(
        (*(c[k] for k in pick), c["is_current"]) for c in _rows(lake, "silver.customers")
    )
    dim = gold(lake, "dim_customer")
    assert sorted((*(c[k] for k in pick), c["is_current"]) for c in dim) == silver
    assert len({c["customer_key"] for c in dim}) == len(dim)
    pick = ("product_id", "product_name", "category", "unit_cost", "unit_price", "valid_from")
    silver = sorted(
        (*(p[k] for k in pick), p["valid_to"], p["is_current"])
        for p in _rows(lake, "silver.products")
    )
    dim = gold(lake, "dim_product")
    assert sorted((*(p[k] for k in pick), p["valid_to"], p["is_current"]) for p in dim) == silver
    assert len({p["product_key"] for p in dim}) == len(dim)
    stores = gold(lake, "dim_store")
    assert sorted((s["store_id"], s["store_name"], s["channel"]) for s in stores) == sorted(
        (s["store_id"], s["store_name"], s["channel"]) for s in _rows(lake, "silver.stores")
    )
    assert built.gold.tables["dim_customer"] == len(_rows(lake, "silver.customers"))


def test_fact_sales_is_one_row_per_silver_line_of_a_silver_order(
    built: Built, expected: Expected, fact: dict
):
    assert len(gold(built.lake, "fact_sales")) == len(fact) == built.gold.tables["fact_sales"]
    assert set(fact) == set(expected.sales)


def test_fact_sales_joins_the_versions_valid_at_order_time(
    built: Built, expected: Expected, fact: dict
):
    lake = built.lake
    customer_of = {
        c["customer_key"]: (c["customer_id"], c["valid_from"]) for c in gold(lake, "dim_customer")
    }
    product_of = {
        p["product_key"]: (p["product_id"], p["valid_from"]) for p in gold(lake, "dim_product")
    }
    store_of = {s["store_key"]: s["store_id"] for s in gold(lake, "dim_store")}
    wrong = []
    for key, s in expected.sales.items():
        row = fact[key]
        want = (
            s.customer_id,
            s.product_id,
            s.store_id,
            s.order_ts,
            s.status,
            s.quantity,
            s.unit_price,
            s.discount_pct,
            int(s.order_ts.strftime("%Y%m%d")),
            (s.customer_id, s.customer_version["valid_from"]),
            (s.product_id, s.product_version["valid_from"]),
            s.store_id,
        )
        got = (
            row["customer_id"],
            row["product_id"],
            row["store_id"],
            row["order_ts"],
            row["status"],
            row["quantity"],
            row["unit_price"],
            row["discount_pct"],
            row["date_key"],
            customer_of.get(row["customer_key"]),
            product_of.get(row["product_key"]),
            store_of.get(row["store_key"]),
        )
        if got != want:
            wrong.append((key, got, want))
    assert wrong == []


def test_gross_profit_uses_the_unit_cost_valid_at_order_time(
    built: Built, expected: Expected, fact: dict
):
    wrong = [
        (key, fact[key]["gross_profit"])
        for key, s in expected.sales.items()
        if fact[key]["gross_profit"]
        != fact[key]["net_revenue"] - s.quantity * s.product_version["unit_cost"]
    ]
    assert wrong == []
    # The point-in-time cost matters: valued at the current version's cost, these differ.
    current = {p["product_id"]: p for p in _rows(built.lake, "silver.products") if p["is_current"]}
    changed = sum(
        s.product_version["unit_cost"] != current[s.product_id]["unit_cost"]
        for s in expected.sales.values()
    )
    assert changed == COST_CHANGED


def test_net_revenue_is_rounded_half_up_per_line(expected: Expected, fact: dict):
    wrong = {
        key: (str(fact[key]["net_revenue"]), str(s.net))
        for key, s in expected.sales.items()
        if fact[key]["net_revenue"] != s.net
    }
    assert wrong == {}
    assert all(
        fact[key]["gross_profit"] == s.net - s.quantity * s.product_version["unit_cost"]
        for key, s in expected.sales.items()
    )


# --- KPI marts ---------------------------------------------------------------------------


def test_kpi_monthly(built: Built, expected: Expected):
    got = by_key(gold(built.lake, "kpi_monthly"), "month")
    assert sorted(got) == sorted(expected.kpi) == sorted(KPI)
    for month, want in expected.kpi.items():
        row = got[month]
        assert (row["orders"], row["units"], row["unique_customers"]) == (
            want["orders"],
            want["units"],
            want["unique_customers"],
        ), month
        assert row["repeat_purchase_rate"] == pytest.approx(
            want["repeat_purchase_rate"], abs=RATE_TOLERANCE, rel=0
        ), month
        # Gold's revenue may lack a cent per half-cent line; its aov is its revenue / orders.
        short = want["revenue"] - row["revenue"]
        assert 0 <= short <= CENT * expected.halves_per_month[month], month
        assert row["aov"] == (row["revenue"] / row["orders"]).quantize(
            CENT, rounding=ROUND_HALF_UP
        ), month


def test_kpi_monthly_revenue_and_aov_to_the_cent(built: Built, expected: Expected):
    got = by_key(gold(built.lake, "kpi_monthly"), "month")
    assert {m: (str(r["revenue"]), str(r["aov"])) for m, r in got.items()} == {
        m: (str(k["revenue"]), str(k["aov"])) for m, k in expected.kpi.items()
    }


def test_customer_rfm(built: Built, expected: Expected):
    got = by_key(gold(built.lake, "customer_rfm"), "customer_id")
    assert set(got) == set(expected.rfm)
    exact = ("recency_days", "frequency", "r_score", "f_score", "m_score", "segment")
    wrong = {}
    for cid, want in expected.rfm.items():
        row = got[cid]
        short = want["monetary"] - row["monetary"]
        if [row[k] for k in exact] != [want[k] for k in exact] or not (
            0 <= short <= CENT * expected.halves_per_customer[cid]
        ):
            wrong[cid] = (row, want)
    assert wrong == {}


def test_customer_rfm_monetary_to_the_cent(built: Built, expected: Expected):
    got = by_key(gold(built.lake, "customer_rfm"), "customer_id")
    assert {c: str(r["monetary"]) for c, r in got.items()} == {
        c: str(r["monetary"]) for c, r in expected.rfm.items()
    }


def test_cohort_retention(built: Built, expected: Expected):
    got = by_key(gold(built.lake, "cohort_retention"), "cohort_month", "months_since")
    assert set(got) == set(expected.cohorts)
    for key, want in expected.cohorts.items():
        row = got[key]
        assert (row["cohort_size"], row["active_customers"]) == (
            want["cohort_size"],
            want["active_customers"],
        ), key
        assert row["retention_rate"] == pytest.approx(
            want["retention_rate"], abs=RATE_TOLERANCE, rel=0
        ), key
