"""The offline advisor on a real lake: a blocked Gold build caused by a price-format change,
explained with evidence that exists, stored as a pending proposal, every call recorded."""

from __future__ import annotations

import json
import re

import pyarrow.compute as pc

from shared.advisor import api
from shared.advisor.evaluation import missing_evidence
from shared.advisor.metrics import LLM_CALLS
from shared.advisor.proposals import PROPOSALS
from tests.shared.advisor.conftest import INJECTION, BrokenLake, break_lake

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+\d[\d ]{8,}\d")


def references(answer: dict) -> list[dict]:
    return [e["reference"] for e in answer["evidence"]]


def test_explains_the_blocked_gold_run(broken: BrokenLake) -> None:
    bench, runs = broken.bench, broken.runs
    status, answer = api.ask(bench.settings, {"run_id": runs["gold"]})
    assert status == 200
    assert answer["kind"] == "failure_triage"
    assert answer["root_cause"]["category"] == "format_change"
    assert "order_lines.unit_price.type" in answer["answer"]
    assert "Gold was blocked" in answer["answer"]
    refs = references(answer)
    assert {
        "contract": "contracts/order_lines.yaml",
        "rule_id": "order_lines.unit_price.type",
        "table": "quarantine.order_lines",
        "run_id": runs["silver"],
    } in refs
    assert {
        "contract": "contracts/order_lines.yaml",
        "rule_id": "order_lines.quarantine_rate",
        "run_id": runs["silver"],
        "table": "_ops.dq_results",
    } in refs
    assert {"run_id": runs["gold"], "table": "_ops.runs"} in refs
    assert missing_evidence(bench.lake, bench.platform.contracts, answer["evidence"]) == []
    assert answer["requires_human_approval"] is True
    assert (answer["provider"], answer["model"], answer["fallback"]) == (
        "offline",
        "rules-v1",
        None,
    )
    assert 0.5 < answer["confidence"] <= 1
    actions = answer["recommended_actions"]
    assert "lakehouse quarantine --replay --table order_lines" in " ".join(actions)
    assert actions[-1].startswith("Once fixed, run `lakehouse build silver`")

    stored = bench.lake.read(PROPOSALS, filter=pc.field("proposal_id") == answer["proposal_id"])
    (proposal,) = stored.to_pylist()
    assert proposal["status"] == "pending" and proposal["decided_by"] is None
    assert proposal["run_id"] == runs["gold"]
    assert json.loads(proposal["recommended_actions"]) == actions
    (call,) = bench.lake.read(LLM_CALLS).to_pylist()
    assert call["provider"] == "offline" and call["role"] == "summary"
    assert (call["prompt_tokens"], call["completion_tokens"], call["cost_usd"]) == (0, 0, 0.0)
    assert call["fallback"] is False and call["proposal_id"] == answer["proposal_id"]
    assert call["confidence"] == answer["confidence"]


def test_a_failure_question_finds_the_blocked_run(broken: BrokenLake) -> None:
    bench = broken.bench
    status, answer = api.ask(bench.settings, {"question": "Why was gold blocked last night?"})
    assert status == 200
    assert answer["root_cause"]["category"] == "format_change"
    assert {"run_id": broken.runs["silver"], "table": "_ops.runs"} in references(answer)
    calls = bench.lake.read(LLM_CALLS).to_pylist()
    assert sorted(c["role"] for c in calls) == ["answer", "triage"]
    assert {c["request_id"] for c in calls} == {answer["request_id"]}


def test_answers_never_carry_an_email_or_phone(broken: BrokenLake) -> None:
    bench = broken.bench
    for body in (
        {"question": "Which customer rows were quarantined, and why?"},
        {"question": "Which rules quarantine the most rows?"},
        {"run_id": broken.runs["silver"]},
    ):
        status, answer = api.ask(bench.settings, body)
        text = json.dumps(answer, ensure_ascii=False)
        assert status == 200
        assert not EMAIL.search(text), EMAIL.search(text)
        assert not PHONE.search(text), PHONE.search(text)
    # The customer row is in the evidence, masked.
    status, answer = api.ask(bench.settings, {"question": "Which customer rows are held?"})
    held = [e for e in answer["evidence"] if e["reference"].get("table") == "quarantine.customers"]
    assert held and "[email]" in held[0]["detail"] and "[phone]" in held[0]["detail"]


def test_an_instruction_in_a_quarantined_row_changes_nothing(
    broken: BrokenLake, fresh_lake
) -> None:
    benign = break_lake(fresh_lake(), "platinum_plus")
    for body in (
        {"question": "Which customer rows were quarantined, and why?"},
        {"question": "Why was gold blocked?"},
    ):
        _, hostile_answer = api.ask(broken.bench.settings, body)
        _, benign_answer = api.ask(benign.bench.settings, body)
        for key in ("kind", "root_cause", "recommended_actions", "requires_human_approval"):
            assert hostile_answer[key] == benign_answer[key], key
        assert [e["source"] for e in hostile_answer["evidence"]] == [
            e["source"] for e in benign_answer["evidence"]
        ]
    # The instruction is there, quoted as data in the evidence, and nothing obeyed it.
    _, answer = api.ask(broken.bench.settings, {"question": "Which customer rows are held?"})
    assert any(INJECTION in e["detail"] for e in answer["evidence"])
    assert answer["root_cause"]["category"] != "none"
