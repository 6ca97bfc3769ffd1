"""Clean simulation of the reference data: stores, customers (CRM) and products (ERP).

These tables hold thousands of rows at most, so they are simulated in plain Python, one
entity at a time, with a numpy ``Generator`` as the only source of randomness.

Rules the rest of the package relies on:

- Day 0 delivers every initial customer/product/store.  Their ``updated_at`` lies before
  day 0, so orders on day 0 can already reference them (and the product price in force at
  any order time is always a delivered version).
- A customer/product first delivered on day ``d > 0`` has ``updated_at`` inside day ``d`` and
  is only referenced by orders from day ``d + 1`` on (``first_ts < order day start``).
- Every re-delivery of a key happens on a later day than the previous one, with
  ``updated_at`` inside that later day, so versions are strictly increasing.
- ``spare`` entities are clean, single-version and never referenced by orders: defect
  injection may corrupt them in place without any clean row depending on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from shared.generate import catalog
from shared.generate.frame import SECONDS_PER_DAY, Frame, build_frame, money_str, ts_str

CUSTOMER_COLUMNS = (
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "country",
    "loyalty_tier",
    "signup_date",
    "updated_at",
)
PRODUCT_COLUMNS = (
    "product_id",
    "product_name",
    "category",
    "unit_cost",
    "unit_price",
    "updated_at",
)
STORE_COLUMNS = ("store_id", "store_name", "city", "country", "channel")


@dataclass(frozen=True)
class Calendar:
    """Delivery days ``0 .. days - 1``; day ``days - 1`` is ``end_date``."""

    first_day: date
    days: int

    @property
    def end_date(self) -> date:
        return self.first_day + timedelta(days=self.days - 1)

    def date_of(self, day: int) -> date:
        return self.first_day + timedelta(days=int(day))

    def day_start(self, day: int) -> int:
        """Epoch seconds of 00:00:00 UTC of delivery day ``day``."""
        return date_secs(self.first_day) + int(day) * SECONDS_PER_DAY

    def day_starts(self, days: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`day_start`."""
        return date_secs(self.first_day) + np.asarray(days, dtype=np.int64) * SECONDS_PER_DAY

    @property
    def end_secs(self) -> int:
        """First second after ``end_date`` (exclusive bound for clean order timestamps)."""
        return self.day_start(self.days)


def date_secs(day: date) -> int:
    """Epoch seconds of 00:00:00 UTC of ``day``."""
    return (day - date(1970, 1, 1)).days * SECONDS_PER_DAY


@dataclass
class Reference:
    """One simulated reference table: its clean rows plus per-entity facts."""

    frame: Frame
    ids: list[str]
    first_day: np.ndarray  # delivery day of the first version
    first_ts: np.ndarray  # updated_at of the first version (stores: 0)
    spare: np.ndarray  # bool: reserved for in-place defects, never referenced
    weight: np.ndarray  # popularity used when orders pick this entity


@dataclass
class Products(Reference):
    """Products plus their price history (one entry per version, any order)."""

    price_entity: np.ndarray
    price_from: np.ndarray  # updated_at of the version: valid from this second
    price_cents: np.ndarray


@dataclass
class Stores(Reference):
    """Stores; ``web`` marks web-channel stores."""

    web: np.ndarray


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def _pad(rng: np.random.Generator, text: str, rate: float = 0.03) -> str:
    """Occasionally add stray leading/trailing spaces (legitimate noise, not a defect)."""
    if rng.random() >= rate:
        return text
    return (" " + text, text + " ", "  " + text + " ")[int(rng.integers(3))]


def _weighted(rng: np.random.Generator, items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    return items[int(rng.choice(len(items), p=np.asarray(weights) / sum(weights)))]


def _frame(
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[str, ...]],
    meta: list[tuple[int, int, int, int]],
) -> Frame:
    """Frame from row tuples and (day, entity, version, ts) bookkeeping tuples."""
    cols = {
        name: pa.array([r[i] for r in rows], type=pa.string()) for i, name in enumerate(columns)
    }
    m = np.array(meta, dtype=np.int64).reshape(-1, 4)
    return build_frame(
        table,
        (_SOURCE[table],),
        cols,
        source=np.zeros(len(rows)),
        day=m[:, 0],
        entity=m[:, 1],
        version=m[:, 2],
        ts=m[:, 3],
    )


_SOURCE = {"customers": "crm", "products": "erp", "stores": "erp"}


