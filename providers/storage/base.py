"""The storage interface: what the pipeline needs of files under the lake root.

Paths are relative to the lake root and use forward slashes (`landing/pos/orders/x.csv`).
Delta tables are not read through this interface: `delta_options()` hands delta-rs what it
needs to reach them itself.
"""

from __future__ import annotations

from typing import Protocol


class Storage(Protocol):
    """Files under one lake root, on one backend."""

    root_url: str
    """The lake root as delta-rs and DuckDB address it (file:///..., s3://..., abfss://...)."""

    def list(self, prefix: str) -> list[str]:
        """Relative paths of every file below `prefix`, sorted."""
        ...

    def read_bytes(self, path: str) -> bytes: ...

    def write_bytes(self, path: str, data: bytes) -> None:
        """Create or overwrite `path` atomically (readers never see half a file)."""
        ...

    def move(self, source: str, target: str) -> None: ...

    def delete(self, path: str) -> None: ...

    def exists(self, path: str) -> bool: ...

    def local_path(self, path: str) -> str | None:
        """A filesystem path for `path` when the backend is a local folder, else None."""
        ...

    def lake_path_of(self, container: str, key: str) -> str | None:
        """The lake path of an object named by container (bucket) and key, as a storage
        event names it; None when it lies outside this lake."""
        ...

    def delta_options(self) -> dict[str, str]:
        """delta-rs `storage_options` for tables under this root."""
        ...

    def table_url(self, layer: str, name: str) -> str:
        """URL of the Delta table `<layer>.<name>` (`<root>/<layer>/<name>`)."""
        ...
