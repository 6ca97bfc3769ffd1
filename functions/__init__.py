"""Thin trigger handlers (Azure blueprints; AWS and GCP entry points) over `shared.jobs`.

`BLUEPRINTS` lists what `function_app.py` registers. The blob, timer and HTTP triggers
are not written yet: see the function-app issue.
"""

import azure.functions as func

BLUEPRINTS: list[func.Blueprint] = []
