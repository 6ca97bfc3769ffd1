"""OpenAI's API (api.openai.com, or a gateway at LAKEHOUSE_LLM_BASE_URL), with the key
from the secrets provider."""

from __future__ import annotations

from typing import Any

import openai

from providers.llm.chat import ChatCompletionsLLM
from providers.secrets import Secrets
from shared.settings import ENV_LLM_BASE_URL, Settings

API_KEY_SECRET = "openai-api-key"
DEFAULT_MODEL = "gpt-4o-mini"


def openai_llm(
    settings: Settings, secrets: Secrets, *, http_client: Any = None
) -> ChatCompletionsLLM:
    """`http_client` replaces the client's HTTP transport (tests pass a mock transport)."""
    model = settings.llm_model or DEFAULT_MODEL
    base_url = settings.llm_base_url
    client = openai.OpenAI(
        api_key=secrets.get(API_KEY_SECRET),
        base_url=base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_retries,
        http_client=http_client,
    )
    where = f"{ENV_LLM_BASE_URL}={base_url}" if base_url else "api.openai.com"
    return ChatCompletionsLLM(client, provider="openai", model=model, where=where)
