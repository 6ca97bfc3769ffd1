"""Cold start of a function app: a fresh Python process imports the entry point (Azure:
`function_app`, indexed as the host does; AWS: the Lambda handlers; GCP: the Cloud Functions
module) and serves its first health request. Prints each run and the median.

    python benchmarks/cold_start.py [--app azure|aws|gcp] [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run in the fresh process: import (and for Azure index) the app, then one health request.
AZURE = """
import azure.functions as func
import function_app
(health,) = [f for f in function_app.app.get_functions() if f.get_function_name() == "health"]
imported = time.perf_counter()
request = func.HttpRequest("GET", "http://localhost/api/health", params={}, body=b"")
response = health.get_user_function()(request)
assert response.status_code == 200, response.get_body()
"""
AWS = """
from functions.aws import handlers
imported = time.perf_counter()
event = {"version": "2.0", "rawPath": "/api/health", "rawQueryString": "",
         "requestContext": {"http": {"method": "GET", "path": "/api/health"}}}
response = handlers.http(event, None)
assert response["statusCode"] == 200, response["body"]
"""
GCP = """
from functions.gcp import main
imported = time.perf_counter()
import flask
with flask.Flask("probe").test_request_context("/api/health"):
    response = main.http(flask.request)
assert response.status_code == 200, response.get_data()
"""
PROBES = {"azure": AZURE, "aws": AWS, "gcp": GCP}
START = "import time\nstart = time.perf_counter()\n"
REPORT = """
served = time.perf_counter()
import json, sys
print(json.dumps({"import": imported - start, "first_request": served - imported,
                  "heavy": sorted(m for m in ("deltalake", "duckdb", "pyarrow", "boto3")
                                  if m in sys.modules)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=sorted(PROBES), default="azure")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    probe = START + PROBES[args.app] + REPORT
    totals, imports, requests = [], [], []
    heavy: list[str] = []
    for run in range(args.runs):
        began = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        total = time.perf_counter() - began
        figures = json.loads(out)
        heavy = figures["heavy"]
        totals.append(total)
        imports.append(figures["import"])
        requests.append(figures["first_request"])
        print(
            f"run {run + 1:2d}: process {total:.3f} s, import+index {figures['import']:.3f} s, "
            f"first health request {figures['first_request'] * 1000:.1f} ms"
        )
    print(
        f"median over {args.runs}: process {statistics.median(totals):.3f} s (interpreter start "
        f"included), import+index {statistics.median(imports):.3f} s, first request "
        f"{statistics.median(requests) * 1000:.1f} ms; heavy modules loaded: {heavy or 'none'}"
    )


if __name__ == "__main__":
    main()
