"""The acceptance figures: the offline advisor on every chaos incident names the expected
root cause in at least 90% of them, and every answer cites only evidence that exists."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from shared.advisor.evaluation import evaluate, missing_evidence
from shared.advisor.incidents import INCIDENTS


@pytest.mark.slow
def test_the_incident_set(advisor_baseline: Path, tmp_path: Path) -> None:
    assert len(INCIDENTS) >= 20
    assert len({i.name for i in INCIDENTS}) == len(INCIDENTS)
    kinds = Counter(i.category for i in INCIDENTS)
    assert len(kinds) >= 12
    results = evaluate(INCIDENTS, tmp_path, template=advisor_baseline)
    wrong = [r.line() for r in results if not r.correct]
    assert sum(r.correct for r in results) / len(results) >= 0.9, wrong
    assert [r.line() for r in results if not r.grounded] == []
    assert all(r.answer["requires_human_approval"] for r in results)


def test_missing_evidence_is_reported(advisor_baseline: Path) -> None:
    from shared.advisor.incidents import Bench

    bench = Bench(advisor_baseline)
    contracts = bench.platform.contracts
    good = [
        {
            "id": "E1",
            "reference": {"contract": "contracts/orders.yaml", "rule_id": "orders.unique"},
        },
        {
            "id": "E2",
            "reference": {"contract": "contracts/orders.yaml", "rule_id": "orders.order_ts.type"},
        },
        {"id": "E3", "reference": {"table": "silver.orders"}},
        {"id": "E4", "reference": {"doc": "README.md#data-contracts"}},
    ]
    assert missing_evidence(bench.lake, contracts, good) == []
    bad = [
        {"id": "E1", "reference": {"contract": "contracts/refunds.yaml"}},
        {"id": "E2", "reference": {"contract": "contracts/orders.yaml", "rule_id": "orders.nope"}},
        {"id": "E3", "reference": {"run_id": "silver-20200101T000000-000000"}},
        {"id": "E4", "reference": {"table": "gold.refunds"}},
        {"id": "E5", "reference": {"source_file": "landing/x.csv"}},
        {"id": "E6", "reference": {"proposal_id": "prop-1"}},
        {"id": "E7", "reference": {"doc": "README.md#no-such-section"}},
    ]
    assert [m.split(":")[0] for m in missing_evidence(bench.lake, contracts, bad)] == [
        f"E{i}" for i in range(1, 8)
    ]
