"""Detection score of the demo: how many injected defects (the generator's ground truth)
the pipeline flagged, and how many flagged rows were really defects.

A row counts as flagged when it was ever held in quarantine (released late references
included) or dropped as an exact duplicate. Rows are matched by lineage: landing file
(relative to the landing folder) and row number.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from shared.contracts import ContractSet

# How a flagged row's primary rule maps to a defect kind, for precision per kind. Rules
# are recognised by their check and column, so renamed rule ids keep scoring.
_BY_CHECK = {
    "type": "wrong_type",
    "regex": "malformed_email",
    "expression": "future_order_date",
    "stale_record": "stale_redelivery",
    "exact_duplicate": "exact_duplicate",
}


@dataclass(frozen=True)
class KindScore:
    kind: str
    injected: int
    detected: int
    flagged: int
    true_positives: int

    @property
    def recall(self) -> float:
        return self.detected / self.injected if self.injected else 1.0

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 1.0


@dataclass(frozen=True)
class DetectionScore:
    kinds: list[KindScore]
    flagged: int
    true_positives: int
    false_positives: list[dict[str, Any]]

    @property
    def recall(self) -> float:
        injected = sum(k.injected for k in self.kinds)
        return sum(k.detected for k in self.kinds) / injected if injected else 1.0

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 1.0


def load_ground_truth(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def score(
    truth: list[dict[str, Any]],
    quarantined: list[pa.Table],
    duplicates: pa.Table | None,
    contracts: ContractSet,
) -> DetectionScore:
    """Score flagged rows (quarantine tables, dropped exact duplicates) against the truth."""
    expected = {(t["table"], t["file"], int(t["row"])): t["defect"] for t in truth}
    flagged: dict[tuple[str, str, int], str] = {}
    for table in quarantined:
        for row in table.select(
            ["_table", "_source_file", "_row_number", "rule_id", "status"]
        ).to_pylist():
            key = (row["_table"], _relative(row["_source_file"]), row["_row_number"])
            flagged[key] = _kind_of(row["rule_id"], row["status"], row["_table"], contracts)
    if duplicates is not None:
        for row in duplicates.to_pylist():
            if row["reason"] == "exact_duplicate":
                key = (row["table_name"], _relative(row["_source_file"]), row["_row_number"])
                flagged[key] = "exact_duplicate"
    kinds = sorted(set(expected.values()) | set(flagged.values()))
    detected = Counter(kind for key, kind in expected.items() if key in flagged)
    injected = Counter(expected.values())
    by_flag = Counter(flagged.values())
    true_by_flag = Counter(kind for key, kind in flagged.items() if key in expected)
    false_positives = [
        {"table": k[0], "file": k[1], "row": k[2], "flagged_as": kind}
        for k, kind in sorted(flagged.items())
        if k not in expected
    ]
    return DetectionScore(
        kinds=[
            KindScore(kind, injected[kind], detected[kind], by_flag[kind], true_by_flag[kind])
            for kind in kinds
        ],
        flagged=len(flagged),
        true_positives=sum(1 for k in flagged if k in expected),
        false_positives=false_positives,
    )


def _relative(source_file: str) -> str:
    return source_file.removeprefix("landing/")


def _kind_of(rule_id: str, status: str, table: str, contracts: ContractSet) -> str:
    suffix = rule_id.rsplit(".", 1)[-1]
    if suffix == "not_null":
        column = rule_id.split(".")[1]
        return "null_key" if column in contracts[table].keys else "missing_value"
    if suffix in _BY_CHECK:
        return _BY_CHECK[suffix]
    rule = next((r for r in contracts[table].rules if r.id == rule_id), None)
    if rule is None:
        return rule_id
    if rule.check == "references":
        # Released: its parent arrived later. Still held at the end: it never arrived.
        return "late_reference" if status == "released" else "orphan_reference"
    column = getattr(rule, "column", "")
    if rule.check == "accepted_values":
        return "unknown_status" if column == "status" else f"accepted_values:{column}"
    if rule.check == "range":
        return {"quantity": "non_positive_quantity", "discount_pct": "discount_out_of_range"}.get(
            column, f"range:{column}"
        )
    return _BY_CHECK.get(rule.check, rule.check)
