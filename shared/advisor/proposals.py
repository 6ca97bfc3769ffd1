"""`_ops.advisor_proposals`: every answer that recommends an action, pending until a person
approves or rejects it.

A decision records who and when, once: the MERGE only updates a row still `pending`, so of
two people deciding at the same time exactly one wins and the other is told it was already
decided. No code path applies a proposal; an approved contract change is returned as a
diff for a person to commit.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from shared.errors import TerminalError
from shared.lake import Lake
from shared.ops import TS

PROPOSALS = "_ops.advisor_proposals"
Decision = Literal["approve", "reject"]
STATUS_OF: dict[str, str] = {"approve": "approved", "reject": "rejected"}

PROPOSALS_SCHEMA = pa.schema(
    [
        ("proposal_id", pa.string()),
        ("request_id", pa.string()),
        ("created_at", TS),
        ("kind", pa.string()),
        ("question", pa.string()),
        ("run_id", pa.string()),
        ("answer", pa.string()),
        ("root_cause_category", pa.string()),
        ("root_cause", pa.string()),
        ("recommended_actions", pa.string()),
        ("evidence", pa.string()),
        ("contract_change", pa.string()),
        ("contract_diff", pa.string()),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("confidence", pa.float64()),
        ("status", pa.string()),
        ("decided_by", pa.string()),
        ("decided_at", TS),
        ("decision_note", pa.string()),
    ]
)
DECISION_COLUMNS = ["status", "decided_by", "decided_at", "decision_note"]


class ProposalNotFoundError(TerminalError):
    """No proposal has this id."""


class ProposalDecidedError(TerminalError):
    """The proposal was approved or rejected already."""

    def __init__(self, message: str, *, hint: str | None = None, proposal: dict[str, Any]):
        super().__init__(message, hint=hint)
        self.proposal = proposal


def new_proposal_id(now: datetime) -> str:
    return f"prop-{now:%Y%m%d}-{secrets.token_hex(4)}"


def store(lake: Lake, answer: dict[str, Any], *, proposal_id: str, now: datetime) -> None:
    """Record an answer's recommendation as a pending proposal."""
    row = {
        "proposal_id": proposal_id,
        "request_id": answer["request_id"],
        "created_at": now,
        "kind": answer["kind"],
        "question": answer.get("question"),
        "run_id": answer.get("run_id"),
        "answer": answer["answer"],
        "root_cause_category": answer["root_cause"]["category"],
        "root_cause": answer["root_cause"]["detail"],
        "recommended_actions": json.dumps(answer["recommended_actions"]),
        "evidence": json.dumps(answer["evidence"]),
        "contract_change": json.dumps(answer["contract_change"])
        if answer.get("contract_change")
        else None,
        "contract_diff": answer.get("contract_diff"),
        "provider": answer["provider"],
        "model": answer["model"],
        "confidence": answer["confidence"],
        "status": "pending",
        "decided_by": None,
        "decided_at": None,
        "decision_note": None,
    }
    lake.append(PROPOSALS, pa.Table.from_pylist([row], schema=PROPOSALS_SCHEMA), app_id=proposal_id)


def get(lake: Lake, proposal_id: str) -> dict[str, Any] | None:
    rows = lake.read(PROPOSALS, filter=pc.field("proposal_id") == proposal_id)
    if rows is None or rows.num_rows == 0:
        return None
    return view(rows.to_pylist()[0])


def decide(
    lake: Lake,
    proposal_id: str,
    decision: Decision,
    *,
    by: str,
    note: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Approve or reject a pending proposal; returns it as decided. Raises
    ProposalNotFoundError or ProposalDecidedError."""
    current = get(lake, proposal_id)
    if current is None:
        raise ProposalNotFoundError(
            f"no advisor proposal {proposal_id!r}",
            hint="use the proposal_id returned by POST /api/advisor",
        )
    if current["status"] != "pending":
        raise _decided(current)
    update = pa.Table.from_pylist(
        [
            {
                "proposal_id": proposal_id,
                "status": STATUS_OF[decision],
                "decided_by": by,
                "decided_at": now,
                "decision_note": note,
            }
        ],
        schema=pa.schema(
            [PROPOSALS_SCHEMA.field("proposal_id")]
            + [PROPOSALS_SCHEMA.field(c) for c in DECISION_COLUMNS]
        ),
    )
    metrics = lake.upsert(
        PROPOSALS,
        update,
        keys=["proposal_id"],
        update_when="t.status = 'pending'",
        update_columns=DECISION_COLUMNS,
        insert=False,
    )
    decided = get(lake, proposal_id)
    assert decided is not None
    if not metrics.get("num_target_rows_updated"):
        # Someone else's decision committed first.
        raise _decided(decided)
    return decided


def _decided(proposal: dict[str, Any]) -> ProposalDecidedError:
    return ProposalDecidedError(
        f"proposal {proposal['proposal_id']} was already {proposal['status']} by "
        f"{proposal['decided_by']} at {proposal['decided_at']}",
        hint="a decision is final; ask the advisor again for a new proposal",
        proposal=proposal,
    )


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A stored proposal as JSON-ready data."""
    out = dict(row)
    for key in ("recommended_actions", "evidence", "contract_change"):
        out[key] = (
            json.loads(row[key]) if row.get(key) else ([] if key != "contract_change" else None)
        )
    for key in ("created_at", "decided_at"):
        out[key] = row[key].isoformat() if row.get(key) else None
    return out
