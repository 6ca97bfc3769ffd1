"""The network backends through the real `openai` client: against the chat stub on
127.0.0.1 (what is sent, where, with which credentials) and through the client's own test
hook, an HTTP client with a mock transport (retries, timeouts and refusals)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from azure.core.credentials import AccessToken

from providers.llm import (
    LLMRejectedError,
    LLMRequest,
    LLMUnavailableError,
    Message,
    OfflineLLM,
    llm_for,
)
from providers.secrets import EnvSecrets
from shared.errors import ConfigError, SecretNotFoundError
from shared.settings import Settings
from tests.servers.openai_stub import Reply, chat_stub

pytestmark = pytest.mark.server

REQUEST = LLMRequest(
    role="answer",
    messages=(Message("system", "Reply in JSON."), Message("user", "Why?")),
    max_output_tokens=321,
)
ANSWER = json.dumps({"answer": "because", "root_cause": {"category": "none"}})


def secrets(tmp_path: Path, **values: str) -> EnvSecrets:
    return EnvSecrets(values, dotenv=tmp_path / ".env", secrets_dir=tmp_path / "secrets")


def settings(**env: str) -> Settings:
    return Settings.from_env({"LAKEHOUSE_LLM_RETRIES": "0", **env})


class FakeCredential:
    """An azure-core TokenCredential that records the scopes it is asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("entra-token-123", 4_102_444_800)


def test_openai_sends_the_chat_request_with_the_secret_key(tmp_path: Path) -> None:
    with chat_stub(lambda _: Reply(content=ANSWER)) as stub:
        llm = llm_for(
            settings(LAKEHOUSE_LLM="openai", LAKEHOUSE_LLM_BASE_URL=f"{stub.url}/v1"),
            secrets(tmp_path, OPENAI_API_KEY="sk-test-key"),
        )
        completion = llm.complete(REQUEST)
    (sent,) = stub.received
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-key"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["max_completion_tokens"] == 321
    assert sent.body["response_format"] == {"type": "json_object"}
    assert sent.body["temperature"] == 0
    assert sent.messages == [
        {"role": "system", "content": "Reply in JSON."},
        {"role": "user", "content": "Why?"},
    ]
    assert (llm.provider, completion.text) == ("openai", ANSWER)
    assert (completion.prompt_tokens, completion.completion_tokens) == (900, 150)
    assert completion.model == "gpt-4o-mini-2024-07-18"


def test_openai_needs_its_key_from_the_secrets_provider(tmp_path: Path) -> None:
    with pytest.raises(SecretNotFoundError, match="openai-api-key"):
        llm_for(settings(LAKEHOUSE_LLM="openai"), secrets(tmp_path))


def test_azure_openai_with_a_key_from_the_secrets_provider(tmp_path: Path) -> None:
    with chat_stub(lambda _: Reply(content=ANSWER)) as stub:
        llm = llm_for(
            settings(
                LAKEHOUSE_LLM="azure-openai",
                AZURE_OPENAI_ENDPOINT=stub.url,
                LAKEHOUSE_LLM_DEPLOYMENT="advisor-4o-mini",
            ),
            secrets(tmp_path, AZURE_OPENAI_API_KEY="azure-key"),
        )
        llm.complete(REQUEST)
    (sent,) = stub.received
    assert sent.path == (
        "/openai/deployments/advisor-4o-mini/chat/completions?api-version=2024-10-21"
    )
    assert sent.headers["api-key"] == "azure-key"
    assert "authorization" not in sent.headers
    assert sent.body["max_completion_tokens"] == 321
    assert (llm.provider, llm.model) == ("azure-openai", "advisor-4o-mini")


