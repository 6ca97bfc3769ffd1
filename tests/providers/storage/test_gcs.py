"""The GCS backend on fake-gcs-server behind the XML-API proxy: Delta tables through
`delta_options()`, the create-if-absent precondition commits rely on, and the errors."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyarrow as pa
import pytest
import requests
from deltalake import DeltaTable, QueryBuilder, write_deltalake
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from providers.storage import storage_for
from providers.storage.gcs import GcsStorage
from shared.errors import ConfigError
from tests.servers import lakes
from tests.servers.ports import free_port


@pytest.fixture
def store(gcs_endpoint: str) -> GcsStorage:
    target = lakes.gcs_lake(gcs_endpoint)
    backend = storage_for(target.url, target.environ)
    assert isinstance(backend, GcsStorage)
    return backend


def rows(url: str, options: dict[str, str], sql: str = "SELECT * FROM t ORDER BY id") -> list:
    # delta-rs's own engine reads the files: the same object_store path the pipeline uses.
    table = DeltaTable(url, storage_options=options)
    return pa.table(QueryBuilder().register("t", table).execute(sql).read_all()).to_pylist()


# -- Delta tables through delta_options() ---------------------------------------------------
def test_delta_append_read_and_merge_on_gs(store: GcsStorage) -> None:
    url, options = store.table_url("silver", "customers"), store.delta_options()
    assert url.startswith("gs://") and url.endswith("-silver/customers")
    write_deltalake(url, pa.table({"id": [1, 2], "v": ["a", "b"]}), storage_options=options)
    write_deltalake(url, pa.table({"id": [3], "v": ["c"]}), mode="append", storage_options=options)
    assert rows(url, options) == [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "c"}]

    metrics = (
        DeltaTable(url, storage_options=options)
        .merge(pa.table({"id": [2, 4], "v": ["B", "d"]}), "t.id = s.id", "s", "t")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    assert (metrics["num_target_rows_updated"], metrics["num_target_rows_inserted"]) == (1, 1)
    assert [r["v"] for r in rows(url, options)] == ["a", "B", "c", "d"]
    assert DeltaTable(url, storage_options=options).version() == 2
    # The log entries are plain objects the storage interface sees too.
    assert "silver/customers/_delta_log/00000000000000000002.json" in store.list("silver")


def test_concurrent_appends_lose_no_commit(store: GcsStorage) -> None:
    url, options = store.table_url("bronze", "orders"), store.delta_options()
    write_deltalake(url, pa.table({"id": [0]}), storage_options=options)
    writers = 4
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def append(i: int) -> None:
        start.wait()
        try:
            write_deltalake(url, pa.table({"id": [i]}), mode="append", storage_options=options)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(1, writers + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [r["id"] for r in rows(url, options)] == list(range(writers + 1))
    assert DeltaTable(url, storage_options=options).version() == writers


def test_delta_options_reach_the_emulator_without_a_credential(store: GcsStorage) -> None:
    options = store.delta_options()
    account = json.loads(options["google_service_account_key"])
    assert account["gcs_base_url"] == store.emulator
    assert account["disable_oauth"] is True
    assert account["private_key"] == ""


def test_delta_options_on_gcp_leave_adc_to_object_store() -> None:
    assert GcsStorage("gs://lake", {}).delta_options() == {}
    environ = {"GOOGLE_APPLICATION_CREDENTIALS": "/secrets/sa.json"}
    assert GcsStorage("gcs://lake/retail", environ).delta_options() == {
        "google_application_credentials": "/secrets/sa.json"
    }
    assert GcsStorage("gcs://lake/retail", environ).root_url == "gs://lake/retail"


# -- the XML API the proxy adds to fake-gcs-server --------------------------------------------
def call(
    endpoint: str, method: str, target: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One raw request; header names in `headers` use `_` for `-`; answers with the status,
    the headers (names lower-cased) and the body."""
    parsed = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        sent = {k.replace("_", "-"): v for k, v in headers.items()}
        conn.request(method, target, body=body, headers=sent)
        response = conn.getresponse()
        answer = {k.lower(): v for k, v in response.getheaders()}
        return response.status, answer, response.read()
    finally:
        conn.close()


def object_path(bucket: str, key: str) -> str:
    # Path style with the whole key percent-encoded, as object_store sends it.
    return f"/{bucket}/{quote(key, safe='')}"


