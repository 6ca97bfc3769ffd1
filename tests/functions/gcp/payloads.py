"""Events shaped as GCP sends them: Eventarc's CloudEvent for a finalized GCS object (the
`StorageObjectData` payload) and Cloud Scheduler's HTTP call."""

from __future__ import annotations

from typing import Any

from cloudevents.http import CloudEvent

FINALIZED = "google.cloud.storage.object.v1.finalized"
PROJECT = "test"


def object_data(bucket: str, name: str) -> dict[str, Any]:
    return {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/1769925600000000",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{name}",
        "name": name,
        "bucket": bucket,
        "generation": "1769925600000000",
        "metageneration": "1",
        "contentType": "text/csv",
        "timeCreated": "2026-02-01T06:00:00.000Z",
        "updated": "2026-02-01T06:00:00.000Z",
        "storageClass": "STANDARD",
        "timeStorageClassUpdated": "2026-02-01T06:00:00.000Z",
        "size": "1024",
        "md5Hash": "1B2M2Y8AsgTpgAmY7PhCfg==",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{name}",
        "crc32c": "AAAAAA==",
        "etag": "CIDe8YXd7okDEAE=",
    }


def attributes(bucket: str, name: str, event_type: str = FINALIZED) -> dict[str, str]:
    return {
        "specversion": "1.0",
        "id": "9876543210123456",
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "type": event_type,
        "subject": f"objects/{name}",
        "time": "2026-02-01T06:00:00.000Z",
        "datacontenttype": "application/json",
    }


def storage_event(bucket: str, name: str, event_type: str = FINALIZED) -> CloudEvent:
    return CloudEvent(attributes(bucket, name, event_type), object_data(bucket, name))


def scheduler_headers() -> dict[str, str]:
    """Cloud Scheduler's HTTP target: a POST with the job's body and the headers it adds (the
    infrastructure sets Content-Type; without it Scheduler sends application/octet-stream)."""
    return {
        "User-Agent": "Google-Cloud-Scheduler",
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": "lakehouse-silver",
        "X-CloudScheduler-ScheduleTime": "2026-02-01T06:00:00.000Z",
    }
