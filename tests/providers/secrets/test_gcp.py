"""GCP Secret Manager through the real client's REST transport, against a stub of the
service's REST API on 127.0.0.1 (Secret Manager has no local emulator)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api_core import retry as api_retry
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.exceptions import RefreshError

from providers.secrets import secrets_for
from providers.secrets.gcp import GcpSecrets
from shared.errors import ConfigError, SecretNotFoundError, TransientError
from shared.settings import Settings
from tests.providers.secrets.gcp_stub import PROJECT, SecretManagerStub, secret_manager_stub
from tests.servers.ports import HOST, free_port

VALUE = "s3cr3t-value-never-shown"
FAST_RETRY = api_retry.Retry(
    predicate=api_retry.if_transient_error, initial=0.01, maximum=0.02, timeout=1.0
)


@pytest.fixture
def stub() -> Iterator[SecretManagerStub]:
    with secret_manager_stub(secrets={"pii-hash-key": VALUE}, denied={"denied-key"}) as running:
        yield running


def store_on(stub: SecretManagerStub, **options) -> GcpSecrets:
    options.setdefault("credentials", AnonymousCredentials())
    options.setdefault("retry", FAST_RETRY)
    return GcpSecrets(PROJECT, client_options={"api_endpoint": stub.url}, **options)


def test_reads_the_latest_version(stub: SecretManagerStub) -> None:
    store = store_on(stub)
    assert store.get("pii-hash-key") == VALUE
    assert stub.paths[0].split("?")[0] == (
        f"/v1/projects/{PROJECT}/secrets/pii-hash-key/versions/latest:access"
    )
    assert store.description == f"GCP Secret Manager (project {PROJECT}, endpoint {stub.url})"


def test_the_prefix_is_part_of_the_secret_id(stub: SecretManagerStub) -> None:
    stub.secrets["lakehouse_pii-hash-key"] = "prefixed"
    assert store_on(stub, prefix="lakehouse_").get("pii-hash-key") == "prefixed"
    assert "/secrets/lakehouse_pii-hash-key/" in stub.paths[0]


def test_the_cache_spares_the_service_within_the_ttl(stub: SecretManagerStub) -> None:
    now = [0.0]
    store = store_on(stub, ttl=10, clock=lambda: now[0])
    store.get("pii-hash-key")
    now[0] = 9.9
    store.get("pii-hash-key")
    assert stub.reads == 1
    now[0] = 10.0
    store.get("pii-hash-key")
    assert stub.reads == 2


def test_a_missing_secret_names_the_secret_and_the_project(stub: SecretManagerStub) -> None:
    with pytest.raises(SecretNotFoundError) as info:
        store_on(stub).get("other-key")
    error = info.value
    assert error.message == (
        f"secret 'other-key' (or an enabled version of it) not found in GCP Secret Manager "
        f"(project {PROJECT}, endpoint {stub.url})"
    )
    assert "LAKEHOUSE_GCP_PROJECT" in error.hint


def test_permission_denied_names_the_identity_and_the_role(stub: SecretManagerStub) -> None:
    with pytest.raises(ConfigError) as info:
        store_on(stub).get("denied-key")
    error = info.value
    assert error.message == (
        f"access to secret 'denied-key' in GCP Secret Manager (project {PROJECT}, endpoint "
        f"{stub.url}) denied: Permission 'secretmanager.versions.access' denied for resource "
        f"'projects/{PROJECT}/secrets/denied-key/versions/latest' (or it may not exist)."
    )
    assert "Application Default Credentials" in error.hint
    assert "roles/secretmanager.secretAccessor" in error.hint


def test_refused_credentials_name_the_identity(stub: SecretManagerStub) -> None:
    class Revoked(Credentials):
        def refresh(self, request) -> None:
            raise RefreshError("invalid_grant: Token has been expired or revoked.")

    with pytest.raises(ConfigError) as info:
        store_on(stub, credentials=Revoked()).get("pii-hash-key")
    assert "cannot authenticate to GCP Secret Manager" in info.value.message
    assert "invalid_grant" in info.value.message
    assert "GOOGLE_APPLICATION_CREDENTIALS" in info.value.hint


def test_an_unavailable_service_is_retried_by_the_default_policy(stub: SecretManagerStub):
    stub.fail_first = 1
    store = GcpSecrets(
        PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": stub.url}
    )
    assert store.get("pii-hash-key") == VALUE
    assert stub.reads == 2


def test_an_unreachable_service_is_transient_after_the_retries() -> None:
    url = f"http://{HOST}:{free_port()}"
    store = GcpSecrets(
        PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": url},
        retry=api_retry.Retry(
            predicate=api_retry.if_transient_error, initial=0.01, maximum=0.02, timeout=0.3
        ),
    )
    with pytest.raises(TransientError) as info:
        store.get("pii-hash-key")
    assert info.value.message.startswith(
        f"GCP Secret Manager (project {PROJECT}, endpoint {url}) is unreachable or failing "
        "while reading secret 'pii-hash-key'"
    )
    assert "Connection refused" in info.value.message


@pytest.mark.parametrize(
    ("environ", "project"),
    [
        ({"LAKEHOUSE_GCP_PROJECT": "chosen", "GOOGLE_CLOUD_PROJECT": "ambient"}, "chosen"),
        ({"GOOGLE_CLOUD_PROJECT": "ambient"}, "ambient"),
    ],
)
def test_the_factory_takes_the_project_from_settings(environ, project) -> None:
    settings = Settings.from_env({"LAKEHOUSE_SECRETS": "gcp", **environ})
    store = secrets_for(settings)
    assert isinstance(store, GcpSecrets)
    assert store.project == project


def test_no_project_names_the_settings() -> None:
    with pytest.raises(ConfigError) as info:
        secrets_for(Settings.from_env({"LAKEHOUSE_SECRETS": "gcp"}))
    assert "LAKEHOUSE_GCP_PROJECT" in info.value.hint
    assert "GOOGLE_CLOUD_PROJECT" in info.value.hint
