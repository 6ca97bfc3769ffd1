"""One piece of evidence: a fact from the lake or a contract, with where it comes from.

`reference` is what a person follows to check it: a contract file and rule, a run id, a
table. `text` is what a model reads (masked); `facts` is the same as data, read by the
offline rules. `anchored` marks evidence of the run being asked about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.advisor.masking import mask_text, mask_value


@dataclass
class Evidence:
    source: str
    """run, ingest, dq, quarantine, dropped, contract, table, kpi, risk, incident or howto."""
    reference: dict[str, str]
    """Any of: contract (file), rule_id, run_id, table, source_file, proposal_id, doc."""
    text: str
    facts: dict[str, Any] = field(default_factory=dict)
    anchored: bool = False
    score: float = 0.0
    """Retrieval relevance to the question, 0..1 (set by ranking)."""
    id: str = ""
    """E1, E2, ... in the order given to the model (set after ranking)."""

    def __post_init__(self) -> None:
        # Masked once, at the source: nothing downstream sees the unmasked text (a
        # reference too: a landing file's name is free text).
        self.text = mask_text(self.text)
        self.facts = mask_value(self.facts)
        self.reference = {k: mask_text(v) for k, v in self.reference.items()}

    def for_prompt(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "reference": self.reference,
            "text": self.text,
        }

    def for_rules(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "reference": self.reference,
            "text": self.text,
            "facts": self.facts,
            "anchored": self.anchored,
            "score": round(self.score, 4),
        }

    def cited(self) -> dict[str, Any]:
        """As it appears in an answer."""
        return {
            "id": self.id,
            "source": self.source,
            "reference": self.reference,
            "detail": self.text,
        }
