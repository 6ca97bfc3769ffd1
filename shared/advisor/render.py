"""Readable terminal output (rich) of an advisor answer and of the usage summary, for
`lakehouse ask` and `lakehouse advisor-metrics`."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def answer(console: Console, body: dict[str, Any]) -> None:
    # Everything printed here may quote data: escaped, so no markup inside it is obeyed.
    kind = body["kind"].replace("_", " ")
    about = f"run {body['run_id']}" if body.get("run_id") else kind
    console.print(f"[bold]Advisor[/] ({about}; {body['provider']} {body['model']})")
    if body.get("fallback"):
        console.print(f"[yellow]fallback:[/] {escape(body['fallback'])}")
    console.print(escape(body["answer"]))
    cause = body["root_cause"]
    if cause["category"] != "none":
        console.print(
            f"\n[bold]Root cause[/]: {cause['category']} - {escape(cause['detail'])} "
            f"(confidence {body['confidence']:.0%})"
        )
    if body["recommended_actions"]:
        console.print("\n[bold]Recommended actions[/] (nothing is run; a person decides)")
        for number, step in enumerate(body["recommended_actions"], start=1):
            console.print(f" {number}. {escape(step)}")
    if body["evidence"]:
        console.print("\n[bold]Evidence[/]")
        for item in body["evidence"]:
            ref = ", ".join(f"{k} {v}" for k, v in item["reference"].items())
            console.print(f" [{item['id']}] {item['source']}: {escape(ref)}")
            console.print(f"      [dim]{escape(item['detail'][:300])}[/]")
    if body.get("contract_diff"):
        console.print("\n[bold]Suggested contract change[/] (for a person to commit)")
        console.print(escape(body["contract_diff"]), markup=False, highlight=False)
    if body.get("proposal_id"):
        console.print(
            f"\nProposal [bold]{body['proposal_id']}[/] is pending: approve or reject it with "
            f"POST /api/advisor/proposals/{body['proposal_id']}/approve (or /reject)."
        )


def metrics(console: Console, summary: dict[str, Any]) -> None:
    totals = summary["totals"]
    cost = totals["cost_usd"] or 0.0
    console.print(
        f"Advisor model calls {summary['since'][:10]} .. {summary['until'][:10]}: "
        f"{totals['calls']} calls, {totals['fallbacks']} fell back to offline, "
        f"{totals['prompt_tokens']:,} prompt + {totals['completion_tokens']:,} completion "
        f"tokens, ${cost:.4f}"
        + (f" ({totals['unpriced_calls']} calls unpriced)" if totals["unpriced_calls"] else "")
    )
    if not summary["by_day_and_role"]:
        return
    table = Table(
        "day",
        "role",
        "calls",
        "fallbacks",
        "tokens in",
        "tokens out",
        "cost $",
        "avg ms",
        "p95 ms",
        "confidence",
    )
    for row in summary["by_day_and_role"]:
        table.add_row(
            row["day"],
            row["role"],
            str(row["calls"]),
            str(row["fallbacks"]),
            f"{row['prompt_tokens']:,}",
            f"{row['completion_tokens']:,}",
            f"{row['cost_usd'] or 0:.4f}",
            _num(row["avg_latency_ms"]),
            _num(row["p95_latency_ms"]),
            _num(row["avg_confidence"]),
        )
    console.print(table)
    providers = Table("provider", "model", "calls", "fallbacks", "cost $")
    for row in summary["by_provider"]:
        providers.add_row(
            row["provider"],
            row["model"],
            str(row["calls"]),
            str(row["fallbacks"]),
            f"{row['cost_usd'] or 0:.4f}",
        )
    console.print(providers)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:g}"
