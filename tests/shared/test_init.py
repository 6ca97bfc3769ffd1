"""The allocator setting the package makes before deltalake loads (`shared/__init__.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _jemalloc_options(env_value: str | None, *, extend: bool) -> str:
    """The options delta-rs's jemalloc started with, as it prints them at exit when
    `stats_print` is on, in a process that imports `shared.lake`."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if env_value is not None:
        env["_RJEM_MALLOC_CONF"] = env_value
    # The package's own value is extended after `import shared` and before deltalake loads.
    add = "os.environ['_RJEM_MALLOC_CONF'] += ',stats_print:true'; " if extend else ""
    code = f"import os, shared; {add}import shared.lake"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stderr


def test_delta_rs_gives_freed_memory_back_within_a_second():
    printed = _jemalloc_options(None, extend=True)
    assert "opt.dirty_decay_ms: 1000 " in printed
    assert "opt.muzzy_decay_ms: 0 " in printed


def test_a_setting_from_the_environment_wins():
    printed = _jemalloc_options("dirty_decay_ms:5000,stats_print:true", extend=False)
    assert "opt.dirty_decay_ms: 5000 " in printed
