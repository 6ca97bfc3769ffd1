"""Storage providers: one interface, one module per backend, a factory from the lake URL."""

from __future__ import annotations

from collections.abc import Mapping

from providers.storage.base import Storage
from providers.storage.local import LocalStorage
from shared.errors import ConfigError

__all__ = ["LocalStorage", "Storage", "storage_for"]

SCHEMES = {
    "file": "local",
    "s3": "s3",
    "s3a": "s3",
    "abfss": "azure",
    "abfs": "azure",
    "az": "azure",
    "azure": "azure",
    "gs": "gcs",
    "gcs": "gcs",
}


def storage_for(lake_url: str, environ: Mapping[str, str] | None = None) -> Storage:
    """The backend for a lake URL: a folder or file://, s3://, abfss:// or az://, gs://.
    Cloud SDKs are imported only when their backend is asked for."""
    env = environ or {}
    scheme = lake_url.split("://", 1)[0].lower() if "://" in lake_url else "file"
    backend = SCHEMES.get(scheme)
    if backend == "local":
        return LocalStorage(lake_url)
    if backend == "s3":
        from providers.storage.s3 import S3Storage

        return S3Storage(lake_url, env)
    if backend == "azure":
        from providers.storage.azure import AzureStorage

        return AzureStorage(lake_url, env)
    if backend == "gcs":
        from providers.storage.gcs import GcsStorage

        return GcsStorage(lake_url, env)
    raise ConfigError(
        f"lake URL scheme {scheme!r} is not supported: {lake_url}",
        hint="set LAKEHOUSE_LAKE (or --lake) to a folder, file://, s3://, abfss://, az:// "
        "or gs:// URL",
    )
