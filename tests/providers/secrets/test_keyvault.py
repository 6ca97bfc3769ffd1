"""Azure Key Vault through the real SecretClient; only the socket is replaced, by a stub
mounted in azure-core's requests transport (Key Vault has no local server)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CredentialUnavailableError

from providers.secrets import secrets_for
from providers.secrets.keyvault import KeyVaultSecrets
from shared.errors import ConfigError, SecretNotFoundError, TransientError
from shared.settings import Settings
from tests.providers.secrets.keyvault_stub import VAULT_URL, KeyVaultStub, StaticCredential
from tests.servers.ports import HOST, free_port

VALUE = "s3cr3t-value-never-shown"


def vault(stub: KeyVaultStub, **options) -> KeyVaultSecrets:
    """A store on the stub, with no backoff so retries take no time."""
    sdk_options = {"transport": stub.transport(), "retry_backoff_factor": 0}
    sdk_options.update(options.pop("sdk_options", {}))
    return KeyVaultSecrets(
        VAULT_URL, credential=StaticCredential(), sdk_options=sdk_options, **options
    )


def test_reads_the_latest_version_after_the_authentication_challenge() -> None:
    stub = KeyVaultStub(secrets={"pii-hash-key": VALUE})
    credential = StaticCredential()
    store = KeyVaultSecrets(
        VAULT_URL, credential=credential, sdk_options={"transport": stub.transport()}
    )
    assert store.get("pii-hash-key") == VALUE
    assert [r.url.split("?")[0] for r in stub.requests] == [f"{VAULT_URL}secrets/pii-hash-key/"] * 2
    assert "Authorization" not in stub.requests[0].headers  # the challenge round trip
    assert credential.scopes == [("https://vault.azure.net/.default",)]
    assert store.description == f"Azure Key Vault {VAULT_URL}"


def test_the_prefix_is_part_of_the_secret_name() -> None:
    stub = KeyVaultStub(secrets={"lakehouse-pii-hash-key": VALUE})
    assert vault(stub, prefix="lakehouse-").get("pii-hash-key") == VALUE
    assert stub.requests[-1].url.startswith(f"{VAULT_URL}secrets/lakehouse-pii-hash-key/")


def test_the_cache_spares_the_vault_within_the_ttl() -> None:
    now = [0.0]
    stub = KeyVaultStub(secrets={"k": VALUE})
    store = vault(stub, ttl=300, clock=lambda: now[0])
    store.get("k")
    now[0] = 299.0
    store.get("k")
    assert stub.secret_reads == 1
    now[0] = 300.0
    store.get("k")
    assert stub.secret_reads == 2


def test_a_missing_secret_names_the_secret_and_the_vault() -> None:
    with pytest.raises(SecretNotFoundError) as info:
        vault(KeyVaultStub()).get("pii-hash-key")
    error = info.value
    assert error.message == f"secret 'pii-hash-key' not found in Azure Key Vault {VAULT_URL}"
    assert "LAKEHOUSE_KEYVAULT_URL" in error.hint
    assert "LAKEHOUSE_SECRETS_PREFIX" in error.hint


def test_forbidden_names_the_identity_and_the_role_to_grant() -> None:
    stub = KeyVaultStub(secrets={"pii-hash-key": VALUE}, denied={"pii-hash-key"})
    with pytest.raises(ConfigError) as info:
        vault(stub).get("pii-hash-key")
    error = info.value
    assert error.message.startswith(
        f"access to secret 'pii-hash-key' in Azure Key Vault {VAULT_URL} denied: (Forbidden) "
        "Caller is not authorized to perform action on resource.; Caller: appid="
    )
    assert "DefaultAzureCredential" in error.hint
    assert "AZURE_CLIENT_ID" in error.hint
    assert "'Key Vault Secrets User' role" in error.hint


def test_no_identity_names_the_identity_settings() -> None:
    class NoIdentity:
        def get_token(self, *scopes: str, **kwargs: object):
            raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token")

    store = KeyVaultSecrets(
        VAULT_URL,
        credential=NoIdentity(),
        sdk_options={"transport": KeyVaultStub().transport()},
    )
    with pytest.raises(ConfigError) as info:
        store.get("pii-hash-key")
    assert info.value.message == (
        f"cannot authenticate to Azure Key Vault {VAULT_URL}: "
        "DefaultAzureCredential failed to retrieve a token"
    )
    assert isinstance(info.value.__cause__, ClientAuthenticationError)
    assert "managed identity" in info.value.hint


def test_a_throttled_or_failing_vault_is_retried_by_the_sdk() -> None:
    stub = KeyVaultStub(secrets={"k": VALUE}, fail_first=2)
    assert vault(stub).get("k") == VALUE
    assert stub.secret_reads == 3


def test_when_the_sdk_retries_run_out_the_error_is_transient() -> None:
    stub = KeyVaultStub(secrets={"k": VALUE}, fail_first=10)
    with pytest.raises(TransientError, match=r"failed reading secret 'k' after retries \(HTTP 503"):
        vault(stub, sdk_options={"retry_total": 2}).get("k")
    assert stub.secret_reads == 3


def test_an_unreachable_vault_names_the_url_setting() -> None:
    url = f"https://{HOST}:{free_port()}/"
    store = KeyVaultSecrets(url, credential=StaticCredential(), sdk_options={"retry_total": 0})
    with pytest.raises(TransientError) as info:
        store.get("pii-hash-key")
    assert info.value.message.startswith(
        f"Azure Key Vault {url} is unreachable while reading secret 'pii-hash-key'"
    )
    assert "check LAKEHOUSE_KEYVAULT_URL" in info.value.hint


@pytest.mark.parametrize("url", [None, "", "http://lakehouse.vault.azure.net/", "vault-name"])
def test_a_missing_or_non_https_url_is_a_setting_error(url) -> None:
    with pytest.raises(ConfigError) as info:
        KeyVaultSecrets(url)
    assert "LAKEHOUSE_KEYVAULT_URL" in str(info.value)


def test_the_factory_builds_it_from_settings() -> None:
    settings = Settings.from_env(
        {
            "LAKEHOUSE_SECRETS": "keyvault",
            "LAKEHOUSE_KEYVAULT_URL": VAULT_URL,
            "LAKEHOUSE_SECRETS_PREFIX": "lakehouse-",
            "LAKEHOUSE_SECRETS_TTL": "60",
        }
    )
    store = secrets_for(settings)
    assert isinstance(store, KeyVaultSecrets)
    assert (store.vault_url, store.prefix, store.ttl) == (VAULT_URL, "lakehouse-", 60.0)
