"""The language-model interface the advisor speaks, and the vocabulary of its answers.

A backend gets an `LLMRequest` (chat messages, already masked and within the token budget,
plus the same question and evidence as structured data) and returns a `Completion` whose
text is one JSON object. Network backends send the messages; the offline backend reads
the structured context and never the free text, so quoted data cannot steer it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from shared.errors import ConfigError, TransientError

Role = Literal["triage", "answer", "summary"]
"""What a call is for: `triage` classifies a question, `answer` answers it from the
evidence, `summary` explains one run (`{"run_id": ...}`)."""

QUESTION_KINDS: dict[str, str] = {
    "failure_triage": "why a run, file or build failed, was blocked or rejected",
    "data_quality": "quarantined or invalid rows, data-quality rules and their results",
    "data_question": "business figures and table contents (revenue, orders, customers)",
    "contract_howto": "what a contract declares, or how to change the pipeline's set-up",
}

ROOT_CAUSES: dict[str, str] = {
    "missing_column": "a landing file lacks a column the contract requires; it was rejected",
    "empty_file": "a landing file held no data rows; it was rejected",
    "unroutable_file": "a landing file's path matches no contract, so no table takes it",
    "schema_drift": "a landing file brought columns the contract does not declare, or left "
    "out optional ones",
    "format_change": "values stopped parsing as their contract type (the source changed a "
    "number, date or timestamp format)",
    "invalid_values": "values broke a rule: accepted values, a range, a pattern or a check",
    "missing_values": "a column is empty far more often than its completeness rule allows",
    "late_reference": "rows wait for a parent (customer, product, store, order) that has "
    "not arrived yet, within the rule's grace period",
    "missing_reference": "rows name a parent that never arrived, past the grace period",
    "duplicate_delivery": "a file or its rows were delivered again",
    "stale_redelivery": "an older version of a record arrived after a newer one",
    "duplicate_keys": "a key appears more than once in Silver",
    "freshness_breach": "the newest data is older than the freshness rule allows",
    "volume_anomaly": "far more or far fewer rows arrived than usual",
    "pipeline_error": "a job stopped with an error (setting, secret, storage or contract SQL)",
    "none": "nothing failed: the question is not about a failure, or no problem was found",
}

CONTRACT_CHANGES = ("add_column", "accept_values", "extend_grace", "make_optional")
"""Contract edits a proposal may suggest (as a YAML diff for a person to commit)."""


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user"]
    content: str


@dataclass(frozen=True)
class LLMRequest:
    role: Role
    messages: tuple[Message, ...]
    max_output_tokens: int
    """Upper bound on the completion's tokens (what is left of the budget)."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """The question, its kind and the evidence as data, for the offline backend."""


@dataclass(frozen=True)
class Completion:
    text: str
    """One JSON object (see the system prompt in `shared.advisor.prompt`)."""
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLM(Protocol):
    """A chat model."""

    provider: str
    """The backend name: offline, openai, azure-openai or compatible."""
    model: str
    """The model (or Azure deployment) requests go to."""

    def complete(self, request: LLMRequest) -> Completion:
        """One completion; raises `LLMUnavailableError` or `ConfigError` on failure."""
        ...


class LLMUnavailableError(TransientError):
    """The model did not answer in time, was throttled, or failed on its side."""


class LLMRejectedError(ConfigError):
    """The service refused the request (authentication, permission, unknown model or
    deployment, bad request): a retry will not help until a setting changes."""
