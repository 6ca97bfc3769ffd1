"""HTTP requests of any cloud reach the shared router with the path from `/api` on; an
unexpected error is a JSON 500 whose log line holds no more than the error's first line."""

from __future__ import annotations

import json
import logging

import pytest

from functions import web
from shared.settings import Settings

SETTINGS = Settings.from_env({}, lake_url="./no-lake-needed")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/health", "/api/health"),
        ("/prod/api/runs/silver-1", "/api/runs/silver-1"),
        ("/lakehouse-http/api/advisor/proposals/7/approve", "/api/advisor/proposals/7/approve"),
        ("/health", "/health"),
        ("/", "/"),
    ],
)
def test_the_path_is_taken_from_api_on(path: str, expected: str) -> None:
    assert web.api_path(path) == expected


def test_a_request_reaches_the_router() -> None:
    response = web.serve(SETTINGS, "get", "/stage/api/health", {}, b"")
    assert response.status == 200
    assert "GET /api/runs/{run_id}" in json.loads(response.body())["routes"]


def test_an_unexpected_error_is_a_json_500_logged_in_one_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(settings: Settings, request: object) -> None:
        raise RuntimeError(
            "cannot read _ops.runs\nLINE 1: SELECT * FROM runs WHERE email = 'a@b.c'"
        )

    monkeypatch.setattr("shared.api.handle", broken)
    with caplog.at_level(logging.INFO, "lakehouse"):
        response = web.serve(SETTINGS, "GET", "/api/runs", {}, b"")
    assert (response.status, response.payload["error"]) == (500, "internal error")
    assert caplog.messages == [
        "GET /api/runs failed: RuntimeError: cannot read _ops.runs",
        "GET /api/runs -> 500",
    ]
    assert "a@b.c" not in caplog.text
