"""Scheduled jobs. Each schedule is an app setting (NCRONTAB, six fields), read through a
binding expression; the defaults are in local.settings.example.json and the infrastructure:
Silver every 15 minutes, Gold at 05:30 UTC, the monitor hourly, reconciliation every 30."""

from __future__ import annotations

import logging

import azure.functions as func

from functions.azure.settings import current
from shared import triggers

bp = func.Blueprint()
log = logging.getLogger("lakehouse.functions")


def _run(job: str, timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.warning("%s timer is past due; running now", job)
    log.info("%s", triggers.run_scheduled(current(), job))


@bp.function_name("build_silver")
@bp.timer_trigger(arg_name="timer", schedule="%SILVER_SCHEDULE%", use_monitor=True)
def build_silver(timer: func.TimerRequest) -> None:
    _run("silver", timer)


@bp.function_name("build_gold")
@bp.timer_trigger(arg_name="timer", schedule="%GOLD_SCHEDULE%", use_monitor=True)
def build_gold(timer: func.TimerRequest) -> None:
    _run("gold", timer)


@bp.function_name("monitor")
@bp.timer_trigger(arg_name="timer", schedule="%MONITOR_SCHEDULE%", use_monitor=True)
def monitor(timer: func.TimerRequest) -> None:
    _run("monitor", timer)


@bp.function_name("reconcile_landing")
@bp.timer_trigger(arg_name="timer", schedule="%RECONCILE_SCHEDULE%", use_monitor=True)
def reconcile_landing(timer: func.TimerRequest) -> None:
    _run("reconcile", timer)
