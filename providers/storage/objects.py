"""The file verbs of the storage interface over an object store (S3, Azure Blob, GCS).

Each backend implements a few primitives on (container, key) pairs; paths, layers, listing
and moves are worked out here once, so every cloud behaves the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from providers.storage.layout import LAYERS, Layout


class ObjectStorage(ABC):
    """A lake in an object store; paths are relative to the lake root."""

    def __init__(self, layout: Layout, *, host: str = "") -> None:
        self.layout = layout
        self._host = host
        self.root_url = layout.root_url(host=host)

    # -- what each backend implements -------------------------------------------------
    @abstractmethod
    def _keys(self, container: str, prefix: str) -> list[str]:
        """Every object key in `container` starting with `prefix` (not folder markers)."""

    @abstractmethod
    def _get(self, container: str, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""

    @abstractmethod
    def _put(self, container: str, key: str, data: bytes) -> None:
        """Create or replace the object in one request (readers see old or new, never half)."""

    @abstractmethod
    def _remove(self, container: str, key: str) -> None:
        """Delete the object; no error when it is already gone."""

    @abstractmethod
    def _has(self, container: str, key: str) -> bool: ...

    @abstractmethod
    def _copy(self, container: str, key: str, target_container: str, target_key: str) -> None:
        """Server-side copy."""

    def _rename(self, container: str, key: str, target_container: str, target_key: str) -> bool:
        """An atomic rename where the store has one (ADLS with a hierarchical namespace);
        False when it has none, and the move copies then deletes."""
        return False

    # -- the Storage interface ----------------------------------------------------------
    def list(self, prefix: str) -> list[str]:
        if self.layout.per_layer and not prefix.strip("/"):
            return sorted(path for layer in LAYERS for path in self.list(layer))
        container, key = self.layout.locate(prefix)
        layer = prefix.strip("/").split("/", 1)[0]
        keys = self._keys(container, f"{key}/" if key else "")
        if not keys and key and self._has(container, key):
            keys = [key]
        return sorted(self.layout.lake_path(container, k, layer) for k in keys)

    def read_bytes(self, path: str) -> bytes:
        return self._get(*self.layout.locate(path))

    def write_bytes(self, path: str, data: bytes) -> None:
        self._put(*self.layout.locate(path), data)

    def move(self, source: str, target: str) -> None:
        src = self.layout.locate(source)
        dst = self.layout.locate(target)
        if self._rename(*src, *dst):
            return
        # Copy first: a crash between the two steps leaves the file twice, never nowhere.
        self._copy(*src, *dst)
        self._remove(*src)

    def delete(self, path: str) -> None:
        self._remove(*self.layout.locate(path))

    def exists(self, path: str) -> bool:
        return self._has(*self.layout.locate(path))

    def local_path(self, path: str) -> str | None:
        return None

    def lake_path_of(self, container: str, key: str) -> str | None:
        return self.layout.path_of(container, key)

    def table_url(self, layer: str, name: str) -> str:
        return self.layout.url(f"{layer}/{name}", host=self._host)

    @abstractmethod
    def delta_options(self) -> dict[str, str]: ...
