"""Azure Functions entry point (Python v2 programming model).

Azure requires this file at the root. It only creates the app and registers the
blueprints from `functions/azure/`.
"""

import azure.functions as func

from functions.azure import BLUEPRINTS

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
