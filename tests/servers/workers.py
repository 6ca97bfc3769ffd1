"""Work run in separate processes (started with `spawn`: delta-rs's runtime does not survive
`fork`), for the concurrency tests. Each worker waits at a barrier so all start together."""

from __future__ import annotations

from typing import Any

from shared.jobs import ingest_landing
from shared.settings import Settings


def ingest(url: str, environ: dict[str, str], names: list[str], barrier: Any) -> list[str]:
    """Ingest landing files by lake path; returns each file's status."""
    settings = Settings.from_env(environ, lake_url=url)
    barrier.wait(timeout=120)
    try:
        return [r.status for r in ingest_landing(settings, names)]
    except Exception as exc:  # some SDK errors cannot be pickled back to the test
        return [f"error: {type(exc).__name__}: {exc}"]


def build_silver(url: str, environ: dict[str, str], barrier: Any) -> tuple[str, str]:
    """Run a Silver build; returns its status and note."""
    from shared.jobs import build_silver_job

    settings = Settings.from_env(environ, lake_url=url)
    barrier.wait(timeout=120)
    try:
        result = build_silver_job(settings)
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"
    return result.status, result.note
