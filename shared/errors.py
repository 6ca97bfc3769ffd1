"""One root error type for the platform, split by whether a retry can help.

Every message says what happened and what to do next; the CLI prints it as one line
plus the hint, and the function handlers map `TransientError` to a retry.
"""

from __future__ import annotations


class LakehouseError(Exception):
    """Root of every error the platform raises on purpose."""

    transient = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class TransientError(LakehouseError):
    """A retry may succeed: a commit conflict, a throttled or unreachable service."""

    transient = True


class TerminalError(LakehouseError):
    """A retry will not help until someone changes the input, the contract or a setting."""


class ContractError(TerminalError):
    """A data contract file is malformed; the message names the file and the key."""


class ConfigError(TerminalError):
    """A setting is missing or wrong; the message names the setting."""


class SecretNotFoundError(TerminalError):
    """A secret is missing from the configured store (the message never holds a value)."""


class FileRejectedError(TerminalError):
    """A landing file cannot be loaded whole; it is rejected with this reason."""
