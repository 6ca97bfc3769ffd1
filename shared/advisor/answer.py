"""A model's reply, checked: one JSON object, a known root-cause category, evidence ids
that exist, masked text. A reply that fails a check is not used (the offline advisor
answers instead), so a model steered by quoted data cannot invent evidence, skip the
human approval or leak personal data."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.llm import QUESTION_KINDS, ROOT_CAUSES
from providers.llm.base import CONTRACT_CHANGES
from shared.advisor.masking import mask_text
from shared.errors import TransientError

MAX_ANSWER_CHARS = 4000
MAX_ACTIONS = 8
MAX_ACTION_CHARS = 600
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


class InvalidReplyError(TransientError):
    """The model's reply is not a usable answer (asking again may give a better one)."""


@dataclass
class Draft:
    """A checked reply."""

    answer: str
    category: str
    detail: str
    actions: list[str]
    evidence_ids: list[str]
    confidence: float
    contract_change: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def parse_kind(text: str) -> str:
    body = _object(text)
    kind = str(body.get("kind", "")).strip()
    if kind not in QUESTION_KINDS:
        raise InvalidReplyError(f"the model gave an unknown kind of question {kind[:40]!r}")
    return kind


def parse_answer(text: str, known_ids: set[str], tables: set[str]) -> Draft:
    body = _object(text)
    answer = body.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        raise InvalidReplyError("the model's reply has no answer text")
    cause = body.get("root_cause")
    cause = cause if isinstance(cause, Mapping) else {"category": cause}
    category = str(cause.get("category") or "").strip()
    if category not in ROOT_CAUSES:
        raise InvalidReplyError(f"the model gave an unknown root cause {category[:40]!r}")
    actions = body.get("recommended_actions") or []
    if not isinstance(actions, list):
        raise InvalidReplyError("the model's recommended_actions is not a list")
    cited = [str(i) for i in body.get("evidence_ids") or [] if isinstance(i, str | int)]
    valid = list(dict.fromkeys(i for i in cited if i in known_ids))
    notes = []
    if len(valid) < len(cited):
        notes.append(f"ignored {len(cited) - len(valid)} evidence id(s) the model invented")
    if known_ids and not valid and category != "none":
        raise InvalidReplyError("the model's answer cites no evidence that exists")
    return Draft(
        answer=mask_text(answer.strip())[:MAX_ANSWER_CHARS],
        category=category,
        detail=mask_text(str(cause.get("detail") or ROOT_CAUSES[category]))[:MAX_ACTION_CHARS],
        actions=[mask_text(str(a))[:MAX_ACTION_CHARS] for a in actions[:MAX_ACTIONS] if a],
        evidence_ids=valid,
        confidence=_confidence(body.get("confidence")),
        contract_change=_contract_change(body.get("contract_change"), tables),
        notes=notes,
    )


def _object(text: str) -> dict[str, Any]:
    try:
        body = json.loads(_FENCE.sub("", text.strip()))
    except ValueError:
        raise InvalidReplyError("the model's reply is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidReplyError("the model's reply is not a JSON object")
    return body


def _confidence(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.5
    return round(min(1.0, max(0.0, number)), 2) if number == number else 0.5


def _contract_change(value: Any, tables: set[str]) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    table, kind = str(value.get("table") or ""), str(value.get("kind") or "")
    if table not in tables or kind not in CONTRACT_CHANGES:
        return None
    change: dict[str, Any] = {"table": table, "kind": kind}
    for key in ("columns", "values"):
        items = value.get(key)
        if isinstance(items, list):
            change[key] = [str(v)[:64] for v in items[:10]]
    if isinstance(value.get("rule_id"), str):
        change["rule_id"] = value["rule_id"][:120]
    return change