def simulate_stores(count: int, rng: np.random.Generator) -> Stores:
    """``count`` stores delivered on day 0: one web store below six stores, else two."""
    n_web = 1 if count < 6 else 2
    rows: list[tuple[str, ...]] = []
    for i in range(count - n_web):
        city, country = catalog.STORE_LOCATIONS[i % len(catalog.STORE_LOCATIONS)]
        lap = i // len(catalog.STORE_LOCATIONS)
        name = f"{catalog.RETAILER} {city}" + (f" {lap + 1}" if lap else "")
        rows.append((f"S{i + 1:03d}", _pad(rng, name), city, country, "store"))
    for j in range(n_web):
        name, city, country = catalog.WEB_STORES[j]
        rows.append((f"S{count - n_web + j + 1:03d}", name, city, country, "web"))
    meta = [(0, i, 0, 0) for i in range(count)]
    web = np.array([r[4] == "web" for r in rows])
    return Stores(
        frame=_frame("stores", STORE_COLUMNS, rows, meta),
        ids=[r[0] for r in rows],
        first_day=np.zeros(count, np.int32),
        first_ts=np.zeros(count, np.int64),
        spare=np.zeros(count, bool),
        weight=rng.lognormal(0.0, 0.4, count),
        web=web,
    )


def _email(rng: np.random.Generator, first: str, last: str, country: str) -> str:
    f, la = catalog.ascii_slug(first), catalog.ascii_slug(last)
    style = int(rng.integers(4))
    local = (f"{f}.{la}", f"{f[0]}{la}", f"{f}{la}{int(rng.integers(1, 99))}", f"{f}_{la}")[style]
    address = f"{local}@{_pick(rng, catalog.EMAIL_DOMAINS[country])}"
    noise = rng.random()
    # Real CRM exports carry case and whitespace noise; valid after trim + lower-case.
    if noise < 0.04:
        address = address.upper() if rng.random() < 0.3 else address.title()
    elif noise < 0.07:
        address = (" " + address, address + " ", " " + address + "  ")[int(rng.integers(3))]
    return address


def _phone(rng: np.random.Generator, country: str) -> str:
    return "".join(
        str(int(rng.integers(10))) if ch == "#" else ch
        for ch in _pick(rng, catalog.PHONE_FORMATS[country])
    )


@dataclass
class _Customer:
    """Current state of one CRM customer (text already carries its per-entity noise)."""

    id: str
    first: str
    last: str
    email: str
    phone: str
    city: str
    country: str
    tier: str
    signup: str


@dataclass
class _Product:
    """Current state of one ERP product; money in integer cents."""

    id: str
    name: str
    category: str
    price: int
    cost: int


@dataclass
class _Rows:
    """Accumulates landing rows and their bookkeeping for one reference table."""

    rows: list[tuple[str, ...]]
    meta: list[tuple[int, int, int, int]]  # (day, entity, version, updated_at)
    versions: list[int]  # per entity: newest version number
    first_day: list[int]
    first_ts: list[int]
    spare: list[bool]

    @classmethod
    def empty(cls) -> _Rows:
        return cls([], [], [], [], [], [])

    def first(self, row: tuple[str, ...], day: int, updated: int, spare: bool) -> None:
        entity = len(self.versions)
        self.versions.append(0)
        self.first_day.append(day)
        self.first_ts.append(updated)
        self.spare.append(spare)
        self.rows.append(row)
        self.meta.append((day, entity, 0, updated))

    def update(self, entity: int, row: tuple[str, ...], day: int, updated: int) -> None:
        self.versions[entity] += 1
        self.rows.append(row)
        self.meta.append((day, entity, self.versions[entity], updated))

    def changeable(self) -> list[int]:
        """Entities that may receive an SCD2 change (every non-spare one)."""
        return [e for e, s in enumerate(self.spare) if not s]


def simulate_customers(
    cal: Calendar, initial: int, spare_rate: float, rng: np.random.Generator
) -> Reference:
    """Initial customers on day 0, a few sign-ups every later day, and SCD2 changes
    (city moves, loyalty tier changes) re-delivered with a newer updated_at."""
    countries = tuple(catalog.COUNTRY_WEIGHTS)
    weights = tuple(catalog.COUNTRY_WEIGHTS.values())
    state: list[_Customer] = []
    acc = _Rows.empty()

    def row(c: _Customer, updated: int) -> tuple[str, ...]:
        return (
            c.id,
            c.first,
            c.last,
            c.email,
            c.phone,
            _pad(rng, c.city),
            c.country,
            c.tier,
            c.signup,
            ts_str(updated),
        )

    def add(day: int, signup: date, updated: int) -> None:
        country = _weighted(rng, countries, weights)
        first = _pick(rng, catalog.FIRST_NAMES[country])
        last = _pick(rng, catalog.LAST_NAMES[country])
        c = _Customer(
            id=f"C{len(state) + 1:06d}",
            first=_pad(rng, first),
            last=_pad(rng, last),
            email=_email(rng, first, last, country),
            phone=_phone(rng, country),
            city=_pick(rng, catalog.CITIES[country]),
            country=country,
            tier=_weighted(rng, catalog.LOYALTY_TIERS, catalog.LOYALTY_WEIGHTS),
            signup=signup.isoformat(),
        )
        state.append(c)
        acc.first(row(c, updated), day, updated, bool(rng.random() < spare_rate))

    day0 = cal.day_start(0)
    for _ in range(initial):
        signup = cal.first_day - timedelta(days=int(rng.integers(1, 3 * 365)))
        add(0, signup, int(rng.integers(date_secs(signup), day0)))

    signups_per_day = max(1.0, initial * 0.02)
    for day in range(1, cal.days):
        start = cal.day_start(day)
        # SCD2 changes first, so only customers delivered before today change; at most one
        # change per customer per day keeps versions strictly ordered.
        known = acc.changeable()
        n_changes = min(len(known), int(rng.poisson(max(1.0, len(known) * 0.008))))
        for entity in rng.choice(known, size=n_changes, replace=False).tolist():
            c = state[entity]
            if rng.random() < 0.6:
                c.city = _pick(rng, tuple(x for x in catalog.CITIES[c.country] if x != c.city))
            else:
                c.tier = _pick(rng, tuple(t for t in catalog.LOYALTY_TIERS if t != c.tier))
            updated = start + int(rng.integers(SECONDS_PER_DAY))
            acc.update(entity, row(c, updated), day, updated)
        for _ in range(int(rng.poisson(signups_per_day))):
            add(day, cal.date_of(day), start + int(rng.integers(SECONDS_PER_DAY)))

    return Reference(
        frame=_frame("customers", CUSTOMER_COLUMNS, acc.rows, acc.meta),
        ids=[c.id for c in state],
        first_day=np.array(acc.first_day, np.int32),
        first_ts=np.array(acc.first_ts, np.int64),
        spare=np.array(acc.spare, bool),
        weight=rng.lognormal(0.0, 0.8, len(state)),
    )


