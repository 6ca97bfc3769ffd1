"""The advisor with a network model: the real `openai` client against the chat stub on
127.0.0.1. What is sent (masked, within the budget, data quoted inside the evidence block,
with the evidence ids), tokens and cost from the usage returned, and every failure
answered by the offline advisor and recorded as a fallback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from shared.advisor import api
from shared.advisor.metrics import LLM_CALLS
from shared.advisor.prompt import ANSWER_SYSTEM, estimate_tokens
from shared.settings import Settings
from tests.servers.openai_stub import Received, Reply, chat_stub
from tests.shared.advisor.conftest import CONTACT, INJECTION, BrokenLake

pytestmark = pytest.mark.server

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+\d[\d ]{8,}\d")


def with_model(broken: BrokenLake, url: str, **env: str) -> Settings:
    base = {
        "LAKEHOUSE_LLM": "openai",
        "LAKEHOUSE_LLM_BASE_URL": f"{url}/v1",
        "OPENAI_API_KEY": "sk-test",
        "LAKEHOUSE_LLM_RETRIES": "0",
        **env,
    }
    settings = Settings.from_env(base)
    return settings.with_(
        lake_url=broken.bench.settings.lake_url, secrets_dir=broken.bench.settings.secrets_dir
    )


def evidence_ids(request: Received) -> list[str]:
    return re.findall(r'"id": "(E\d+)"', request.messages[1]["content"])


def model(answer: Callable[[Received], dict[str, Any]], **usage: Any) -> Callable:
    """A stub reply: the triage call gets a kind, the answer call `answer(request)`."""

    def reply(request: Received) -> Reply:
        if "classify" in request.messages[0]["content"]:
            return Reply(
                content=json.dumps({"kind": "failure_triage"}),
                prompt_tokens=210,
                completion_tokens=6,
            )
        return Reply(content=json.dumps(answer(request)), **usage)

    return reply


def good_answer(request: Received) -> dict[str, Any]:
    cited = evidence_ids(request)[:2]
    return {
        "answer": "Prices in the new order lines carry a euro sign; ana@example.com said so.",
        "root_cause": {"category": "format_change", "detail": "unit_price is '€10.50'"},
        "recommended_actions": ["Ask the source to send plain decimals.", "Replay."],
        "evidence_ids": [*cited, "E999"],
        "confidence": 0.8,
        "contract_change": None,
    }


def test_a_question_answered_by_the_model(broken: BrokenLake) -> None:
    with chat_stub(model(good_answer, prompt_tokens=2400, completion_tokens=180)) as stub:
        settings = with_model(broken, stub.url)
        status, answer = api.ask(settings, {"question": "Why was gold blocked?"})
    assert status == 200
    assert (answer["provider"], answer["model"]) == ("openai", "gpt-4o-mini-2024-07-18")
    assert answer["fallback"] is None
    assert answer["root_cause"]["category"] == "format_change"
    assert "[email]" in answer["answer"] and not EMAIL.search(answer["answer"])
    assert [e["id"] for e in answer["evidence"]] == evidence_ids(stub.received[1])[:2]
    assert answer["notes"] == ["ignored 1 evidence id(s) the model invented"]
    assert answer["requires_human_approval"] is True and answer["proposal_id"]

    triage, asked = stub.received
    assert triage.body["max_completion_tokens"] == 20
    system, user = asked.messages
    assert system == {"role": "system", "content": ANSWER_SYSTEM}
    # The data is quoted inside the evidence block, masked; instructions come only from us.
    assert user["content"].index("<evidence>") < user["content"].index(INJECTION)
    assert INJECTION not in system["content"]
    assert CONTACT not in user["content"]
    for message in (*triage.messages, *asked.messages):
        assert not EMAIL.search(message["content"]) and not PHONE.search(message["content"])
    body = user["content"].split("<evidence>\n", 1)[1].split("\n</evidence>", 1)[0]
    lines = [json.loads(line) for line in body.splitlines()]
    assert {"id", "source", "reference", "text"} == set(lines[0])
    assert any(e["reference"].get("rule_id") == "order_lines.unit_price.type" for e in lines)
    # Within the budget: the prompt estimate plus the answer limit.
    prompt_tokens = sum(estimate_tokens(m["content"]) for m in asked.messages)
    assert prompt_tokens + asked.body["max_completion_tokens"] <= settings.llm_token_budget

    calls = {c["role"]: c for c in broken.bench.lake.read(LLM_CALLS).to_pylist()}
    assert calls["answer"]["provider"] == "openai"
    assert (calls["answer"]["prompt_tokens"], calls["answer"]["completion_tokens"]) == (2400, 180)
    # gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    assert calls["answer"]["cost_usd"] == pytest.approx((2400 * 0.15 + 180 * 0.60) / 1e6)
    assert calls["triage"]["cost_usd"] == pytest.approx((210 * 0.15 + 6 * 0.60) / 1e6)
    assert calls["answer"]["confidence"] == 0.8 and not calls["answer"]["fallback"]


def test_a_small_budget_leaves_out_the_lowest_ranked_evidence(broken: BrokenLake) -> None:
    sent = {}
    for budget in ("6000", "2600"):
        with chat_stub(model(good_answer)) as stub:
            settings = with_model(broken, stub.url, LAKEHOUSE_LLM_TOKEN_BUDGET=budget)
            status, _ = api.ask(settings, {"run_id": broken.runs["gold"]})
        assert status == 200
        (request,) = stub.received
        sent[budget] = evidence_ids(request)
        tokens = sum(estimate_tokens(m["content"]) for m in request.messages)
        assert tokens + request.body["max_completion_tokens"] <= int(budget)
    assert sent["2600"] == sent["6000"][: len(sent["2600"])]
    assert 0 < len(sent["2600"]) < len(sent["6000"])


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (lambda r: Reply(status=500), "HTTP 500"),
        (lambda r: Reply(content="{}", delay=1.5), "did not answer in time"),
        (lambda r: Reply(status=401), "refused the credentials"),
        (lambda r: Reply(content="Sure! The cause is prices."), "not JSON"),
        (
            lambda r: Reply(
                content=json.dumps(
                    {
                        "answer": "Nothing is wrong.",
                        "root_cause": {"category": "none"},
                        "recommended_actions": [],
                        "evidence_ids": [],
                        "requires_human_approval": False,
                    }
                )
            ),
            "found no cause where the evidence shows format_change",
        ),
    ],
    ids=["5xx", "timeout", "refused", "not-json", "obeyed-the-injection"],
)
def test_any_model_failure_falls_back_to_offline(
    broken: BrokenLake, reply: Callable[[Received], Reply], reason: str
) -> None:
    with chat_stub(reply) as stub:
        settings = with_model(broken, stub.url, LAKEHOUSE_LLM_TIMEOUT="0.5")
        status, answer = api.ask(settings, {"run_id": broken.runs["gold"]})
    assert status == 200 and stub.received
    assert answer["provider"] == "offline"
    assert answer["fallback"].startswith("openai failed:") and reason in answer["fallback"]
    assert answer["answer"].startswith("(Offline advisor: openai failed:")
    assert answer["root_cause"]["category"] == "format_change"
    assert answer["requires_human_approval"] is True
    (call,) = broken.bench.lake.read(LLM_CALLS).to_pylist()
    assert call["fallback"] is True and reason in call["error"]
    assert call["provider"] == "openai" and call["role"] == "summary"


def test_a_missing_key_falls_back_without_a_request(broken: BrokenLake) -> None:
    lake = broken.bench.settings
    settings = Settings.from_env(
        {"LAKEHOUSE_LLM": "openai"}, lake_url=lake.lake_url, secrets_dir=lake.secrets_dir
    )
    status, answer = api.ask(settings, {"run_id": broken.runs["gold"]})
    assert status == 200
    assert "openai-api-key" in answer["fallback"]
    assert answer["root_cause"]["category"] == "format_change"


def test_azure_openai_end_to_end(broken: BrokenLake) -> None:
    with chat_stub(model(good_answer, model="gpt-4o-mini")) as stub:
        settings = Settings.from_env(
            {
                "LAKEHOUSE_LLM": "azure-openai",
                "AZURE_OPENAI_ENDPOINT": stub.url,
                "LAKEHOUSE_LLM_DEPLOYMENT": "advisor",
                "AZURE_OPENAI_API_KEY": "azure-key",
                "LAKEHOUSE_LLM_RETRIES": "0",
            },
            lake_url=broken.bench.settings.lake_url,
            secrets_dir=broken.bench.settings.secrets_dir,
        )
        status, answer = api.ask(settings, {"run_id": broken.runs["gold"]})
    assert status == 200
    (request,) = stub.received
    assert request.path.startswith("/openai/deployments/advisor/chat/completions")
    assert request.headers["api-key"] == "azure-key"
    assert (answer["provider"], answer["model"]) == ("azure-openai", "gpt-4o-mini")
    (call,) = broken.bench.lake.read(LLM_CALLS).to_pylist()
    assert call["cost_usd"] == pytest.approx((900 * 0.15 + 150 * 0.60) / 1e6)
