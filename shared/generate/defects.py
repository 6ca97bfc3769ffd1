"""Defect injection: turns clean frames into landing frames with flagged defect rows.

How defects are chosen (so that detection can be scored exactly):

- Each table gets a budget of ``round(defect_rate * clean rows)`` defects, split over the
  kinds that apply to it: one of each kind first (when the budget allows), the rest spread
  at random.  A kind that runs out of candidates hands its shortfall to ``null_key``.
- A business key (customer, product, store, order, line) carries at most one defect row,
  and a defect row carries exactly one defect.
- In-place defects only touch rows nothing clean depends on: spare customers/products
  (never referenced by orders), the ``placed`` version of an order (whose status updates are
  then withdrawn) and lines of orders that carry no in-place defect.
- Key-corrupting defects (``null_key``, garbled ``line_no``), ``exact_duplicate`` and
  ``stale_redelivery`` are EXTRA rows copied from clean rows, so no clean row changes.
- An exact duplicate of a versioned row arrives before the key's next version, in the
  same file after its original or (when both files are text formats, so that every reader
  sees the same strings) in a file up to two days later.  A stale re-delivery copies
  version ``k`` with an updated_at strictly between versions ``k`` and ``k + 1`` and
  arrives on a day strictly after version ``k + 1``'s day.
- Key-corrupted copies that would be identical to each other after trimming and
  lower-casing are dropped, so no defect row doubles as an exact duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shared.generate.frame import NO_NEXT, SECONDS_PER_DAY, Frame, ts_str
from shared.generate.injector import NULL_KEYS, TableInjector, run_kinds
from shared.generate.layout import Slot
from shared.generate.orders import OrderBook
from shared.generate.retail import Calendar, Products, Reference, Stores

BAD_INTS = ("two", "1O", "N/A", "one", "x")
BAD_LINE_NOS = ("one", "#2", "2a", "N/A")
BAD_MONEY = ("12,5O", "N/A", "twelve", "1.2.3", "?")
BAD_DISCOUNTS = ("ten", "N/A", "x", "--")
BAD_DATES = ("not a date", "2024-02-30", "31/13/2023", "yesterday", "0000-00-00")
BAD_TIMESTAMPS = ("not a date", "2025-13-01T10:00:00", "yesterday 10:00", "31/02/2025 25:61", "N/A")
UNKNOWN_STATUSES = ("pending_review", "shiped", "lost", "on_hold", "deliverd", "unknown")
NON_POSITIVE = ("0", "-1", "-2", "-3")
BAD_DISCOUNT_RANGE = ("-5", "-10", "101", "120", "150", "200")

TABLE_KINDS: dict[str, tuple[str, ...]] = {
    "customers": (
        "wrong_type",
        "malformed_email",
        "stale_redelivery",
        "exact_duplicate",
        "null_key",
    ),
    "products": ("wrong_type", "stale_redelivery", "exact_duplicate", "null_key"),
    "stores": ("exact_duplicate", "null_key"),
    "orders": (
        "wrong_type",
        "future_order_date",
        "unknown_status",
        "orphan_reference",
        "late_reference",
        "stale_redelivery",
        "exact_duplicate",
        "null_key",
    ),
    "order_lines": (
        "wrong_type",
        "non_positive_quantity",
        "discount_out_of_range",
        "orphan_reference",
        "exact_duplicate",
        "null_key",
    ),
}
KEY_COLUMN = {
    "customers": "customer_id",
    "products": "product_id",
    "stores": "store_id",
    "orders": "order_id",
    "order_lines": "order_id",
}


def inject_reference(
    ref: Reference,
    table: str,
    days: int,
    rate: float,
    formats: dict[Slot, str],
    rng: np.random.Generator,
) -> tuple[Frame, dict[str, int]]:
    """Customers/products/stores: in-place defects on spare entities, the rest as copies."""
    inj = TableInjector.start(ref.frame, days, rng, formats)
    spare_rows = ref.spare[ref.frame.entity]

    def wrong_type(k: int) -> int:
        rows = inj.choose(inj.candidates(spare_rows), k)
        if table == "customers":
            on_date = inj.rng.random(len(rows)) < 0.6
            inj.in_place(
                "wrong_type", rows[on_date], "signup_date", inj.pick(BAD_DATES, int(on_date.sum()))
            )
            inj.in_place(
                "wrong_type",
                rows[~on_date],
                "updated_at",
                inj.pick(BAD_TIMESTAMPS, int((~on_date).sum())),
            )
        else:
            on_price = inj.rng.random(len(rows)) < 0.6
            inj.in_place(
                "wrong_type", rows[on_price], "unit_price", inj.pick(BAD_MONEY, int(on_price.sum()))
            )
            inj.in_place(
                "wrong_type",
                rows[~on_price],
                "unit_cost",
                inj.pick(BAD_MONEY, int((~on_price).sum())),
            )
        return len(rows)

    def malformed_email(k: int) -> int:
        rows = inj.choose(inj.candidates(spare_rows), k)
        emails = [str(e).strip().lower() for e in inj.frame.text("email", rows)]
        inj.in_place(
            "malformed_email",
            rows,
            "email",
            [
                _malform(e, int(i))
                for e, i in zip(emails, inj.rng.integers(5, size=len(rows)), strict=True)
            ],
        )
        return len(rows)

    run_kinds(
        inj,
        TABLE_KINDS[table],
        KEY_COLUMN[table],
        round(rate * len(ref.frame)),
        {"wrong_type": wrong_type, "malformed_email": malformed_email},
    )
    return inj.finish(), inj.counts


def _malform(email: str, style: int) -> str:
    local, _, domain = email.partition("@")
    if style == 0:
        return f"{local}@"  # no domain
    if style == 1:
        return f"{local}.{domain}"  # no at sign
    if style == 2:
        cut = max(1, len(local) // 2)
        return f"{local[:cut]} {local[cut:]}@{domain}"  # blank inside
    if style == 3:
        return f"{local}@@{domain}"  # two at signs
    return f"@{domain}"  # no local part


@dataclass(frozen=True)
class Orphans:
    """Id generators for references that never arrive anywhere (outside every real range)."""

    rng: np.random.Generator

    def customers(self, n: int) -> list[str | None]:
        return [f"C{v:06d}" for v in self.rng.integers(900_000, 1_000_000, n).tolist()]

    def stores(self, n: int) -> list[str | None]:
        return [f"S{v:03d}" for v in self.rng.integers(900, 1000, n).tolist()]

    def products(self, n: int) -> list[str | None]:
        return [f"P{v:05d}" for v in self.rng.integers(90_000, 100_000, n).tolist()]


def inject_orders(
    book: OrderBook,
    customers: Reference,
    cal: Calendar,
    rate: float,
    formats: dict[Slot, str],
    rng: np.random.Generator,
) -> tuple[Frame, Frame, dict[str, int]]:
    """Orders then lines; returns (orders, lines, counts per kind)."""
    inj = TableInjector.start(book.orders, cal.days, rng, formats)
    orphans = Orphans(rng)
    placed = inj.frame.version == 0

    def mutate(kind: str, column: str, make: Callable[[int], list[str | None]], k: int) -> int:
        """``make(n)`` returns the n replacement values."""
        rows = inj.choose(inj.candidates(placed), k)
        inj.in_place(kind, rows, column, make(len(rows)))
        return len(rows)

    def wrong_type(k: int) -> int:
        def bad(n: int) -> list[str | None]:
            return inj.pick(BAD_TIMESTAMPS, n)

        return mutate("wrong_type", "order_ts", bad, k - k // 3) + mutate(
            "wrong_type", "updated_at", bad, k // 3
        )

    def future(n: int) -> list[str | None]:
        # 60-400 days after end_date, at any time of that day.
        ahead = rng.integers(60, 401, n) * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, n)
        return [ts_str(s) for s in (cal.end_secs - SECONDS_PER_DAY + ahead).tolist()]

    def orphan(k: int) -> int:
        n_cust = mutate("orphan_reference", "customer_id", orphans.customers, k - k // 3)
        return n_cust + mutate("orphan_reference", "store_id", orphans.stores, k // 3)

    # Customers that are first delivered on a given day (clean, referencable later).
    newcomers = [
        np.flatnonzero((customers.first_day == d) & ~customers.spare) for d in range(cal.days + 2)
    ]

    def late(k: int) -> int:
        has_late = np.array(
            [len(newcomers[d + 1]) + len(newcomers[d + 2]) > 0 for d in range(cal.days)]
        )
        rows = inj.choose(inj.candidates(placed & has_late[inj.frame.day]), k)
        ids: list[str | None] = []
        for d in inj.frame.day[rows].tolist():
            pool = np.concatenate([newcomers[d + 1], newcomers[d + 2]])
            ids.append(customers.ids[int(pool[rng.integers(len(pool))])])
        inj.in_place("late_reference", rows, "customer_id", ids)
        return len(rows)

    def withdraw_updates() -> None:
        # Orders with an in-place defect never get status updates: drop them before the
        # copy-based kinds pick their candidates.
        f = inj.frame
        inj.frame = f.take(np.flatnonzero(~(inj.used[f.entity] & (f.version > 0))))
        inj.frame.next_day[inj.frame.defect > 0] = NO_NEXT
        defective_orders[:] = inj.used

    defective_orders = np.zeros_like(inj.used)
    handlers: dict[str, Callable[[int], object]] = {
        "wrong_type": wrong_type,
        "future_order_date": lambda k: mutate("future_order_date", "order_ts", future, k),
        "unknown_status": lambda k: mutate(
            "unknown_status", "status", lambda n: inj.pick(UNKNOWN_STATUSES, n), k
        ),
        "orphan_reference": orphan,
        "late_reference": late,
    }
    run_kinds(
        inj,
        TABLE_KINDS["orders"],
        "order_id",
        round(rate * len(inj.frame)),
        handlers,
        withdraw_updates,
    )
    orders = inj.finish()

    line_inj = TableInjector.start(book.lines, cal.days, rng, formats)
    lines, line_counts = _inject_lines(line_inj, defective_orders, rate, orphans)
    counts = dict(inj.counts)
    for kind, n in line_counts.items():
        counts[kind] = counts.get(kind, 0) + n
    return orders, lines, counts


def _inject_lines(
    inj: TableInjector, defective_orders: np.ndarray, rate: float, orphans: Orphans
) -> tuple[Frame, dict[str, int]]:
    """Line defects, only on lines of orders without an in-place defect."""
    frame = inj.frame
    # Marking them used keeps every line of a defective order clean.
    inj.used[frame.entity] |= defective_orders[frame.parent]

    def mutate(kind: str, column: str, values: tuple[str, ...], k: int) -> int:
        rows = inj.choose(inj.candidates(), k)
        inj.in_place(kind, rows, column, inj.pick(values, len(rows)))
        return len(rows)

    def wrong_type(k: int) -> int:
        # A quarter garble line_no: that corrupts the key, so those are extra rows.
        rows = inj.choose(inj.candidates(), k // 4)
        inj.extra("wrong_type", rows).set_text(
            "line_no", np.arange(len(rows)), inj.pick(BAD_LINE_NOS, len(rows))
        )
        k -= len(rows)
        done = len(rows)
        for column, values, share in (
            ("quantity", BAD_INTS, k // 3),
            ("unit_price", BAD_MONEY, k // 3),
            ("discount_pct", BAD_DISCOUNTS, k - 2 * (k // 3)),
        ):
            done += mutate("wrong_type", column, values, share)
        return done

    def null_key(k: int) -> int:
        rows = inj.choose(inj.candidates(), k)
        on_line_no = inj.rng.random(len(rows)) < 0.25
        copy = inj.extra("null_key", rows)
        idx = np.arange(len(rows))
        copy.set_text("order_id", idx[~on_line_no], inj.pick(NULL_KEYS, int((~on_line_no).sum())))
        copy.set_text("line_no", idx[on_line_no], inj.pick(NULL_KEYS, int(on_line_no.sum())))
        return len(rows)

    handlers: dict[str, Callable[[int], object]] = {
        "wrong_type": wrong_type,
        "non_positive_quantity": lambda k: mutate(
            "non_positive_quantity", "quantity", NON_POSITIVE, k
        ),
        "discount_out_of_range": lambda k: mutate(
            "discount_out_of_range", "discount_pct", BAD_DISCOUNT_RANGE, k
        ),
        "orphan_reference": lambda k: _orphan_lines(inj, orphans, k),
        "null_key": null_key,
    }
    run_kinds(inj, TABLE_KINDS["order_lines"], "order_id", round(rate * len(frame)), handlers)
    return inj.finish(), inj.counts


def _orphan_lines(inj: TableInjector, orphans: Orphans, k: int) -> int:
    rows = inj.choose(inj.candidates(), k)
    inj.in_place("orphan_reference", rows, "product_id", orphans.products(len(rows)))
    return len(rows)


def inject_all(
    cal: Calendar,
    customers: Reference,
    products: Products,
    stores: Stores,
    book: OrderBook,
    rate: float,
    formats: dict[Slot, str],
    rng: np.random.Generator,
) -> tuple[dict[str, Frame], dict[str, int]]:
    """Landing frames for every table and the number of injected defects per kind.

    ``formats`` (the file format of every delivery slot) only steers which later files
    exact duplicates may land in; the module docstring says how defects are chosen.
    """
    frames: dict[str, Frame] = {}
    counts: dict[str, int] = {}
    for table, ref in (("customers", customers), ("products", products), ("stores", stores)):
        frames[table], got = inject_reference(ref, table, cal.days, rate, formats, rng)
        for kind, n in got.items():
            counts[kind] = counts.get(kind, 0) + n
    frames["orders"], frames["order_lines"], got = inject_orders(
        book, customers, cal, rate, formats, rng
    )
    for kind, n in got.items():
        counts[kind] = counts.get(kind, 0) + n
    return frames, counts
