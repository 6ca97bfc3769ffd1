"""The secrets interface, and the base every cloud store builds on.

`CachedSecrets` holds what the cloud stores share (the name prefix, a TTL cache, and turning
SDK exceptions into platform errors), like the parameter providers of AWS Lambda Powertools:
a backend implements only `_get` (one SDK call) and `_error` (its SDK's exceptions).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from shared.errors import LakehouseError, SecretNotFoundError

DEFAULT_TTL = 300.0


class Secrets(Protocol):
    """A secret store."""

    description: str
    """Where secrets come from, for error messages (never a value)."""

    def get(self, name: str) -> str:
        """The secret's value; raises SecretNotFoundError naming the secret and the store."""
        ...


@dataclass(frozen=True)
class _Cached:
    value: str = field(repr=False)
    expires: float


class CachedSecrets(ABC):
    """A cloud secret store: `get` prefixes the name, serves a cached value younger than
    `ttl` seconds, and otherwise calls `_get`; SDK exceptions leave as `LakehouseError`s
    from `_error`. Values are never logged, put in a message or shown by `repr`."""

    def __init__(
        self,
        *,
        prefix: str = "",
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.prefix = prefix
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        # Guards the cache dict only; two threads missing at once may both ask the store,
        # which is harmless and keeps the lock off the network call.
        self._lock = threading.Lock()

    @property
    @abstractmethod
    def description(self) -> str:
        """The store and where it is (vault URL, region, project), for messages."""

    @abstractmethod
    def _get(self, name: str) -> str:
        """The value of the (already prefixed) secret, straight from the store."""

    @abstractmethod
    def _error(self, name: str, error: Exception) -> LakehouseError | None:
        """The platform error for an SDK exception raised by `_get` (None: not one of ours,
        let it propagate)."""

    def get(self, name: str) -> str:
        key = self.prefix + name
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now < cached.expires:
            return cached.value
        try:
            value = self._get(key)
        except LakehouseError:
            raise
        except Exception as error:
            mapped = self._error(key, error)
            if mapped is None:
                raise
            # Chained for --debug tracebacks: SDK errors describe the request, never a value.
            raise mapped from error
        if not value:
            raise SecretNotFoundError(
                f"secret {key!r} in {self.description} is empty",
                hint=f"store a value in secret {key!r}",
            )
        if self.ttl > 0:
            with self._lock:
                self._cache[key] = _Cached(value, now + self.ttl)
        return value

    def clear_cache(self) -> None:
        """Forget every cached value (the next `get` of each asks the store)."""
        with self._lock:
            self._cache.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description}, prefix={self.prefix!r}, ttl={self.ttl})"