def _product_names(rng: np.random.Generator) -> list[tuple[str, str, int, int]]:
    """Shuffled (name, category, min cents, max cents) combinations of the catalogue."""
    combos = [
        (f"{brand} {item} {variant}", category, lo, hi)
        for category, (items, variants, (lo, hi)) in catalog.PRODUCT_CATEGORIES.items()
        for brand in catalog.BRANDS
        for item in items
        for variant in variants
    ]
    return [combos[i] for i in rng.permutation(len(combos)).tolist()]


def _cost(rng: np.random.Generator, price: int) -> int:
    """A unit cost strictly below ``price`` (35-75 % margin of it)."""
    return max(1, min(price - 1, int(price * rng.uniform(0.35, 0.75))))


def simulate_products(
    cal: Calendar, initial: int, spare_rate: float, rng: np.random.Generator
) -> Products:
    """Initial assortment on day 0, the odd new product later, and price changes
    re-delivered with a newer updated_at (unit_cost always stays below unit_price)."""
    names = _product_names(rng)
    state: list[_Product] = []
    acc = _Rows.empty()
    history: list[tuple[int, int, int]] = []  # (entity, valid from, price cents)

    def row(p: _Product, updated: int) -> tuple[str, ...]:
        return (
            p.id,
            _pad(rng, p.name),
            p.category,
            money_str(p.cost),
            money_str(p.price),
            ts_str(updated),
        )

    def add(day: int, updated: int) -> None:
        entity = len(state)
        name, category, lo, hi = names[entity % len(names)]
        if entity >= len(names):  # more products asked for than the catalogue combines
            name = f"{name} {entity // len(names) + 1}"
        price = int(rng.integers(lo // 10, hi // 10 + 1)) * 10 + 9  # shelf prices end in 9
        p = _Product(
            id=f"P{entity + 1:05d}",
            name=name,
            category=category,
            price=price,
            cost=_cost(rng, price),
        )
        state.append(p)
        acc.first(row(p, updated), day, updated, bool(rng.random() < spare_rate))
        history.append((entity, updated, price))

    day0 = cal.day_start(0)
    for _ in range(initial):
        add(0, day0 - int(rng.integers(1, 90 * SECONDS_PER_DAY)))

    for day in range(1, cal.days):
        start = cal.day_start(day)
        known = acc.changeable()
        n_changes = min(len(known), int(rng.poisson(max(0.5, len(known) * 0.012))))
        for entity in rng.choice(known, size=n_changes, replace=False).tolist():
            p = state[entity]
            new = p.price
            while new == p.price:
                new = max(99, int(p.price * rng.uniform(0.85, 1.2)) // 10 * 10 + 9)
            p.price = new
            if p.cost >= new or rng.random() < 0.3:
                p.cost = _cost(rng, new)
            updated = start + int(rng.integers(SECONDS_PER_DAY))
            acc.update(entity, row(p, updated), day, updated)
            history.append((entity, updated, new))
        for _ in range(int(rng.poisson(0.15))):
            add(day, start + int(rng.integers(SECONDS_PER_DAY)))

    h = np.array(history, dtype=np.int64).reshape(-1, 3)
    return Products(
        frame=_frame("products", PRODUCT_COLUMNS, acc.rows, acc.meta),
        ids=[p.id for p in state],
        first_day=np.array(acc.first_day, np.int32),
        first_ts=np.array(acc.first_ts, np.int64),
        spare=np.array(acc.spare, bool),
        weight=rng.lognormal(0.0, 1.0, len(state)),
        price_entity=h[:, 0],
        price_from=h[:, 1],
        price_cents=h[:, 2],
    )
