"""The offline backend (the default): a deterministic advisor built from rules over the
retrieved evidence. No network, no tokens, the same answer every time.

It reads the request's structured context, never the prompt text, so text quoted from the
data cannot steer it. Its answers have the same JSON shape a network model is asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from providers.llm.base import QUESTION_KINDS, ROOT_CAUSES, Completion, LLMRequest
from providers.llm.offline_rules import Signal, actions, confidence, contract_change, signals

MODEL = "rules-v1"


def _vocab(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that point at each kind of question; the kind with the most hits wins, ties go
# to the earlier kind (a failure is the costlier thing to miss).
KIND_WORDS: dict[str, frozenset[str]] = {
    "failure_triage": _vocab(
        "fail failed failing failure error errors broke broken blocked block crash crashed "
        "rejected reject stuck incident wrong why alert missing late not didn stale empty "
        "load loaded"
    ),
    "data_quality": _vocab(
        "quarantine quarantined quality dq invalid bad rule rules held duplicates duplicate "
        "orphan orphans null nulls check checks freshness rows"
    ),
    "data_question": _vocab(
        "revenue sales sold kpi kpis aov customers segment segments cohort retention month "
        "monthly total top average units margin profit rfm much many"
    ),
    "contract_howto": _vocab(
        "contract contracts yaml how add configure declare schema column columns severity "
        "grace owner setting define change feed version replay"
    ),
}
_WORD = re.compile(r"[a-z]+")
_RUN_ID = re.compile(r"\b(?:ingest|silver|silver_replay|gold)-\d{8}T\d{6}-[0-9a-f]{6}\b")


def classify(question: str) -> str:
    """The kind of question (a key of QUESTION_KINDS)."""
    if _RUN_ID.search(question):
        return "failure_triage"
    words = _WORD.findall(question.lower())
    hits = {kind: sum(w in vocab for w in words) for kind, vocab in KIND_WORDS.items()}
    best = max(hits.values())
    if best == 0:
        return "data_question"
    return next(kind for kind in QUESTION_KINDS if hits[kind] == best)


class OfflineLLM:
    """Rules over the evidence, behind the LLM interface."""

    provider = "offline"
    model = MODEL

    def complete(self, request: LLMRequest) -> Completion:
        context = request.context
        if request.role == "triage":
            body: dict[str, Any] = {"kind": classify(str(context.get("question") or ""))}
        else:
            body = answer(context)
        return Completion(text=json.dumps(body), model=MODEL)


def answer(context: Mapping[str, Any]) -> dict[str, Any]:
    """The answer object for a question or a run, from the context's evidence."""
    kind = str(context.get("kind") or "failure_triage")
    evidence: Sequence[Mapping[str, Any]] = context.get("evidence") or []
    if kind == "data_question":
        return _data_answer(kind, evidence)
    if kind == "contract_howto":
        return _howto_answer(kind, evidence)
    found = signals(evidence, anchored_only=kind == "failure_triage")
    if not found:
        return _nothing_found(kind, evidence)
    top = found[0]
    blocked = any(
        (e.get("facts") or {}).get("status") == "blocked"
        for e in evidence
        if e.get("source") == "run" and e.get("anchored")
    )
    cited = _cite(top, evidence)
    others = [s for s in found[1:4] if s.category != top.category]
    also = "" if not others else " Also seen: " + "; ".join(s.detail for s in others) + "."
    gate = " Gold was blocked by the quality gate; the last good Gold stays published." * blocked
    return {
        "kind": kind,
        "answer": f"{top.detail}.{gate}{also}".replace("..", "."),
        "root_cause": {"category": top.category, "detail": ROOT_CAUSES[top.category]},
        "recommended_actions": actions(top, blocked),
        "evidence_ids": cited,
        "confidence": confidence(found),
        "contract_change": contract_change(top),
    }


def _cite(top: Signal, evidence: Sequence[Mapping[str, Any]]) -> list[str]:
    """The signal's own evidence, the contract rule or file behind it, the run it came
    from and a similar past incident."""
    cited = list(top.evidence_ids)
    rule, table = top.facts.get("rule_id"), top.table
    run_ids = {top.facts.get("run_id")} - {None}
    for item in evidence:
        facts, ref = item.get("facts") or {}, item.get("reference") or {}
        source = item.get("source")
        relevant = (
            (source == "contract" and rule and facts.get("rule_id") == rule)
            or (source == "contract" and not rule and table and facts.get("table") == table)
            or (source == "run" and ref.get("run_id") in run_ids)
            or (source == "run" and item.get("anchored") and facts.get("status") == "blocked")
            or (source == "incident" and facts.get("category") == top.category)
        )
        if relevant and item["id"] not in cited:
            cited.append(item["id"])
    return cited[:8]


def _nothing_found(kind: str, evidence: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    runs = [e["id"] for e in evidence if e.get("source") == "run"][:3]
    return {
        "kind": kind,
        "answer": "No failed run, rejected file, failed check or held row was found in the "
        "evidence"
        + (" for this run." if any(e.get("anchored") for e in evidence) else ".")
        + " Nothing needs fixing on this evidence.",
        "root_cause": {"category": "none", "detail": ROOT_CAUSES["none"]},
        "recommended_actions": [],
        "evidence_ids": runs,
        "confidence": 0.6 if runs else 0.3,
        "contract_change": None,
    }


def _data_answer(kind: str, evidence: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Figures from the most relevant Gold evidence: monthly KPIs first, then revenue at
    risk, then table metadata."""
    by_score = sorted(evidence, key=lambda e: -float(e.get("score") or 0))
    top: list[Mapping[str, Any]] = []
    for source in ("kpi", "risk", "table"):
        top = [e for e in by_score if e.get("source") == source][:3]
        if top:
            break
    if not top:
        return {
            "kind": kind,
            "answer": "The lake holds no Gold figures yet to answer this from; build Gold "
            "first (`lakehouse build gold`).",
            "root_cause": {"category": "none", "detail": ROOT_CAUSES["none"]},
            "recommended_actions": [],
            "evidence_ids": [],
            "confidence": 0.2,
            "contract_change": None,
        }
    lines = "; ".join(str(e.get("text")) for e in top)
    return {
        "kind": kind,
        "answer": f"From the lake: {lines}.",
        "root_cause": {"category": "none", "detail": ROOT_CAUSES["none"]},
        "recommended_actions": [],
        "evidence_ids": [e["id"] for e in top],
        "confidence": 0.7 if top[0].get("source") == "kpi" else 0.5,
        "contract_change": None,
    }


def _howto_answer(kind: str, evidence: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    ranked = [e for e in evidence if e.get("source") in ("howto", "contract")][:3]
    steps = [str(s) for e in ranked if e.get("source") == "howto" for s in e["facts"]["steps"]]
    lines = " ".join(str(e.get("text")) for e in ranked)
    return {
        "kind": kind,
        "answer": lines or "No contract or guide matched the question.",
        "root_cause": {"category": "none", "detail": ROOT_CAUSES["none"]},
        "recommended_actions": steps[:6],
        "evidence_ids": [e["id"] for e in ranked],
        "confidence": 0.6 if ranked else 0.2,
        "contract_change": None,
    }
