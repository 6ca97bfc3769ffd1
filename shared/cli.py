"""The `lakehouse` command line (also `python -m shared`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from rich.console import Console

from shared import jobs, render, summary
from shared.advisor import api as advisor_api
from shared.advisor import render as advisor_render
from shared.demo import run_demo
from shared.errors import LakehouseError
from shared.generate import GenerateOptions, generate
from shared.ops import utcnow
from shared.report import write_report
from shared.settings import ENV_LAKE, Settings

# Wide enough for the tables when output is piped (rich assumes 80 columns then).
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 140)


def _common() -> argparse.ArgumentParser:
    # Accepted before or after the subcommand: SUPPRESS keeps a later default from
    # overwriting a value given earlier.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--lake",
        default=argparse.SUPPRESS,
        help=f"lake root URL or folder (default: ${ENV_LAKE} or ./.lake)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and debug logs",
    )
    return common


def parser() -> argparse.ArgumentParser:
    common = _common()
    main = argparse.ArgumentParser(
        prog="lakehouse",
        parents=[common],
        description="Serverless retail lakehouse: landing -> Bronze -> Silver -> Gold.",
    )
    sub = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", parents=[common], help="write seeded retail landing files")
    gen.add_argument("--out", help="landing folder (default: <lake>/landing)")
    _generate_options(gen)

    ing = sub.add_parser("ingest", parents=[common], help="load landing files into Bronze")
    ing.add_argument("paths", nargs="*", help="files or folders (default: <lake>/landing)")
    ing.add_argument("--table", help="table for files whose path names none")

    build = sub.add_parser("build", parents=[common], help="build Silver, Gold or both")
    build.add_argument("layer", choices=["silver", "gold", "all"])
    build.add_argument("--table", action="append", help="only this Silver table (repeatable)")
    build.add_argument(
        "--full-refresh", action="store_true", help="rebuild Gold even if Silver is unchanged"
    )

    sub.add_parser("status", parents=[common], help="latest runs and the state of every table")

    quarantine = sub.add_parser(
        "quarantine", parents=[common], help="held rows by rule, with samples; --replay after a fix"
    )
    quarantine.add_argument("--table", action="append", help="only this table (repeatable)")
    quarantine.add_argument("--samples", type=int, default=2, help="sample rows per rule")
    quarantine.add_argument(
        "--replay", action="store_true", help="re-validate held rows under the current contracts"
    )

    sub.add_parser(
        "report", parents=[common], help="write the HTML report into the lake (_reports/)"
    )

    serve = sub.add_parser(
        "serve", parents=[common], help="serve the HTTP API (/api/...) on localhost"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=7071, help="port (default 7071)")

    demo = sub.add_parser(
        "demo", parents=[common], help="generate, ingest day by day, build, and score detection"
    )
    _generate_options(demo)

    ask = sub.add_parser(
        "ask", parents=[common], help="ask the advisor a question, or about a run (--run)"
    )
    ask.add_argument("question", nargs="?", help="the question, in quotes")
    ask.add_argument("--run", metavar="RUN_ID", help="explain this run instead")
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")

    usage = sub.add_parser(
        "advisor-metrics", parents=[common], help="advisor model calls, tokens and cost by day"
    )
    usage.add_argument("--days", type=int, help="the last N days (default 30)")
    usage.add_argument("--since", help="first day, YYYY-MM-DD")
    usage.add_argument("--until", help="last day, YYYY-MM-DD (inclusive)")
    usage.add_argument("--json", action="store_true", help="print the summary as JSON")
    return main


def _generate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=30, help="days of deliveries (default 30)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--defect-rate",
        type=float,
        default=0.05,
        help="share of rows with an injected defect (default 0.05)",
    )
    p.add_argument("--orders-per-day", type=int, default=150, help="average orders a day")
    p.add_argument(
        "--end-date",
        type=date.fromisoformat,
        help="last delivery day, YYYY-MM-DD (default: yesterday, UTC); fix it to reproduce data",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    settings = Settings.from_env(lake_url=getattr(args, "lake", None))
    try:
        return COMMANDS[args.command](settings, args)
    except LakehouseError as exc:
        if debug:
            raise
        err.print(f"[red]error:[/] {exc.message}")
        if exc.hint:
            err.print(f"[dim]hint:[/] {exc.hint}")
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if debug:
            raise
        err.print(f"[red]error:[/] unexpected {type(exc).__name__}: {exc}")
        err.print("[dim]hint:[/] rerun with --debug for the traceback, and report it")
        return 1


def _generate(settings: Settings, args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else jobs.Platform(settings).lake.storage.local_path("landing")
    if out is None:
        console.print("[red]error:[/] pass --out for a lake that is not a local folder")
        return 2
    result = generate(Path(out), _options(args), progress=lambda m: console.print(f"[dim]{m}[/]"))
    console.print(f"wrote {len(result.files)} files, {sum(result.rows.values()):,} rows to {out}")
    console.print(f"injected defects: {dict(sorted(result.defects.items()))}")
    console.print(f"ground truth: {result.ground_truth}")
    return 0


def _options(args: argparse.Namespace) -> GenerateOptions:
    return GenerateOptions(
        days=args.days,
        seed=args.seed,
        defect_rate=args.defect_rate,
        orders_per_day=args.orders_per_day,
        end_date=args.end_date,
    )


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    results = jobs.ingest_paths(
        settings,
        args.paths,
        table=args.table,
        progress=lambda r: console.print(render.ingest_line(r)),
    )
    counts = {s: sum(r.status == s for r in results) for s in ("loaded", "duplicate", "rejected")}
    rows = sum(r.rows for r in results)
    console.print(
        f"{counts['loaded']} loaded ({rows:,} rows), {counts['duplicate']} unchanged, "
        f"{counts['rejected']} rejected"
    )
    return 1 if counts["rejected"] else 0


def _build(settings: Settings, args: argparse.Namespace) -> int:
    if args.layer in ("silver", "all"):
        result = jobs.build_silver_job(
            settings,
            tables=args.table,
            progress=lambda t: console.print(render.silver_line(t)),
        )
        render.silver_summary(console, result)
    if args.layer in ("gold", "all"):
        gold = jobs.build_gold_job(
            settings,
            full_refresh=args.full_refresh,
            progress=lambda name, rows: console.print(f"gold.{name}: {rows:,} rows"),
        )
        render.gold_summary(console, gold)
        if gold.status == "blocked":
            return 3
    return 0


def _status(settings: Settings, args: argparse.Namespace) -> int:
    platform = jobs.Platform(settings)
    console.print(f"lake: {platform.lake.storage.root_url}")
    render.runs(console, summary.latest_runs(platform.lake))
    render.table_states(console, summary.table_states(platform.lake, platform.contracts))
    return 0


def _quarantine(settings: Settings, args: argparse.Namespace) -> int:
    platform = jobs.Platform(settings)
    if args.replay:
        result = jobs.build_silver_job(
            settings,
            tables=args.table,
            replay=True,
            progress=lambda t: console.print(render.silver_line(t)),
        )
        console.print(
            f"replayed {sum(t.rechecked for t in result.tables):,} held rows: "
            f"{sum(t.released for t in result.tables):,} released, "
            f"{sum(t.rechecked - t.released for t in result.tables):,} still held"
        )
    rows = [
        r
        for r in summary.quarantine_by_rule(platform.lake, platform.contracts)
        if not args.table or r["table"] in args.table
    ]
    render.quarantine(console, rows)
    seen = set()
    for r in rows:
        if (r["table"], r["rule_id"]) in seen or args.samples <= 0:
            continue
        seen.add((r["table"], r["rule_id"]))
        for sample in summary.quarantine_samples(
            platform.lake, r["table"], r["rule_id"], args.samples
        ):
            console.print(
                f"  [bold]{r['rule_id']}[/] {sample['_source_file']}#{sample['_row_number']}: "
                f"{sample['reason']}\n    [dim]{sample['raw_row']}[/]"
            )
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    result = run_demo(settings, _options(args), on_step=lambda m: console.print(f"[dim]{m}[/]"))
    platform = jobs.Platform(settings)
    ingested = result.ingested
    console.rule("Demo summary")
    console.print(
        f"{len(ingested)} files ingested: "
        f"{sum(r.status == 'loaded' for r in ingested)} loaded, "
        f"{sum(r.status == 'rejected' for r in ingested)} rejected"
    )
    render.table_states(
        console,
        [
            s
            for s in summary.table_states(platform.lake, platform.contracts)
            if not s.table.startswith("_ops.")
        ],
    )
    render.quarantine(console, summary.quarantine_by_rule(platform.lake, platform.contracts))
    render.dq(console, summary.latest_dq(platform.lake))
    render.gold_summary(console, result.gold)
    if result.gold.status == "succeeded":
        lake = platform.lake
        render.kpis(console, summary.rows_of(lake, "gold.kpi_monthly"))
        render.segments(console, summary.segment_counts(lake))
        render.cohorts(console, summary.rows_of(lake, "gold.cohort_retention"))
        render.revenue_at_risk(console, summary.rows_of(lake, "gold.revenue_at_risk"))
    render.detection(console, result.score)
    where = platform.lake.storage.local_path(result.report) or result.report
    console.print(f"report: {where}")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from shared.serve import server

    httpd = server(settings, args.host, args.port)
    host, port = httpd.server_address[:2]
    console.print(f"serving {settings.lake_url} on http://{host}:{port}/api/health (Ctrl-C stops)")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        err.print("[yellow]warning:[/] the API has no authentication; keep it off public networks")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        httpd.server_close()
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    platform = jobs.Platform(settings)
    path = write_report(platform.lake, platform.contracts, utcnow())
    console.print(f"report: {platform.lake.storage.local_path(path) or path}")
    return 0


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    if bool(args.question) == bool(args.run):
        err.print("[red]error:[/] give a question or --run RUN_ID (not both)")
        err.print('[dim]hint:[/] lakehouse ask "why was gold blocked?" or lakehouse ask --run ID')
        return 2
    body = {"run_id": args.run} if args.run else {"question": args.question}
    status, answer = advisor_api.ask(settings, body)
    return _respond(status, answer, args.json, advisor_render.answer)


def _advisor_metrics(settings: Settings, args: argparse.Namespace) -> int:
    query = {
        k: str(v)
        for k, v in {"days": args.days, "since": args.since, "until": args.until}.items()
        if v is not None
    }
    status, summary = advisor_api.metrics(settings, query)
    return _respond(status, summary, args.json, advisor_render.metrics)


def _respond(status: int, body: dict, as_json: bool, show) -> int:
    if status != 200:
        err.print(f"[red]error:[/] {body['error']}")
        if body.get("hint"):
            err.print(f"[dim]hint:[/] {body['hint']}")
        return 2 if status < 500 else 1
    if as_json:
        print(json.dumps(body, indent=2, default=str))
    else:
        show(console, body)
    return 0


COMMANDS = {
    "generate": _generate,
    "ingest": _ingest,
    "build": _build,
    "status": _status,
    "quarantine": _quarantine,
    "demo": _demo,
    "report": _report,
    "serve": _serve,
    "ask": _ask,
    "advisor-metrics": _advisor_metrics,
}


if __name__ == "__main__":
    sys.exit(main())
