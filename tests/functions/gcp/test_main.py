"""The Cloud Functions entry points on fake-gcs-server, called directly and through
functions-framework's own app (as Cloud Run serves them): GCS CloudEvents land files in
Bronze once, Cloud Scheduler's call builds Silver, HTTP requests get the status routes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import flask
import functions_framework
import pytest
from cloudevents.conversion import to_binary

from functions.gcp import main
from infra_pulumi.package import GCP_MAIN
from tests.functions.gcp.payloads import scheduler_headers, storage_event
from tests.functions.helpers import MORE_STORES, STORES, land, ledger, rows, runs, use_lake
from tests.servers.lakes import LakeTarget, gcs_lake

pytestmark = pytest.mark.server


def deployed_app(tmp_path: Path, target: str) -> flask.Flask:
    """functions-framework's app for one entry point, loaded from the root `main.py` the
    deployment package writes (it re-exports `functions.gcp.main`)."""
    source = tmp_path / "main.py"
    source.write_text(GCP_MAIN)
    return functions_framework.create_app(target=target, source=str(source))


@pytest.fixture
def lake(gcs_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> LakeTarget:
    target = gcs_lake(gcs_endpoint)
    use_lake(monkeypatch, target)
    return target


def test_a_finalized_object_is_ingested_into_bronze(lake: LakeTarget) -> None:
    bucket, name = land(lake, "landing/erp/stores/stores 2026-02-01.csv", STORES)
    assert (bucket.endswith("-landing"), name) == (True, "erp/stores/stores 2026-02-01.csv")

    main.ingest(storage_event(bucket, name))
    main.ingest(storage_event(*land(lake, "landing/erp/stores/more.csv", MORE_STORES)))

    assert sorted(r["store_id"] for r in rows(lake, "bronze.stores")) == ["s1", "s2", "s3"]
    assert sorted(r["source_file"] for r in ledger(lake)) == [
        "landing/erp/stores/more.csv",
        "landing/erp/stores/stores 2026-02-01.csv",
    ]


def test_the_same_event_delivered_twice_through_the_framework_ingests_once(
    lake: LakeTarget, tmp_path: Path
) -> None:
    client = deployed_app(tmp_path, "ingest").test_client()
    headers, body = to_binary(storage_event(*land(lake, "landing/erp/stores/s.csv", STORES)))

    for _ in range(2):
        response = client.post("/", headers=headers, data=body)
        assert response.status_code == 200, response.get_data(as_text=True)

    assert len(rows(lake, "bronze.stores")) == 2
    assert [(r["source_file"], r["status"]) for r in ledger(lake)] == [
        ("landing/erp/stores/s.csv", "loaded")
    ]


def test_objects_the_lake_does_not_ingest_are_skipped(lake: LakeTarget) -> None:
    landing, rejected = land(lake, "landing/_rejected/erp/stores/bad.csv", STORES)
    bronze, part = land(lake, "bronze/stores/not-a-table.csv", STORES)

    main.ingest(storage_event(landing, rejected))
    main.ingest(storage_event(landing, "erp/stores/"))  # a folder placeholder
    main.ingest(storage_event(bronze, part))
    main.ingest(storage_event("someone-elses-bucket", "erp/stores/s.csv"))
    main.ingest(
        storage_event(landing, "erp/stores/s.csv", "google.cloud.storage.object.v1.deleted")
    )

    assert ledger(lake) == []
    assert rows(lake, "bronze.stores") == []


def test_cloud_scheduler_builds_silver_after_an_ingest(lake: LakeTarget, tmp_path: Path) -> None:
    main.ingest(storage_event(*land(lake, "landing/erp/stores/s.csv", STORES)))
    client = deployed_app(tmp_path, "scheduled").test_client()

    response = client.post(
        "/",
        data=b'{"job": "silver"}',
        headers={**scheduler_headers(), "Content-Type": "application/octet-stream"},
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert (result["job"], result["status"], result["rows_read"]) == ("silver", "succeeded", 2)
    assert sorted(r["store_id"] for r in rows(lake, "silver.stores")) == ["s1", "s2"]
    assert [r["run_id"] for r in runs(lake, "silver")] == [result["run_id"]]


def test_a_scheduler_call_naming_no_job_fails_with_the_hint_logged(
    lake: LakeTarget, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = deployed_app(tmp_path, "scheduled").test_client()
    with caplog.at_level(logging.ERROR, "lakehouse"):
        response = client.post("/", data=b"{}", headers=scheduler_headers())
    assert response.status_code == 500
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("lakehouse")]
    assert messages == [
        "scheduled job failed: the scheduled event names no job (hint: give the schedule the "
        'input {"job": "silver"} (or gold, monitor, reconcile))'
    ]


# -- HTTP -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(gcs_endpoint: str) -> Iterator[tuple[LakeTarget, str]]:
    """A lake with one ingest and one Silver build; yields it and the Silver run's id."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        target = gcs_lake(gcs_endpoint)
        use_lake(monkeypatch, target)
        main.ingest(storage_event(*land(target, "landing/erp/stores/s.csv", STORES)))
        response = main.scheduled(
            flask.Flask(__name__).test_request_context(json={"job": "silver"}).request
        )
        yield target, json.loads(response.get_data())["run_id"]


@pytest.fixture
def client(
    built: tuple[LakeTarget, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> flask.testing.FlaskClient:
    use_lake(monkeypatch, built[0])
    return deployed_app(tmp_path, "http").test_client()


def test_runs_and_one_run_as_json(client: flask.testing.FlaskClient, built: tuple) -> None:
    run_id = built[1]
    listed = client.get("/api/runs", query_string={"job": "silver"})
    assert listed.status_code == 200
    assert listed.headers["Content-Type"].startswith("application/json")
    assert [r["run_id"] for r in listed.get_json()["runs"]] == [run_id]

    found = client.get(f"/api/runs/{run_id}")
    assert found.status_code == 200
    assert found.get_json()["run_id"] == run_id
    missing = client.get("/api/runs/silver-19990101-000000-none")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == "no run 'silver-19990101-000000-none'"


def test_tables_list_the_lake(client: flask.testing.FlaskClient) -> None:
    response = client.get("/api/tables")
    assert response.status_code == 200
    tables = {t["table"]: t["rows"] for t in response.get_json()["tables"]}
    assert (tables["bronze.stores"], tables["silver.stores"]) == (2, 2)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nothing-here", 404),
        ("GET", "/", 404),
        ("POST", "/api/runs", 405),
        ("PUT", "/api/tables", 405),
        ("GET", "/api/runs?limit=0", 400),
        ("GET", "/lakehouse-http/api/health", 200),
        ("GET", "/api/health?deep=true", 200),
    ],
)
def test_status_codes(
    client: flask.testing.FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method, data=b'{"x": 1}' if method != "GET" else None)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
