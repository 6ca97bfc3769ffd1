"""The Lambda handlers on moto's S3: real-shaped S3 notifications land files in Bronze once,
EventBridge schedules build Silver, API Gateway requests get the status routes."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator

import pytest

from functions.aws import handlers
from shared.errors import ConfigError
from tests.functions.aws.payloads import (
    S3_TEST_EVENT,
    http_v2,
    json_body,
    rest_v1,
    s3_event,
    s3_record,
    schedule_input,
    scheduled_event,
)
from tests.functions.helpers import MORE_STORES, STORES, land, ledger, rows, runs, use_lake
from tests.servers.lakes import LakeTarget, s3_lake

pytestmark = pytest.mark.server


@pytest.fixture
def lake(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> LakeTarget:
    target = s3_lake(moto_endpoint)
    use_lake(monkeypatch, target)
    return target


def test_an_s3_notification_of_several_objects_ingests_each(lake: LakeTarget) -> None:
    first = land(lake, "landing/erp/stores/stores 2026-02-01.csv", STORES)
    second = land(lake, "landing/erp/stores/stores-2026-02-02.csv", MORE_STORES)
    assert first[1] == "retail/landing/erp/stores/stores 2026-02-01.csv"

    result = handlers.ingest(s3_event(s3_record(*first), s3_record(*second)), None)

    assert [(f["status"], f["rows"]) for f in result["files"]] == [("loaded", 2), ("loaded", 1)]
    assert sorted(r["store_id"] for r in rows(lake, "bronze.stores")) == ["s1", "s2", "s3"]
    assert sorted(r["source_file"] for r in ledger(lake)) == [
        "landing/erp/stores/stores 2026-02-01.csv",
        "landing/erp/stores/stores-2026-02-02.csv",
    ]


def test_the_same_object_delivered_twice_is_ingested_once(lake: LakeTarget) -> None:
    event = s3_event(s3_record(*land(lake, "landing/erp/stores/s.csv", STORES)))

    assert handlers.ingest(event, None)["files"][0]["status"] == "loaded"
    assert handlers.ingest(event, None)["files"][0]["status"] == "duplicate"

    assert len(rows(lake, "bronze.stores")) == 2
    assert [(r["source_file"], r["status"]) for r in ledger(lake)] == [
        ("landing/erp/stores/s.csv", "loaded")
    ]


def test_objects_the_lake_does_not_ingest_are_skipped_without_touching_it(
    lake: LakeTarget,
) -> None:
    bucket, rejected = land(lake, "landing/_rejected/erp/stores/bad.csv", STORES)
    event = s3_event(
        s3_record(bucket, rejected),
        s3_record(bucket, "retail/landing/erp/stores/"),  # a console "folder"
        s3_record(bucket, "retail/bronze/stores/part-0.parquet"),
        s3_record(bucket, "elsewhere/landing/erp/stores/s.csv"),
        s3_record("another-bucket", "retail/landing/erp/stores/s.csv"),
        s3_record(bucket, "retail/landing/erp/stores/s.csv", "ObjectRemoved:Delete"),
    )

    result = handlers.ingest(event, None)

    assert [f["status"] for f in result["files"]] == ["skipped"] * 5
    assert "'_'" in result["files"][0]["reason"]
    assert handlers.ingest(S3_TEST_EVENT, None) == {"files": []}
    assert ledger(lake) == []
    assert rows(lake, "bronze.stores") == []


def test_a_scheduled_silver_build_after_an_ingest_builds_silver(lake: LakeTarget) -> None:
    handlers.ingest(s3_event(s3_record(*land(lake, "landing/erp/stores/s.csv", STORES))), None)

    result = handlers.scheduled(schedule_input("silver"), None)

    assert result["job"] == "silver"
    assert result["status"] == "succeeded", result
    assert result["rows_read"] == 2
    assert sorted(r["store_id"] for r in rows(lake, "silver.stores")) == ["s1", "s2"]
    assert [r["run_id"] for r in runs(lake, "silver")] == [result["run_id"]]
    # A second build finds nothing new.
    assert handlers.scheduled(schedule_input("silver"), None)["rows_read"] == 0


def test_a_job_carried_in_detail_runs(lake: LakeTarget) -> None:
    result = handlers.scheduled(scheduled_event({"job": "monitor"}), None)

    assert result["job"] == "monitor"
    assert [r["run_id"] for r in runs(lake, "monitor")] == [result["run_id"]]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (scheduled_event(), "names no job"),
        (schedule_input("bronze"), "unknown job 'bronze'"),
    ],
)
def test_a_schedule_naming_no_known_job_is_logged_with_its_hint_and_raised(
    lake: LakeTarget, caplog: pytest.LogCaptureFixture, event: dict, message: str
) -> None:
    with caplog.at_level(logging.ERROR, "lakehouse"), pytest.raises(ConfigError, match=message):
        handlers.scheduled(event, None)
    (record,) = caplog.records
    assert "scheduled job failed" in record.getMessage()
    assert "hint:" in record.getMessage()


def test_a_bad_setting_fails_the_ingest_with_its_hint(
    lake: LakeTarget, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LAKEHOUSE_SECRETS_TTL", "soon")
    event = s3_event(s3_record(*land(lake, "landing/erp/stores/s.csv", STORES)))
    with caplog.at_level(logging.ERROR, "lakehouse"), pytest.raises(ConfigError):
        handlers.ingest(event, None)
    assert "LAKEHOUSE_SECRETS_TTL" in caplog.text
    assert "hint:" in caplog.text


def test_the_logs_hold_summaries_never_rows(
    lake: LakeTarget, caplog: pytest.LogCaptureFixture
) -> None:
    event = s3_event(s3_record(*land(lake, "landing/erp/stores/s.csv", STORES)))
    with caplog.at_level(logging.DEBUG, "lakehouse"):
        handlers.ingest(event, None)
        handlers.scheduled(schedule_input("silver"), None)
        handlers.http(http_v2("GET", "/api/tables"), None)
    assert "'status': 'loaded'" in caplog.text
    assert "'job': 'silver'" in caplog.text
    assert "GET /api/tables -> 200" in caplog.text
    assert not [value for row in STORES for value in row[1:3] if value and value in caplog.text]


# -- API Gateway ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(moto_endpoint: str) -> Iterator[tuple[LakeTarget, str]]:
    """A lake with one ingest and one Silver build, reached through the environment; yields
    it and the Silver run's id."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        target = s3_lake(moto_endpoint)
        use_lake(monkeypatch, target)
        handlers.ingest(
            s3_event(s3_record(*land(target, "landing/erp/stores/s.csv", STORES))), None
        )
        yield target, handlers.scheduled(schedule_input("silver"), None)["run_id"]


