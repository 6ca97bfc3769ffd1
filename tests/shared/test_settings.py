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


def test_llm_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.llm_backend == "offline"
    assert settings.llm_model is None and settings.llm_deployment is None
    assert settings.azure_openai_endpoint is None and settings.llm_base_url is None
    assert (settings.llm_timeout, settings.llm_retries, settings.llm_token_budget) == (30, 2, 6000)
    assert settings.llm_api_version == "2024-10-21"
    assert settings.llm_prices["gpt-4o-mini"] == (0.15, 0.60)


def test_llm_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "LAKEHOUSE_LLM": "Azure-OpenAI",
            "LAKEHOUSE_LLM_MODEL": "gpt-4o",
            "LAKEHOUSE_LLM_DEPLOYMENT": "advisor",
            "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com/",
            "LAKEHOUSE_LLM_BASE_URL": "http://127.0.0.1:8000/v1",
            "LAKEHOUSE_LLM_API_VERSION": "2025-01-01-preview",
            "LAKEHOUSE_LLM_TIMEOUT": "12.5",
            "LAKEHOUSE_LLM_RETRIES": "0",
            "LAKEHOUSE_LLM_TOKEN_BUDGET": "3000",
            "LAKEHOUSE_LLM_PRICES": '{"my-model": [1, 2], "gpt-4o": {"input": 2, "output": 8}}',
        }
    )
    assert settings.llm_backend == "azure-openai"
    assert (settings.llm_model, settings.llm_deployment) == ("gpt-4o", "advisor")
    assert settings.azure_openai_endpoint == "https://r.openai.azure.com/"
    assert settings.llm_base_url == "http://127.0.0.1:8000/v1"
    assert settings.llm_api_version == "2025-01-01-preview"
    assert (settings.llm_timeout, settings.llm_retries, settings.llm_token_budget) == (
        12.5,
        0,
        3000,
    )
    assert settings.llm_prices["my-model"] == (1.0, 2.0)
    assert settings.llm_prices["gpt-4o"] == (2.0, 8.0)
    assert settings.llm_prices["gpt-4o-mini"] == (0.15, 0.60)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LAKEHOUSE_LLM_RETRIES", "two"),
        ("LAKEHOUSE_LLM_TOKEN_BUDGET", "-1"),
        ("LAKEHOUSE_LLM_TIMEOUT", "soon"),
        ("LAKEHOUSE_LLM_PRICES", "cheap"),
        ("LAKEHOUSE_LLM_PRICES", '{"m": [1]}'),
        ("LAKEHOUSE_LLM_PRICES", '{"m": {"input": -1, "output": 1}}'),
    ],
)
def test_bad_llm_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    assert name in str(caught.value)


def test_silver_chunk_rows_default_to_the_memory_limit_and_must_be_a_count() -> None:
    assert Settings.from_env({}).silver_chunk_rows == 0  # sized to DuckDB's memory limit
    assert Settings.from_env({"LAKEHOUSE_SILVER_CHUNK_ROWS": "250000"}).silver_chunk_rows == 250_000
    with pytest.raises(ConfigError, match="LAKEHOUSE_SILVER_CHUNK_ROWS"):
        Settings.from_env({"LAKEHOUSE_SILVER_CHUNK_ROWS": "lots"})


def test_the_vacuum_retention_is_whole_hours_and_reaches_the_lake(tmp_path) -> None:
    from shared.jobs import Platform

    assert Settings.from_env({}).vacuum_retention_hours == 7 * 24
    settings = Settings.from_env(
        {"LAKEHOUSE_VACUUM_RETENTION_HOURS": "24"}, lake_url=str(tmp_path / "lake")
    )
    assert Platform(settings).lake.retention_hours == 24
    with pytest.raises(ConfigError, match="LAKEHOUSE_VACUUM_RETENTION_HOURS"):
        Settings.from_env({"LAKEHOUSE_VACUUM_RETENTION_HOURS": "a week"})
