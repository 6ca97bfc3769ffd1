"""Settings for one invocation, built from the app settings (the process environment)."""

from __future__ import annotations

import os

from shared.settings import Settings


def current() -> Settings:
    return Settings.from_env(os.environ)
