"""Seeded chaos generator: a retailer's raw landing files with known, injected defects.

``generate(out_dir, options)`` writes ``options.days`` daily deliveries of CRM customers,
ERP products and stores, and POS/web orders with their lines under ``out_dir`` as

    out_dir/<source>/<table>/<YYYY-MM-DD>_<table>_<nn>.<csv|csv.gz|jsonl|jsonl.gz|parquet>

plus ``out_dir/_ground_truth.jsonl`` listing every injected defect by file and 1-based row.
The same options always give byte-identical files (for a given pyarrow version; pass
``end_date`` explicitly, its default moves with the clock).

Rows not listed in the ground truth are clean: keys present and unique per version,
values parse, order_ts not after ``end_date``, references resolvable by the order's
delivery day, no exact duplicates and no re-delivery older than a version already
delivered.  Re-deliveries of a key with a newer updated_at (order status changes,
customer moves and tier changes, product price changes) are legitimate updates, and so
are case/whitespace noise in e-mails and stray spaces around free-text values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from shared.generate.defects import inject_all
from shared.generate.frame import DEFECT_KINDS
from shared.generate.layout import (
    TABLE_ORDER,
    assign_formats,
    plan_files,
    write_all,
    write_ground_truth,
)
from shared.generate.orders import simulate_orders
from shared.generate.retail import (
    Calendar,
    simulate_customers,
    simulate_products,
    simulate_stores,
)
from shared.generate.writers import FORMATS

__all__ = [
    "DEFECT_KINDS",
    "FORMATS",
    "TABLE_ORDER",
    "GenerateOptions",
    "GenerateResult",
    "generate",
]

GROUND_TRUTH_FILE = "_ground_truth.jsonl"


@dataclass(frozen=True)
class GenerateOptions:
    """What to generate.

    ``defect_rate`` is the approximate fraction of landing rows per table that carry an
    injected defect (0 gives none).  ``end_date`` is the last delivery day (default:
    yesterday, UTC).  ``orders_per_day`` is a Poisson mean; orders have 1.9 lines on
    average, so ~17,500 orders per day for 30 days give about a million lines.
    """

    days: int = 30
    seed: int = 42
    defect_rate: float = 0.05
    end_date: date | None = None
    orders_per_day: int = 150
    initial_customers: int = 400
    initial_products: int = 120
    stores: int = 12

    def validate(self) -> None:
        """Raise ``ValueError`` for options the generator cannot honour."""
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0.0 <= self.defect_rate <= 0.5:
            raise ValueError("defect_rate must be within [0, 0.5]")
        if self.orders_per_day < 0:
            raise ValueError("orders_per_day must not be negative")
        # Orphan references use ids above these ranges, so real ids must stay below them.
        if not 1 <= self.initial_customers <= 500_000:
            raise ValueError("initial_customers must be within [1, 500000]")
        if not 1 <= self.initial_products <= 50_000:
            raise ValueError("initial_products must be within [1, 50000]")
        if not 2 <= self.stores <= 500:
            raise ValueError("stores must be within [2, 500]")


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate`` wrote.

    ``files`` are in delivery order (by day; within a day customers, products, stores,
    orders, order lines; pos before web).  ``rows`` counts landing rows per table including
    defect rows; ``defects`` counts injected defects per kind (every kind listed).
    """

    landing_dir: Path
    files: list[Path]
    ground_truth: Path
    rows: dict[str, int]
    defects: dict[str, int]


def generate(
    out_dir: Path,
    options: GenerateOptions = GenerateOptions(),
    *,
    progress: Callable[[str], None] | None = None,
) -> GenerateResult:
    """Write the landing files and ground truth under ``out_dir`` (created if missing).

    Files of an earlier run with the same names are overwritten; other files already in
    ``out_dir`` are left alone, so use an empty directory per run.  ``progress`` receives
    one message per delivery day; nothing is printed.
    """
    options.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    end = options.end_date or (datetime.now(UTC).date() - timedelta(days=1))
    cal = Calendar(first_day=end - timedelta(days=options.days - 1), days=options.days)

    # Independent streams per concern: changing how one table is simulated leaves the
    # random draws of the others untouched.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(options.seed).spawn(6)]
    spare_rate = min(0.5, options.defect_rate)  # entities reserved for in-place defects
    stores = simulate_stores(options.stores, streams[0])
    customers = simulate_customers(cal, options.initial_customers, spare_rate, streams[1])
    products = simulate_products(cal, options.initial_products, spare_rate, streams[2])
    book = simulate_orders(cal, options.orders_per_day, customers, products, stores, streams[3])
    if progress is not None:
        progress(
            f"simulated {len(book.order_day)} orders over {cal.days} days "
            f"({cal.first_day.isoformat()} .. {cal.end_date.isoformat()})"
        )
    formats = assign_formats(cal.days, streams[5])
    frames, _ = inject_all(
        cal, customers, products, stores, book, options.defect_rate, formats, streams[4]
    )

    files = plan_files(frames, formats)
    paths, truth = write_all(out_dir, cal, files, progress)
    ground_truth = out_dir / GROUND_TRUTH_FILE
    write_ground_truth(ground_truth, truth)

    defects = dict.fromkeys(DEFECT_KINDS, 0)
    for entry in truth:
        defects[str(entry["defect"])] += 1
    return GenerateResult(
        landing_dir=out_dir,
        files=paths,
        ground_truth=ground_truth,
        rows={t: len(frames[t]) for t in TABLE_ORDER},
        defects=defects,
    )
