"""AWS Lambda handlers, one function each (the image command names the handler):

- `ingest`: S3 `ObjectCreated` notifications for the lake's landing prefix -> Bronze;
- `scheduled`: EventBridge schedules whose input is `{"job": "silver"}` (gold, monitor,
  reconcile), or an event carrying the same under `detail`;
- `http`: API Gateway HTTP API (payload 2.0) or REST API (1.0) proxy requests -> `/api/...`.

Each builds settings once per invocation and makes one call into `functions.events`,
`functions.web` or `shared.triggers`. Errors propagate, so Lambda retries an asynchronous
event and then hands it to the on-failure destination the infrastructure sets.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus

from functions import events, web
from shared import triggers
from shared.settings import Settings

Event = dict[str, Any]
log = logging.getLogger("lakehouse.functions")


def ingest(event: Event, context: object) -> dict[str, Any]:
    """One S3 notification, possibly of several objects; returns one summary per object."""
    with events.reported("ingest"):
        return {"files": events.ingest_objects(Settings.from_env(), s3_objects(event))}


def scheduled(event: Event, context: object) -> dict[str, Any]:
    with events.reported("scheduled job"):
        result = triggers.run_scheduled(Settings.from_env(), events.job_of(event))
    log.info("%s", result)
    return result


def http(event: Event, context: object) -> dict[str, Any]:
    method, path, query, body = api_request(event)
    response = web.serve(Settings.from_env(), method, path, query, body)
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": response.body(),
        "isBase64Encoded": False,
    }


def s3_objects(event: Event) -> list[tuple[str, str]]:
    """Bucket and key of each `ObjectCreated` record. S3 URL-encodes keys in notifications
    (a space arrives as `+`). S3's test event on setting up a notification has no records."""
    return [
        (record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
        for record in event.get("Records") or []
        if record.get("eventSource") == "aws:s3"
        and str(record.get("eventName", "")).startswith("ObjectCreated:")
    ]


def api_request(event: Event) -> tuple[str, str, dict[str, str], bytes]:
    """Method, path, query (the first value of a repeated key) and body of an API Gateway
    proxy event: payload 2.0 (HTTP API) or 1.0 (REST API, and HTTP API set to 1.0)."""
    if event.get("version") == "2.0":
        method = event["requestContext"]["http"]["method"]
        path = event.get("rawPath") or event["requestContext"]["http"]["path"]
        query: dict[str, str] = {}
        for key, value in parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True):
            query.setdefault(key, value)
    else:
        method, path = event["httpMethod"], event["path"]
        multi = event.get("multiValueQueryStringParameters") or {}
        single = event.get("queryStringParameters") or {}
        query = {key: values[0] for key, values in multi.items() if values} or dict(single)
    text = event.get("body") or ""
    body = base64.b64decode(text) if event.get("isBase64Encoded") else text.encode("utf-8")
    return method, unquote(path), query, body
