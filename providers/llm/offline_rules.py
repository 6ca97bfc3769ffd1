"""The offline advisor's diagnosis: signals read from the evidence's structured facts
(never its free text), each with a root-cause category, a weight and the steps a person
should take. The strongest signal is the root cause.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Evidence = Mapping[str, Any]

# How much a kind of finding says about what went wrong; the strongest anchored finding
# wins. A job that crashed or a file refused outranks checks; a critical table rule (it
# blocks Gold) outranks a warning; held rows weigh by how many there are.
WEIGHT_FAILED_RUN = 120.0
WEIGHT_REJECTED_FILE = 100.0
WEIGHT_CRITICAL_TABLE_RULE = 90.0
WEIGHT_WARNING_TABLE_RULE = 55.0
WEIGHT_DUPLICATE_FILES = 50.0
WEIGHT_DRIFT = 40.0
WEIGHT_HELD_ROWS = 30.0
WEIGHT_DROPPED_DUPLICATES = 25.0
# A quarantine_rate breach is caused by the rows it counts: it lends its weight to the
# table's largest held-rows finding instead of standing alone.
RATE_BOOST = 70.0
# For questions without a run: a finding's weight times (floor + relevance 0..1).
RELEVANCE_FLOOR = 0.1

ROW_CHECK_CATEGORY = {
    "type": "format_change",
    "not_null": "invalid_values",
    "range": "invalid_values",
    "regex": "invalid_values",
    "accepted_values": "invalid_values",
    "expression": "invalid_values",
    "stale_record": "stale_redelivery",
}
TABLE_CHECK_CATEGORY = {
    "freshness": "freshness_breach",
    "volume_anomaly": "volume_anomaly",
    "row_count": "volume_anomaly",
    "unique": "duplicate_keys",
    "completeness": "missing_values",
}
REJECTION_CATEGORY = {
    "missing_column": "missing_column",
    "empty_file": "empty_file",
    "unroutable_file": "unroutable_file",
    "schema_drift": "schema_drift",
}


@dataclass
class Signal:
    category: str
    weight: float
    evidence_ids: list[str]
    detail: str
    table: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def signals(evidence: Iterable[Evidence], *, anchored_only: bool) -> list[Signal]:
    """Findings in the evidence, strongest first."""
    evidence = list(evidence)
    items = [e for e in evidence if e.get("anchored") or not anchored_only]
    found: list[Signal] = []
    rate_tables: dict[str, str] = {}
    for item in items:
        facts, source, eid = item.get("facts") or {}, item.get("source"), item["id"]
        facts = {**facts, "_score": item.get("score", 0.0)}
        if source == "run":
            if facts.get("status") == "failed":
                found.append(
                    Signal(
                        "pipeline_error",
                        WEIGHT_FAILED_RUN,
                        [eid],
                        f"{facts.get('job')} run failed: {facts.get('error') or 'no error text'}",
                        facts=dict(facts),
                    )
                )
            if facts.get("duplicate"):
                found.append(
                    Signal(
                        "duplicate_delivery",
                        WEIGHT_DUPLICATE_FILES,
                        [eid],
                        f"{facts['duplicate']} file(s) arrived again with content already "
                        "loaded and were skipped",
                        facts=dict(facts),
                    )
                )
        elif source == "ingest":
            found.extend(_ingest_signal(eid, facts))
        elif source == "dq" and facts.get("scope") == "table" and facts.get("passed") is False:
            if facts.get("check") == "quarantine_rate":
                rate_tables[str(facts.get("table"))] = eid
                continue
            category = TABLE_CHECK_CATEGORY.get(str(facts.get("check")))
            if category:
                critical = facts.get("severity") == "critical"
                found.append(
                    Signal(
                        category,
                        WEIGHT_CRITICAL_TABLE_RULE if critical else WEIGHT_WARNING_TABLE_RULE,
                        [eid],
                        f"{facts.get('rule_id')} failed: {facts.get('message') or ''}".strip(),
                        table=facts.get("table"),
                        facts=dict(facts),
                    )
                )
        elif source == "quarantine" and facts.get("rows"):
            found.append(_held_signal(eid, facts))
        elif source == "dropped" and facts.get("reason") == "exact_duplicate":
            rows = int(facts.get("rows") or 0)
            found.append(
                Signal(
                    "duplicate_delivery",
                    WEIGHT_DROPPED_DUPLICATES + 5 * math.log10(rows + 1),
                    [eid],
                    f"{rows} {facts.get('table')} rows arrived again unchanged and were dropped",
                    table=facts.get("table"),
                    facts=dict(facts),
                )
            )
    if not anchored_only:
        # Without a run to explain (a data-quality question), what the question is about
        # matters as much as how many rows: weigh each finding by its relevance.
        for signal in found:
            signal.weight *= RELEVANCE_FLOOR + float(signal.facts.get("_score") or 0.0)
        found.sort(key=lambda s: (-s.weight, s.category))
        return found
    for table, eid in rate_tables.items():
        held = [s for s in found if s.table == table and s.facts.get("source") == "quarantine"]
        if not held:
            # The rows the check counted were rechecked since (a later run now holds them,
            # e.g. past their grace period): they are still this table's held rows.
            held = [
                _held_signal(e["id"], e.get("facts") or {})
                for e in evidence
                if e.get("source") == "quarantine" and (e.get("facts") or {}).get("table") == table
            ]
            found.extend(held)
        if held:
            top = max(held, key=lambda s: s.weight)
            top.weight += RATE_BOOST
            top.evidence_ids.append(eid)
    found.sort(key=lambda s: (-s.weight, s.category))
    return found


def _ingest_signal(eid: str, facts: Mapping[str, Any]) -> list[Signal]:
    name = facts.get("source_file")
    if facts.get("status") == "rejected":
        category = REJECTION_CATEGORY.get(str(facts.get("reason_kind")), "pipeline_error")
        return [
            Signal(
                category,
                WEIGHT_REJECTED_FILE,
                [eid],
                f"{name} was rejected: {facts.get('reason')}",
                table=facts.get("table"),
                facts=dict(facts),
            )
        ]
    added, missing = facts.get("drift_added") or [], facts.get("drift_missing") or []
    if added or missing:
        parts = [f"new column(s) {', '.join(added)}"] if added else []
        parts += [f"optional column(s) {', '.join(missing)} left out"] if missing else []
        return [
            Signal(
                "schema_drift",
                WEIGHT_DRIFT,
                [eid],
                f"{name} brought schema drift: {'; '.join(parts)}",
                table=facts.get("table"),
                facts=dict(facts),
            )
        ]
    return []


def _held_signal(eid: str, facts: Mapping[str, Any]) -> Signal:
    rows = int(facts.get("rows") or 0)
    check = str(facts.get("check"))
    if check == "references":
        category = "late_reference" if facts.get("status") == "pending" else "missing_reference"
    else:
        category = ROW_CHECK_CATEGORY.get(check, "invalid_values")
    weight = WEIGHT_HELD_ROWS + 10 * math.log10(rows + 1)
    state = "waiting for their parent" if facts.get("status") == "pending" else "quarantined"
    reason = f" (for example: {facts['reason']})" if facts.get("reason") else ""
    return Signal(
        category,
        weight,
        [eid],
        f"{rows} {facts.get('table')} rows {state} by rule {facts.get('rule_id')}{reason}",
        table=facts.get("table"),
        facts={**facts, "source": "quarantine"},
    )


def confidence(found: list[Signal]) -> float:
    """How sure the diagnosis is: high for one clear finding, lower when a second one is
    nearly as strong, low when there is none."""
    if not found:
        return 0.3
    top = found[0].weight
    runner_up = found[1].weight if len(found) > 1 and found[1].category != found[0].category else 0
    margin = (top - runner_up) / top if top else 0.0
    return round(min(0.95, 0.55 + 0.4 * margin), 2)


def actions(signal: Signal, gate_blocked: bool) -> list[str]:
    """Ordered steps for a person; nothing here is ever run by the advisor."""
    f, table = signal.facts, signal.table or signal.facts.get("table") or "the table"
    # The owner is named by where to find it: answers carry no e-mail address.
    who = f"the owner of {table} (`owner` in contracts/{table}.yaml)"
    rule = f.get("rule_id")
    file = f.get("source_file")
    columns = ", ".join(f.get("columns") or f.get("drift_added") or []) or "the columns"
    steps: list[str] = {
        "missing_column": [
            f"Ask {who} to resend {file} with column(s) {columns}, which contract "
            f"contracts/{table}.yaml requires.",
            "Drop the corrected file into the landing zone; ingest is idempotent, so "
            "nothing loads twice.",
            f"Only if {columns} is truly optional now: mark it `required: false` in "
            f"contracts/{table}.yaml (see the suggested diff) after the owner agrees.",
        ],
        "empty_file": [
            f"Ask {who} whether the extract behind {file} ran and found no rows.",
            "Have it resent with its rows; an empty file is never loaded.",
        ],
        "unroutable_file": [
            f"Move {file} under landing/<source>/<table>/ so that a contract's "
            "source.path_pattern matches it, or add a contract for the new feed.",
        ],
        "schema_drift": [
            f"Confirm with {who} what the new column(s) {columns} mean and whether they stay.",
            f"If they do, declare them in contracts/{table}.yaml (see the suggested diff) "
            "and bump its version; until then they are carried as text.",
        ],
        "format_change": [
            f"Compare the held sample values of {rule} with the contract type: the source "
            "likely changed a number, date or timestamp format.",
            f"Ask {who} to restore the agreed format and resend the affected files.",
            f"Then run `lakehouse quarantine --replay --table {table}` to release rows that "
            "now pass.",
        ],
        "invalid_values": [
            f"Review the held sample rows of {rule} with {who}.",
            "If the values are wrong, have them corrected at the source and resent; if they "
            f"are new legitimate values, change the rule in contracts/{table}.yaml (see any "
            "suggested diff) and bump its version.",
            f"Then run `lakehouse quarantine --replay --table {table}`.",
        ],
        "missing_values": [
            f"Ask {who} why the column of {rule} arrives empty; a source field may have "
            "been renamed or dropped.",
            "Have the affected files resent once fixed.",
        ],
        "late_reference": [
            f"Check that the parent feed of {rule} was delivered; the held rows are "
            "released automatically by the next build once their parents arrive.",
            "No change is needed if the parents arrive within the grace period; if this "
            f"feed is routinely late, consider a longer grace in contracts/{table}.yaml "
            "(see the suggested diff).",
        ],
        "missing_reference": [
            f"Find out with {who} why rows name parents that never arrived (sample keys "
            f"are in the evidence for {rule}).",
            "Deliver the missing parent records: held rows are released automatically "
            "when their parents arrive, even after the grace period.",
        ],
        "duplicate_delivery": [
            "Nothing to repair: the repeated file or rows were recognised and not loaded twice.",
            f"Ask {who} to stop re-sending files it already delivered.",
        ],
        "stale_redelivery": [
            f"Ask {who} why older versions are re-sent after newer ones; history is not "
            "rewritten by them.",
        ],
        "duplicate_keys": [
            f"Inspect the duplicated keys of {table} in Silver ({rule}).",
            "Fix the source or the contract's keys, then rebuild.",
        ],
        "freshness_breach": [
            f"Check whether {table} files arrived since the latest data in Silver; ask "
            f"{who} about the missing deliveries.",
            "Check the landing trigger or the extract's timer if files did arrive.",
        ],
        "volume_anomaly": [
            f"Ask {who} whether the change in {table} volume is real (a promotion, a "
            "closure) or a partial extract.",
            "If it was a partial extract, have the full one resent.",
        ],
        "pipeline_error": [
            "Read the run's error and its hint; fix the setting, secret, storage access "
            "or contract it names.",
            "Run the job again; every job is idempotent.",
        ],
    }.get(signal.category, [])
    if gate_blocked and steps:
        steps.append(
            "Once fixed, run `lakehouse build silver` then `lakehouse build gold`; the "
            "previous Gold stays published until then."
        )
    return steps


def contract_change(signal: Signal) -> dict[str, Any] | None:
    """A contract edit worth proposing for this finding, if any."""
    f, table = signal.facts, signal.table or signal.facts.get("table")
    if not table:
        return None
    if signal.category == "schema_drift" and f.get("drift_added"):
        return {"table": table, "kind": "add_column", "columns": list(f["drift_added"])}
    if signal.category == "missing_column" and f.get("columns"):
        return {"table": table, "kind": "make_optional", "columns": list(f["columns"])}
    if signal.category == "late_reference" and f.get("rule_id"):
        return {"table": table, "kind": "extend_grace", "rule_id": f["rule_id"]}
    if signal.category == "invalid_values" and f.get("check") == "accepted_values":
        values = [v for v in f.get("sample_values") or [] if v]
        if values and f.get("rule_id"):
            return {
                "table": table,
                "kind": "accept_values",
                "rule_id": f["rule_id"],
                "values": values,
            }
    return None
