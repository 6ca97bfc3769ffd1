"""The Gold quality gate and run semantics: blocked, noop, full refresh, rebuild."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from shared.errors import TerminalError
from shared.gold.build import build_gold
from shared.ops import RUNS
from tests.shared.gold.helpers import (
    GOLD_NOW,
    GOLD_TABLES,
    STORE,
    customer,
    gold,
    gold_snapshot,
    gold_versions,
    order,
    product,
)
from tests.shared.silver.helpers import rows


def _gold_run(lake, run_id: str) -> dict:
    (run,) = [r for r in rows(lake, RUNS) if r["run_id"] == run_id]
    assert run["job"] == "gold"
    return run


def _deliver_good(land, deliver, n: int = 3, name: str = "o.csv"):
    """Parents, then `n` clean orders of one line each."""
    deliver(
        land("stores", "s.csv", [STORE]),
        land("customers", "c.csv", [customer("C1")]),
        land("products", "p.csv", [product("P1", "2.00", "5.00")]),
    )
    return deliver(
        land(
            "orders",
            name,
            [order(f"O{i}", "C1", f"2024-01-{10 + i}T10:00:00") for i in range(n)],
        ),
        land("order_lines", f"l-{name}", [f"O{i},1,P1,1,5.00,0" for i in range(n)]),
    )


def test_critical_failure_blocks_gold_and_keeps_the_last_good_one(land, deliver, lake, con):
    good = _deliver_good(land, deliver)
    assert good.critical_failures == []
    first = build_gold(lake, con, now=GOLD_NOW)
    assert first.status == "succeeded" and first.silver_run_id == good.run_id
    assert first.tables["fact_sales"] == 3
    versions, snapshot = gold_versions(lake), gold_snapshot(lake)
    assert set(versions) == set(GOLD_TABLES) and None not in versions.values()

    lost = [order(f"X{i}", "C1", "2024-01-20T10:00:00", "lost") for i in range(30)]
    bad = deliver(land("orders", "bad.csv", lost))
    assert bad.critical_failures == ["orders.quarantine_rate"]
    blocked = build_gold(lake, con, now=GOLD_NOW + timedelta(hours=1))
    assert (blocked.status, blocked.blocked_by, blocked.silver_run_id, blocked.tables) == (
        "blocked",
        ["orders.quarantine_rate"],
        bad.run_id,
        {},
    )
    run = _gold_run(lake, blocked.run_id)
    assert run["status"] == "blocked"
    assert "orders.quarantine_rate" in run["error"] and bad.run_id in run["error"]
    assert json.loads(run["details"]) == {
        "blocked_by": ["orders.quarantine_rate"],
        "silver_run_id": bad.run_id,
    }
    assert gold_versions(lake) == versions
    assert gold_snapshot(lake) == snapshot

    # A Silver run with nothing new changes nothing: still blocked.
    assert deliver().status == "noop"
    again = build_gold(lake, con, now=GOLD_NOW + timedelta(hours=2))
    assert (again.status, again.silver_run_id) == ("blocked", bad.run_id)
    assert gold_versions(lake) == versions

    # The next Silver run that passes its critical checks opens the gate again.
    fixed = deliver(
        land("orders", "fix.csv", [order("O9", "C1", "2024-01-25T10:00:00")]),
        land("order_lines", "l-fix.csv", ["O9,1,P1,2,5.00,0"]),
    )
    assert fixed.critical_failures == []
    rebuilt = build_gold(lake, con, now=GOLD_NOW + timedelta(hours=3))
    assert (rebuilt.status, rebuilt.silver_run_id) == ("succeeded", fixed.run_id)
    assert {t: v + 1 for t, v in versions.items()} == gold_versions(lake)
    assert sorted(r["order_id"] for r in gold(lake, "fact_sales")) == ["O0", "O1", "O2", "O9"]
    assert [(r["revenue"], r["orders"]) for r in gold(lake, "kpi_monthly")] == [
        (Decimal("25.00"), 4)
    ]


def test_warnings_do_not_block(land, deliver, lake, con):
    # Orders from 2024 are far older than the freshness rule's 3 days at the build clock.
    result = _deliver_good(land, deliver)
    failed = [
        (r["rule_id"], r["severity"])
        for r in rows(lake, "_ops.dq_results")
        if r["run_id"] == result.run_id and not r["passed"]
    ]
    assert failed == [("orders.freshness", "warning")]
    assert result.critical_failures == []
    gold_run = build_gold(lake, con, now=GOLD_NOW)
    assert (gold_run.status, gold_run.blocked_by) == ("succeeded", [])
    assert _gold_run(lake, gold_run.run_id)["status"] == "succeeded"
    assert len(gold(lake, "fact_sales")) == 3


def test_noop_full_refresh_and_rebuild_after_new_silver(land, deliver, lake, con):
    _deliver_good(land, deliver)
    first = build_gold(lake, con, now=GOLD_NOW)
    assert first.status == "succeeded"
    assert first.tables == {
        "cohort_retention": 1,
        "customer_rfm": 1,
        "dim_customer": 1,
        "dim_date": 366,
        "dim_product": 1,
        "dim_store": 1,
        "fact_sales": 3,
        "kpi_monthly": 1,
        "revenue_at_risk": 0,
    }
    versions, snapshot = gold_versions(lake), gold_snapshot(lake)
    run = _gold_run(lake, first.run_id)
    assert (run["status"], run["rows_written"]) == ("succeeded", sum(first.tables.values()))

    # Silver unchanged: nothing is written.
    noop = build_gold(lake, con, now=GOLD_NOW + timedelta(hours=1))
    assert (noop.status, noop.tables, noop.blocked_by) == ("noop", {}, [])
    assert _gold_run(lake, noop.run_id)["status"] == "noop"
    assert gold_versions(lake) == versions
    # A Silver run with nothing new leaves the inputs as they were: still a no-op.
    assert deliver().status == "noop"
    assert build_gold(lake, con, now=GOLD_NOW + timedelta(hours=2)).status == "noop"
    assert gold_versions(lake) == versions

    # A full refresh rebuilds every table, with the same rows.
    full = build_gold(lake, con, now=GOLD_NOW + timedelta(hours=3), full_refresh=True)
    assert (full.status, full.tables) == ("succeeded", first.tables)
    assert gold_versions(lake) == {t: v + 1 for t, v in versions.items()}
    assert gold_snapshot(lake) == snapshot
    assert build_gold(lake, con, now=GOLD_NOW + timedelta(hours=4)).status == "noop"

    # A new Silver batch: Gold rebuilds and shows it.
    deliver(
        land("orders", "o2.csv", [order("O7", "C1", "2024-02-01T10:00:00")]),
        land("order_lines", "l2.csv", ["O7,1,P1,3,5.00,0"]),
    )
    after = build_gold(lake, con, now=GOLD_NOW + timedelta(hours=5))
    assert after.status == "succeeded"
    assert after.tables["fact_sales"] == 4 and after.tables["kpi_monthly"] == 2
    assert gold_versions(lake) == {t: v + 2 for t, v in versions.items()}
    assert [(str(r["month"]), str(r["revenue"])) for r in gold(lake, "kpi_monthly")] == [
        ("2024-01-01", "15.00"),
        ("2024-02-01", "15.00"),
    ]
    assert build_gold(lake, con, now=GOLD_NOW + timedelta(hours=6)).status == "noop"


def test_gold_without_silver_is_a_clear_error(lake, con):
    with pytest.raises(TerminalError) as caught:
        build_gold(lake, con, now=GOLD_NOW)
    assert caught.value.message == (
        "silver.customers does not exist yet, so Gold has nothing to build from"
    )
    assert "build silver" in caught.value.hint
    (run,) = [r for r in rows(lake, RUNS) if r["job"] == "gold"]
    assert run["status"] == "failed" and run["error"].startswith("TerminalError: silver.customers")
    assert gold_versions(lake) == dict.fromkeys(GOLD_TABLES)
