"""Jobs: the one call an entry point (CLI, function handler) makes into the core.

Each job wires settings to providers (storage, secrets), loads the contracts, opens a
DuckDB connection and runs one pipeline step. Entry points stay a few lines.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

from providers.secrets import EnvSecrets, Secrets, secrets_for
from providers.storage import storage_for
from shared import lease
from shared.contracts import ContractSet, load_contracts
from shared.engine import connect
from shared.errors import SecretNotFoundError
from shared.gold.build import GoldResult, build_gold
from shared.ingest import IngestResult, discover, ingest_files, landing_files
from shared.lake import Lake
from shared.ops import utcnow
from shared.settings import Settings
from shared.silver.build import SilverResult, TableResult, build_silver

PII_KEY_SECRET = "pii-hash-key"
# Longer than a function may run (host.json: 10 minutes), so a live build keeps its lease;
# a dead one blocks the next for at most this long.
LEASE_TTL = timedelta(minutes=15)
log = logging.getLogger("lakehouse")


@dataclass
class Platform:
    """Settings resolved into the lake, contracts and secrets a job needs."""

    settings: Settings

    @cached_property
    def lake(self) -> Lake:
        return Lake(
            storage_for(self.settings.lake_url, self.settings.environ),
            retention_hours=self.settings.vacuum_retention_hours,
        )

    @cached_property
    def contracts(self) -> ContractSet:
        return load_contracts(self.settings.contracts_dir)

    @property
    def secrets_dir(self) -> Path:
        if self.settings.secrets_dir is not None:
            return self.settings.secrets_dir
        root = self.lake.storage.local_path("")
        return Path(root).parent / ".secrets" if root else Path(".secrets")

    @cached_property
    def secrets(self) -> Secrets:
        """The configured secret store, shared by every job of this process with the same
        settings, so a warm function instance reuses its cached values within their TTL."""
        # Only the env backend has a local folder; a cloud store must not need the lake.
        if self.settings.secrets_backend == "env":
            return secrets_for(self.settings, self.secrets_dir)  # reads the environment it has
        return _secret_store(self.settings)

    def pii_key(self) -> bytes:
        """The PII hashing key from the secrets provider. For a local lake with the env
        backend a key is generated once into the secrets folder (never committed)."""
        store = self.secrets
        try:
            return store.get(PII_KEY_SECRET).encode("utf-8")
        except SecretNotFoundError:
            # A cloud store or a cloud lake must hold the real key: never invent one there.
            if not isinstance(store, EnvSecrets) or self.lake.storage.local_path("") is None:
                raise
            path = store.create_local(PII_KEY_SECRET)
            log.warning(
                "generated a local PII hashing key at %s; keep it: hashes change without it",
                path,
            )
            return store.get(PII_KEY_SECRET).encode("utf-8")


def ingest_paths(
    settings: Settings,
    paths: list[str],
    *,
    table: str | None = None,
    progress: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest local files or folders (default: every file in the lake's landing zone)."""
    platform = Platform(settings)
    lake = platform.lake
    files = discover(paths, lake) if paths else landing_files(lake)
    con = connect(settings)
    return ingest_files(lake, platform.contracts, con, files, table=table, progress=progress)


def ingest_landing(
    settings: Settings,
    names: list[str] | None = None,
    *,
    progress: Callable[[IngestResult], None] | None = None,
    platform: Platform | None = None,
) -> list[IngestResult]:
    """Ingest files already in the lake's landing zone (a blob drop), by their lake paths
    (`landing/pos/orders/x.csv`) or all of them; on any backend. A caller that goes on to
    use the lake passes its `platform`, so the storage client and identity are set up once."""
    platform = platform or Platform(settings)
    lake = platform.lake
    files = landing_files(lake, names)
    con = connect(settings)
    return ingest_files(lake, platform.contracts, con, files, progress=progress)


def build_silver_job(
    settings: Settings,
    *,
    now: datetime | None = None,
    tables: list[str] | None = None,
    replay: bool = False,
    progress: Callable[[TableResult], None] | None = None,
) -> SilverResult:
    """Build Silver from the Bronze batches not yet processed. Only one Silver build runs
    at a time: a second one started meanwhile finds the lease taken and does nothing."""
    platform = Platform(settings)
    with _leased(platform.lake, "silver", now) as holder:
        if holder is not None:
            return SilverResult(holder.run_id, "skipped", [], note=_held_note("Silver", holder))
        con = connect(settings, now=now)
        return build_silver(
            platform.lake,
            platform.contracts,
            con,
            platform.pii_key(),
            now=now,
            tables=tables,
            replay=replay,
            chunk_rows=settings.silver_chunk_rows,
            progress=progress,
        )


def build_gold_job(
    settings: Settings,
    *,
    now: datetime | None = None,
    full_refresh: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> GoldResult:
    """Build Gold from Silver, unless the latest Silver run failed a critical check; one
    Gold build at a time, like Silver."""
    platform = Platform(settings)
    with _leased(platform.lake, "gold", now) as holder:
        if holder is not None:
            return GoldResult(holder.run_id, "skipped", note=_held_note("Gold", holder))
        con = connect(settings, now=now)
        return build_gold(platform.lake, con, now=now, full_refresh=full_refresh, progress=progress)


@contextmanager
def _leased(lake: Lake, job: str, now: datetime | None) -> Iterator[lease.Holder | None]:
    """Hold the job's lease for the block; yields who holds it instead, if someone does."""
    instance = f"{job}-{secrets.token_hex(4)}"
    holder = lease.take(lake, job, instance, now or utcnow(), LEASE_TTL)
    if holder is not None:
        yield holder
        return
    try:
        yield None
    finally:
        lease.give_back(lake, job, instance, now or utcnow())


def _held_note(what: str, holder: lease.Holder) -> str:
    return (
        f"another {what} build ({holder.run_id}) is running until {holder.expires_at:%H:%M:%S} "
        "UTC; nothing to do"
    )


_STORES: dict[tuple[object, ...], Secrets] = {}
# What picks a cloud store and reaches it: the settings, and the SDKs' own variables.
_SDK_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "IDENTITY_", "MSI_")


def _secret_store(settings: Settings) -> Secrets:
    key = (
        settings.secrets_backend,
        settings.secrets_prefix,
        settings.secrets_ttl,
        settings.keyvault_url,
        settings.gcp_project,
        tuple(sorted((k, v) for k, v in settings.environ.items() if k.startswith(_SDK_PREFIXES))),
    )
    if key not in _STORES:
        _STORES[key] = secrets_for(settings, None)
    return _STORES[key]
