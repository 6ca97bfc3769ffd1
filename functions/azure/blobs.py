"""Blob drop -> Bronze. The trigger watches the landing container (`landing/{name}`),
through Event Grid, which the Flex Consumption plan requires and which delivers within
seconds (polling the container can lag by minutes)."""

from __future__ import annotations

import azure.functions as func

from functions import events
from functions.azure.settings import current

bp = func.Blueprint()
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
    container, _, key = (blob.name or "").partition("/")
    with events.reported(f"ingest of {blob.name}"):
        events.ingest_objects(current(), [(container, key)])
