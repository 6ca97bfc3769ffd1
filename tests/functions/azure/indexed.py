"""The Azure app's functions, indexed once per process (as the host does; indexing twice
raises on the repeated names)."""

from __future__ import annotations

from functools import cache
from typing import Any

import function_app


@cache
def functions() -> dict[str, Any]:
    return {f.get_function_name(): f for f in function_app.app.get_functions()}
