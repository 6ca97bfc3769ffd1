"""Shared fixtures: a lake in a temporary folder, the shipped contracts, a DuckDB
connection, helpers that write small landing files, and real local servers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from providers.storage import LocalStorage
from shared.contracts import ContractSet, load_contracts
from shared.engine import connect
from shared.ingest import LandingFile, ingest_files
from shared.lake import Lake
from shared.settings import PACKAGE_ROOT, Settings
from shared.silver.build import SilverResult, build_silver

PII_KEY = b"test-key-not-a-secret"
COLUMNS = {
    "customers": "customer_id,first_name,last_name,email,phone,city,country,loyalty_tier,"
    "signup_date,updated_at",
    "products": "product_id,product_name,category,unit_cost,unit_price,updated_at",
    "stores": "store_id,store_name,city,country,channel",
    "orders": "order_id,customer_id,store_id,order_ts,status,updated_at",
    "order_lines": "order_id,line_no,product_id,quantity,unit_price,discount_pct",
}


@pytest.fixture(scope="session")
def contracts() -> ContractSet:
    return load_contracts(PACKAGE_ROOT / "contracts")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, lake_url=str(tmp_path / "lake"), secrets_dir=tmp_path / "secrets")


@pytest.fixture
def lake(settings: Settings) -> Lake:
    return Lake(LocalStorage(settings.lake_url))


@pytest.fixture
def con(settings: Settings):
    connection = connect(settings)
    yield connection
    connection.close()


def csv_text(table: str, rows: list[str] | list[list[str]]) -> str:
    """A CSV file body with the table's landing header; rows as lines or field lists."""
    out = io.StringIO()
    out.write(COLUMNS[table] + "\n")
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if isinstance(row, str):
            out.write(row + "\n")
        else:
            writer.writerow(row)
    return out.getvalue()


@pytest.fixture
def land(lake: Lake) -> Callable[..., LandingFile]:
    """Write a landing file into the lake's landing folder and return it."""

    def write(table: str, name: str, rows: list[str] | list[list[str]], source: str = "src"):
        path = f"landing/{source}/{table}/{name}"
        lake.storage.write_bytes(path, csv_text(table, rows).encode("utf-8"))
        return LandingFile(path, lake.storage.local_path(path), path)

    return write


@pytest.fixture
def deliver(lake: Lake, contracts: ContractSet, con) -> Callable[..., SilverResult]:
    """Ingest the given landing files, then build Silver (optionally at a given clock)."""

    def run(*files: LandingFile, now: datetime | None = None, replay: bool = False):
        results = ingest_files(lake, contracts, con, list(files))
        assert all(r.status != "rejected" for r in results), [r.reason for r in results]
        return build_silver(lake, contracts, con, PII_KEY, now=now, replay=replay)

    return run


# -- real local servers for the cloud backends (started once, only when a test asks) --------
@pytest.fixture(scope="session")
def azurite_connection(tmp_path_factory: pytest.TempPathFactory):
    from tests.servers.azurite import azurite

    with azurite(tmp_path_factory.mktemp("azurite")) as connection:
        yield connection


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory):
    """A moto server (S3, Secrets Manager) for the session; credentials to use with it are
    in `tests.servers.moto.CREDENTIALS` (moto checks none)."""
    from tests.servers.moto import moto_server

    with moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def gcs_endpoint(tmp_path_factory: pytest.TempPathFactory):
    """fake-gcs-server behind the XML-API proxy (tests/servers/gcs_proxy.py)."""
    from tests.servers.gcs import fake_gcs

    with fake_gcs(tmp_path_factory.mktemp("gcs")) as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "azure", "s3", "gcs"])
def target(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty lake on each backend in turn (a folder, Azurite, moto S3, GCS)."""
    from tests.servers import lakes

    backend = request.param
    if backend == "local":
        return lakes.local_lake(tmp_path)
    if backend == "azure":
        return lakes.azure_lake(request.getfixturevalue("azurite_connection"))
    if backend == "s3":
        return lakes.s3_lake(request.getfixturevalue("moto_endpoint"))
    return lakes.gcs_lake(request.getfixturevalue("gcs_endpoint"))
