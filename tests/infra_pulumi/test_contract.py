"""The infrastructure's view of the function app matches the app's own modules, and every
config key the programs read is in the example stacks' vocabulary and the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from infra_pulumi import contract
from infra_pulumi.config import ConfigError, load_artifact
from providers import secrets
from providers.storage import layout
from shared import settings

REPO = Path(__file__).resolve().parents[2]
CLOUDS = ("azure", "aws", "gcp")


def test_layers_match_the_storage_layout() -> None:
    assert contract.LAYERS == layout.LAYERS
    assert tuple(layout.container_for_layer(x) for x in layout.LAYERS) == contract.CONTAINERS


def test_setting_names_match_the_app() -> None:
    assert contract.LAKE == settings.ENV_LAKE
    assert contract.SECRETS == settings.ENV_SECRETS
    assert contract.DUCKDB_MEMORY == settings.ENV_DUCKDB_MEMORY
    assert contract.DUCKDB_TEMP == settings.ENV_DUCKDB_TEMP
    assert contract.KEYVAULT_URL == settings.ENV_KEYVAULT_URL
    assert contract.SECRETS_PREFIX == settings.ENV_SECRETS_PREFIX
    assert contract.GCP_PROJECT == settings.ENV_GCP_PROJECT
    assert contract.SECRET_BACKENDS == secrets.BACKENDS


def config_keys_read(cloud: str) -> set[str]:
    """Keys the program reads: `config.get*("name")` calls in its config modules."""
    sources = [REPO / "infra_pulumi" / "config.py", REPO / "infra_pulumi" / cloud / "config.py"]
    found = set()
    for source in sources:
        found |= set(re.findall(r'config\.get\w*\(\s*"(\w+)"', source.read_text()))
        found |= {f"{job}Schedule" for job in contract.JOBS}
    return found


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stacks_use_only_known_keys(cloud: str, stack: str) -> None:
    path = REPO / "infra_pulumi" / cloud / f"Pulumi.{stack}.yaml"
    keys = yaml.safe_load(path.read_text())["config"]
    own = {k.split(":", 1)[1] for k in keys if k.startswith(f"lakehouse-{cloud}:")}
    assert own <= config_keys_read(cloud), own - config_keys_read(cloud)
    project = yaml.safe_load((path.parent / "Pulumi.yaml").read_text())
    assert project["name"] == f"lakehouse-{cloud}"
    assert project["runtime"]["options"]["virtualenv"] == "../../.venv"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_readme_documents_every_config_key(cloud: str) -> None:
    readme = (REPO / "README.md").read_text()
    missing = [key for key in sorted(config_keys_read(cloud)) if f"`{key}`" not in readme]
    assert missing == []


def test_missing_artefacts_say_to_run_make_package(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="make package"):
        load_artifact(tmp_path, "azure")
