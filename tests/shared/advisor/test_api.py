"""The advisor's HTTP operations as plain functions: request validation, the approval flow
end to end (nothing in the lake changes but the proposal's status), and the usage summary."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from shared.advisor import api
from shared.advisor.metrics import LLM_CALLS
from shared.advisor.proposals import PROPOSALS
from shared.lake import Lake
from shared.settings import Settings
from tests.shared.advisor.conftest import BrokenLake

LAYERS = ("bronze", "silver", "quarantine", "gold", "_ops")


def lake_state(lake: Lake) -> dict[str, tuple[int, pa.Table]]:
    """Every Delta table's version and rows."""
    root = Path(lake.storage.local_path(""))
    names = sorted(
        f"{layer}.{path.name}"
        for layer in LAYERS
        for path in (root / layer).glob("*")
        if (path / "_delta_log").is_dir()
    )
    state = {}
    for name in names:
        delta = lake.delta(name)
        state[name] = (delta.version(), lake.read(name))
    return state


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (["why?"], "JSON object"),
        ({}, "exactly one"),
        ({"question": "why?", "run_id": "silver-1"}, "exactly one"),
        ({"question": "  "}, "non-empty"),
        ({"question": "x" * 2001}, "longer than 2000"),
        ({"question": "why?", "verbose": True}, "unknown field(s) verbose"),
        ({"run_id": "../etc/passwd"}, "run id"),
        ({"run_id": 42}, "run id"),
    ],
)
def test_ask_rejects_a_bad_body(settings: Settings, body: object, message: str) -> None:
    status, payload = api.ask(settings, body)
    assert status == 400 and message in payload["error"]


def test_ask_about_an_unknown_run_is_404(broken: BrokenLake) -> None:
    status, payload = api.ask(broken.bench.settings, {"run_id": "silver-20200101T000000-abcdef"})
    assert status == 404
    assert "silver-20200101T000000-abcdef" in payload["error"] and payload["hint"]


def test_ask_on_an_empty_lake_answers_from_the_contracts(settings: Settings) -> None:
    status, answer = api.ask(settings, {"question": "How do I add a column to orders?"})
    assert status == 200 and answer["kind"] == "contract_howto"
    assert answer["recommended_actions"] and answer["proposal_id"]
    assert any(e["source"] == "howto" for e in answer["evidence"])


def test_approval_records_who_and_when_and_changes_nothing_else(broken: BrokenLake) -> None:
    bench = broken.bench
    _, answer = api.ask(bench.settings, {"run_id": broken.runs["gold"]})
    proposal_id = answer["proposal_id"]
    before = lake_state(bench.lake)
    files_before = sorted(p.relative_to(bench.root) for p in bench.root.rglob("*") if p.is_file())
    when = datetime(2026, 2, 1, 9, 30)

    status, decided = api.decide(
        bench.settings,
        proposal_id,
        "approve",
        {"by": "ana@example.com", "note": "agreed"},
        clock=lambda: when,
    )
    assert status == 200
    assert decided["applied"] is False and "nothing was applied" in decided["message"]
    proposal = decided["proposal"]
    assert (proposal["status"], proposal["decided_by"], proposal["decision_note"]) == (
        "approved",
        "ana@example.com",
        "agreed",
    )
    assert proposal["decided_at"] == when.isoformat()

    after = lake_state(Lake(bench.lake.storage))
    changed = {name for name in before if before[name][0] != after[name][0]}
    assert changed == {PROPOSALS}
    assert set(after) == set(before)
    old, new = before[PROPOSALS][1].to_pylist(), after[PROPOSALS][1].to_pylist()
    decision = {"status", "decided_by", "decided_at", "decision_note"}
    assert [{k: v for k, v in r.items() if k not in decision} for r in old] == [
        {k: v for k, v in r.items() if k not in decision} for r in new
    ]
    # The contract files and everything else on disk are as they were (Delta adds only
    # the proposals table's new commit and data file).
    files_after = sorted(p.relative_to(bench.root) for p in bench.root.rglob("*") if p.is_file())
    added = {str(p) for p in set(files_after) - set(files_before)}
    assert added and all("_ops/advisor_proposals" in p for p in added)
    assert set(files_before) <= set(files_after)

    status, again = api.decide(bench.settings, proposal_id, "reject", {"by": "bob@example.com"})
    assert status == 409
    assert "already approved by ana@example.com" in again["error"]
    assert again["proposal"]["status"] == "approved"