def race(attempts: int, action: Callable[[int], int]) -> list[int]:
    """Run `action(i)` on `attempts` threads released at once; their status codes, sorted."""
    start = threading.Barrier(attempts)
    statuses: list[int] = []

    def run(i: int) -> None:
        start.wait()
        statuses.append(action(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_racing_creates_of_one_log_entry_have_exactly_one_winner(
    gcs_endpoint: str, store: GcsStorage
) -> None:
    # What a Delta commit is on GCS: create the next log entry only if it does not exist.
    bucket, key = store.layout.locate("bronze/orders/_delta_log/00000000000000000001.json")

    def create(name: str, writer: int) -> int:
        body = f"writer {writer}".encode()
        path = object_path(bucket, name)
        return call(gcs_endpoint, "PUT", path, body, x_goog_if_generation_match="0")[0]

    for round_ in range(3):
        statuses = race(8, lambda i, name=f"{key}.{round_}": create(name, i))
        assert statuses == [200] + [412] * 7
    assert create(key, 0) == 200
    assert create(key, 1) == 412
    status, headers, body = call(gcs_endpoint, "GET", object_path(bucket, key))
    assert (status, body) == (200, b"writer 0")

    # A replace conditioned on the current generation wins once; the others are stale.
    generation = headers["x-goog-generation"]

    def replace(writer: int) -> int:
        path = object_path(bucket, key)
        return call(gcs_endpoint, "PUT", path, b"next", x_goog_if_generation_match=generation)[0]

    assert race(4, replace) == [200, 412, 412, 412]


def test_put_copy_and_conditional_reads_answer_what_object_store_reads(
    gcs_endpoint: str, store: GcsStorage
) -> None:
    bucket, key = store.layout.locate("gold/t/a")
    source, target = object_path(bucket, key), object_path(bucket, f"{key}.copy")
    status, headers, _ = call(gcs_endpoint, "PUT", source, b"aaa")
    assert status == 200 and headers["etag"] and headers["x-goog-generation"]

    copy = {"x_goog_copy_source": source.lstrip("/")}
    assert call(gcs_endpoint, "PUT", target, **copy)[0] == 200
    assert call(gcs_endpoint, "PUT", target, **copy, x_goog_if_generation_match="0")[0] == 412
    status, read, body = call(gcs_endpoint, "GET", target)
    assert (status, body) == (200, b"aaa")
    assert read["etag"] == headers["etag"]  # the PUT's ETag is the one reads show

    assert call(gcs_endpoint, "GET", source, If_None_Match=headers["etag"])[0] == 304
    assert call(gcs_endpoint, "GET", source, If_Match='"other"')[0] == 412


def test_listing_starts_after_the_given_key(gcs_endpoint: str, store: GcsStorage) -> None:
    for name in ("0.json", "1.json", "2.json"):
        store.write_bytes(f"gold/t/_delta_log/{name}", b"{}")
    bucket, folder = store.layout.locate("gold/t/_delta_log")
    prefix = f"{folder}/"
    query = f"list-type=2&prefix={quote(prefix)}&start-after={quote(prefix + '0.json')}"
    status, _, listing = call(gcs_endpoint, "GET", f"/{bucket}?{query}")
    keys = [part.split("</Key>")[0] for part in listing.decode().split("<Key>")[1:]]
    assert (status, keys) == (200, [f"{prefix}1.json", f"{prefix}2.json"])
    assert call(gcs_endpoint, "GET", "/no-such-bucket-here?list-type=2")[0] == 404


def test_multipart_upload_assembles_its_parts(gcs_endpoint: str, store: GcsStorage) -> None:
    path = object_path(*store.layout.locate("gold/big/part-0.parquet"))
    status, _, answer = call(gcs_endpoint, "POST", f"{path}?uploads=")
    upload_id = answer.decode().split("<UploadId>")[1].split("</UploadId>")[0]
    # Parts may arrive in any order; the completion lists the order.
    for number, part in ((2, b"world"), (1, b"hello ")):
        target = f"{path}?partNumber={number}&uploadId={upload_id}"
        status, headers, _ = call(gcs_endpoint, "PUT", target, part)
        assert status == 200 and headers["etag"]
    done = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>"
    )
    status, _, answer = call(gcs_endpoint, "POST", f"{path}?uploadId={upload_id}", done.encode())
    assert status == 200 and b"<ETag>" in answer
    assert store.read_bytes("gold/big/part-0.parquet") == b"hello world"


# -- errors that name the setting to fix ------------------------------------------------------
def test_a_missing_bucket_names_the_lake_setting(gcs_endpoint: str) -> None:
    store = storage_for("gs://no-such-bucket-here/lake", lakes.gcs_environ(gcs_endpoint))
    for action in (
        lambda: store.list("landing"),
        lambda: store.write_bytes("landing/x.csv", b"x"),
        lambda: store.read_bytes("landing/x.csv"),
    ):
        with pytest.raises(ConfigError) as caught:
            action()
        assert "no-such-bucket-here" in str(caught.value)
        assert "LAKEHOUSE_LAKE" in str(caught.value)


def test_a_missing_object_is_file_not_found(store: GcsStorage) -> None:
    with pytest.raises(FileNotFoundError):
        store.read_bytes("landing/none.csv")


def test_an_unreachable_emulator_names_storage_emulator_host() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    # The SDK's own policy, with a deadline short enough for a test.
    store = GcsStorage(
        "gs://lake", {"STORAGE_EMULATOR_HOST": endpoint}, retry=DEFAULT_RETRY.with_timeout(0.5)
    )
    with pytest.raises(ConfigError) as caught:
        store.list("landing")
    assert endpoint in str(caught.value)
    assert "STORAGE_EMULATOR_HOST" in str(caught.value)


class Denied(requests.adapters.BaseAdapter):
    """A transport answering every request as GCS does to an identity without the role."""

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        response = requests.Response()
        response.status_code = 403
        response.headers["Content-Type"] = "application/json"
        message = "fn@acme.iam.gserviceaccount.com does not have storage.objects.get access"
        response._content = json.dumps({"error": {"code": 403, "message": message}}).encode()
        response.request, response.url = request, request.url or ""
        return response

    def close(self) -> None:
        pass


def test_a_denied_request_names_the_identity_to_fix() -> None:
    # The SDK's own session type, with a transport that denies: the real client code path.
    session = AuthorizedSession(AnonymousCredentials())
    session.mount("https://", Denied())
    client = storage.Client(project="p", credentials=AnonymousCredentials(), _http=session)
    store = GcsStorage("gs://lake", {}, client=client)
    with pytest.raises(ConfigError) as caught:
        store.read_bytes("landing/x.csv")
    message = str(caught.value)
    assert "denied" in message and "403" in message
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message and "service account" in message


def test_missing_credentials_name_google_application_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ADC reads the variable from the process environment, as on a deployed function.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError) as caught:
        GcsStorage("gs://lake", {}).list("landing")
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(caught.value)
