"""HTTP requests from API Gateway and Cloud Functions into the framework-neutral router
(`shared.api`), so every route, the advisor's included, works on every cloud unchanged."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from functions.events import error_summary
from shared import api
from shared.settings import Settings

log = logging.getLogger("lakehouse.functions")


def serve(
    settings: Settings, method: str, path: str, query: Mapping[str, str], body: bytes
) -> api.Response:
    """Route one request; an unexpected error becomes a JSON 500 (the router itself turns
    the platform's own errors into 4xx/5xx with a hint)."""
    request = api.Request(method.upper(), api_path(path), query, body)
    try:
        response = api.handle(settings, request)
    except Exception as exc:
        log.error("%s %s failed: %s", request.method, request.path, error_summary(exc))
        response = api.error(500, "internal error", "see the function's log")
    log.info("%s %s -> %d", request.method, request.path, response.status)
    return response


def api_path(path: str) -> str:
    """The path from `/api` on. API Gateway puts a named stage before it (`/prod/api/runs`),
    a custom domain its base path; a path without an `api` part is left for the router to
    answer 404."""
    parts = path.split("/")
    return "/" + "/".join(parts[parts.index("api") :]) if "api" in parts else path
