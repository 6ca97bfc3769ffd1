"""Where a lake path lives in an object store: which container (bucket) and which key.

A lake URL names one container and an optional prefix (`s3://acme-lake/retail`): every
layer is a folder under it. The container part may instead hold the `{layer}` placeholder
(`abfss://{layer}@acct.dfs.core.windows.net/`, `gs://acme-{layer}`), giving each layer a
container of its own, so a blob trigger or an event filter can watch `landing` alone and
access can be granted per layer. Lake layers starting with `_` (`_ops`, `_reports`) map to
containers without it (`ops`, `reports`), since container names cannot start with `_`.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import ConfigError

PLACEHOLDER = "{layer}"
LAYERS = ("landing", "bronze", "silver", "gold", "quarantine", "_ops", "_reports")


def container_for_layer(layer: str) -> str:
    """`_ops` -> `ops`, `landing` -> `landing`."""
    return layer.lstrip("_").replace("_", "-").lower()


@dataclass(frozen=True)
class Layout:
    """A parsed object-store lake URL: `<scheme>://<container>[/<prefix>]`."""

    scheme: str
    container: str
    """The container or bucket, or a template holding `{layer}`."""
    prefix: str = ""
    """Folder inside the container under which the layers live ('' for the top)."""

    @classmethod
    def parse(cls, scheme: str, container: str, prefix: str, url: str, setting: str) -> Layout:
        if not container:
            raise ConfigError(
                f"lake URL {url!r} names no container or bucket", hint=f"set {setting}"
            )
        if "{" in container.replace(PLACEHOLDER, "") or "}" in container.replace(PLACEHOLDER, ""):
            raise ConfigError(
                f"lake URL {url!r}: the only placeholder allowed is {PLACEHOLDER}",
                hint=f"fix {setting}",
            )
        return cls(scheme, container, prefix.strip("/"))

    @property
    def per_layer(self) -> bool:
        return PLACEHOLDER in self.container

    def container_of(self, layer: str) -> str:
        return self.container.replace(PLACEHOLDER, container_for_layer(layer))

    def locate(self, path: str) -> tuple[str, str]:
        """Container and key of a lake path (`landing/pos/x.csv`)."""
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"path {path!r} may not contain '.' or '..'")
        if self.per_layer:
            if not parts:
                raise ValueError("a lake with a container per layer has no single root path")
            return self.container_of(parts[0]), self._key(parts[1:])
        return self.container, self._key(parts)

    def lake_path(self, container: str, key: str, layer: str | None) -> str:
        """The lake path of an object found by listing (inverse of `locate`)."""
        relative = key[len(self.prefix) + 1 :] if self.prefix else key
        return f"{layer}/{relative}" if self.per_layer and layer is not None else relative

    def path_of(self, container: str, key: str) -> str | None:
        """The lake path of an object named by its container and key (as an event names
        it), or None when the object lies outside this lake."""
        key = key.strip("/")
        if self.per_layer:
            layers = [layer for layer in LAYERS if self.container_of(layer) == container]
            if not layers:
                return None
            inside = self._inside(key)
            return None if inside is None else f"{layers[0]}/{inside}".rstrip("/")
        if container != self.container:
            return None
        return self._inside(key)

    def _inside(self, key: str) -> str | None:
        if not self.prefix:
            return key
        return key[len(self.prefix) + 1 :] if key.startswith(self.prefix + "/") else None

    def _key(self, parts: list[str]) -> str:
        return "/".join([self.prefix, *parts] if self.prefix else parts)

    def url(self, path: str, *, host: str = "") -> str:
        """The URL delta-rs uses for a lake path; `host` follows the container (`@acct...`)."""
        container, key = self.locate(path)
        return f"{self.scheme}://{container}{host}/{key}".rstrip("/")

    def root_url(self, *, host: str = "") -> str:
        base = f"{self.scheme}://{self.container}{host}"
        return f"{base}/{self.prefix}" if self.prefix else base
