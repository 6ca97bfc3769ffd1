"""The small generated data set the end-to-end and demo tests share, and the defects the
generator injects into it (pinned: a change to the generator shows up here)."""

from datetime import date

from shared.generate import GenerateOptions

END = date(2026, 1, 31)
OPTIONS = GenerateOptions(days=6, orders_per_day=40, end_date=END)
INJECTED = {
    "null_key": 15,
    "wrong_type": 10,
    "non_positive_quantity": 6,
    "discount_out_of_range": 2,
    "future_order_date": 2,
    "malformed_email": 10,
    "unknown_status": 3,
    "orphan_reference": 5,
    "late_reference": 3,
    "exact_duplicate": 10,
    "stale_redelivery": 9,
}

# Run ids and wall-clock stamps differ between two lakes built from the same files;
# `_batch_id` is content-derived, so it is compared.
VOLATILE = {
    "run_id",
    "quarantined_at",
    "checked_at",
    "_processed_at",
    "_run_id",
    "_ingested_at",
    "released_run_id",
    "released_at",
    "dropped_at",
}
