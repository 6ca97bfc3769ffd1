"""HTTP routes under /api, each a function with function-level auth (a key per caller),
all served by the framework-neutral router in `shared.api`."""

from __future__ import annotations

from urllib.parse import urlsplit

import azure.functions as func

from functions import web
from functions.azure.settings import current

bp = func.Blueprint()
AUTH = func.AuthLevel.FUNCTION


def _serve(req: func.HttpRequest) -> func.HttpResponse:
    path = urlsplit(req.url).path
    response = web.serve(current(), req.method, path, dict(req.params), req.get_body() or b"")
    return func.HttpResponse(response.body(), status_code=response.status, headers=response.headers)


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=AUTH)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("runs")
@bp.route(route="runs", methods=["GET"], auth_level=AUTH)
def runs(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("run")
@bp.route(route="runs/{run_id}", methods=["GET"], auth_level=AUTH)
def run(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("quality")
@bp.route(route="quality", methods=["GET"], auth_level=AUTH)
def quality(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("tables")
@bp.route(route="tables", methods=["GET"], auth_level=AUTH)
def tables(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("advisor")
@bp.route(route="advisor", methods=["POST"], auth_level=AUTH)
def advisor(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("advisor_metrics")
@bp.route(route="advisor/metrics", methods=["GET"], auth_level=AUTH)
def advisor_metrics(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("advisor_approve")
@bp.route(route="advisor/proposals/{proposal_id}/approve", methods=["POST"], auth_level=AUTH)
def advisor_approve(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)


@bp.function_name("advisor_reject")
@bp.route(route="advisor/proposals/{proposal_id}/reject", methods=["POST"], auth_level=AUTH)
def advisor_reject(req: func.HttpRequest) -> func.HttpResponse:
    return _serve(req)
