"""`build gold`: the star schema and KPI marts, rebuilt from Silver by the SQL models, and
published only when the Silver run it consumes passed its critical checks.

Each run recomputes every model from the current Silver tables; a run whose Silver and
quarantine inputs have not changed since the last published Gold is a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow.compute as pc

from shared.engine import quote, set_clock, to_arrow
from shared.errors import TerminalError
from shared.gold.models import Model, load_models
from shared.lake import Lake
from shared.ops import RUNS, Run, utcnow

# Quarantine tables that do not exist yet are read as empty relations of this shape.
_EMPTY_QUARANTINE = (
    "SELECT NULL::VARCHAR AS rule_id, NULL::VARCHAR AS status, NULL::VARCHAR AS raw_row, "
    "NULL::TIMESTAMP AS quarantined_at WHERE false"
)


@dataclass
class GoldResult:
    run_id: str
    status: str
    """succeeded, noop (Silver unchanged since the last published Gold) or blocked."""
    tables: dict[str, int] = field(default_factory=dict)
    """Rows per published Gold table."""
    blocked_by: list[str] = field(default_factory=list)
    silver_run_id: str | None = None


def build_gold(
    lake: Lake,
    con: duckdb.DuckDBPyConnection,
    *,
    now: datetime | None = None,
    full_refresh: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> GoldResult:
    """Build every Gold table from Silver, unless the quality gate blocks it."""
    clock = now or utcnow()
    set_clock(con, clock)
    run = Run.start("gold", clock)
    models = load_models()
    silver_run, failures = _silver_gate(lake)
    result = GoldResult(run.run_id, "succeeded", silver_run_id=silver_run)
    if failures:
        result.status, result.blocked_by = "blocked", failures
        run.details = {"silver_run_id": silver_run, "blocked_by": failures}
        run.record(
            lake,
            "blocked",
            error=f"critical checks failed in Silver run {silver_run}: {', '.join(failures)}; "
            "the previous Gold stays published",
        )
        return result
    consumed = _input_versions(lake, models)
    if not full_refresh and _unchanged(lake, models, consumed):
        result.status = "noop"
        run.details = {"silver_run_id": silver_run, "consumed": consumed}
        run.record(lake, "noop")
        return result
    try:
        cursor = con.cursor()
        set_clock(cursor, clock)
        try:
            _register_inputs(lake, cursor, models)
            for model in models:
                cursor.execute(f"CREATE TEMP TABLE {quote(model.name)} AS {model.sql}")
            for model in models:
                data = to_arrow(cursor, f"SELECT * FROM {quote(model.name)}")
                lake.overwrite(f"gold.{model.name}", data)
                result.tables[model.name] = data.num_rows
                if progress:
                    progress(model.name, data.num_rows)
        finally:
            cursor.close()
    except Exception as exc:
        run.record(lake, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    run.rows_written = sum(result.tables.values())
    run.details = {"silver_run_id": silver_run, "consumed": consumed, "tables": result.tables}
    run.record(lake, "succeeded")
    return result


def _silver_gate(lake: Lake) -> tuple[str | None, list[str]]:
    """The latest Silver run that changed data, and its failed critical table rules."""
    runs = lake.read(RUNS, filter=pc.field("job").isin(["silver", "silver_replay"]))
    if runs is None:
        return None, []
    done = [r for r in runs.to_pylist() if r["status"] == "succeeded"]
    if not done:
        return None, []
    latest = max(done, key=lambda r: r["finished_at"])
    details = json.loads(latest["details"] or "{}")
    return latest["run_id"], list(details.get("critical_failures", []))


def _input_versions(lake: Lake, models: list[Model]) -> dict[str, int]:
    names = sorted({name for model in models for name in model.inputs})
    versions = {}
    for name in names:
        delta = lake.delta(_table_of(name))
        versions[name] = -1 if delta is None else delta.version()
    return versions


def _unchanged(lake: Lake, models: list[Model], consumed: dict[str, int]) -> bool:
    if not all(lake.exists(f"gold.{m.name}") for m in models):
        return False
    runs = lake.read(RUNS, filter=pc.field("job") == "gold")
    published = [
        r for r in (runs.to_pylist() if runs is not None else []) if r["status"] == "succeeded"
    ]
    if not published:
        return False
    last = max(published, key=lambda r: r["finished_at"])
    return json.loads(last["details"] or "{}").get("consumed") == consumed


def _register_inputs(lake: Lake, con: duckdb.DuckDBPyConnection, models: list[Model]) -> None:
    for name in sorted({name for model in models for name in model.inputs}):
        table = _table_of(name)
        stream = lake.stream(table, _columns(lake, table))
        if stream is None:
            if name.startswith("quarantine_"):
                con.execute(f"CREATE TEMP TABLE {quote(name)} AS {_EMPTY_QUARANTINE}")
                continue
            raise TerminalError(
                f"{table} does not exist yet, so Gold has nothing to build from",
                hint="ingest landing files and run `lakehouse build silver` first",
            )
        con.register("gold_input", stream)
        con.execute(f"CREATE TEMP TABLE {quote(name)} AS SELECT * FROM gold_input")
        con.unregister("gold_input")


def _columns(lake: Lake, table: str) -> list[str]:
    delta = lake.delta(table)
    return [] if delta is None else list(delta.schema().to_arrow().names)


def _table_of(relation: str) -> str:
    """`silver_order_lines` -> `silver.order_lines`."""
    layer, _, name = relation.partition("_")
    return f"{layer}.{name}"
