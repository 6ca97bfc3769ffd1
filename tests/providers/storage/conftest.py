"""`target`: a fresh lake on each backend (parametrised), on the real local servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import lakes


@pytest.fixture(params=lakes.BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> lakes.LakeTarget:
    backend = request.param
    if backend == "local":
        return lakes.local_lake(tmp_path)
    if backend == "azure":
        return lakes.azure_lake(request.getfixturevalue("azurite_connection"))
    if backend == "s3":
        return lakes.s3_lake(request.getfixturevalue("moto_endpoint"))
    return lakes.gcs_lake(request.getfixturevalue("gcs_endpoint"))
