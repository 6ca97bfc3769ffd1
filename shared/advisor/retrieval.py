"""Grounding: gather evidence from the lake and the contracts for a question or a run,
rank it against the question with BM25 (bm25s), and keep what fits.

The run being asked about (or, for a failure question, the most serious recent problem
run) is the anchor: its own evidence is always kept, first. Everything else competes on
relevance, so the contract rules, table facts and past incidents that share words with
the question and the anchor's findings come next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np
import pyarrow.compute as pc

from shared.advisor import catalog_evidence as catalog
from shared.advisor import ops_evidence as ops
from shared.advisor.evidence import Evidence
from shared.contracts import ContractSet
from shared.errors import TerminalError
from shared.lake import Lake
from shared.ops import RUNS

RECENT_RUNS = 30
CONTEXT_RUNS = 8
MAX_EVIDENCE = 24
MAX_ANCHORED = 14
PER_SOURCE = 6
TOKEN_PATTERN = r"(?u)[^\W_]{2,}"

# bm25s sets its own logger to DEBUG on import, which would print a line per search;
# left to the application's level it stays quiet unless --debug asks.
logging.getLogger("bm25s").setLevel(logging.NOTSET)


class RunNotFoundError(TerminalError):
    """The run id asked about is not in `_ops.runs`."""


@dataclass
class Grounding:
    evidence: list[Evidence]
    """Selected evidence, ids E1.. in order: anchored first, then by relevance."""
    anchors: list[str] = field(default_factory=list)
    """Run ids the answer is about."""


def ground(
    lake: Lake,
    contracts: ContractSet,
    *,
    kind: str,
    question: str = "",
    run_id: str | None = None,
) -> Grounding:
    """Evidence for a question of `kind`, or for the run `run_id`."""
    runs = ops.read_runs(lake, RECENT_RUNS)
    checks_failed = ops.runs_with_failed_checks(lake)
    anchors = _anchors(lake, runs, kind, run_id, checks_failed)
    by_id = {r["run_id"]: r for r in runs}
    for extra in anchors:
        if extra not in by_id:
            by_id[extra] = _run(lake, extra)
    context_runs = [r["run_id"] for r in runs[:CONTEXT_RUNS]]
    shown = list(dict.fromkeys([*anchors, *context_runs]))
    scope = set(shown) | {r["run_id"] for r in runs if ops.problem_rank(r, checks_failed)}
    anchor_set = set(anchors)
    pool: list[Evidence] = [
        ops.run_evidence(by_id[r], anchored=r in anchor_set) for r in shown if r in by_id
    ]
    pool += ops.ingest_evidence(lake, scope, anchor_set)
    pool += ops.dq_evidence(lake, scope, anchor_set)
    pool += ops.quarantine_evidence(lake, contracts, anchor_set)
    pool += ops.dropped_evidence(lake, anchor_set)
    pool += catalog.contract_evidence(contracts)
    pool += catalog.table_evidence(lake, contracts)
    pool += catalog.kpi_evidence(lake)
    pool += catalog.risk_evidence(lake)
    pool += catalog.incident_evidence(lake)
    pool += catalog.howto_evidence()
    query = " ".join([question, *(_anchor_terms(e) for e in pool if e.anchored)])
    rank(pool, query)
    return Grounding(select(pool), anchors)


def _anchors(
    lake: Lake,
    runs: list[dict[str, Any]],
    kind: str,
    run_id: str | None,
    checks_failed: set[str],
) -> list[str]:
    if run_id:
        run = next((r for r in runs if r["run_id"] == run_id), None) or _run(lake, run_id)
    elif kind == "failure_triage":
        # The most serious problem among the recent runs; the newest among equals.
        # A blocked Gold build comes first among equals: it brings its Silver run along.
        ranked = [
            (ops.problem_rank(r, checks_failed), r.get("status") == "blocked", -i, r)
            for i, r in enumerate(runs)
        ]
        serious = [t for t in ranked if t[0] > 0]
        run = max(serious, key=lambda t: t[:3])[3] if serious else None
    else:
        run = None
    if run is None:
        return []
    anchors = [run["run_id"]]
    # A blocked Gold build is explained by the Silver run whose checks blocked it.
    silver = (run.get("details") or {}).get("silver_run_id")
    if run.get("status") == "blocked" and silver:
        anchors.append(silver)
    return anchors


def _run(lake: Lake, run_id: str) -> dict[str, Any]:
    runs = lake.read(RUNS, filter=pc.field("run_id") == run_id)
    if runs is None or runs.num_rows == 0:
        raise RunNotFoundError(
            f"run {run_id!r} is not in {RUNS}",
            hint="use a run id from `lakehouse status` (e.g. silver-20260131T060000-1a2b3c)",
        )
    return ops.with_details(runs.to_pylist()[0])


def _anchor_terms(item: Evidence) -> str:
    facts = item.facts
    terms = [facts.get(k) for k in ("table", "rule_id", "check", "reason_kind", "job")]
    terms += list(facts.get("columns") or []) + list(facts.get("drift_added") or [])
    return " ".join(str(t) for t in terms if t)


def _stem(words: list[str]) -> list[str]:
    # Plural and singular meet ("orders" and "order"); enough for column and table names.
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def rank(pool: list[Evidence], query: str) -> None:
    """Set each item's `score`: its BM25 relevance to the query, scaled to 0..1."""
    if not pool or not query.strip():
        return

    def tokenize(texts: list[str], *, ids: bool) -> Any:
        return bm25s.tokenize(
            texts,
            token_pattern=TOKEN_PATTERN,
            stopwords="en",
            stemmer=_stem,
            return_ids=ids,
            show_progress=False,
        )

    index = bm25s.BM25()
    index.index(tokenize([e.text for e in pool], ids=True), show_progress=False)
    words = tokenize([query], ids=False)[0]
    scores = np.asarray(index.get_scores(words), dtype=float)
    top = float(scores.max()) if scores.size else 0.0
    for item, score in zip(pool, scores, strict=True):
        item.score = float(score) / top if top > 0 else 0.0


def select(pool: list[Evidence], limit: int = MAX_EVIDENCE) -> list[Evidence]:
    """Anchored evidence first (the run, then its findings, most rows first), then the
    rest by relevance with at most `PER_SOURCE` items per source; ids E1.. in order."""
    order = {s: i for i, s in enumerate(("run", "ingest", "dq", "quarantine", "dropped"))}
    anchored = sorted(
        (e for e in pool if e.anchored),
        key=lambda e: (order.get(e.source, 9), -int(e.facts.get("rows") or 0), -e.score),
    )[:MAX_ANCHORED]
    chosen = list(anchored)
    per_source: dict[str, int] = {}
    for item in sorted((e for e in pool if not e.anchored), key=lambda e: -e.score):
        if len(chosen) >= limit or item.score <= 0:
            break
        if per_source.get(item.source, 0) >= PER_SOURCE:
            continue
        per_source[item.source] = per_source.get(item.source, 0) + 1
        chosen.append(item)
    for number, item in enumerate(chosen, start=1):
        item.id = f"E{number}"
    return chosen
