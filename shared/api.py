"""The HTTP API, independent of any web framework: a request in, a JSON response out.

Azure Functions, AWS Lambda (API Gateway), GCP Cloud Functions and `lakehouse serve` each
turn their own request object into a `Request`, call `handle` and turn the `Response` back;
the routes and their logic live here once. Status routes are read-only. Heavy modules (the
lake, DuckDB) are imported by the routes that need them, so a health check stays cheap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from shared.errors import ConfigError, LakehouseError, TransientError
from shared.settings import Settings

SERVICE = "retail-lakehouse"
MAX_LIMIT = 500


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """The path from `/api` on, e.g. `/api/runs/silver-2026...`."""
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    payload: Any

    def body(self) -> str:
        return json.dumps(self.payload, default=_json_value, sort_keys=True)

    headers: ClassVar[dict[str, str]] = {
        "Content-Type": "application/json; charset=utf-8",
        "Cache-Control": "no-store",
    }


class BadRequest(Exception):
    """A request the caller must fix (400)."""


Handler = Callable[[Settings, Request, dict[str, str]], Response]
ROUTES: list[tuple[str, re.Pattern[str], str]] = []
_HANDLERS: dict[str, Handler] = {}


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for `method` and a path pattern with `{name}` parts."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, regex, pattern))
        _HANDLERS[f"{method} {pattern}"] = handler
        return handler

    return register


def handle(settings: Settings, request: Request) -> Response:
    """Route a request; every failure becomes a JSON error with a hint, never a trace."""
    path = "/" + request.path.strip("/")
    allowed = []
    for method, regex, pattern in ROUTES:
        match = regex.match(path)
        if not match:
            continue
        if method != request.method.upper():
            allowed.append(method)
            continue
        try:
            return _HANDLERS[f"{method} {pattern}"](settings, request, match.groupdict())
        except BadRequest as exc:
            return error(400, str(exc))
        except TransientError as exc:
            return error(503, exc.message, exc.hint)
        except ConfigError as exc:
            return error(500, exc.message, exc.hint)
        except LakehouseError as exc:
            return error(422, exc.message, exc.hint)
    if allowed:
        return error(405, f"{request.method} is not allowed on {path}; use {', '.join(allowed)}")
    return error(404, f"no route for {request.method} {path}", "see GET /api/health for routes")


def error(status: int, message: str, hint: str | None = None) -> Response:
    payload = {"error": message}
    if hint:
        payload["hint"] = hint
    return Response(status, payload)


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or BadRequest saying what is wrong."""
    try:
        body = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _limit(request: Request, default: int = 50) -> int:
    text = request.query.get("limit", str(default))
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {text!r}")
    return int(text)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _platform(settings: Settings) -> Any:
    from shared.jobs import Platform

    return Platform(settings)


def _run_row(row: dict[str, Any]) -> dict[str, Any]:
    details = row.get("details")
    return {**row, "details": json.loads(details) if details else {}}


# -- routes -------------------------------------------------------------------------------
@route("GET", "/api/health")
def health(settings: Settings, request: Request, _: dict[str, str]) -> Response:
    """Liveness, and with `?deep=true` whether the lake answers."""
    payload: dict[str, Any] = {
        "status": "ok",
        "service": SERVICE,
        "time": datetime.now(UTC),
        "routes": sorted(f"{method} {pattern}" for method, _, pattern in ROUTES),
    }
    if request.query.get("deep", "").lower() in ("1", "true", "yes"):
        from shared.ops import RUNS

        platform = _platform(settings)
        platform.lake.storage.list("_ops/runs")  # raises, with a hint, if unreachable
        payload["lake"] = platform.lake.storage.root_url
        payload["lake_reachable"] = True
        payload["runs_recorded"] = platform.lake.exists(RUNS)
    return Response(200, payload)


@route("GET", "/api/runs")
def runs(settings: Settings, request: Request, _: dict[str, str]) -> Response:
    """Latest runs first; filter with `job`, `status`, and `limit`."""
    from shared.ops import RUNS

    limit = _limit(request)
    data = _platform(settings).lake.read(RUNS)
    rows = [] if data is None else data.to_pylist()
    for key in ("job", "status"):
        if key in request.query:
            rows = [r for r in rows if r[key] == request.query[key]]
    rows.sort(key=lambda r: r["started_at"], reverse=True)
    return Response(200, {"runs": [_run_row(r) for r in rows[:limit]], "total": len(rows)})


