"""Fixtures: each cloud's program run once per stack example, on stand-in artefacts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra_pulumi.harness import Deployment, fake_artifacts, run_program, stack_config


@pytest.fixture(scope="session")
def artifact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_artifacts(tmp_path_factory.mktemp("dist"))


def deploy(cloud: str, stack: str, artifact_dir: Path, **extra: str) -> Deployment:
    config = stack_config(cloud, stack) | {f"lakehouse-{cloud}:artifactDir": str(artifact_dir)}
    return run_program(cloud, config | extra, stack=stack)


@pytest.fixture(scope="session")
def azure_dev(artifact_dir: Path) -> Deployment:
    return deploy("azure", "dev", artifact_dir)


@pytest.fixture(scope="session")
def azure_prod(artifact_dir: Path) -> Deployment:
    return deploy("azure", "prod", artifact_dir)


@pytest.fixture(scope="session")
def aws_dev(artifact_dir: Path) -> Deployment:
    return deploy("aws", "dev", artifact_dir)


@pytest.fixture(scope="session")
def aws_prod(artifact_dir: Path) -> Deployment:
    return deploy("aws", "prod", artifact_dir)


@pytest.fixture(scope="session")
def gcp_dev(artifact_dir: Path) -> Deployment:
    return deploy("gcp", "dev", artifact_dir)


@pytest.fixture(scope="session")
def gcp_prod(artifact_dir: Path) -> Deployment:
    return deploy("gcp", "prod", artifact_dir)


STACKS = ["azure_dev", "azure_prod", "aws_dev", "aws_prod", "gcp_dev", "gcp_prod"]


@pytest.fixture(params=STACKS)
def any_stack(request: pytest.FixtureRequest) -> Deployment:
    """Each cloud's program on each example stack."""
    return request.getfixturevalue(request.param)
