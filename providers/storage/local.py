"""Local folder backend: the embedded default (`./.lake`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse


class LocalStorage:
    """A lake in a local folder, addressed as a path or a file:// URL."""

    def __init__(self, root: str | Path) -> None:
        text = str(root)
        if text[:7].lower() == "file://":
            url = urlparse(text)
            if url.netloc not in ("", "localhost"):
                raise ValueError(
                    f"{text}: a file:// URL must name this machine, not {url.netloc!r}"
                )
            text = unquote(url.path)
        self.root = Path(text).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root_url = self.root.as_uri()

    def _path(self, path: str) -> Path:
        full = (self.root / path).resolve()
        if full != self.root and self.root not in full.parents:
            raise ValueError(f"path {path!r} leaves the lake root {self.root}")
        return full

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def read_bytes(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader or a crash never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def move(self, source: str, target: str) -> None:
        destination = self._path(target)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self._path(source), destination)

    def delete(self, path: str) -> None:
        self._path(path).unlink(missing_ok=True)

    def exists(self, path: str) -> bool:
        return self._path(path).exists()

    def local_path(self, path: str) -> str | None:
        return str(self._path(path))

    def lake_path_of(self, container: str, key: str) -> str | None:
        """A local lake has no containers: events name no object in it."""
        return None

    def delta_options(self) -> dict[str, str]:
        return {}

    def table_url(self, layer: str, name: str) -> str:
        return str(self.root / layer / name)
