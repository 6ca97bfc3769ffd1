"""Cold start: a fresh process imports an entry point and serves its first health request
without loading the lake's libraries (delta-rs, DuckDB, Arrow) or a cloud SDK; those load in
the invocations that need them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shared.settings import PACKAGE_ROOT

HEAVY = ("deltalake", "duckdb", "pyarrow", "boto3", "botocore", "google.cloud.storage", "azure")
FIRST_HEALTH = {
    "aws": """
from functions.aws import handlers
from tests.functions.aws.payloads import http_v2
status = handlers.http(http_v2("GET", "/api/health"), None)["statusCode"]
""",
    "gcp": """
import flask
from functions.gcp import main
with flask.Flask("probe").test_request_context("/api/health"):
    status = main.http(flask.request).status_code
""",
}


@pytest.mark.parametrize("cloud", sorted(FIRST_HEALTH))
def test_the_first_health_request_loads_no_heavy_library(cloud: str) -> None:
    script = (
        FIRST_HEALTH[cloud]
        + f"import sys, json\nheavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        + "print(json.dumps({'status': status, 'heavy': heavy}))\n"
    )
    env = {**os.environ, "LAKEHOUSE_LAKE": "s3://no-such-bucket/lake"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PACKAGE_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == {"status": 200, "heavy": []}
