"""`shared.scoring.score` on tiny hand-built flagged rows and ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from shared.contracts import ContractSet
from shared.scoring import DetectionScore, KindScore, load_ground_truth, score


def truth(table: str, file: str, row: int, defect: str) -> dict[str, Any]:
    return {"table": table, "file": file, "row": row, "defect": defect}


def held(*rows: tuple[str, str, int, str, str]) -> pa.Table:
    """Quarantine rows as the demo passes them: (_table, _source_file, _row_number,
    rule_id, status), plus the other quarantine columns the scorer must ignore."""
    return pa.table(
        {
            "order_id": pa.array([f"K{i}" for i in range(len(rows))], pa.string()),
            "rule_id": pa.array([r[3] for r in rows], pa.string()),
            "status": pa.array([r[4] for r in rows], pa.string()),
            "_source_file": pa.array([r[1] for r in rows], pa.string()),
            "_row_number": pa.array([r[2] for r in rows], pa.int64()),
            "_table": pa.array([r[0] for r in rows], pa.string()),
        }
    )


def dropped_rows(*rows: tuple[str, str, str, int]) -> pa.Table:
    """`_ops.dropped_rows`: (table_name, reason, _source_file, _row_number)."""
    return pa.table(
        {
            "table_name": pa.array([r[0] for r in rows], pa.string()),
            "reason": pa.array([r[1] for r in rows], pa.string()),
            "key": pa.array(['{"order_id":"O1"}'] * len(rows), pa.string()),
            "_batch_id": pa.array(["b"] * len(rows), pa.string()),
            "_source_file": pa.array([r[2] for r in rows], pa.string()),
            "_row_number": pa.array([r[3] for r in rows], pa.int64()),
            "_row_hash": pa.array(["h"] * len(rows), pa.string()),
        }
    )


def kinds(result: DetectionScore) -> dict[str, tuple[int, int, int, int]]:
    return {k.kind: (k.injected, k.detected, k.flagged, k.true_positives) for k in result.kinds}


ORDERS = "pos/orders/2026-01-26_orders_01.csv"
CUSTOMERS = "crm/customers/2026-01-26_customers_01.jsonl"
LINES = "web/order_lines/2026-01-27_order_lines_01.parquet"


def test_perfect_match(contracts: ContractSet) -> None:
    result = score(
        [
            truth("orders", ORDERS, 3, "unknown_status"),
            truth("customers", CUSTOMERS, 7, "malformed_email"),
            truth("order_lines", LINES, 2, "non_positive_quantity"),
        ],
        [
            held(("orders", f"landing/{ORDERS}", 3, "orders.status_known", "quarantined")),
            held(("customers", f"landing/{CUSTOMERS}", 7, "customers.email_format", "quarantined")),
            held(
                (
                    "order_lines",
                    f"landing/{LINES}",
                    2,
                    "order_lines.quantity_positive",
                    "quarantined",
                )
            ),
        ],
        None,
        contracts,
    )
    assert kinds(result) == {
        "malformed_email": (1, 1, 1, 1),
        "non_positive_quantity": (1, 1, 1, 1),
        "unknown_status": (1, 1, 1, 1),
    }
    assert [k.kind for k in result.kinds] == sorted(kinds(result))
    assert (result.recall, result.precision) == (1.0, 1.0)
    assert (result.flagged, result.true_positives, result.false_positives) == (3, 3, [])


def test_missed_defect_lowers_recall(contracts: ContractSet) -> None:
    result = score(
        [
            truth("orders", ORDERS, 3, "unknown_status"),
            truth("orders", ORDERS, 9, "unknown_status"),
            truth("orders", ORDERS, 11, "future_order_date"),
            truth("orders", ORDERS, 12, "wrong_type"),
        ],
        [
            held(
                ("orders", f"landing/{ORDERS}", 3, "orders.status_known", "quarantined"),
                ("orders", f"landing/{ORDERS}", 11, "orders.order_ts_not_future", "quarantined"),
                ("orders", f"landing/{ORDERS}", 12, "orders.order_ts.type", "quarantined"),
            )
        ],
        None,
        contracts,
    )
    by_kind = {k.kind: k for k in result.kinds}
    assert by_kind["unknown_status"] == KindScore("unknown_status", 2, 1, 1, 1)
    assert by_kind["unknown_status"].recall == 0.5
    assert by_kind["future_order_date"].recall == 1.0
    assert by_kind["wrong_type"].recall == 1.0
    assert result.recall == 0.75
    assert result.precision == 1.0
    assert result.false_positives == []


def test_false_positive_lowers_precision_and_is_listed(contracts: ContractSet) -> None:
    result = score(
        [truth("orders", ORDERS, 3, "unknown_status")],
        [
            held(
                ("orders", f"landing/{ORDERS}", 3, "orders.status_known", "quarantined"),
                ("orders", f"landing/{ORDERS}", 4, "orders.status_known", "quarantined"),
            ),
            held(("stores", "landing/erp/stores/s.csv", 5, "stores.store_id.not_null", "x")),
        ],
        None,
        contracts,
    )
    assert result.recall == 1.0
    assert result.flagged == 3
    assert result.true_positives == 1
    assert result.precision == pytest.approx(1 / 3)
    assert result.false_positives == [
        {"table": "orders", "file": ORDERS, "row": 4, "flagged_as": "unknown_status"},
        {"table": "stores", "file": "erp/stores/s.csv", "row": 5, "flagged_as": "null_key"},
    ]
    by_kind = {k.kind: k for k in result.kinds}
    assert by_kind["unknown_status"] == KindScore("unknown_status", 1, 1, 2, 1)
    assert by_kind["unknown_status"].precision == 0.5
    # A kind that was flagged but never injected: recall is vacuous, precision is 0.
    assert by_kind["null_key"] == KindScore("null_key", 0, 0, 1, 0)
    assert (by_kind["null_key"].recall, by_kind["null_key"].precision) == (1.0, 0.0)


def test_reference_failures_are_late_when_released_else_orphan(contracts: ContractSet) -> None:
    result = score(
        [
            truth("orders", ORDERS, 1, "late_reference"),
            truth("orders", ORDERS, 2, "orphan_reference"),
            truth("orders", ORDERS, 3, "orphan_reference"),
            truth("order_lines", LINES, 4, "orphan_reference"),
        ],
        [
            held(
                ("orders", f"landing/{ORDERS}", 1, "orders.customer_exists", "released"),
                ("orders", f"landing/{ORDERS}", 2, "orders.customer_exists", "pending"),
                ("orders", f"landing/{ORDERS}", 3, "orders.store_exists", "quarantined"),
            ),
            held(("order_lines", f"landing/{LINES}", 4, "order_lines.product_exists", "pending")),
        ],
        None,
        contracts,
    )
    assert kinds(result) == {"late_reference": (1, 1, 1, 1), "orphan_reference": (3, 3, 3, 3)}
    assert (result.recall, result.precision) == (1.0, 1.0)


def test_released_reference_that_was_an_orphan_counts_as_late(contracts: ContractSet) -> None:
    # Flagged and truly a defect, but classified by status: the kind's own precision
    # counts it (a true positive of another kind), recall of the injected kind too.
    result = score(
        [truth("orders", ORDERS, 2, "orphan_reference")],
        [held(("orders", f"landing/{ORDERS}", 2, "orders.customer_exists", "released"))],
        None,
        contracts,
    )
    assert kinds(result) == {"late_reference": (0, 0, 1, 1), "orphan_reference": (1, 1, 0, 0)}


def test_exact_duplicates_come_from_dropped_rows_only(contracts: ContractSet) -> None:
    result = score(
        [
            truth("orders", ORDERS, 5, "exact_duplicate"),
            truth("customers", CUSTOMERS, 6, "exact_duplicate"),
            truth("customers", CUSTOMERS, 8, "stale_redelivery"),
        ],
        [held(("customers", f"landing/{CUSTOMERS}", 8, "customers.stale_record", "quarantined"))],
        dropped_rows(
            ("orders", "exact_duplicate", f"landing/{ORDERS}", 5),
            ("customers", "exact_duplicate", f"landing/{CUSTOMERS}", 6),
            # A superseded version is a legitimate update, never a flagged row.
            ("orders", "superseded", f"landing/{ORDERS}", 1),
            ("customers", "superseded", f"landing/{CUSTOMERS}", 2),
        ),
        contracts,
    )
    assert kinds(result) == {"exact_duplicate": (2, 2, 2, 2), "stale_redelivery": (1, 1, 1, 1)}
    assert result.flagged == 3
    assert result.false_positives == []


def test_landing_prefix_is_stripped_only_at_the_start(contracts: ContractSet) -> None:
    result = score(
        [
            truth("orders", ORDERS, 1, "unknown_status"),
            truth("orders", f"landing/{ORDERS}", 2, "unknown_status"),
        ],
        [
            held(
                ("orders", f"landing/{ORDERS}", 1, "orders.status_known", "quarantined"),
                # Recorded as `landing/landing/...`: only the first prefix goes.
                ("orders", f"landing/landing/{ORDERS}", 2, "orders.status_known", "quarantined"),
                # A file ingested from outside the lake keeps its path and matches nothing.
                ("orders", f"/tmp/drop/{ORDERS}", 3, "orders.status_known", "quarantined"),
            )
        ],
        None,
        contracts,
    )
    assert kinds(result) == {"unknown_status": (2, 2, 3, 2)}
    assert result.false_positives == [
        {"table": "orders", "file": f"/tmp/drop/{ORDERS}", "row": 3, "flagged_as": "unknown_status"}
    ]


def test_rules_map_to_defect_kinds(contracts: ContractSet) -> None:
    flagged = [
        ("customers", "customers.customer_id.not_null", "null_key"),
        ("customers", "customers.updated_at.not_null", "missing_value"),
        ("order_lines", "order_lines.line_no.not_null", "null_key"),
        ("order_lines", "order_lines.quantity.type", "wrong_type"),
        ("order_lines", "order_lines.discount_in_range", "discount_out_of_range"),
        ("order_lines", "order_lines.unit_price_not_negative", "range:unit_price"),
        ("orders", "orders.order_ts_not_future", "future_order_date"),
        ("customers", "customers.email_format", "malformed_email"),
        ("products", "products.stale_record", "stale_redelivery"),
        ("orders", "orders.no_such_rule", "orders.no_such_rule"),
    ]
    result = score(
        [],
        [
            held(
                *[
                    (t, f"landing/f{i}.csv", i, rule, "quarantined")
                    for i, (t, rule, _) in enumerate(flagged)
                ]
            )
        ],
        None,
        contracts,
    )
    assert {fp["row"]: fp["flagged_as"] for fp in result.false_positives} == {
        i: kind for i, (_, _, kind) in enumerate(flagged)
    }
    assert result.recall == 1.0
    assert result.precision == 0.0


def test_nothing_injected_nothing_flagged(contracts: ContractSet) -> None:
    result = score([], [], dropped_rows(), contracts)
    assert (result.kinds, result.flagged, result.true_positives) == ([], 0, 0)
    assert (result.recall, result.precision) == (1.0, 1.0)


def test_load_ground_truth_reads_json_lines(tmp_path: Path) -> None:
    entries = [
        truth("orders", ORDERS, 3, "unknown_status"),
        truth("stores", "s.csv", 1, "null_key"),
    ]
    path = tmp_path / "_ground_truth.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in entries) + "\n\n", encoding="utf-8")
    assert load_ground_truth(path) == entries
