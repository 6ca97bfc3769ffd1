"""LLM providers: one interface, one module per backend, a factory from settings."""

from __future__ import annotations

from typing import Any

from providers.llm.base import (
    LLM,
    QUESTION_KINDS,
    ROOT_CAUSES,
    Completion,
    LLMRejectedError,
    LLMRequest,
    LLMUnavailableError,
    Message,
)
from providers.llm.offline import OfflineLLM
from providers.secrets import Secrets
from shared.errors import ConfigError
from shared.settings import ENV_LLM, Settings

__all__ = [
    "BACKENDS",
    "LLM",
    "QUESTION_KINDS",
    "ROOT_CAUSES",
    "Completion",
    "LLMRejectedError",
    "LLMRequest",
    "LLMUnavailableError",
    "Message",
    "OfflineLLM",
    "llm_for",
]

BACKENDS = ("offline", "openai", "azure-openai", "compatible")


def llm_for(
    settings: Settings,
    secrets: Secrets,
    *,
    http_client: Any = None,
    credential: Any = None,
) -> LLM:
    """The model `settings.llm_backend` names. `http_client` (an HTTP client for the
    `openai` package) and `credential` (an Azure TokenCredential) are for tests."""
    backend = settings.llm_backend
    # The openai and azure packages are imported only when a network backend is chosen.
    if backend == "offline":
        return OfflineLLM()
    if backend == "openai":
        from providers.llm.openai_api import openai_llm

        return openai_llm(settings, secrets, http_client=http_client)
    if backend == "azure-openai":
        from providers.llm.azure_openai import azure_openai_llm

        return azure_openai_llm(settings, secrets, http_client=http_client, credential=credential)
    if backend == "compatible":
        from providers.llm.compatible import compatible_llm

        return compatible_llm(settings, secrets, http_client=http_client)
    raise ConfigError(
        f"unknown LLM backend {backend!r}",
        hint=f"set {ENV_LLM} to one of {', '.join(BACKENDS)}",
    )
