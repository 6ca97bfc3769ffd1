"""The same small pipeline (generated files -> Bronze -> Silver -> Gold) run on local disk,
Azurite, moto's S3 and the GCS server gives the same tables everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest

from providers.storage import storage_for
from shared import jobs
from shared.generate import GenerateResult, generate
from shared.gold.models import load_models
from shared.lake import Lake
from shared.settings import Settings
from tests.servers.lakes import LakeTarget
from tests.shared.pinned import OPTIONS, VOLATILE

FEEDS = ("customers", "products", "stores", "orders", "order_lines")
BUILD_CLOCK = datetime(2026, 2, 1, 6, 0)
# A key for these tests only, passed the way a deployment passes it (environment).
PII = {"PII_HASH_KEY": "conformance-test-key"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GenerateResult:
    return generate(tmp_path_factory.mktemp("generated") / "landing", OPTIONS)


def tables() -> list[str]:
    gold = [f"gold.{model.name}" for model in load_models()]
    return [f"{layer}.{t}" for t in FEEDS for layer in ("silver", "quarantine")] + gold


def run_pipeline(target: LakeTarget, generated: GenerateResult) -> dict[str, list[str]]:
    """Upload the landing files, ingest them as blob drops, build Silver and Gold; return
    every table's rows (without run ids and wall-clock stamps) as sorted JSON texts."""
    settings = Settings.from_env({**target.environ, **PII}, lake_url=target.url)
    store = storage_for(target.url, settings.environ)
    for path in generated.files:
        relative = path.relative_to(generated.landing_dir).as_posix()
        store.write_bytes(f"landing/{relative}", path.read_bytes())

    ingested = jobs.ingest_landing(settings)
    assert {r.status for r in ingested} == {"loaded"}
    assert len(ingested) == len(generated.files)
    jobs.build_silver_job(settings, now=BUILD_CLOCK)
    gold = jobs.build_gold_job(settings, now=BUILD_CLOCK)
    assert gold.status == "succeeded", gold
    # Rebuilt past a retention of 0 hours, Gold keeps on the store only the files it uses.
    eager = settings.with_(vacuum_retention_hours=0)
    assert jobs.build_gold_job(eager, now=BUILD_CLOCK, full_refresh=True).status == "succeeded"

    lake = Lake(store)
    for table in tables():
        if table.startswith("gold."):
            stored = store.list(table.replace(".", "/") + "/")
            names = {p.rsplit("/", 1)[-1] for p in stored if p.endswith(".parquet")}
            used = {u.rsplit("/", 1)[-1] for u in lake.delta(table).file_uris()}
            assert names == used, f"{table} keeps unused files on {target.backend}"
    contents = {}
    for table in tables():
        data = lake.read(table)
        assert data is not None, f"{table} missing on {target.backend}"
        contents[table] = sorted(
            json.dumps(
                {k: v for k, v in row.items() if k not in VOLATILE}, default=str, sort_keys=True
            )
            for row in data.to_pylist()
        )
    return contents


@pytest.fixture(scope="module")
def on_local_disk(
    generated: GenerateResult, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, list[str]]]:
    lake = tmp_path_factory.mktemp("reference") / "lake"
    yield run_pipeline(LakeTarget("local", str(lake)), generated)


@pytest.mark.slow
def test_every_backend_builds_the_same_tables(
    target: LakeTarget, generated: GenerateResult, on_local_disk: dict[str, list[str]]
) -> None:
    contents = run_pipeline(target, generated)

    assert contents.keys() == on_local_disk.keys()
    for table, expected in on_local_disk.items():
        assert contents[table] == expected, f"{table} differs on {target.backend}"
    # The comparison has substance: every layer holds rows.
    assert all(on_local_disk[f"silver.{t}"] for t in FEEDS)
    assert all(on_local_disk[t] for t in tables() if t.startswith("gold."))
