"""Azure OpenAI through the `openai` package's AzureOpenAI client.

Authentication: the key in the secret `azure-openai-api-key` when it exists, otherwise a
Microsoft Entra ID token for the platform identity (DefaultAzureCredential: the function
app's managed identity, environment credentials or `az login`), which needs the
*Cognitive Services OpenAI User* role on the resource.
"""

from __future__ import annotations

from typing import Any

import openai
from azure.identity import DefaultAzureCredential, get_bearer_token_provider

from providers.llm.chat import ChatCompletionsLLM
from providers.secrets import Secrets
from shared.errors import ConfigError, SecretNotFoundError
from shared.settings import ENV_AZURE_OPENAI_ENDPOINT, ENV_LLM_DEPLOYMENT, Settings

API_KEY_SECRET = "azure-openai-api-key"
TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"


def azure_openai_llm(
    settings: Settings,
    secrets: Secrets,
    *,
    http_client: Any = None,
    credential: Any = None,
) -> ChatCompletionsLLM:
    """`credential` replaces DefaultAzureCredential (any azure-core TokenCredential)."""
    endpoint, deployment = settings.azure_openai_endpoint, settings.llm_deployment
    if not endpoint or not deployment:
        raise ConfigError(
            "the azure-openai LLM backend needs an endpoint and a deployment",
            hint=f"set {ENV_AZURE_OPENAI_ENDPOINT}=https://<resource>.openai.azure.com/ and "
            f"{ENV_LLM_DEPLOYMENT}=<deployment name>",
        )
    auth: dict[str, Any]
    try:
        auth = {"api_key": secrets.get(API_KEY_SECRET)}
    except SecretNotFoundError:
        token_provider = get_bearer_token_provider(
            credential or DefaultAzureCredential(), TOKEN_SCOPE
        )
        auth = {"azure_ad_token_provider": token_provider}
    client = openai.AzureOpenAI(
        azure_endpoint=endpoint,
        azure_deployment=deployment,
        api_version=settings.llm_api_version,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_retries,
        http_client=http_client,
        **auth,
    )
    return ChatCompletionsLLM(
        client,
        provider="azure-openai",
        model=deployment,
        where=f"{ENV_AZURE_OPENAI_ENDPOINT}={endpoint}, deployment {deployment}",
    )
