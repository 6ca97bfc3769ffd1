"""Secrets tests see only the SDK variables they set: the developer's own AWS, Azure or
Google configuration must not change what a test reads or which identity it uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SDK_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "LAKEHOUSE_", "IDENTITY_")


@pytest.fixture(autouse=True)
def isolated_sdk_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(SDK_PREFIXES) or name in ("MSI_ENDPOINT", "MSI_SECRET"):
            monkeypatch.delenv(name)
    missing = tmp_path / "no-such-sdk-config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(missing))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
