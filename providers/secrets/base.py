"""The secrets interface: look a secret up by name; never log or echo its value."""

from __future__ import annotations

from typing import Protocol


class Secrets(Protocol):
    """A secret store."""

    description: str
    """Where secrets come from, for error messages (never a value)."""

    def get(self, name: str) -> str:
        """The secret's value; raises SecretNotFoundError naming the secret and the store."""
        ...
