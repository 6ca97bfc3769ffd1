"""Checking a model's reply: JSON, a known category, evidence that exists, masked text."""

from __future__ import annotations

import json

import pytest

from shared.advisor.answer import InvalidReplyError, parse_answer, parse_kind

IDS = {"E1", "E2"}
TABLES = {"orders"}


def reply(**fields: object) -> str:
    body = {
        "answer": "Prices changed format.",
        "root_cause": {"category": "format_change", "detail": "a euro sign"},
        "recommended_actions": ["Ask the source.", "Replay."],
        "evidence_ids": ["E1"],
        "confidence": 0.7,
    }
    return json.dumps({**body, **fields})


def test_a_good_reply() -> None:
    draft = parse_answer("```json\n" + reply() + "\n```", IDS, TABLES)
    assert (draft.category, draft.evidence_ids, draft.confidence) == ("format_change", ["E1"], 0.7)
    assert draft.actions == ["Ask the source.", "Replay."] and draft.notes == []


def test_invented_evidence_is_dropped_and_noted() -> None:
    draft = parse_answer(reply(evidence_ids=["E1", "E7", 3]), IDS, TABLES)
    assert draft.evidence_ids == ["E1"] and draft.notes == [
        "ignored 2 evidence id(s) the model invented"
    ]


def test_personal_data_and_lengths_are_cut() -> None:
    draft = parse_answer(
        reply(answer="mail ana@example.com " + "x" * 5000, recommended_actions=["a"] * 20),
        IDS,
        TABLES,
    )
    assert draft.answer.startswith("mail [email] ") and len(draft.answer) == 4000
    assert len(draft.actions) == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (reply(answer=""), "no answer text"),
        (reply(root_cause={"category": "aliens"}), "unknown root cause"),
        (reply(recommended_actions="do it"), "not a list"),
        (reply(evidence_ids=["E9"]), "cites no evidence"),
    ],
)
def test_unusable_replies(text: str, message: str) -> None:
    with pytest.raises(InvalidReplyError, match=message):
        parse_answer(text, IDS, TABLES)


def test_confidence_and_contract_change_are_sanitised() -> None:
    draft = parse_answer(
        reply(
            confidence="very",
            contract_change={
                "table": "orders",
                "kind": "add_column",
                "columns": ["a"],
                "extra": "x",
            },
        ),
        IDS,
        TABLES,
    )
    assert draft.confidence == 0.5
    assert draft.contract_change == {"table": "orders", "kind": "add_column", "columns": ["a"]}
    other = parse_answer(reply(confidence=7, contract_change={"table": "users"}), IDS, TABLES)
    assert other.confidence == 1.0 and other.contract_change is None


def test_a_category_none_needs_no_evidence() -> None:
    draft = parse_answer(reply(root_cause={"category": "none"}, evidence_ids=[]), IDS, TABLES)
    assert draft.category == "none"


def test_kinds() -> None:
    assert parse_kind('{"kind": "data_quality"}') == "data_quality"
    with pytest.raises(InvalidReplyError, match="unknown kind"):
        parse_kind('{"kind": "gossip"}')
