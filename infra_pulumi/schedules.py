"""One schedule, three dialects. Stack config holds each job's schedule once, as the Azure
Functions NCRONTAB expression the app reads (`sec min hour day month weekday`); the AWS and GCP
programs derive their expressions from it here, so the clouds cannot drift apart.

Only whole minutes translate (EventBridge and Cloud Scheduler have no seconds field), and
EventBridge cannot restrict day-of-month and weekday together; both are rejected with the fix.
"""

from __future__ import annotations

import re

FIELD_RANGES = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "day": (1, 31),
    "month": (1, 12),
    "weekday": (0, 6),
}
NAMES = {
    "month": ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    "weekday": ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"),
}
_ITEM = re.compile(r"^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(\d+))?$")


class ScheduleError(ValueError):
    """A schedule in stack config that cannot run as written; the message says the fix."""


def parse(expression: str) -> dict[str, str]:
    """Split and validate a six-field NCRONTAB expression into named fields."""
    fields = expression.split()
    if len(fields) != 6:
        raise ScheduleError(
            f"schedule {expression!r} has {len(fields)} fields; write six, NCRONTAB style: "
            "'second minute hour day month weekday', e.g. '0 */15 * * * *'"
        )
    parsed = dict(zip(FIELD_RANGES, fields, strict=True))
    for name, value in parsed.items():
        for item in value.split(","):
            _check_item(expression, name, item)
    if parsed["second"] != "0":
        raise ScheduleError(
            f"schedule {expression!r}: the seconds field must be 0, since EventBridge and "
            "Cloud Scheduler fire on whole minutes"
        )
    return parsed


def _check_item(expression: str, name: str, item: str) -> None:
    match = _ITEM.match(item)
    if not match:
        raise ScheduleError(f"schedule {expression!r}: cannot read {name} field item {item!r}")
    low, high = FIELD_RANGES[name]
    if match.group(1) == "*":
        return
    for bound in match.group(1).split("-"):
        number = _number(name, bound)
        if number is None or not low <= number <= high:
            raise ScheduleError(
                f"schedule {expression!r}: {name} value {bound!r} is outside {low}-{high}"
            )


def _number(name: str, token: str) -> int | None:
    if token.isdigit():
        return int(token)
    names = NAMES.get(name, ())
    return (
        names.index(token.upper()) + (1 if name == "month" else 0)
        if token.upper() in names
        else None
    )


def to_unix_cron(expression: str) -> str:
    """Cloud Scheduler's five fields (same weekday numbering as NCRONTAB: 0 is Sunday)."""
    fields = parse(expression)
    return " ".join(fields[name] for name in ("minute", "hour", "day", "month", "weekday"))


def to_eventbridge(expression: str) -> str:
    """EventBridge's `cron(minute hour day month weekday year)`: weekdays count from 1 (Sunday),
    a step needs a start (`0/15`, not `*/15`), and one of day and weekday must be `?`."""
    fields = parse(expression)
    minute, hour = _start_steps(fields["minute"], "0"), _start_steps(fields["hour"], "0")
    day, month = _start_steps(fields["day"], "1"), _start_steps(fields["month"], "1")
    weekday = _shift_weekdays(fields["weekday"])
    if weekday == "*":
        weekday = "?"
    elif day == "*":
        day = "?"
    else:
        raise ScheduleError(
            f"schedule {expression!r} restricts both day of month and weekday, which "
            "EventBridge cannot express; keep one of them '*'"
        )
    return f"cron({minute} {hour} {day} {month} {weekday} *)"


def _start_steps(field: str, start: str) -> str:
    return ",".join(
        f"{start}/{item[2:]}" if item.startswith("*/") else item for item in field.split(",")
    )


def _shift_weekdays(field: str) -> str:
    def shift(token: str) -> str:
        return str(int(token) + 1) if token.isdigit() else token.upper()

    items = []
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            items.append(f"1/{step}" if step else "*")
            continue
        shifted = "-".join(shift(token) for token in base.split("-"))
        items.append(f"{shifted}/{step}" if step else shifted)
    return ",".join(items)
