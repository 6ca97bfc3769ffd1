"""The advisor's HTTP operations as plain functions, free of any web framework: each takes
settings and the request's parsed parts and returns `(status, JSON-ready dict)`. The
Azure, AWS and GCP handlers and `lakehouse serve` only route to them.

- `ask`: POST /api/advisor with `{"question": "..."}` or `{"run_id": "..."}`
- `decide`: POST /api/advisor/proposals/{id}/approve|reject with `{"by": "...", "note": ...}`
- `metrics`: GET /api/advisor/metrics?days=30 (or since=YYYY-MM-DD&until=YYYY-MM-DD)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Literal

from providers.llm import LLM, llm_for
from shared.advisor import proposals
from shared.advisor.advisor import Advisor, UnavailableLLM
from shared.advisor.metrics import summarise
from shared.advisor.retrieval import RunNotFoundError
from shared.errors import LakehouseError
from shared.jobs import Platform
from shared.ops import utcnow
from shared.settings import Settings

MAX_QUESTION_CHARS = 2000
MAX_NOTE_CHARS = 2000
MAX_NAME_CHARS = 200
MAX_METRICS_DAYS = 366
_RUN_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")
_PROPOSAL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")

Response = tuple[int, dict[str, Any]]


def advisor_for(
    settings: Settings, *, llm: LLM | None = None, clock: Callable[[], datetime] = utcnow
) -> Advisor:
    """An advisor on the configured lake and model. A model that cannot be set up (a
    missing key, endpoint or deployment) does not fail the request: the offline advisor
    answers and says why."""
    platform = Platform(settings)
    if llm is None:
        try:
            llm = llm_for(settings, platform.secrets)
        except LakehouseError as exc:
            model = settings.llm_model or settings.llm_deployment or "unknown"
            llm = UnavailableLLM(settings.llm_backend, model, exc)
    return Advisor(
        platform.lake,
        platform.contracts,
        llm,
        token_budget=settings.llm_token_budget,
        prices=dict(settings.llm_prices),
        clock=clock,
    )


def ask(
    settings: Settings,
    body: Any,
    *,
    llm: LLM | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Response:
    """Answer a question or explain a run: 200 with the answer, 400 for a bad body, 404
    for an unknown run id."""
    if not isinstance(body, Mapping):
        return _bad('the body must be a JSON object: {"question": "..."} or {"run_id": "..."}')
    unknown = sorted(set(body) - {"question", "run_id"})
    if unknown:
        return _bad(f"unknown field(s) {', '.join(map(str, unknown))}; send question or run_id")
    question, run_id = body.get("question"), body.get("run_id")
    if (question is None) == (run_id is None):
        return _bad('send exactly one of {"question": "..."} or {"run_id": "..."}')
    if question is not None:
        if not isinstance(question, str) or not question.strip():
            return _bad("question must be a non-empty string")
        if len(question) > MAX_QUESTION_CHARS:
            return _bad(f"question is longer than {MAX_QUESTION_CHARS} characters; shorten it")
    elif not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        return _bad("run_id must be a run id string, e.g. silver-20260131T060000-1a2b3c")
    try:
        advisor = advisor_for(settings, llm=llm, clock=clock)
        if run_id is not None:
            return 200, advisor.explain_run(run_id)
        return 200, advisor.ask(question.strip())
    except RunNotFoundError as exc:
        return _error(404, exc)
    except LakehouseError as exc:
        return _error(503 if exc.transient else 500, exc)


def decide(
    settings: Settings,
    proposal_id: str,
    decision: Literal["approve", "reject"],
    body: Any,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> Response:
    """Record a person's decision on a proposal: 200 with the decided proposal (and, for an
    approved contract change, the diff to commit), 400 for a bad request, 404 for an
    unknown proposal, 409 when it was decided already. Nothing is applied."""
    if decision not in proposals.STATUS_OF:
        return _bad("the decision must be approve or reject")
    if not isinstance(proposal_id, str) or not _PROPOSAL_ID.match(proposal_id):
        return _bad("the proposal id is malformed; use the proposal_id the advisor returned")
    if not isinstance(body, Mapping):
        return _bad('the body must be a JSON object: {"by": "<who decides>", "note": "..."}')
    unknown = sorted(set(body) - {"by", "note"})
    if unknown:
        return _bad(f"unknown field(s) {', '.join(map(str, unknown))}; send by and note")
    by, note = body.get("by"), body.get("note")
    if not isinstance(by, str) or not by.strip() or len(by) > MAX_NAME_CHARS:
        return _bad('say who decides: {"by": "ana@example.com"} (at most 200 characters)')
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_CHARS):
        return _bad(f"note must be a string of at most {MAX_NOTE_CHARS} characters")
    try:
        lake = Platform(settings).lake
        decided = proposals.decide(
            lake, proposal_id, decision, by=by.strip(), note=note, now=clock()
        )
    except proposals.ProposalNotFoundError as exc:
        return _error(404, exc)
    except proposals.ProposalDecidedError as exc:
        status, payload = _error(409, exc)
        return status, {**payload, "proposal": _decision_view(exc.proposal)}
    except LakehouseError as exc:
        return _error(503 if exc.transient else 500, exc)
    diff = decided.get("contract_diff") if decided["status"] == "approved" else None
    response: dict[str, Any] = {
        "proposal": decided,
        "applied": False,
        "message": f"Proposal {proposal_id} {decided['status']} by {decided['decided_by']}; "
        "the decision is recorded and nothing was applied"
        + (": commit the contract diff yourself." if diff else "."),
    }
    if diff:
        response["contract_diff"] = diff
    return 200, response


def metrics(
    settings: Settings, query: Mapping[str, str], *, clock: Callable[[], datetime] = utcnow
) -> Response:
    """Usage and cost of the advisor's model calls by day and role: 200, or 400 for bad
    parameters (`days`, or `since` and `until` as YYYY-MM-DD, `until` inclusive)."""
    unknown = sorted(set(query) - {"days", "since", "until"})
    if unknown:
        return _bad(f"unknown parameter(s) {', '.join(unknown)}; use days, or since and until")
    now = clock()
    try:
        if "since" in query or "until" in query:
            if "days" in query:
                return _bad("use either days or since/until, not both")
            until = _day(query.get("until")) or now.date()
            since = _day(query.get("since")) or until - timedelta(days=29)
            start = datetime.combine(since, datetime.min.time())
            end = datetime.combine(until + timedelta(days=1), datetime.min.time())
        else:
            days = int(query.get("days", "30"))
            if not 1 <= days <= MAX_METRICS_DAYS:
                raise ValueError
            start = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time())
            end = now + timedelta(microseconds=1)
    except ValueError:
        return _bad(
            f"days must be a whole number from 1 to {MAX_METRICS_DAYS}, and since/until "
            "dates as YYYY-MM-DD"
        )
    if start >= end:
        return _bad("since must not be after until")
    try:
        return 200, summarise(Platform(settings).lake, since=start, until=end)
    except LakehouseError as exc:
        return _error(503 if exc.transient else 500, exc)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _decision_view(proposal: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("proposal_id", "status", "decided_by", "decided_at", "decision_note")
    return {k: proposal.get(k) for k in keys}


def _bad(message: str) -> Response:
    return 400, {"error": message}


def _error(status: int, exc: LakehouseError) -> Response:
    payload: dict[str, Any] = {"error": exc.message}
    if exc.hint:
        payload["hint"] = exc.hint
    return status, payload
