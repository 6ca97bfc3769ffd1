"""Scoring the advisor on the chaos incidents: is the root-cause category right, and does
every piece of evidence it cites exist (the contract file and rule, the run, the table,
the file, the earlier proposal)?"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from shared.advisor import api
from shared.advisor.incidents import Incident, baseline, prepare
from shared.advisor.proposals import PROPOSALS
from shared.contracts import ContractSet
from shared.lake import Lake
from shared.ops import INGEST_LEDGER, RUNS
from shared.settings import PACKAGE_ROOT

_IMPLICIT_RULE = re.compile(r"^(\w+)\.(\w+)\.(type|not_null)$|^(\w+)\.stale_record$")


@dataclass
class Result:
    incident: Incident
    category: str
    confidence: float
    missing_evidence: list[str] = field(default_factory=list)
    cited: int = 0
    seconds: float = 0.0
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        return self.category == self.incident.category

    @property
    def grounded(self) -> bool:
        return self.cited > 0 and not self.missing_evidence

    def line(self) -> str:
        mark = "ok  " if self.correct else "MISS"
        cites = f"{self.cited} cited"
        if self.missing_evidence:
            cites += f", {len(self.missing_evidence)} missing"
        return (
            f"{mark} {self.incident.name:<42} expected {self.incident.category:<19} "
            f"got {self.category:<19} conf {self.confidence:.2f}  {cites}  {self.seconds:.1f}s"
        )


def evaluate(
    incidents: Iterable[Incident],
    workdir: Path,
    *,
    progress: Callable[[Result], None] | None = None,
    template: Path | None = None,
) -> list[Result]:
    """Run each incident on a copy of one baseline lake (`template`, else one built in
    `workdir`) and score the advisor's answer."""
    template = template or baseline(workdir / "baseline")
    results = []
    for number, incident in enumerate(incidents, start=1):
        started = time.perf_counter()
        bench = prepare(template, workdir / f"incident-{number:02d}", incident)
        run_id = incident.run(bench)
        body = {"question": incident.question} if incident.question else {"run_id": run_id}
        status, answer = api.ask(bench.settings, body)
        if status != 200:
            raise AssertionError(f"{incident.name}: the advisor answered {status}: {answer}")
        contracts = bench.platform.contracts
        result = Result(
            incident,
            answer["root_cause"]["category"],
            answer["confidence"],
            missing_evidence(bench.lake, contracts, answer["evidence"]),
            len(answer["evidence"]),
            time.perf_counter() - started,
            answer,
        )
        results.append(result)
        if progress:
            progress(result)
    return results


def missing_evidence(
    lake: Lake, contracts: ContractSet, evidence: list[Mapping[str, Any]]
) -> list[str]:
    """References in `evidence` that do not resolve, as readable strings (empty: all do)."""
    runs = _column(lake, RUNS, "run_id")
    files = _column(lake, INGEST_LEDGER, "source_file")
    missing = []
    for item in evidence:
        ref = item.get("reference") or {}
        contract = ref.get("contract")
        if contract:
            table = Path(contract).stem
            if table not in contracts.contracts or not Path(contracts.files[table]).exists():
                missing.append(f"{item['id']}: contract {contract}")
            elif ref.get("rule_id") and not _rule_exists(contracts, table, ref["rule_id"]):
                missing.append(f"{item['id']}: rule {ref['rule_id']} in {contract}")
        if ref.get("run_id") and ref["run_id"] not in runs:
            missing.append(f"{item['id']}: run {ref['run_id']}")
        if ref.get("table") and not lake.exists(ref["table"]):
            missing.append(f"{item['id']}: table {ref['table']}")
        if ref.get("source_file") and ref["source_file"] not in files:
            missing.append(f"{item['id']}: file {ref['source_file']}")
        if ref.get("proposal_id"):
            found = lake.read(PROPOSALS, filter=pc.field("proposal_id") == ref["proposal_id"])
            if found is None or found.num_rows == 0:
                missing.append(f"{item['id']}: proposal {ref['proposal_id']}")
        if ref.get("doc"):
            doc, _, anchor = ref["doc"].partition("#")
            path = PACKAGE_ROOT / doc
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
            heading = rf"^#+ {re.escape(anchor.replace('-', ' '))}\s*$"
            if not re.search(heading, text, re.IGNORECASE | re.MULTILINE):
                missing.append(f"{item['id']}: document {ref['doc']}")
    return missing


def _rule_exists(contracts: ContractSet, table: str, rule_id: str) -> bool:
    contract = contracts[table]
    if any(r.id == rule_id for r in [*contract.rules, *contract.table_rules]):
        return True
    match = _IMPLICIT_RULE.match(rule_id)
    if not match:
        return False
    if match.group(4):
        return match.group(4) == table
    return match.group(1) == table and match.group(2) in contract.columns


def _column(lake: Lake, table: str, column: str) -> set[str]:
    data = lake.read(table, columns=[column])
    return set() if data is None else set(pc.unique(data.column(column)).to_pylist())
