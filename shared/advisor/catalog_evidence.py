"""Evidence about what the lake is meant to hold and what it holds: the contracts and
their rules, table metadata, the monthly KPIs and revenue at risk, past incidents (earlier
proposals) and short how-to guides for common changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow.compute as pc

from shared.advisor.evidence import Evidence
from shared.contracts import ContractSet
from shared.lake import Lake

PROPOSALS = "_ops.advisor_proposals"
LAYERS = ("bronze", "silver", "quarantine")
GOLD_TABLES = (
    "dim_customer",
    "dim_product",
    "dim_store",
    "dim_date",
    "fact_sales",
    "kpi_monthly",
    "customer_rfm",
    "cohort_retention",
    "revenue_at_risk",
)
INCIDENTS = 50

# Where the README documents each guide; the reference a person follows.
HOWTO: list[tuple[str, str, list[str]]] = [
    (
        "README.md#data-contracts",
        "How to add a column to a feed: declare it in the table's contract.",
        [
            "Add the column under `columns:` in contracts/<table>.yaml with its type "
            "(and `required: false` if older files lack it).",
            "Bump the contract's `version`.",
            "Deliver files with the column; until declared, a new column is carried as text "
            "and reported as schema drift.",
        ],
    ),
    (
        "README.md#data-contracts",
        "How to add a new source feed or table: add one contract file.",
        [
            "Create contracts/<table>.yaml with owner, source.path_pattern, keys, columns "
            "and rules; the table name is the file name.",
            "Drop its files under landing/<source>/<table>/.",
        ],
    ),
    (
        "README.md#data-contracts",
        "How to change a rule's severity, range, accepted values or grace period.",
        [
            "Edit the rule in contracts/<table>.yaml (`severity: warning` keeps rows in "
            "Silver and only counts them; `critical` quarantines them).",
            "Bump the contract's `version`.",
            "Run `lakehouse quarantine --replay --table <table>` to re-judge held rows.",
        ],
    ),
    (
        "README.md#command-line",
        "How to release quarantined rows after fixing a contract or the source: replay.",
        [
            "Fix the contract or have the source resend corrected files.",
            "Run `lakehouse quarantine --replay` (optionally `--table <table>`).",
            "Rows that now pass are released into Silver; rows waiting for a parent are "
            "released automatically when it arrives.",
        ],
    ),
    (
        "README.md#advisor",
        "How to approve or reject an advisor proposal.",
        [
            "POST /api/advisor/proposals/<id>/approve or /reject with "
            '{"by": "<your e-mail>", "note": "..."}.',
            "Approving records the decision only; a suggested contract diff is for a "
            "person to commit.",
        ],
    ),
]


def contract_evidence(contracts: ContractSet) -> list[Evidence]:
    """One item per contract (owner, keys, columns) and one per rule."""
    found = []
    for table, contract in sorted(contracts.contracts.items()):
        file = f"contracts/{table}.yaml"
        columns = ", ".join(
            f"{name} {col.type}{'' if col.nullable else ' not null'}{' pii' if col.pii else ''}"
            for name, col in contract.columns.items()
        )
        facts = {
            "table": table,
            "file": file,
            "owner": contract.owner,
            "version": contract.version,
            "keys": list(contract.keys),
        }
        text = (
            f"contract {file} v{contract.version} for table {table}, owner {contract.owner}, "
            f"source {contract.source.path_pattern}, keys {', '.join(contract.keys)}; "
            f"columns: {columns}. {contract.description}"
        )
        found.append(Evidence("contract", {"contract": file}, text, facts))
        for rule in [*contract.rules, *contract.table_rules]:
            spec = rule.model_dump(exclude_defaults=True, exclude={"id", "description"})
            rule_facts = {
                "table": table,
                "file": file,
                "owner": contract.owner,
                "rule_id": rule.id,
                "check": rule.check,
                "severity": rule.severity,
                "column": getattr(rule, "column", None),
            }
            text = (
                f"contract {file} rule {rule.id}: {rule.check} ({rule.severity}) {spec}. "
                f"{rule.description}"
            )
            ref = {"contract": file, "rule_id": rule.id}
            found.append(Evidence("contract", ref, text, rule_facts))
    return found


def table_evidence(lake: Lake, contracts: ContractSet) -> list[Evidence]:
    """Rows, Delta version and columns of every table that exists."""
    names = [f"{layer}.{t}" for layer in LAYERS for t in contracts.build_order()]
    names += [f"gold.{t}" for t in GOLD_TABLES]
    found = []
    for name in names:
        delta = lake.delta(name)
        if delta is None:
            continue
        columns = [c for c in delta.schema().to_arrow().names if not c.startswith("_")]
        rows = delta.count()
        facts = {"table": name, "rows": rows, "version": delta.version(), "columns": columns}
        text = (
            f"table {name}: {rows} rows, Delta version {delta.version()}, "
            f"columns {', '.join(columns)}"
        )
        found.append(Evidence("table", {"table": name}, text, facts))
    return found


def kpi_evidence(lake: Lake) -> list[Evidence]:
    """One item per month of gold.kpi_monthly."""
    kpis = lake.read("gold.kpi_monthly")
    if kpis is None:
        return []
    found = []
    for row in kpis.sort_by([("month", "descending")]).to_pylist():
        month = row["month"]
        label = month.strftime("%B %Y") if isinstance(month, date | datetime) else str(month)
        facts = {k: _plain(v) for k, v in row.items()}
        text = (
            f"kpi_monthly {label} ({_plain(month)}): revenue {_plain(row.get('revenue'))}, "
            f"orders {row.get('orders')}, units {row.get('units')}, aov {_plain(row.get('aov'))}, "
            f"unique customers {row.get('unique_customers')}, repeat purchase rate "
            f"{_ratio(row.get('repeat_purchase_rate'))}"
        )
        found.append(Evidence("kpi", {"table": "gold.kpi_monthly"}, text, facts))
    return found


def risk_evidence(lake: Lake) -> list[Evidence]:
    """Revenue at risk per table and rule (all days)."""
    risk = lake.read("gold.revenue_at_risk")
    if risk is None or risk.num_rows == 0:
        return []
    totals = risk.group_by(["table_name", "rule_id"]).aggregate(
        [("rows", "sum"), ("revenue_at_risk", "sum")]
    )
    found = []
    for row in totals.sort_by([("revenue_at_risk_sum", "descending")]).to_pylist():
        text = (
            f"revenue at risk from {row['table_name']} rule {row['rule_id']}: "
            f"{_plain(row['revenue_at_risk_sum'])} over {row['rows_sum']} rows"
        )
        facts = {
            "table": row["table_name"],
            "rule_id": row["rule_id"],
            "rows": row["rows_sum"],
            "revenue_at_risk": _plain(row["revenue_at_risk_sum"]),
        }
        ref = {"table": "gold.revenue_at_risk", "rule_id": row["rule_id"]}
        found.append(Evidence("risk", ref, text, facts))
    return found


def incident_evidence(lake: Lake) -> list[Evidence]:
    """Earlier diagnosed incidents (proposals with a root cause), newest first."""
    proposals = lake.read(PROPOSALS)
    if proposals is None or proposals.num_rows == 0:
        return []
    past = proposals.filter(pc.field("root_cause_category") != "none")
    past = past.sort_by([("created_at", "descending")]).slice(0, INCIDENTS)
    found = []
    for row in past.to_pylist():
        decided = f", {row['status']} by {row['decided_by']}" if row.get("decided_by") else ""
        asked = row.get("question") or f"run {row.get('run_id')}"
        text = (
            f"past incident {row['proposal_id']} ({_plain(row['created_at'])}): {asked} -> "
            f"{row['root_cause_category']}: {row['answer']}{decided}"
        )
        facts = {
            "proposal_id": row["proposal_id"],
            "category": row["root_cause_category"],
            "status": row["status"],
        }
        found.append(
            Evidence(
                "incident", {"proposal_id": row["proposal_id"], "table": PROPOSALS}, text, facts
            )
        )
    return found


def howto_evidence() -> list[Evidence]:
    return [
        Evidence("howto", {"doc": doc}, f"{title} " + " ".join(steps), {"steps": steps})
        for doc, title, steps in HOWTO
    ]


def _ratio(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.1%}"


def _plain(value: Any) -> Any:
    """JSON-friendly: dates as ISO text, decimals as floats."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is not None and not isinstance(value, int | float | str | bool):
        return float(value)
    return value
