"""Vectorised clean simulation of orders, order lines and the order status lifecycle.

Orders and lines are the large tables (the benchmark asks for a million lines), so this
module never loops over rows in Python: it loops over days at most and draws everything
else as numpy arrays, turning them into text with the helpers in ``frame``.

Clean-data guarantees:

- An order on day ``d`` has ``order_ts`` inside day ``d`` and no later than 23:29:59, and
  ``updated_at = order_ts + 1..30 minutes`` stays inside day ``d``.  It is delivered as
  ``placed`` with its lines on day ``d``.
- Its customer/product were delivered before day ``d`` started (``first_ts < day start``)
  and are never spares; its store matches the channel (pos -> ``store``, web -> ``web``).
- Each line's unit_price is the product's price in force at ``order_ts``.
- Status updates arrive 1-3 days apart, each inside its own later day, so every version of
  an order has a strictly newer updated_at; updates that would fall after the last delivery
  day are simply not delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from shared.generate import catalog
from shared.generate.frame import (
    SECONDS_PER_DAY,
    Frame,
    build_frame,
    id_text,
    money_str,
    ts_text,
    vocab_text,
)
from shared.generate.retail import Calendar, Products, Reference, Stores

ORDER_COLUMNS = ("order_id", "customer_id", "store_id", "order_ts", "status", "updated_at")
LINE_COLUMNS = ("order_id", "line_no", "product_id", "quantity", "unit_price", "discount_pct")
CHANNEL_SOURCES = ("pos", "web")  # source index 0 = store channel, 1 = web channel

# Shopping is busier in the afternoon and evening; the weights are per hour of day.
_HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 10, 11, 10, 9, 9, 10, 11, 12, 12, 10, 8, 5, 3],
    dtype=np.float64,
)
_LINE_COUNTS = np.array([1, 2, 3, 4])
_LINE_COUNT_P = np.array([0.45, 0.30, 0.15, 0.10])
_QUANTITIES = np.array([1, 2, 3, 4, 5])
_QUANTITY_P = np.array([0.60, 0.20, 0.10, 0.06, 0.04])
_DISCOUNTS = np.array([0, 5, 10, 15, 20, 25])
_DISCOUNT_P = np.array([0.70, 0.10, 0.08, 0.05, 0.04, 0.03])
_WEB_SHARE = 0.35
_STATUS = {name: i for i, name in enumerate(catalog.ORDER_STATUSES)}


@dataclass
class OrderBook:
    """Clean orders (all versions) and lines, plus per-order facts used by defects."""

    orders: Frame
    lines: Frame
    order_day: np.ndarray  # per order entity: delivery day of the placed version
    order_ts: np.ndarray  # per order entity: epoch seconds


def _eligible(ref: Reference, day_start: int) -> np.ndarray:
    """Entities an order starting at ``day_start`` may reference."""
    return np.flatnonzero((ref.first_ts < day_start) & ~ref.spare)


def _pick_per_day(
    rng: np.random.Generator, ref: Reference, cal: Calendar, day_of_row: np.ndarray
) -> np.ndarray:
    """For rows grouped by day (sorted), draw an eligible entity weighted by popularity."""
    out = np.empty(len(day_of_row), dtype=np.int64)
    bounds = np.searchsorted(day_of_row, np.arange(cal.days + 1))
    for day in range(cal.days):
        lo, hi = bounds[day], bounds[day + 1]
        if lo == hi:
            continue
        pool = _eligible(ref, cal.day_start(day))
        if len(pool) == 0:
            raise ValueError(f"no {ref.frame.table} available for orders on day {day}")
        p = ref.weight[pool] / ref.weight[pool].sum()
        out[lo:hi] = pool[rng.choice(len(pool), size=hi - lo, p=p)]
    return out


def _lifecycle(
    rng: np.random.Generator, order_day: np.ndarray, last_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Status updates after ``placed``: (order entity, day, status code, version) arrays.

    shipped 1-3 days after placing (6 % cancelled instead), delivered 1-3 days after
    shipping, and 4 % of delivered orders returned 1-3 days later.
    """
    n = len(order_day)
    cancelled = rng.random(n) < 0.06
    returned = ~cancelled & (rng.random(n) < 0.04)
    day1 = order_day + rng.integers(1, 4, n)
    day2 = day1 + rng.integers(1, 4, n)
    day3 = day2 + rng.integers(1, 4, n)
    ent = np.arange(n)
    status1 = np.where(cancelled, _STATUS["cancelled"], _STATUS["shipped"])
    parts = [
        (ent, day1, status1, np.ones(n, np.int32)),
        (
            ent[~cancelled],
            day2[~cancelled],
            np.full((~cancelled).sum(), _STATUS["delivered"]),
            np.full((~cancelled).sum(), 2, np.int32),
        ),
        (
            ent[returned],
            day3[returned],
            np.full(returned.sum(), _STATUS["returned"]),
            np.full(returned.sum(), 3, np.int32),
        ),
    ]
    e, d, s, v = (np.concatenate([p[i] for p in parts]) for i in range(4))
    keep = d <= last_day
    return e[keep], d[keep], s[keep], v[keep]


