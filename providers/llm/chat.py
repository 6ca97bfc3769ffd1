"""Chat completions through the official `openai` client, shared by the openai,
azure-openai and compatible backends (they differ only in how the client is built).

Timeouts and retries are the client's own (`timeout`, `max_retries`: backoff with jitter
on connection errors, 408, 409, 429 and 5xx); what still fails leaves as a platform error.
"""

from __future__ import annotations

from typing import Literal

import openai

from providers.llm.base import Completion, LLMRejectedError, LLMRequest, LLMUnavailableError
from shared.errors import LakehouseError

TokenLimitField = Literal["max_completion_tokens", "max_tokens"]


class ChatCompletionsLLM:
    """A model behind the chat-completions API, answering in JSON mode."""

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        provider: str,
        model: str,
        where: str,
        token_limit_field: TokenLimitField = "max_completion_tokens",
    ) -> None:
        self._client = client
        self.provider = provider
        self.model = model
        self.where = where
        """The endpoint and the setting that names it, for error messages."""
        # OpenAI's newer models refuse `max_tokens`; many self-hosted servers only know it.
        self._token_limit_field = token_limit_field

    def complete(self, request: LLMRequest) -> Completion:
        limit = {self._token_limit_field: request.max_output_tokens}
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": m.role, "content": m.content} for m in request.messages],
                response_format={"type": "json_object"},
                temperature=0,
                **limit,
            )
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc
        if not response.choices or response.choices[0].message.content is None:
            raise LLMUnavailableError(
                f"{self.provider} model {self.model} returned no message ({self.where})",
                hint="the model may have refused or been filtered; ask again or rephrase",
            )
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content,
            model=response.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def _error(self, exc: openai.OpenAIError) -> LakehouseError:
        name = f"{self.provider} model {self.model}"
        if isinstance(exc, openai.APITimeoutError):
            return LLMUnavailableError(
                f"{name} did not answer in time ({self.where})",
                hint="raise LAKEHOUSE_LLM_TIMEOUT or LAKEHOUSE_LLM_RETRIES, or try again later",
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailableError(
                f"cannot reach {name} ({self.where}): {exc}",
                hint="check the endpoint setting and the network path to it",
            )
        if isinstance(exc, openai.RateLimitError | openai.InternalServerError):
            return LLMUnavailableError(
                f"{name} failed with HTTP {exc.status_code} after retries ({self.where})",
                hint="the service is throttled or failing; try again later",
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return LLMRejectedError(
                f"{name} refused the credentials (HTTP {exc.status_code}, {self.where})",
                hint="check the API key secret or the identity's role on the resource "
                "(Cognitive Services OpenAI User for Azure OpenAI)",
            )
        if isinstance(exc, openai.NotFoundError):
            return LLMRejectedError(
                f"{name} was not found (HTTP 404, {self.where})",
                hint="check LAKEHOUSE_LLM_MODEL or LAKEHOUSE_LLM_DEPLOYMENT and the endpoint",
            )
        if isinstance(exc, openai.APIStatusError):
            return LLMRejectedError(
                f"{name} rejected the request with HTTP {exc.status_code} ({self.where})",
                hint="the model or server may not support JSON mode; check its documentation",
            )
        return LLMUnavailableError(
            f"{name} failed: {type(exc).__name__}: {exc}",
            hint="rerun with --debug for details",
        )
