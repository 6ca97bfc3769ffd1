"""Readable terminal output (rich) for the CLI: tables of runs, table states, quarantine,
DQ results and the detection score."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from shared.gold.build import GoldResult
from shared.ingest import IngestResult
from shared.scoring import DetectionScore
from shared.silver.build import SilverResult, TableResult
from shared.summary import TableState


def ingest_line(result: IngestResult) -> str:
    if result.status == "loaded":
        drift = f" [yellow](schema drift: {result.drift})[/]" if result.drift else ""
        target = f"bronze.{result.table} ({result.rows:,} rows)"
        return f"[green]loaded[/]    {result.source_file} -> {target}{drift}"
    if result.status == "duplicate":
        same = f"same content already in bronze.{result.table}"
        return f"[dim]unchanged[/] {result.source_file} ({same})"
    return f"[red]rejected[/]  {result.source_file}: {result.reason}"


def silver_line(result: TableResult) -> str:
    if result.noop:
        return f"[dim]silver.{result.table}: nothing new[/]"
    parts = [
        f"{result.rows_read:,} new rows",
        f"{result.silver:,} to silver",
        f"{result.quarantined:,} quarantined",
    ]
    for label, value in (
        ("held rows rechecked", result.rechecked),
        ("released", result.released),
        ("duplicates dropped", result.duplicates),
        ("superseded", result.superseded),
        ("stale", result.stale),
    ):
        if value:
            parts.append(f"{value:,} {label}")
    failed = [d["rule_id"] for d in result.dq if not d["passed"] and d["scope"] == "table"]
    checks = f" [red]failed: {', '.join(failed)}[/]" if failed else ""
    return f"silver.{result.table}: {', '.join(parts)}{checks}"


def silver_summary(console: Console, result: SilverResult) -> None:
    if result.status == "skipped":
        console.print(f"Silver: {result.note}.")
    elif result.status == "noop":
        console.print(f"Silver run {result.run_id}: nothing new to build (no-op).")
    else:
        console.print(f"Silver run {result.run_id}: {result.status}.")
    if result.critical_failures:
        console.print(
            f"[red]critical checks failed: {', '.join(result.critical_failures)}[/] "
            "(Gold will not publish from this run)"
        )


def table_states(console: Console, states: Iterable[TableState]) -> None:
    table = Table(title="Tables", title_justify="left")
    for col in ("table", "rows", "version", "updated (UTC)", "note"):
        table.add_column(col, justify="right" if col in ("rows", "version") else "left")
    for s in states:
        table.add_row(
            s.table,
            "-" if s.rows is None else f"{s.rows:,}",
            "-" if s.version is None else str(s.version),
            s.updated_at.strftime("%Y-%m-%d %H:%M:%S") if s.updated_at else "-",
            s.note,
        )
    console.print(table)


def runs(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="Latest runs", title_justify="left")
    for col in (
        "run_id",
        "job",
        "status",
        "started (UTC)",
        "secs",
        "read",
        "written",
        "quarantined",
        "error",
    ):
        table.add_column(col)
    for r in rows:
        secs = (r["finished_at"] - r["started_at"]).total_seconds()
        style = {"failed": "red", "noop": "dim"}.get(r["status"], "")
        table.add_row(
            r["run_id"],
            r["job"],
            f"[{style}]{r['status']}[/]" if style else r["status"],
            r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
            f"{secs:.1f}",
            f"{r['rows_read']:,}",
            f"{r['rows_written']:,}",
            f"{r['rows_quarantined']:,}",
            r["error"] or "",
        )
    console.print(table)


def quarantine(
    console: Console, rows: list[dict[str, Any]], title: str = "Quarantine by rule"
) -> None:
    table = Table(title=title, title_justify="left")
    for col in ("table", "rule", "severity", "status", "rows"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for r in rows:
        table.add_row(r["table"], r["rule_id"], r["severity"], r["status"], f"{r['rows']:,}")
    console.print(table if rows else "[green]Quarantine is empty.[/]")


def dq(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="Data quality (latest check per table)", title_justify="left")
    for col in ("table", "rule", "check", "severity", "result", "failed rows", "detail"):
        table.add_column(col)
    for r in rows:
        if r["scope"] == "row" and r["passed"]:
            continue
        result = (
            "[green]pass[/]"
            if r["passed"]
            else ("[red]FAIL[/]" if r["severity"] == "critical" else "[yellow]warn[/]")
        )
        table.add_row(
            r["table_name"],
            r["rule_id"],
            r["check"],
            r["severity"],
            result,
            f"{r['failed_rows']:,}",
            r["message"] or "",
        )
    console.print(table)


def detection(console: Console, result: DetectionScore) -> None:
    table = Table(title="Detection score against the ground truth", title_justify="left")
    for col in ("defect kind", "injected", "detected", "recall", "flagged", "precision"):
        table.add_column(col, justify="left" if col == "defect kind" else "right")
    for k in result.kinds:
        table.add_row(
            k.kind,
            str(k.injected),
            str(k.detected),
            f"{k.recall:.1%}",
            str(k.flagged),
            f"{k.precision:.1%}",
        )
    table.add_row(
        "[bold]all[/]",
        str(sum(k.injected for k in result.kinds)),
        str(sum(k.detected for k in result.kinds)),
        f"[bold]{result.recall:.2%}[/]",
        str(result.flagged),
        f"[bold]{result.precision:.2%}[/]",
    )
    console.print(table)
    for fp in result.false_positives[:5]:
        console.print(f"[yellow]flagged but not injected[/]: {fp}")


def gold_summary(console: Console, result: GoldResult) -> None:
    if result.status == "skipped":
        console.print(f"Gold: {result.note}.")
    elif result.status == "blocked":
        console.print(
            f"[red]Gold run {result.run_id} blocked[/]: Silver run {result.silver_run_id} failed "
            f"critical checks {', '.join(result.blocked_by)}; the previous Gold stays published."
        )
    elif result.status == "noop":
        console.print(f"Gold run {result.run_id}: Silver unchanged since the last Gold (no-op).")
    else:
        total = sum(result.tables.values())
        how = (
            f"; fact_sales merged for {result.recomputed_orders:,} changed orders"
            if result.recomputed_orders is not None
            else f"; {result.note}"
            if result.note
            else ""
        )
        console.print(
            f"Gold run {result.run_id}: {len(result.tables)} tables, {total:,} rows{how}."
        )


def kpis(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table(title="Monthly KPIs (placed, shipped, delivered)", title_justify="left")
    for col in ("month", "revenue", "orders", "units", "aov", "customers", "repeat rate"):
        table.add_column(col, justify="left" if col == "month" else "right")
    for r in rows:
        table.add_row(
            str(r["month"]),
            f"{r['revenue']:,.2f}",
            f"{r['orders']:,}",
            f"{r['units']:,}",
            f"{r['aov']:,.2f}",
            f"{r['unique_customers']:,}",
            f"{r['repeat_purchase_rate']:.1%}",
        )
    console.print(table)


def segments(console: Console, counts: dict[str, int]) -> None:
    table = Table(title="RFM segments", title_justify="left")
    table.add_column("segment")
    table.add_column("customers", justify="right")
    for name, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(name, f"{count:,}")
    console.print(table)


def cohorts(console: Console, rows: list[dict[str, Any]]) -> None:
    months = sorted({r["months_since"] for r in rows})
    table = Table(
        title="Cohort retention (share of the cohort active, by months since)", title_justify="left"
    )
    table.add_column("cohort")
    table.add_column("size", justify="right")
    for m in months:
        table.add_column(f"+{m}", justify="right")
    by_cohort: dict[Any, dict[int, float]] = {}
    sizes: dict[Any, int] = {}
    for r in rows:
        by_cohort.setdefault(r["cohort_month"], {})[r["months_since"]] = r["retention_rate"]
        sizes[r["cohort_month"]] = r["cohort_size"]
    for cohort, rates in sorted(by_cohort.items()):
        table.add_row(
            str(cohort),
            f"{sizes[cohort]:,}",
            *[f"{rates[m]:.0%}" if m in rates else "" for m in months],
        )
    console.print(table)


def revenue_at_risk(console: Console, rows: list[dict[str, Any]]) -> None:
    totals: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        entry = totals.setdefault((r["table_name"], r["rule_id"]), [0, 0.0])
        entry[0] += r["rows"]
        entry[1] += float(r["revenue_at_risk"])
    table = Table(title="Revenue at risk by rule (held sales rows)", title_justify="left")
    for col in ("table", "rule", "rows", "revenue at risk"):
        table.add_column(col, justify="right" if col in ("rows", "revenue at risk") else "left")
    for (name, rule), (count, value) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        table.add_row(name, rule, f"{count:,}", f"{value:,.2f}")
    total = sum(v for _, v in totals.values())
    table.add_row(
        "[bold]all[/]", "", f"{sum(c for c, _ in totals.values()):,}", f"[bold]{total:,.2f}[/]"
    )
    console.print(table)
