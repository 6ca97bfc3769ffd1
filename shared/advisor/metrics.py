"""`_ops.llm_calls`: one row per model call the advisor makes (provider, model, role,
tokens, cost from the price table, latency, confidence, fallback), and its summary by day
and role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from shared.lake import Lake
from shared.ops import TS

LLM_CALLS = "_ops.llm_calls"
LLM_CALLS_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("request_id", pa.string()),
        ("called_at", TS),
        ("provider", pa.string()),
        ("model", pa.string()),
        ("role", pa.string()),
        ("kind", pa.string()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("cost_usd", pa.float64()),
        ("latency_ms", pa.float64()),
        ("confidence", pa.float64()),
        ("fallback", pa.bool_()),
        ("error", pa.string()),
        ("proposal_id", pa.string()),
    ]
)
NO_CALLS: dict[str, Any] = {
    "calls": 0,
    "fallbacks": 0,
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "cost_usd": 0.0,
    "unpriced_calls": 0,
    "avg_latency_ms": None,
    "p95_latency_ms": None,
    "avg_confidence": None,
}


@dataclass
class CallRecord:
    call_id: str
    request_id: str
    called_at: datetime
    provider: str
    model: str
    role: str
    kind: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    """None when the model is missing from the price table."""
    latency_ms: float
    confidence: float | None
    fallback: bool
    """The configured model failed or gave an unusable reply; the offline advisor answered."""
    error: str | None
    proposal_id: str | None = None


def price_of(
    prices: Mapping[str, tuple[float, float]], *models: str | None
) -> tuple[float, float] | None:
    """USD per million (input, output) tokens for the first of `models` the table knows,
    by exact name or else the longest listed prefix (`gpt-4o-mini-2024-07-18`)."""
    for model in models:
        if not model:
            continue
        if model in prices:
            return prices[model]
        prefixes = [name for name in prices if model.startswith(name)]
        if prefixes:
            return prices[max(prefixes, key=len)]
    return None


def cost_usd(
    prices: Mapping[str, tuple[float, float]],
    prompt_tokens: int,
    completion_tokens: int,
    *models: str | None,
) -> float | None:
    if prompt_tokens == 0 and completion_tokens == 0:
        return 0.0
    price = price_of(prices, *models)
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000, 8)


def record_calls(lake: Lake, calls: list[CallRecord]) -> None:
    if calls:
        rows = [asdict(c) for c in calls]
        lake.append(
            LLM_CALLS,
            pa.Table.from_pylist(rows, schema=LLM_CALLS_SCHEMA),
            app_id=f"llm-calls-{calls[0].request_id}",
        )


def summarise(lake: Lake, *, since: datetime, until: datetime) -> dict[str, Any]:
    """Calls, tokens, cost, latency, confidence and fallbacks by day and role, and totals,
    for calls in [since, until)."""
    calls = lake.read(LLM_CALLS)
    window = {"since": since.isoformat(), "until": until.isoformat()}
    if calls is None or calls.num_rows == 0:
        return {**window, "by_day_and_role": [], "by_provider": [], "totals": dict(NO_CALLS)}
    con = duckdb.connect()
    con.register("calls", calls)
    measures = """
        count(*) AS calls,
        count(*) FILTER (WHERE fallback) AS fallbacks,
        coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
        coalesce(sum(completion_tokens), 0) AS completion_tokens,
        round(coalesce(sum(cost_usd), 0), 6) AS cost_usd,
        count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_calls,
        round(avg(latency_ms), 1) AS avg_latency_ms,
        round(quantile_cont(latency_ms, 0.95), 1) AS p95_latency_ms,
        round(avg(confidence), 3) AS avg_confidence
    """
    where = "WHERE called_at >= $since AND called_at < $until"
    params = {"since": since, "until": until}

    def rows(sql: str) -> list[dict[str, Any]]:
        result = con.execute(sql, params)
        names = [d[0] for d in result.description]
        return [dict(zip(names, _plain_row(r), strict=True)) for r in result.fetchall()]

    by_day = rows(
        f"SELECT CAST(called_at AS DATE) AS day, role, {measures} FROM calls {where} "
        "GROUP BY ALL ORDER BY day DESC, role"
    )
    by_provider = rows(
        f"SELECT provider, model, {measures} FROM calls {where} GROUP BY ALL ORDER BY calls DESC"
    )
    totals = rows(f"SELECT {measures} FROM calls {where}")
    con.close()
    return {**window, "by_day_and_role": by_day, "by_provider": by_provider, "totals": totals[0]}


def _plain_row(row: tuple[Any, ...]) -> list[Any]:
    out = []
    for value in row:
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        out.append(value)
    return out