@route("GET", "/api/runs/{run_id}")
def run(settings: Settings, request: Request, params: dict[str, str]) -> Response:
    """One run with its DQ results (Silver) or the files it ingested (ingest)."""
    from shared.ops import DQ_RESULTS, INGEST_LEDGER, RUNS

    lake = _platform(settings).lake
    run_id = params["run_id"]
    data = lake.read(RUNS)
    found = [r for r in (data.to_pylist() if data is not None else []) if r["run_id"] == run_id]
    if not found:
        return error(404, f"no run {run_id!r}", "list runs with GET /api/runs")
    payload = _run_row(found[0])
    for key, table in (("dq_results", DQ_RESULTS), ("files", INGEST_LEDGER)):
        rows = lake.read(table)
        payload[key] = [r for r in (rows.to_pylist() if rows else []) if r["run_id"] == run_id]
    return Response(200, payload)


@route("GET", "/api/quality")
def quality(settings: Settings, request: Request, _: dict[str, str]) -> Response:
    """Per table, the latest Silver checks and what is held in quarantine by rule; and
    whether Gold publishes."""
    from shared import summary
    from shared.ops import RUNS

    platform = _platform(settings)
    lake = platform.lake
    tables: dict[str, dict[str, Any]] = {}
    for row in summary.latest_dq(lake):
        entry = tables.setdefault(
            row["table_name"], {"run_id": row["run_id"], "checks": 0, "passed": 0, "failed": []}
        )
        entry["checks"] += 1
        entry["passed"] += bool(row["passed"])
        if not row["passed"]:
            entry["failed"].append(
                {k: row[k] for k in ("rule_id", "severity", "scope", "failed_rows", "message")}
            )
    for entry in tables.values():
        entry["pass_rate"] = round(entry["passed"] / entry["checks"], 4)
    runs_data = lake.read(RUNS)
    gold_runs = sorted(
        (r for r in (runs_data.to_pylist() if runs_data else []) if r["job"] == "gold"),
        key=lambda r: r["started_at"],
    )
    gold = _run_row(gold_runs[-1]) if gold_runs else None
    return Response(
        200,
        {
            "tables": tables,
            "quarantine": summary.quarantine_by_rule(lake, platform.contracts),
            "gold": None if gold is None else {k: gold[k] for k in ("run_id", "status", "error")},
        },
    )


@route("GET", "/api/tables")
def tables(settings: Settings, request: Request, _: dict[str, str]) -> Response:
    """Every table of the lake: rows, Delta version, last change."""
    from shared import summary

    platform = _platform(settings)
    states = summary.table_states(platform.lake, platform.contracts)
    return Response(
        200,
        {
            "lake": platform.lake.storage.root_url,
            "tables": [
                {
                    "table": s.table,
                    "rows": s.rows,
                    "version": s.version,
                    "updated_at": s.updated_at,
                    "note": s.note,
                }
                for s in states
            ],
        },
    )


# -- the advisor (its operations live in shared.advisor.api) ------------------------------
def _advised(result: tuple[int, dict[str, Any]]) -> Response:
    status, payload = result
    return Response(status, payload)


@route("POST", "/api/advisor")
def advisor_ask(settings: Settings, request: Request, _: dict[str, str]) -> Response:
    """Answer `{"question": ...}` or explain `{"run_id": ...}`, with evidence; never acts."""
    from shared.advisor import api as advisor

    return _advised(advisor.ask(settings, json_body(request)))


@route("GET", "/api/advisor/metrics")
def advisor_metrics(settings: Settings, request: Request, _: dict[str, str]) -> Response:
    """LLM usage and cost by day and role."""
    from shared.advisor import api as advisor

    return _advised(advisor.metrics(settings, request.query))


@route("POST", "/api/advisor/proposals/{proposal_id}/approve")
def advisor_approve(settings: Settings, request: Request, params: dict[str, str]) -> Response:
    """Record that a person approved a proposal (nothing is applied)."""
    from shared.advisor import api as advisor

    return _advised(advisor.decide(settings, params["proposal_id"], "approve", json_body(request)))


@route("POST", "/api/advisor/proposals/{proposal_id}/reject")
def advisor_reject(settings: Settings, request: Request, params: dict[str, str]) -> Response:
    """Record that a person rejected a proposal."""
    from shared.advisor import api as advisor

    return _advised(advisor.decide(settings, params["proposal_id"], "reject", json_body(request)))
