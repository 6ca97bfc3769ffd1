"""Blob drop -> Bronze. The trigger watches the landing container (`landing/{name}`),
through Event Grid, which the Flex Consumption plan requires and which delivers within
seconds (polling the container can lag by minutes)."""

from __future__ import annotations

import logging

import azure.functions as func

from functions.azure.settings import current
from shared import triggers

bp = func.Blueprint()
log = logging.getLogger("lakehouse.functions")
# App setting prefix of the lake account's connection (identity-based:
# LakehouseStorage__blobServiceUri, LakehouseStorage__queueServiceUri).
CONNECTION = "LakehouseStorage"


@bp.function_name("ingest")
@bp.blob_trigger(
    arg_name="blob",
    path="landing/{name}",
    connection=CONNECTION,
    source=func.BlobSource.EVENT_GRID,
)
def ingest_blob(blob: func.InputStream) -> None:
    """`blob.name` is `<container>/<path>`; the content is read by the core, not here."""
    settings = current()
    container, _, key = (blob.name or "").partition("/")
    from providers.storage import storage_for

    lake_path = storage_for(settings.lake_url, settings.environ).lake_path_of(container, key)
    if lake_path is None:
        log.warning("blob %s is outside the lake %s; ignored", blob.name, settings.lake_url)
        return
    log.info("ingest %s", triggers.ingest_blob(settings, lake_path))
