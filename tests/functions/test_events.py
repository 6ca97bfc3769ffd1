"""What the AWS and GCP handlers share: objects named by events become landing paths or are
skipped with a reason, each object of an event is tried before a failure is raised, a
schedule's payload names its job, and platform errors are logged with their hint."""

from __future__ import annotations

import logging

import pytest

from functions import events
from shared.errors import ConfigError, TransientError
from shared.settings import Settings

S3 = Settings.from_env({}, lake_url="s3://acme-lake/retail")
GCS = Settings.from_env({}, lake_url="gs://acme-{layer}")


@pytest.mark.parametrize(
    ("settings", "container", "key", "path"),
    [
        (S3, "acme-lake", "retail/landing/pos/orders/x.csv", "landing/pos/orders/x.csv"),
        (GCS, "acme-landing", "pos/orders/a b.csv", "landing/pos/orders/a b.csv"),
        (GCS, "acme-landing", "pos/x.csv", "landing/pos/x.csv"),
    ],
)
def test_landing_objects_map_to_lake_paths(
    settings: Settings, container: str, key: str, path: str
) -> None:
    assert events.landing_path(settings, container, key) == (path, "")


@pytest.mark.parametrize(
    ("settings", "container", "key", "reason"),
    [
        (S3, "acme-lake", "retail/landing/_rejected/pos/x.csv", "starting with '_'"),
        (S3, "acme-lake", "retail/landing/pos/.x.csv.tmp", "starting with '_' or '.'"),
        (S3, "acme-lake", "retail/landing/pos/", "folder marker"),
        (S3, "acme-lake", "retail/bronze/orders/part-0.parquet", "not in the landing zone"),
        (S3, "acme-lake", "retail/landing", "not in the landing zone"),
        (S3, "acme-lake", "other/landing/pos/x.csv", "outside the lake s3://acme-lake/retail"),
        (S3, "other-lake", "retail/landing/pos/x.csv", "outside the lake"),
        (GCS, "acme-ops", "runs/_delta_log/0.json", "not in the landing zone"),
        (GCS, "acme-landing", "_rejected/pos/x.csv", "starting with '_'"),
        (GCS, "other-landing", "pos/x.csv", "outside the lake"),
    ],
)
def test_other_objects_are_skipped_with_a_reason(
    settings: Settings, container: str, key: str, reason: str
) -> None:
    path, why = events.landing_path(settings, container, key)
    assert path is None
    assert reason in why


def test_every_object_is_tried_before_the_first_failure_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried = []

    def ingest_blob(settings: Settings, path: str) -> dict:
        tried.append(path)
        if path.endswith(("a.csv", "c.csv")):
            raise TransientError(f"throttled on {path}")
        return {"file": path, "status": "loaded"}

    monkeypatch.setattr("shared.triggers.ingest_blob", ingest_blob)
    keys = ["retail/landing/p/a.csv", "retail/landing/p/b.csv", "retail/landing/p/c.csv"]
    with pytest.raises(TransientError, match=r"a\.csv"):
        events.ingest_objects(S3, [("acme-lake", key) for key in keys])
    assert tried == ["landing/p/a.csv", "landing/p/b.csv", "landing/p/c.csv"]


def test_a_configuration_error_stops_at_the_first_object(monkeypatch: pytest.MonkeyPatch) -> None:
    tried = []

    def ingest_blob(settings: Settings, path: str) -> dict:
        tried.append(path)
        raise ConfigError("no contracts", hint="set LAKEHOUSE_CONTRACTS")

    monkeypatch.setattr("shared.triggers.ingest_blob", ingest_blob)
    objects = [("acme-lake", "retail/landing/p/a.csv"), ("acme-lake", "retail/landing/p/b.csv")]
    with pytest.raises(ConfigError):
        events.ingest_objects(S3, objects)
    assert tried == ["landing/p/a.csv"]


@pytest.mark.parametrize(
    "payload",
    [
        {"job": "silver"},
        {"detail-type": "Scheduled Event", "detail": {"job": "silver"}},
        {"job": "", "detail": {"job": "silver"}},
    ],
)
def test_the_job_comes_from_the_input_or_the_detail(payload: object) -> None:
    assert events.job_of(payload) == "silver"


@pytest.mark.parametrize("payload", [None, {}, {"detail": {}}, {"job": 3}, ["silver"], "silver"])
def test_a_payload_naming_no_job_is_a_config_error(payload: object) -> None:
    with pytest.raises(ConfigError, match="names no job") as raised:
        events.job_of(payload)
    assert '{"job": "silver"}' in (raised.value.hint or "")


def test_platform_errors_are_logged_with_their_hint_and_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.ERROR, "lakehouse"),
        pytest.raises(ConfigError),
        events.reported("ingest"),
    ):
        raise ConfigError("lake bucket missing", hint="set LAKEHOUSE_LAKE")
    assert caplog.messages == ["ingest failed: lake bucket missing (hint: set LAKEHOUSE_LAKE)"]


def test_other_errors_are_left_to_the_platform_to_log(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.DEBUG, "lakehouse"),
        pytest.raises(KeyError),
        events.reported("ingest"),
    ):
        raise KeyError("Records")
    assert caplog.messages == []


def test_an_error_summary_is_its_type_and_first_line() -> None:
    assert events.error_summary(ValueError("bad value\nrow 7: alice@example.com")) == (
        "ValueError: bad value"
    )
    assert events.error_summary(ValueError()) == "ValueError"
