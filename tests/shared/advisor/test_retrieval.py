"""Grounding on a real lake: the run asked about and its findings first, then evidence
ranked by BM25 against the question."""

from __future__ import annotations

import pytest

from shared.advisor.retrieval import RunNotFoundError, ground
from tests.shared.advisor.conftest import BrokenLake


def test_a_blocked_gold_run_brings_its_silver_run_and_findings(broken: BrokenLake) -> None:
    bench, runs = broken.bench, broken.runs
    grounding = ground(
        bench.lake, bench.platform.contracts, kind="failure_triage", run_id=runs["gold"]
    )
    assert grounding.anchors == [runs["gold"], runs["silver"]]
    anchored = [e for e in grounding.evidence if e.anchored]
    assert [e.id for e in grounding.evidence[: len(anchored)]] == [
        f"E{i}" for i in range(1, len(anchored) + 1)
    ]
    assert {e.reference.get("run_id") for e in anchored if e.source == "run"} == {
        runs["gold"],
        runs["silver"],
    }
    held = next(e for e in anchored if e.facts.get("rule_id") == "order_lines.unit_price.type")
    assert held.source == "quarantine" and held.facts["rows"] == 40
    assert held.facts["check"] == "type" and held.facts["column"] == "unit_price"
    assert len(held.facts["sample_rows"]) == 3
    assert all(len(row) <= 300 for row in held.facts["sample_rows"])
    failed = next(e for e in anchored if e.source == "dq")
    assert failed.facts["rule_id"] == "order_lines.quarantine_rate"
    assert failed.reference["contract"] == "contracts/order_lines.yaml"


def test_bm25_ranks_the_contract_rule_the_question_names(broken: BrokenLake) -> None:
    bench = broken.bench
    grounding = ground(
        bench.lake,
        bench.platform.contracts,
        kind="contract_howto",
        question="What does the loyalty tier rule of the customers contract accept?",
    )
    rules = [e for e in grounding.evidence if e.source == "contract" and "rule_id" in e.reference]
    assert rules[0].reference == {
        "contract": "contracts/customers.yaml",
        "rule_id": "customers.loyalty_tier_known",
    }
    assert rules[0].score == max(e.score for e in grounding.evidence if e.source == "contract")
    assert not any(e.anchored for e in grounding.evidence)


def test_held_rows_are_masked_before_anything_reads_them(broken: BrokenLake) -> None:
    bench = broken.bench
    grounding = ground(
        bench.lake, bench.platform.contracts, kind="data_quality", question="customers held"
    )
    held = next(
        e
        for e in grounding.evidence
        if e.source == "quarantine" and e.reference["table"] == "quarantine.customers"
    )
    assert "[email]" in held.text and "[phone]" in held.text
    assert "ana.lopez@example.com" not in str(held.facts)


def test_an_unknown_run(broken: BrokenLake) -> None:
    with pytest.raises(RunNotFoundError, match="silver-20200101T000000-000000"):
        ground(
            broken.bench.lake,
            broken.bench.platform.contracts,
            kind="failure_triage",
            run_id="silver-20200101T000000-000000",
        )
