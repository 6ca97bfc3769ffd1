"""Azure Functions (Python v2 model): the blueprints `function_app.py` registers."""

import azure.functions as func

from functions.azure import blobs, http, timers

BLUEPRINTS: list[func.Blueprint] = [blobs.bp, timers.bp, http.bp]
