"""The Azure app as the Functions host indexes it: every function's name, trigger, path or
schedule expression and auth level, against what the infrastructure deploys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.functions as func

from infra_pulumi import contract
from shared import api
from shared.settings import PACKAGE_ROOT
from tests.functions.azure import indexed as app


def indexed() -> dict[str, dict[str, Any]]:
    functions = {}
    for name, function in app.functions().items():
        (trigger,) = [b for b in function.get_bindings() if b.type.endswith("Trigger")]
        functions[name] = trigger.get_dict_repr()
    return functions


def test_every_function_is_indexed_with_its_trigger() -> None:
    functions = indexed()
    assert sorted(functions) == [
        "advisor",
        "advisor_approve",
        "advisor_metrics",
        "advisor_reject",
        "build_gold",
        "build_silver",
        "health",
        "ingest",
        "monitor",
        "quality",
        "reconcile_landing",
        "run",
        "runs",
        "tables",
    ]
    blob = functions["ingest"]
    assert (blob["type"], blob["path"], blob["source"]) == (
        "blobTrigger",
        "landing/{name}",
        "EventGrid",
    )
    assert blob["connection"] == contract.AZURE_BLOB_CONNECTION


def test_timers_read_their_schedules_from_app_settings() -> None:
    functions = indexed()
    timers = {"build_silver": "silver", "build_gold": "gold", "monitor": "monitor"}
    timers["reconcile_landing"] = "reconcile"
    for name, job in timers.items():
        assert functions[name]["type"] == "timerTrigger"
        assert functions[name]["schedule"] == f"%{contract.SCHEDULE_SETTINGS[job]}%"
        assert functions[name]["useMonitor"] is True


def test_http_routes_need_a_function_key() -> None:
    functions = indexed()
    routes = {}
    for name, trigger in functions.items():
        if trigger["type"] != "httpTrigger":
            continue
        assert trigger["authLevel"] == func.AuthLevel.FUNCTION, name
        for method in trigger["methods"]:
            routes[f"{method} /api/{trigger['route']}"] = name
    # The contract names the proposal `{id}`; the app calls it `{proposal_id}`.
    deployed = {r.replace("{id}", "{proposal_id}") for r in contract.HTTP_ROUTES}
    assert set(routes) == deployed
    # ...and the router serves the same paths.
    assert deployed == {f"{m} {p}" for m, _, p in api.ROUTES}


def test_local_settings_example_sets_every_schedule_and_the_connection() -> None:
    example = json.loads(Path(PACKAGE_ROOT / "local.settings.example.json").read_text())
    values = example["Values"]
    for job, setting in contract.SCHEDULE_SETTINGS.items():
        assert values[setting] == contract.DEFAULT_SCHEDULES[job]
    assert f"{contract.AZURE_BLOB_CONNECTION}__blobServiceUri" in values
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"


def test_host_json_retries_and_poison_handling() -> None:
    host = json.loads(Path(PACKAGE_ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"]["version"].startswith("[4.")
    assert host["retry"]["strategy"] == "exponentialBackoff"
    assert host["retry"]["maxRetryCount"] >= 1
    assert host["extensions"]["blobs"]["poisonBlobThreshold"] >= 1
    assert host["logging"]["logLevel"]["default"] in ("Warning", "Error")
