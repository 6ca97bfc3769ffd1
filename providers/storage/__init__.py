"""Storage providers: one interface, one module per backend, a factory from the lake URL."""

from __future__ import annotations

from collections.abc import Mapping

from providers.storage.base import Storage
from providers.storage.local import LocalStorage
from shared.errors import ConfigError

__all__ = ["LocalStorage", "Storage", "storage_for"]


def storage_for(lake_url: str, environ: Mapping[str, str] | None = None) -> Storage:
    """The backend for a lake URL: a folder or file:// URL (cloud schemes come with their
    providers)."""
    scheme = lake_url.split("://", 1)[0].lower() if "://" in lake_url else "file"
    if scheme == "file":
        return LocalStorage(lake_url)
    raise ConfigError(
        f"lake URL scheme {scheme!r} is not supported yet: {lake_url}",
        hint="set LAKEHOUSE_LAKE (or --lake) to a local folder or a file:// URL",
    )
