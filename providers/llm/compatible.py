"""Any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LiteLLM, a gateway) at
LAKEHOUSE_LLM_BASE_URL. A key is optional: the secret `llm-api-key` when it exists."""

from __future__ import annotations

from typing import Any

import openai

from providers.llm.chat import ChatCompletionsLLM
from providers.secrets import Secrets
from shared.errors import ConfigError, SecretNotFoundError
from shared.settings import ENV_LLM_BASE_URL, ENV_LLM_MODEL, Settings

API_KEY_SECRET = "llm-api-key"
# The client insists on a key; a self-hosted server without authentication ignores it.
NO_KEY = "no-key"


def compatible_llm(
    settings: Settings, secrets: Secrets, *, http_client: Any = None
) -> ChatCompletionsLLM:
    if not settings.llm_base_url:
        raise ConfigError(
            "the compatible LLM backend needs a base URL",
            hint=f"set {ENV_LLM_BASE_URL}, e.g. http://localhost:8000/v1",
        )
    if not settings.llm_model:
        raise ConfigError(
            "the compatible LLM backend needs a model name",
            hint=f"set {ENV_LLM_MODEL} to a model the server serves",
        )
    try:
        key = secrets.get(API_KEY_SECRET)
    except SecretNotFoundError:
        key = NO_KEY
    client = openai.OpenAI(
        api_key=key,
        base_url=settings.llm_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_retries,
        http_client=http_client,
    )
    return ChatCompletionsLLM(
        client,
        provider="compatible",
        model=settings.llm_model,
        where=f"{ENV_LLM_BASE_URL}={settings.llm_base_url}",
        token_limit_field="max_tokens",
    )
