"""Thin trigger handlers, one package per cloud, over the same core (`shared.triggers`,
`shared.api`): `azure` (blueprints that `function_app.py` registers), `aws` (Lambda
handlers), `gcp` (Cloud Functions). Nothing here imports a heavy library at import time."""
