"""`lakehouse serve` answers the same routes as the function apps, on localhost."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import jobs
from shared.serve import server
from shared.settings import Settings
from tests.conftest import csv_text


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    settings = Settings.from_env({}, lake_url=str(tmp_path / "lake"))
    landing = tmp_path / "lake" / "landing" / "pos" / "orders"
    landing.mkdir(parents=True)
    rows = ["o1,c1,s1,2026-01-05 10:00:00,placed,2026-01-05"]
    (landing / "o1.csv").write_text(csv_text("orders", rows))
    jobs.ingest_landing(settings)
    httpd = server(settings, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def lake_state(root: Path) -> dict[str, int]:
    """Every file of the lake (tables, landing, rejected files) with its size."""
    return {
        p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()
    }


def fetch(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_answers_the_status_routes(base_url: str) -> None:
    status, health = fetch(f"{base_url}/api/health")
    assert status == 200 and health["status"] == "ok"
    assert "GET /api/runs/{run_id}" in health["routes"]
    status, runs = fetch(f"{base_url}/api/runs?job=ingest&limit=5")
    assert status == 200 and runs["total"] == 1
    run_id = runs["runs"][0]["run_id"]
    status, run = fetch(f"{base_url}/api/runs/{run_id}")
    assert status == 200 and run["files"][0]["rows"] == 1
    status, tables = fetch(f"{base_url}/api/tables")
    assert {t["table"]: t["rows"] for t in tables["tables"]}["bronze.orders"] == 1


def test_serve_reports_bad_requests_as_json(base_url: str) -> None:
    assert fetch(f"{base_url}/api/nothing")[0] == 404
    status, body = fetch(f"{base_url}/api/runs", method="POST", body=b"{}")
    assert status == 405 and "use GET" in body["error"]
    status, body = fetch(f"{base_url}/api/runs?limit=0")
    assert status == 400 and "limit must be" in body["error"]
    status, body = fetch(f"{base_url}/api/health?deep=true")
    assert status == 200 and body["lake_reachable"] is True


def test_the_advisor_answers_and_records_decisions_over_http(base_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "lake" / "landing" / "pos" / "orders" / "bad.csv"
    bad.write_text("order_id\n1\n")
    jobs.ingest_landing(Settings.from_env({}, lake_url=str(tmp_path / "lake")))
    status, answer = fetch(
        f"{base_url}/api/advisor",
        "POST",
        json.dumps({"question": "why was a file rejected?"}).encode(),
    )
    assert status == 200, answer
    assert answer["requires_human_approval"] is True
    assert answer["provider"] == "offline"
    assert answer["kind"] == "failure_triage"
    assert "bad.csv" in answer["answer"]
    assert {"answer", "root_cause", "recommended_actions", "evidence", "confidence"} <= set(answer)
    assert fetch(f"{base_url}/api/advisor", "POST", b"[1]")[0] == 400
    assert (
        fetch(f"{base_url}/api/advisor", "POST", json.dumps({"run_id": "nope"}).encode())[0] == 404
    )

    # The answer recommends actions, so it is stored as a pending proposal for a person.
    decision = json.dumps({"by": "ana@example.com", "note": "ok"}).encode()
    url = f"{base_url}/api/advisor/proposals/{answer['proposal_id']}"
    before = lake_state(tmp_path / "lake")
    status, decided = fetch(f"{url}/approve", "POST", decision)
    assert status == 200, decided
    assert decided["applied"] is False
    assert decided["proposal"]["status"] == "approved"
    assert decided["proposal"]["decided_by"] == "ana@example.com"
    # Approving records the decision and applies nothing: only the proposals table moved.
    after = lake_state(tmp_path / "lake")
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    assert changed and all(p.startswith("_ops/advisor_proposals/") for p in changed), changed
    assert fetch(f"{url}/reject", "POST", decision)[0] == 409
    assert fetch(f"{base_url}/api/advisor/proposals/unknown/approve", "POST", b"{}")[0] in (
        400,
        404,
    )

    status, metrics = fetch(f"{base_url}/api/advisor/metrics?days=7")
    assert status == 200, metrics