@pytest.fixture
def api(built: tuple[LakeTarget, str], monkeypatch: pytest.MonkeyPatch) -> str:
    use_lake(monkeypatch, built[0])
    return built[1]


def test_runs_are_listed_newest_first_as_json(api: str) -> None:
    response = handlers.http(http_v2("GET", "/api/runs"), None)

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("application/json")
    assert [r["job"] for r in json_body(response)["runs"]] == ["silver", "ingest"]
    limited = handlers.http(http_v2("GET", "/api/runs", "limit=1&job=silver"), None)
    assert [r["run_id"] for r in json_body(limited)["runs"]] == [api]


def test_one_run_and_an_unknown_run(api: str) -> None:
    found = handlers.http(http_v2("GET", f"/api/runs/{api}"), None)
    assert found["statusCode"] == 200
    assert json_body(found)["run_id"] == api
    assert json_body(found)["dq_results"]

    missing = handlers.http(http_v2("GET", "/api/runs/silver-19990101-000000-none"), None)
    assert missing["statusCode"] == 404
    assert json_body(missing)["hint"] == "list runs with GET /api/runs"


def test_tables_list_the_lake(api: str) -> None:
    response = handlers.http(http_v2("GET", "/api/tables"), None)

    assert response["statusCode"] == 200
    tables = {t["table"]: t["rows"] for t in json_body(response)["tables"]}
    assert tables["bronze.stores"] == 2
    assert tables["silver.stores"] == 2


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (http_v2("GET", "/api/nothing-here"), 404),
        (http_v2("POST", "/api/runs", body=b'{"job": "silver"}'), 405),
        (http_v2("DELETE", "/api/tables"), 405),
        (http_v2("GET", "/api/runs", "limit=lots"), 400),
        (http_v2("GET", "/api/health", stage="prod"), 200),
        (rest_v1("GET", "/api/health"), 200),
        (rest_v1("GET", "/api/runs", {"limit": ["1", "50"]}), 200),
    ],
)
def test_status_codes(api: str, event: dict, status: int) -> None:
    response = handlers.http(event, None)
    assert response["statusCode"] == status, response["body"]
    assert "error" in json_body(response) or status == 200


def test_the_rest_payload_takes_the_first_of_repeated_query_values(api: str) -> None:
    response = handlers.http(rest_v1("GET", "/api/runs", {"limit": ["1", "50"]}), None)
    assert len(json_body(response)["runs"]) == 1


def test_api_requests_are_parsed_from_both_payload_versions() -> None:
    v2 = http_v2("POST", "/api/advisor", "a=1&a=2&b=", body=b'{"question": "why?"}', stage="p")
    assert handlers.api_request(v2) == (
        "POST",
        "/p/api/advisor",
        {"a": "1", "b": ""},
        b'{"question": "why?"}',
    )
    v1 = {**rest_v1("POST", "/api/advisor"), "body": '{"q": 1}'}
    assert handlers.api_request(v1) == ("POST", "/api/advisor", {}, b'{"q": 1}')
    encoded = {**v1, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    assert handlers.api_request(encoded)[3] == b"\x00\xff"


def test_the_advisor_explains_a_run_through_api_gateway(api: str) -> None:
    body = json.dumps({"run_id": api}).encode()
    response = handlers.http(http_v2("POST", "/api/advisor", body=body, stage="prod"), None)

    assert response["statusCode"] == 200, response["body"]
    answer = json_body(response)
    assert answer["run_id"] == api
    assert answer["requires_human_approval"] is True
    assert any(e["reference"].get("run_id") == api for e in answer["evidence"])
    metrics = handlers.http(http_v2("GET", "/api/advisor/metrics", "days=1"), None)
    assert metrics["statusCode"] == 200
