"""Suggested contract edits: a minimal unified diff of the YAML text, comments kept."""

from __future__ import annotations

from shared.advisor.contract_diff import suggested_diff
from shared.contracts import ContractSet


def changed_lines(diff: str) -> list[str]:
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_add_a_drifted_column(contracts: ContractSet) -> None:
    diff = suggested_diff(
        contracts, {"table": "orders", "kind": "add_column", "columns": ["promo_code"]}
    )
    assert diff.startswith("--- a/contracts/orders.yaml\n+++ b/contracts/orders.yaml\n")
    assert changed_lines(diff) == [
        "-version: 1",
        "+version: 2",
        "+  promo_code: {type: string, required: false}  # seen as schema drift",
    ]


def test_make_a_column_optional_but_never_a_key(contracts: ContractSet) -> None:
    change = {
        "table": "order_lines",
        "kind": "make_optional",
        "columns": ["discount_pct", "order_id"],
    }
    assert changed_lines(suggested_diff(contracts, change))[2:] == [
        '-  discount_pct: {type: "decimal(5,2)"}',
        '+  discount_pct: {type: "decimal(5,2)", required: false}',
    ]


def test_extend_a_grace_period(contracts: ContractSet) -> None:
    change = {"table": "orders", "kind": "extend_grace", "rule_id": "orders.store_exists"}
    lines = changed_lines(suggested_diff(contracts, change))
    assert lines[3].endswith("to: store_id, grace: 144h}") and lines[2].endswith("grace: 72h}")


def test_accept_new_values_block_and_flow_style(contracts: ContractSet) -> None:
    block = {
        "table": "orders",
        "kind": "accept_values",
        "rule_id": "orders.status_known",
        "values": ["on_hold", "placed"],
    }
    assert changed_lines(suggested_diff(contracts, block))[-1] == (
        "+    values: [placed, shipped, delivered, cancelled, returned, on_hold]"
    )
    flow = {
        "table": "stores",
        "kind": "accept_values",
        "rule_id": "stores.channel_known",
        "values": ["kiosk"],
    }
    assert "values: [store, web, kiosk]}" in changed_lines(suggested_diff(contracts, flow))[-1]


def test_unsafe_or_unplaceable_edits_give_no_diff(contracts: ContractSet) -> None:
    assert suggested_diff(contracts, None) is None
    assert suggested_diff(contracts, {"table": "nope", "kind": "add_column"}) is None
    assert suggested_diff(contracts, {"table": "orders", "kind": "drop_table"}) is None
    bad_value = {
        "table": "orders",
        "kind": "accept_values",
        "rule_id": "orders.status_known",
        "values": ["x]\nowner: attacker"],
    }
    assert suggested_diff(contracts, bad_value) is None
    bad_name = {"table": "orders", "kind": "add_column", "columns": ["a: b\nc"]}
    assert suggested_diff(contracts, bad_name) is None