def simulate_orders(
    cal: Calendar,
    orders_per_day: int,
    customers: Reference,
    products: Products,
    stores: Stores,
    rng: np.random.Generator,
) -> OrderBook:
    """Orders with 1-4 lines each, delivered on their day, then their status updates."""
    counts = (
        rng.poisson(orders_per_day, cal.days)
        if orders_per_day > 0
        else np.zeros(cal.days, np.int64)
    )
    n = int(counts.sum())
    day = np.repeat(np.arange(cal.days), counts)
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    # Stop at 23:29:59 so updated_at (+ up to 30 minutes) stays inside the delivery day.
    second = rng.integers(0, np.where(hour == 23, 1800, 3600))
    ts = cal.day_starts(day) + hour * 3600 + second
    order = np.lexsort((ts, day))  # order ids follow time
    day, ts = day[order], ts[order]
    updated = ts + rng.integers(60, 1801, n)

    channel = (rng.random(n) < _WEB_SHARE).astype(np.int8)
    store = np.empty(n, dtype=np.int64)
    for code, pool in ((0, np.flatnonzero(~stores.web)), (1, np.flatnonzero(stores.web))):
        rows = np.flatnonzero(channel == code)
        p = stores.weight[pool] / stores.weight[pool].sum()
        store[rows] = pool[rng.choice(len(pool), size=len(rows), p=p)]
    customer = _pick_per_day(rng, customers, cal, day)

    # --- order rows: the placed version, then every delivered status update -------------
    ev_ent, ev_day, ev_status, ev_version = _lifecycle(rng, day, cal.days - 1)
    ev_ts = cal.day_starts(ev_day) + rng.integers(0, SECONDS_PER_DAY, len(ev_ent))
    ent = np.concatenate([np.arange(n), ev_ent])
    order_ids = id_text("O", np.arange(1, n + 1), 8)
    ent_idx = pa.array(ent)
    status_text = pa.array(list(catalog.ORDER_STATUSES))
    columns = {
        "order_id": order_ids.take(ent_idx),
        "customer_id": pa.array(customers.ids, pa.string()).take(pa.array(customer[ent])),
        "store_id": pa.array(stores.ids, pa.string()).take(pa.array(store[ent])),
        "order_ts": ts_text(ts).take(ent_idx),
        "status": status_text.take(
            pa.array(np.concatenate([np.full(n, _STATUS["placed"]), ev_status]))
        ),
        "updated_at": ts_text(np.concatenate([updated, ev_ts])),
    }
    orders = build_frame(
        "orders",
        CHANNEL_SOURCES,
        columns,
        source=channel[ent],
        day=np.concatenate([day, ev_day]),
        entity=ent,
        version=np.concatenate([np.zeros(n, np.int32), ev_version]),
        ts=np.concatenate([updated, ev_ts]),
    )

    # --- lines ------------------------------------------------------------------------
    n_lines = rng.choice(_LINE_COUNTS, size=n, p=_LINE_COUNT_P)
    parent = np.repeat(np.arange(n), n_lines)
    starts = np.cumsum(n_lines) - n_lines
    line_no = np.arange(len(parent)) - np.repeat(starts, n_lines) + 1
    product = _pick_per_day(rng, products, cal, day[parent])
    cents = _price_at(products, product, ts[parent])
    quantity = rng.choice(_QUANTITIES, size=len(parent), p=_QUANTITY_P)
    discount = rng.choice(_DISCOUNTS, size=len(parent), p=_DISCOUNT_P)
    line_columns = {
        "order_id": order_ids.take(pa.array(parent)),
        "line_no": vocab_text(line_no, str),
        "product_id": pa.array(products.ids, pa.string()).take(pa.array(product)),
        "quantity": vocab_text(quantity, str),
        "unit_price": vocab_text(cents, money_str),
        "discount_pct": vocab_text(discount, str),
    }
    # Lines travel with their order: same source and day, ordered like the order.
    lines = build_frame(
        "order_lines",
        CHANNEL_SOURCES,
        line_columns,
        source=channel[parent],
        day=day[parent],
        entity=np.arange(len(parent)),
        version=np.zeros(len(parent), np.int32),
        ts=updated[parent],
        parent=parent,
    )
    return OrderBook(orders=orders, lines=lines, order_day=day, order_ts=ts)


def _price_at(products: Products, product: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Price (cents) of each ``product`` in force at epoch second ``at``.

    Versions are searched on a composite (product, valid-from) key; every referenced
    product has a version valid before its order's day, so the hit is always its own.
    """
    shift = np.int64(1) << np.int64(34)  # epoch seconds stay below 2**34 until year 2514
    keys = products.price_entity * shift + products.price_from
    order = np.argsort(keys, kind="stable")
    hit = np.searchsorted(keys[order], product * shift + at, side="right") - 1
    found = order[hit]
    if not np.array_equal(products.price_entity[found], product):
        raise AssertionError("order line references a product before its first version")
    return products.price_cents[found]
