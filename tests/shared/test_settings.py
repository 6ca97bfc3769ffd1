"""Settings from the environment: the secrets fields."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from shared.settings import Settings


def test_secrets_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.secrets_backend == "env"
    assert settings.secrets_prefix == ""
    assert settings.secrets_ttl == 300.0
    assert settings.keyvault_url is None
    assert settings.gcp_project is None


def test_secrets_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "LAKEHOUSE_SECRETS": "keyvault",
            "LAKEHOUSE_SECRETS_PREFIX": "lakehouse-",
            "LAKEHOUSE_SECRETS_TTL": "12.5",
            "LAKEHOUSE_KEYVAULT_URL": "https://v.vault.azure.net/",
            "LAKEHOUSE_GCP_PROJECT": "retail-prod",
            "GOOGLE_CLOUD_PROJECT": "ambient",
        }
    )
    assert settings.secrets_backend == "keyvault"
    assert settings.secrets_prefix == "lakehouse-"
    assert settings.secrets_ttl == 12.5
    assert settings.keyvault_url == "https://v.vault.azure.net/"
    assert settings.gcp_project == "retail-prod"


def test_the_gcp_project_falls_back_to_google_cloud_project() -> None:
    assert Settings.from_env({"GOOGLE_CLOUD_PROJECT": "ambient"}).gcp_project == "ambient"


@pytest.mark.parametrize("ttl", ["", "0", "3600"])
def test_a_valid_ttl(ttl: str) -> None:
    expected = float(ttl) if ttl else 300.0
    assert Settings.from_env({"LAKEHOUSE_SECRETS_TTL": ttl}).secrets_ttl == expected


@pytest.mark.parametrize("ttl", ["-1", "five minutes", "nan"])
def test_an_invalid_ttl_names_the_setting(ttl: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LAKEHOUSE_SECRETS_TTL": ttl})
    assert info.value.message == (
        f"LAKEHOUSE_SECRETS_TTL must be a number of seconds, 0 or more: {ttl!r}"
    )