def test_azure_openai_without_a_key_uses_an_entra_id_token(tmp_path: Path) -> None:
    credential = FakeCredential()
    with chat_stub(lambda _: Reply(content=ANSWER)) as stub:
        llm = llm_for(
            settings(
                LAKEHOUSE_LLM="azure-openai",
                AZURE_OPENAI_ENDPOINT=stub.url,
                LAKEHOUSE_LLM_DEPLOYMENT="advisor",
                LAKEHOUSE_LLM_API_VERSION="2025-01-01-preview",
            ),
            secrets(tmp_path),
            credential=credential,
        )
        llm.complete(REQUEST)
    (sent,) = stub.received
    assert sent.headers["authorization"] == "Bearer entra-token-123"
    assert "api-key" not in sent.headers
    assert sent.path.endswith("?api-version=2025-01-01-preview")
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"LAKEHOUSE_LLM_DEPLOYMENT": "d"}, "AZURE_OPENAI_ENDPOINT"),
        ({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com/"}, "LAKEHOUSE_LLM_DEPLOYMENT"),
    ],
)
def test_azure_openai_names_the_missing_setting(
    tmp_path: Path, env: dict[str, str], missing: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        llm_for(settings(LAKEHOUSE_LLM="azure-openai", **env), secrets(tmp_path))
    assert missing in str(caught.value)


def test_compatible_server_without_a_key(tmp_path: Path) -> None:
    with chat_stub(lambda _: Reply(content=ANSWER, model="llama-3.1-8b")) as stub:
        llm = llm_for(
            settings(
                LAKEHOUSE_LLM="compatible",
                LAKEHOUSE_LLM_BASE_URL=f"{stub.url}/v1",
                LAKEHOUSE_LLM_MODEL="llama-3.1-8b",
            ),
            secrets(tmp_path),
        )
        completion = llm.complete(REQUEST)
    (sent,) = stub.received
    assert sent.headers["authorization"] == "Bearer no-key"
    assert sent.body["max_tokens"] == 321 and "max_completion_tokens" not in sent.body
    assert (llm.provider, completion.model) == ("compatible", "llama-3.1-8b")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"LAKEHOUSE_LLM_MODEL": "m"}, "LAKEHOUSE_LLM_BASE_URL"),
        ({"LAKEHOUSE_LLM_BASE_URL": "http://127.0.0.1:9/v1"}, "LAKEHOUSE_LLM_MODEL"),
    ],
)
def test_compatible_names_the_missing_setting(
    tmp_path: Path, env: dict[str, str], missing: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        llm_for(settings(LAKEHOUSE_LLM="compatible", **env), secrets(tmp_path))
    assert missing in str(caught.value)


def test_the_factory(tmp_path: Path) -> None:
    assert isinstance(llm_for(settings(), secrets(tmp_path)), OfflineLLM)
    with pytest.raises(ConfigError, match="LAKEHOUSE_LLM"):
        llm_for(settings(LAKEHOUSE_LLM="gpt-local"), secrets(tmp_path))


def test_a_slow_server_times_out_after_the_retries(tmp_path: Path) -> None:
    with chat_stub(lambda _: Reply(content=ANSWER, delay=1.0)) as stub:
        llm = llm_for(
            settings(
                LAKEHOUSE_LLM="openai",
                LAKEHOUSE_LLM_BASE_URL=f"{stub.url}/v1",
                LAKEHOUSE_LLM_TIMEOUT="0.2",
                LAKEHOUSE_LLM_RETRIES="1",
            ),
            secrets(tmp_path, OPENAI_API_KEY="k"),
        )
        with pytest.raises(LLMUnavailableError, match="did not answer in time") as caught:
            llm.complete(REQUEST)
    assert caught.value.transient
    assert len(stub.received) == 2  # the first try and one retry


# -- through the client's own test hook: an httpx2 client with a mock transport ------------
def mock_llm(tmp_path: Path, handler, **env: str):
    transport = httpx2.MockTransport(handler)
    return llm_for(
        settings(LAKEHOUSE_LLM="openai", **env),
        secrets(tmp_path, OPENAI_API_KEY="k"),
        http_client=httpx2.Client(transport=transport),
    )


def chat_json(content: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }


def test_5xx_answers_are_retried_then_reported_as_unavailable(tmp_path: Path) -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(503, json={"error": {"message": "busy", "type": "server_error"}})

    llm = mock_llm(tmp_path, handler, LAKEHOUSE_LLM_RETRIES="2")
    with pytest.raises(LLMUnavailableError, match="HTTP 503 after retries"):
        llm.complete(REQUEST)
    assert len(calls) == 3


def test_a_retry_that_succeeds_returns_the_answer(tmp_path: Path) -> None:
    answers = iter([httpx2.Response(500, json={"error": {"message": "x"}})])

    def handler(request: httpx2.Request) -> httpx2.Response:
        return next(answers, None) or httpx2.Response(200, json=chat_json(ANSWER))

    completion = mock_llm(tmp_path, handler, LAKEHOUSE_LLM_RETRIES="1").complete(REQUEST)
    assert completion.text == ANSWER and completion.prompt_tokens == 12


def test_a_transport_timeout_is_unavailable(tmp_path: Path) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("slow", request=request)

    with pytest.raises(LLMUnavailableError, match="did not answer in time"):
        mock_llm(tmp_path, handler).complete(REQUEST)


@pytest.mark.parametrize(
    ("status", "message"), [(401, "refused the credentials"), (404, "not found"), (400, "400")]
)
def test_refusals_are_terminal(tmp_path: Path, status: int, message: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json={"error": {"message": "no", "type": "invalid"}})

    with pytest.raises(LLMRejectedError, match=message) as caught:
        mock_llm(tmp_path, handler).complete(REQUEST)
    assert not caught.value.transient
