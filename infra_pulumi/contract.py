"""What the function app expects from its host, in one place: setting names, lake layers,
handlers and jobs. The Pulumi programs build app settings from these names and the tests check
them against the app's own modules, so a rename on either side fails a test, not a deployment.
"""

from __future__ import annotations

from typing import Final

LAYERS: Final = ("landing", "bronze", "silver", "gold", "quarantine", "_ops", "_reports")
"""Lake layers (folders under the lake root), as `providers.storage.layout` names them."""


def container_for_layer(layer: str) -> str:
    """Container or bucket suffix of a layer: `_ops` -> `ops` (names cannot start with `_`)."""
    return layer.lstrip("_").replace("_", "-").lower()


CONTAINERS: Final = tuple(container_for_layer(layer) for layer in LAYERS)
LANDING: Final = "landing"
LAYER_PLACEHOLDER: Final = "{layer}"

# App settings the function app reads (shared/settings.py and the providers).
LAKE: Final = "LAKEHOUSE_LAKE"
SECRETS: Final = "LAKEHOUSE_SECRETS"
KEYVAULT_URL: Final = "LAKEHOUSE_KEYVAULT_URL"
SECRETS_PREFIX: Final = "LAKEHOUSE_SECRETS_PREFIX"
GCP_PROJECT: Final = "LAKEHOUSE_GCP_PROJECT"
DUCKDB_MEMORY: Final = "LAKEHOUSE_DUCKDB_MEMORY"
DUCKDB_TEMP: Final = "LAKEHOUSE_DUCKDB_TEMP"
LLM: Final = "LAKEHOUSE_LLM"
LLM_MODEL: Final = "LAKEHOUSE_LLM_MODEL"
LLM_DEPLOYMENT: Final = "LAKEHOUSE_LLM_DEPLOYMENT"
LLM_BASE_URL: Final = "LAKEHOUSE_LLM_BASE_URL"
AZURE_OPENAI_ENDPOINT: Final = "AZURE_OPENAI_ENDPOINT"

LLM_PROVIDERS: Final = ("offline", "openai", "azure-openai", "compatible")
SECRET_BACKENDS: Final = ("env", "keyvault", "aws", "gcp")

PII_HASH_KEY: Final = "pii-hash-key"
"""The one secret today: the HMAC key for PII columns. Losing or changing it changes every
hash, so deduplication and joins across runs break: it is generated once and protected."""

JOBS: Final = ("silver", "gold", "monitor", "reconcile")
SCHEDULE_SETTINGS: Final = {job: f"{job.upper()}_SCHEDULE" for job in JOBS}
"""Azure reads each timer's NCRONTAB expression from these app settings (`%SILVER_SCHEDULE%`)."""
DEFAULT_SCHEDULES: Final = {
    "silver": "0 */15 * * * *",
    "gold": "0 30 5 * * *",
    "monitor": "0 0 * * * *",
    "reconcile": "0 */30 * * * *",
}

HANDLERS: Final = ("ingest", "scheduled", "http")
AWS_HANDLERS: Final = {name: f"functions.aws.handlers.{name}" for name in HANDLERS}
GCP_SOURCE: Final = "functions/gcp/main.py"
"""GCP entry points (`ingest`, `scheduled`, `http`) live here; the package puts a root `main.py`
re-exporting them, since Cloud Functions loads `main.py` from the source root."""

HTTP_ROUTES: Final = (
    "GET /api/health",
    "GET /api/runs",
    "GET /api/runs/{run_id}",
    "GET /api/quality",
    "GET /api/tables",
    "POST /api/advisor",
    "GET /api/advisor/metrics",
    "POST /api/advisor/proposals/{id}/approve",
    "POST /api/advisor/proposals/{id}/reject",
)
ADVISOR_PATH: Final = "/api/advisor"

AZURE_BLOB_CONNECTION: Final = "LakehouseStorage"
"""Connection name of the Azure blob trigger (`connection="LakehouseStorage"`): its identity-
based settings `LakehouseStorage__blobServiceUri` / `__queueServiceUri` point at the lake
account; the blob trigger uses `source=EventGrid` (Flex Consumption has no polling source)."""
