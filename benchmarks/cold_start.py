"""Cold start of the Azure function app: a fresh Python process imports `function_app`
(the host indexes it) and serves its first health request. Prints each run and the median.

    python benchmarks/cold_start.py [--runs 11]
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
# Runs in the fresh process: index the app as the host does, then one request.
PROBE = """
import time
start = time.perf_counter()
import azure.functions as func
import function_app
(health,) = [f for f in function_app.app.get_functions() if f.get_function_name() == "health"]
imported = time.perf_counter()
request = func.HttpRequest("GET", "http://localhost/api/health", params={}, body=b"")
response = health.get_user_function()(request)
assert response.status_code == 200, response.get_body()
served = time.perf_counter()
import json, sys
print(json.dumps({"import": imported - start, "first_request": served - imported,
                  "heavy": sorted(m for m in ("deltalake", "duckdb", "pyarrow", "boto3")
                                  if m in sys.modules)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    totals, imports, requests = [], [], []
    heavy: list[str] = []
    for run in range(args.runs):
        began = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PROBE], cwd=ROOT, check=True, capture_output=True, text=True
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
