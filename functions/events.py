"""What the AWS and GCP handlers share once they have parsed their trigger: objects named by
a storage event (bucket and key) become landing files to ingest, or are skipped with a
reason; a schedule's payload names a job; errors the operator must fix are logged with
their hint before the platform sees them.

Only `shared.settings` and `shared.errors` are imported here; the lake, DuckDB and the
cloud SDKs load inside the calls that need them, so an entry point imports in milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from shared.errors import ConfigError, LakehouseError
from shared.settings import Settings

LANDING = "landing"
log = logging.getLogger("lakehouse.functions")


def landing_path(settings: Settings, container: str, key: str) -> tuple[str | None, str]:
    """The lake path of an object to ingest, or None and why it is not one: outside the
    lake, outside `landing/`, a folder marker, or under a name starting with `_` or `.`
    (`landing/_rejected/` holds files set aside, which raise events of their own)."""
    from providers.storage import storage_for

    if key.endswith("/"):
        return None, "a folder marker"
    path = storage_for(settings.lake_url, settings.environ).lake_path_of(container, key)
    if path is None:
        return None, f"outside the lake {settings.lake_url}"
    parts = path.split("/")
    if parts[0] != LANDING or len(parts) < 2:
        return None, f"{path} is not in the landing zone"
    if any(part[:1] in "_." for part in parts[1:]):
        return None, "under a name starting with '_' or '.'"
    return path, ""


def ingest_objects(settings: Settings, objects: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Ingest each (container, key) an event names; one summary per object. Every object
    is tried even when one fails, then the first failure is raised so the platform retries
    the event: objects already ingested are found in the ledger and not added again. A
    configuration error stops at once, since it fails every object alike."""
    from shared import triggers

    results: list[dict[str, Any]] = []
    failure: Exception | None = None
    for container, key in objects:
        path, reason = landing_path(settings, container, key)
        if path is None:
            results.append({"object": f"{container}/{key}", "status": "skipped", "reason": reason})
            log.info("skipped %s/%s: %s", container, key, reason)
            continue
        try:
            results.append(triggers.ingest_blob(settings, path))
        except ConfigError:
            raise
        except Exception as exc:
            log.warning("ingest of %s failed: %s", path, error_summary(exc))
            results.append({"file": path, "status": "failed", "error": type(exc).__name__})
            failure = failure or exc
        else:
            log.info("ingest %s", results[-1])
    if failure is not None:
        raise failure
    return results


def job_of(payload: object) -> str:
    """The job a schedule asks for: `{"job": "silver"}` as the schedule's input, or the same
    under `detail` (an EventBridge event that carries it there)."""
    for candidate in (payload, _get(payload, "detail")):
        job = _get(candidate, "job")
        if isinstance(job, str) and job:
            return job
    raise ConfigError(
        "the scheduled event names no job",
        hint='give the schedule the input {"job": "silver"} (or gold, monitor, reconcile)',
    )


@contextmanager
def reported(what: str) -> Iterator[None]:
    """Log a platform error with its hint, then let it propagate: the platform retries the
    event and, when retries run out, keeps it for the operator (DLQ, failed run)."""
    try:
        yield
    except LakehouseError as exc:
        log.error("%s failed: %s", what, exc)
        raise


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, Mapping) else None


def error_summary(exc: BaseException) -> str:
    """The error's type and first line, as the core logs ingest failures: enough to act
    on, while the lines after, where DuckDB and delta-rs echo the query or a row, stay
    out of the log."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
