"""What every cloud's triggers call: a blob drop, a scheduled job, a monitor sweep.

Handlers on Azure, AWS and GCP parse their trigger into a lake path or a job name and call
one function here; each returns a small JSON-able summary for the handler to log. Delivery
is at least once everywhere, so each of these is safe to run twice.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.errors import ConfigError, FileRejectedError
from shared.settings import Settings

if TYPE_CHECKING:  # the lake loads deltalake: only the calls that need it import it
    from shared.lake import Lake

JOBS = ("silver", "gold", "monitor", "reconcile")
MAX_ATTEMPTS = 5
ATTEMPTS = "_ops/attempts"
STALE_LANDING = timedelta(minutes=30)
log = logging.getLogger("lakehouse.triggers")


def ingest_blob(
    settings: Settings, lake_path: str, *, max_attempts: int = MAX_ATTEMPTS
) -> dict[str, Any]:
    """Ingest one dropped file by its lake path (`landing/pos/orders/x.csv`). A file that
    fails for reasons other than its content (storage faults, bugs) is retried by the
    platform; after `max_attempts` failures it is set aside in `_rejected/` with the last
    error, so a poison file never retries forever. Configuration errors are raised as they
    are: the file is fine, and the reconciliation timer loads it once the setting is fixed."""
    from shared import jobs

    platform = jobs.Platform(settings)
    try:
        results = jobs.ingest_landing(settings, [lake_path], platform=platform)
    except FileNotFoundError:
        return {"file": lake_path, "status": "gone"}  # moved or deleted since the event
    except FileRejectedError as exc:  # not a landing path at all
        return {"file": lake_path, "status": "ignored", "reason": exc.message}
    except ConfigError:
        raise
    except Exception as exc:
        return _failed(platform.lake, lake_path, exc, max_attempts)
    if not results:
        return {"file": lake_path, "status": "ignored", "reason": "not a file to ingest"}
    (result,) = results
    _forget_attempts(platform.lake, lake_path)
    return {
        "file": lake_path,
        "status": result.status,
        "table": result.table,
        "batch_id": result.batch_id,
        "rows": result.rows,
        "reason": result.reason,
    }


def run_scheduled(settings: Settings, job: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Run a scheduled job by name: silver, gold, monitor or reconcile."""
    from shared import jobs

    if job == "silver":
        silver = jobs.build_silver_job(settings, now=now)
        return {
            "job": job,
            "run_id": silver.run_id,
            "status": silver.status,
            "rows_read": sum(t.rows_read for t in silver.tables),
            "critical_failures": silver.critical_failures,
            "note": silver.note,
        }
    if job == "gold":
        gold = jobs.build_gold_job(settings, now=now)
        return {
            "job": job,
            "run_id": gold.run_id,
            "status": gold.status,
            "tables": gold.tables,
            "blocked_by": gold.blocked_by,
            "note": gold.note,
        }
    if job == "reconcile":
        return reconcile(settings)
    if job == "monitor":
        return monitor(settings, now=now)
    raise ConfigError(f"unknown job {job!r}", hint=f"schedule one of: {', '.join(JOBS)}")


def reconcile(settings: Settings) -> dict[str, Any]:
    """Ingest every landing file the blob trigger never delivered (events are at least once,
    but can be late or lost): files with no ingest ledger entry."""
    from shared import jobs

    missed = _not_ledgered(jobs.Platform(settings).lake)
    results = jobs.ingest_landing(settings, missed) if missed else []
    counts = Counter(r.status for r in results)
    if results:
        log.warning("reconciliation ingested %d landing files the trigger missed", len(results))
    return {"job": "reconcile", "status": "succeeded", "files": len(results), **counts}


