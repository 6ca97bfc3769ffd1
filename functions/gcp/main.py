"""GCP Cloud Functions (2nd gen) entry points, served by functions-framework. The deployed
source has a root `main.py` re-exporting these, since Cloud Functions loads `main.py`.

- `ingest`: Eventarc's `google.cloud.storage.object.v1.finalized` CloudEvent for the
  landing bucket -> Bronze;
- `scheduled`: Cloud Scheduler's HTTP POST with the body `{"job": "silver"}` (gold,
  monitor, reconcile);
- `http`: the status and advisor routes under `/api` (any path prefix before it is cut).

Each builds settings once per invocation and makes one call into `functions.events`,
`functions.web` or `shared.triggers`. Errors propagate: functions-framework answers 500,
so Eventarc and Cloud Scheduler retry by their retry policies.
"""

from __future__ import annotations

import logging

import flask
import functions_framework
from cloudevents.http import CloudEvent

from functions import events, web
from shared import api, triggers
from shared.settings import Settings

FINALIZED = "google.cloud.storage.object.v1.finalized"
log = logging.getLogger("lakehouse.functions")


@functions_framework.cloud_event
def ingest(cloud_event: CloudEvent) -> None:
    """`data` is the object's metadata: `bucket` and `name` (not URL-encoded)."""
    if cloud_event["type"] != FINALIZED:
        log.info("ignored a %s event: ingest is for %s", cloud_event["type"], FINALIZED)
        return
    data = cloud_event.data or {}
    with events.reported("ingest"):
        events.ingest_objects(Settings.from_env(), [(data["bucket"], data["name"])])


@functions_framework.http
def scheduled(request: flask.Request) -> flask.Response:
    # Cloud Scheduler sends application/octet-stream unless told otherwise: parse regardless.
    payload = request.get_json(force=True, silent=True)
    with events.reported("scheduled job"):
        result = triggers.run_scheduled(Settings.from_env(), events.job_of(payload))
    log.info("%s", result)
    return _flask(api.Response(200, result))


@functions_framework.http
def http(request: flask.Request) -> flask.Response:
    query = request.args.to_dict(flat=True)  # the first value of a repeated key
    response = web.serve(
        Settings.from_env(), request.method, request.path, query, request.get_data()
    )
    return _flask(response)


def _flask(response: api.Response) -> flask.Response:
    return flask.Response(response.body(), status=response.status, headers=response.headers)
