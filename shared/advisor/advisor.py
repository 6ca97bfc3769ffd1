"""The advisor: classify the question, ground it in evidence, ask the model, check its
reply, store a proposal, record every call.

Any failure of the configured model (not configured, unreachable, timed out, throttled,
refused, or a reply that fails the checks) is answered by the offline advisor from the
same evidence, and the answer says so. The advisor never runs or changes anything but
its own records (`_ops.advisor_proposals`, `_ops.llm_calls`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from providers.llm import LLM, Completion, LLMRequest, OfflineLLM
from providers.llm.base import Role
from shared.advisor import prompt, proposals
from shared.advisor.answer import Draft, InvalidReplyError, parse_answer, parse_kind
from shared.advisor.contract_diff import suggested_diff
from shared.advisor.masking import mask_text
from shared.advisor.metrics import CallRecord, cost_usd, record_calls
from shared.advisor.retrieval import Grounding, ground
from shared.contracts import ContractSet
from shared.errors import LakehouseError
from shared.lake import Lake
from shared.ops import utcnow

T = TypeVar("T")


class UnavailableLLM:
    """Stands in for a configured model that could not even be built (a missing key or
    setting): every call fails with that error, so the offline advisor answers."""

    def __init__(self, provider: str, model: str, error: LakehouseError) -> None:
        self.provider, self.model, self._error = provider, model, error

    def complete(self, request: LLMRequest) -> Completion:
        raise self._error


@dataclass
class _Outcome:
    value: Any
    provider: str
    model: str
    fallback: str | None


class Advisor:
    """Answers questions and explains runs over one lake, with one configured model."""

    def __init__(
        self,
        lake: Lake,
        contracts: ContractSet,
        llm: LLM,
        *,
        token_budget: int,
        prices: dict[str, tuple[float, float]],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.lake, self.contracts, self.llm = lake, contracts, llm
        self.budget, self.prices, self.clock = token_budget, prices, clock
        self._offline = OfflineLLM()

    def ask(self, question: str) -> dict[str, Any]:
        """Answer a question (classified first)."""
        request_id = uuid.uuid4().hex
        calls: list[CallRecord] = []
        kind = self._call(
            "triage",
            prompt.triage_request(question),
            parse_kind,
            request_id,
            None,
            calls,
        ).value
        grounding = ground(self.lake, self.contracts, kind=kind, question=question)
        return self._answer("answer", kind, question, None, grounding, request_id, calls)

    def explain_run(self, run_id: str) -> dict[str, Any]:
        """Explain one run (a failure triage; raises RunNotFoundError for an unknown id)."""
        request_id = uuid.uuid4().hex
        grounding = ground(self.lake, self.contracts, kind="failure_triage", run_id=run_id)
        return self._answer("summary", "failure_triage", "", run_id, grounding, request_id, [])

    def _answer(
        self,
        role: Role,
        kind: str,
        question: str,
        run_id: str | None,
        grounding: Grounding,
        request_id: str,
        calls: list[CallRecord],
    ) -> dict[str, Any]:
        by_id = {e.id: e for e in grounding.evidence}
        tables = set(self.contracts.contracts)
        request = prompt.answer_request(
            role,
            kind=kind,
            question=question,
            run_id=run_id,
            evidence=grounding.evidence,
            budget=self.budget,
        )

        def parse(text: str) -> Draft:
            draft = parse_answer(text, set(by_id), tables)
            if (
                draft.category == "none"
                and kind != "data_question"
                and self.llm is not self._offline
            ):
                # A model told by quoted data that "nothing is wrong" must not bury a failure
                # the evidence shows: the rules over the same evidence are the check.
                rules = parse_answer(self._offline.complete(request).text, set(by_id), tables)
                if rules.category != "none":
                    raise InvalidReplyError(
                        f"the model found no cause where the evidence shows {rules.category}"
                    )
            return draft

        outcome = self._call(role, request, parse, request_id, kind, calls)
        draft: Draft = outcome.value
        answer_text = draft.answer
        if outcome.fallback:
            answer_text = f"(Offline advisor: {outcome.fallback}.) {answer_text}"
        answer: dict[str, Any] = {
            "request_id": request_id,
            "kind": kind,
            "question": question or None,
            "run_id": run_id,
            "answer": mask_text(answer_text),
            "root_cause": {"category": draft.category, "detail": draft.detail},
            "recommended_actions": draft.actions,
            "evidence": [by_id[i].cited() for i in draft.evidence_ids],
            "confidence": draft.confidence,
            "requires_human_approval": True,
            "proposal_id": None,
            "provider": outcome.provider,
            "model": outcome.model,
            "fallback": outcome.fallback,
            "contract_change": draft.contract_change,
            "contract_diff": suggested_diff(self.contracts, draft.contract_change),
            "notes": draft.notes,
        }
        if draft.actions:
            now = self.clock()
            answer["proposal_id"] = proposals.new_proposal_id(now)
            proposals.store(self.lake, answer, proposal_id=answer["proposal_id"], now=now)
        calls[-1].confidence = draft.confidence
        for call in calls:
            call.proposal_id = answer["proposal_id"]
        record_calls(self.lake, calls)
        return answer

    def _call(
        self,
        role: Role,
        request: LLMRequest,
        parse: Callable[[str], T],
        request_id: str,
        kind: str | None,
        calls: list[CallRecord],
    ) -> _Outcome:
        """One model call, checked; on any failure the offline advisor answers the same
        request. Either way one call record is kept."""
        started = time.perf_counter()
        completion: Completion | None = None
        value: Any = None
        offline = isinstance(self.llm, OfflineLLM)
        error = None if offline else prompt.budget_error(request, self.budget)
        if error is None:
            try:
                completion = self.llm.complete(request)
                value = parse(completion.text)
            except Exception as exc:  # any failure of the model means: answer offline
                if offline:
                    raise
                error = exc.message if isinstance(exc, LakehouseError) else f"{exc!r}"
        latency_ms = (time.perf_counter() - started) * 1000
        prompt_tokens = completion.prompt_tokens if completion else 0
        completion_tokens = completion.completion_tokens if completion else 0
        model = completion.model if completion else self.llm.model
        calls.append(
            CallRecord(
                call_id=uuid.uuid4().hex,
                request_id=request_id,
                called_at=self.clock(),
                provider=self.llm.provider,
                model=model,
                role=role,
                kind=kind,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost_usd(
                    self.prices, prompt_tokens, completion_tokens, model, self.llm.model
                ),
                latency_ms=round(latency_ms, 2),
                confidence=None,
                fallback=error is not None,
                error=mask_text(error) if error else None,
            )
        )
        if error is None:
            return _Outcome(value, self.llm.provider, model, None)
        reply = self._offline.complete(request)
        return _Outcome(
            parse(reply.text), "offline", reply.model, f"{self.llm.provider} failed: {error}"
        )
