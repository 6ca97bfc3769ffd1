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