def monitor(settings: Settings, *, now: datetime | None = None) -> dict[str, Any]:
    """A sweep for what needs a person: landing files waiting, Bronze batches not yet in
    Silver, failed runs of the last day, a blocked Gold, critical checks failing. Recorded
    as a `monitor` run in `_ops.runs`; findings are logged as warnings."""
    from shared import jobs
    from shared.ops import INGEST_LEDGER, PROCESSED_BATCHES, RUNS, Run, utcnow

    clock = now or utcnow()
    platform = jobs.Platform(settings)
    lake = platform.lake
    run = Run.start("monitor", clock)
    findings: list[str] = []

    ledger = lake.read(INGEST_LEDGER, columns=["source_file", "table_name", "batch_id", "status"])
    ledger_rows = ledger.to_pylist() if ledger is not None else []
    waiting = _not_ledgered(lake, {r["source_file"] for r in ledger_rows})
    if waiting:
        findings.append(f"{len(waiting)} landing files are not ingested yet (e.g. {waiting[0]})")
    done = lake.read(PROCESSED_BATCHES, columns=["table_name", "batch_id"])
    processed = set(zip(*done.to_pydict().values(), strict=True)) if done is not None else set()
    loaded = {(r["table_name"], r["batch_id"]) for r in ledger_rows if r["status"] == "loaded"}
    if loaded - processed:
        findings.append(f"{len(loaded - processed)} Bronze batches are not built into Silver yet")
    rejected = sum(r["status"] == "rejected" for r in ledger_rows)
    runs = lake.read(RUNS)
    recent = [
        r
        for r in (runs.to_pylist() if runs is not None else [])
        if r["started_at"] >= clock - timedelta(days=1)
    ]
    failed = [r["run_id"] for r in recent if r["status"] == "failed"]
    if failed:
        findings.append(f"{len(failed)} runs failed in the last day: {', '.join(failed[:5])}")
    gold = sorted((r for r in recent if r["job"] == "gold"), key=lambda r: r["started_at"])
    if gold and gold[-1]["status"] == "blocked":
        blocked = json.loads(gold[-1]["details"] or "{}").get("blocked_by", [])
        findings.append(f"Gold is blocked by Silver checks {', '.join(blocked) or '(see run)'}")
    for finding in findings:
        log.warning("monitor: %s", finding)
    run.details = {"findings": findings, "rejected_files": rejected}
    run.record(lake, "succeeded")
    return {"job": "monitor", "run_id": run.run_id, "status": "succeeded", "findings": findings}


def _not_ledgered(lake: Lake, seen: set[str] | None = None) -> list[str]:
    """Lake paths of the landing files with no ingest ledger entry (`seen`: the ledger's
    source files, when the caller has read them already)."""
    from shared.ingest import landing_files
    from shared.ops import INGEST_LEDGER

    if seen is None:
        ledger = lake.read(INGEST_LEDGER, columns=["source_file"])
        seen = set(ledger.column("source_file").to_pylist()) if ledger is not None else set()
    return [f.lake_path for f in landing_files(lake) if f.lake_path and f.lake_path not in seen]


def _attempts_path(lake_path: str) -> str:
    return f"{ATTEMPTS}/{lake_path}.json"


def _failed(lake: Lake, lake_path: str, exc: Exception, max_attempts: int) -> dict[str, Any]:
    from shared.ingest import record_rejection, set_aside
    from shared.ops import new_run_id, utcnow

    path = _attempts_path(lake_path)
    previous = json.loads(lake.storage.read_bytes(path)) if lake.storage.exists(path) else {}
    attempts = int(previous.get("attempts", 0)) + 1
    error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    if attempts < max_attempts:
        record = {"attempts": attempts, "last_error": error}
        lake.storage.write_bytes(path, json.dumps(record).encode())
        log.warning(
            "ingest of %s failed (attempt %d of %d): %s", lake_path, attempts, max_attempts, error
        )
        raise exc
    reason = f"gave up after {attempts} attempts; last error: {error}"
    set_aside(lake, lake_path, reason)
    record_rejection(lake, lake_path, reason, new_run_id("ingest", utcnow()))
    lake.storage.delete(path)
    log.error("ingest of %s set aside in _rejected/: %s", lake_path, reason)
    return {"file": lake_path, "status": "rejected", "reason": reason}


def _forget_attempts(lake: Lake, lake_path: str) -> None:
    path = _attempts_path(lake_path)
    if lake.storage.exists(path):
        lake.storage.delete(path)