def test_an_approved_contract_change_returns_the_diff(broken: BrokenLake) -> None:
    bench = broken.bench
    drift = bench.file(
        "orders",
        [[*r, "SPRING"] for r in bench.new_orders(3)],
        header="order_id,customer_id,store_id,order_ts,status,updated_at,promo_code",
    )
    run_id = bench.ingest(drift)
    _, answer = api.ask(bench.settings, {"run_id": run_id})
    assert answer["root_cause"]["category"] == "schema_drift"
    assert answer["contract_change"] == {
        "table": "orders",
        "kind": "add_column",
        "columns": ["promo_code"],
    }
    assert "+  promo_code: {type: string, required: false}" in answer["contract_diff"]
    contract = (bench.platform.settings.contracts_dir / "orders.yaml").read_text()

    status, rejected = api.decide(bench.settings, answer["proposal_id"], "reject", {"by": "cto"})
    assert status == 200 and "contract_diff" not in rejected

    _, answer = api.ask(bench.settings, {"run_id": run_id})
    status, approved = api.decide(bench.settings, answer["proposal_id"], "approve", {"by": "cto"})
    assert status == 200
    assert approved["contract_diff"] == answer["contract_diff"]
    assert "commit the contract diff yourself" in approved["message"]
    assert (bench.platform.settings.contracts_dir / "orders.yaml").read_text() == contract


def test_two_people_deciding_at_once_one_wins(broken: BrokenLake) -> None:
    bench = broken.bench
    _, answer = api.ask(bench.settings, {"run_id": broken.runs["gold"]})
    results: dict[str, tuple[int, dict]] = {}

    def decide(who: str, decision: str) -> None:
        results[who] = api.decide(bench.settings, answer["proposal_id"], decision, {"by": who})

    threads = [
        threading.Thread(target=decide, args=("ana", "approve")),
        threading.Thread(target=decide, args=("bob", "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in results.values()) == [200, 409]
    winner = next(who for who, (status, _) in results.items() if status == 200)
    stored = bench.lake.read(PROPOSALS).to_pylist()
    (row,) = [r for r in stored if r["proposal_id"] == answer["proposal_id"]]
    assert row["decided_by"] == winner


@pytest.mark.parametrize(
    ("proposal_id", "decision", "body", "status", "message"),
    [
        ("prop-20260101-00000000", "approve", {"by": "ana"}, 404, "no advisor proposal"),
        ("prop-1", "merge", {"by": "ana"}, 400, "approve or reject"),
        ("../x", "approve", {"by": "ana"}, 400, "malformed"),
        ("prop-1", "approve", {}, 400, "say who decides"),
        ("prop-1", "approve", {"by": "ana", "note": 5}, 400, "note must be"),
        ("prop-1", "approve", {"by": "ana", "apply": True}, 400, "unknown field(s) apply"),
        ("prop-1", "approve", "yes", 400, "JSON object"),
    ],
)
def test_decide_rejects_bad_requests(
    settings: Settings, proposal_id: str, decision: str, body: object, status: int, message: str
) -> None:
    got, payload = api.decide(settings, proposal_id, decision, body)  # type: ignore[arg-type]
    assert got == status and message in payload["error"]


def test_metrics_by_day_and_role(broken: BrokenLake) -> None:
    bench = broken.bench
    api.ask(bench.settings, {"question": "Why was gold blocked?"})
    api.ask(bench.settings, {"run_id": broken.runs["gold"]})
    status, summary = api.metrics(bench.settings, {})
    assert status == 200
    totals = summary["totals"]
    assert totals["calls"] == 3 and totals["fallbacks"] == 0 and totals["cost_usd"] == 0
    roles = {(r["role"], r["calls"]) for r in summary["by_day_and_role"]}
    assert roles == {("triage", 1), ("answer", 1), ("summary", 1)}
    assert {r["day"] for r in summary["by_day_and_role"]} == {bench.now.date().isoformat()}
    assert summary["by_provider"][0]["provider"] == "offline"
    assert 0 < totals["avg_confidence"] <= 1

    later = datetime.combine(bench.now.date() + timedelta(days=40), datetime.min.time())
    status, empty = api.metrics(bench.settings, {"days": "7"}, clock=lambda: later)
    assert status == 200 and empty["totals"]["calls"] == 0
    day = bench.now.date().isoformat()
    status, one_day = api.metrics(bench.settings, {"since": day, "until": day})
    assert one_day["totals"]["calls"] == 3
    assert bench.lake.read(LLM_CALLS).num_rows == 3


@pytest.mark.parametrize(
    "query",
    [
        {"days": "0"},
        {"days": "many"},
        {"days": "400"},
        {"since": "2026-13-01"},
        {"since": "2026-02-02", "until": "2026-02-01"},
        {"days": "3", "since": "2026-01-01"},
        {"role": "triage"},
    ],
)
def test_metrics_rejects_bad_parameters(settings: Settings, query: dict[str, str]) -> None:
    status, payload = api.metrics(settings, query)
    assert status == 400 and payload["error"]


def test_metrics_on_a_lake_without_calls(settings: Settings) -> None:
    status, summary = api.metrics(settings, {"days": "30"})
    assert status == 200 and summary["totals"]["calls"] == 0 and summary["by_day_and_role"] == []
