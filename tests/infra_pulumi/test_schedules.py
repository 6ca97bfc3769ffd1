"""NCRONTAB -> EventBridge and unix-cron: the derived expressions fire at the same minutes as
the schedule Azure reads, checked minute by minute over two weeks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from infra_pulumi import contract
from infra_pulumi.schedules import ScheduleError, parse, to_eventbridge, to_unix_cron

START = datetime(2026, 3, 1)  # a Sunday
MINUTES = [START + timedelta(minutes=n) for n in range(14 * 24 * 60)]
NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}


def matches(field: str, value: int, *, low: int, weekday_base: int = 0) -> bool:
    """Whether a cron field (`*`, `?`, lists, ranges, steps, weekday names) allows a value."""
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base in ("*", "?"):
            first, last = low, 10**6
        elif "-" in base:
            first, last = (_number(t, weekday_base) for t in base.split("-"))
        else:
            first = _number(base, weekday_base)
            last = first if not step else 10**6
        if first <= value <= last and (value - first) % int(step or 1) == 0:
            return True
    return False


def _number(token: str, weekday_base: int) -> int:
    return NAMES[token.upper()] + weekday_base if token.upper() in NAMES else int(token)


def unix_fires(expression: str) -> list[datetime]:
    minute, hour, day, month, weekday = expression.split()
    return [
        t
        for t in MINUTES
        if matches(minute, t.minute, low=0)
        and matches(hour, t.hour, low=0)
        and matches(day, t.day, low=1)
        and matches(month, t.month, low=1)
        and matches(weekday, (t.weekday() + 1) % 7, low=0)
    ]


def eventbridge_fires(expression: str) -> list[datetime]:
    assert expression.startswith("cron(") and expression.endswith(")")
    minute, hour, day, month, weekday, year = expression[5:-1].split()
    assert year == "*" and "?" in (day, weekday)
    return [
        t
        for t in MINUTES
        if matches(minute, t.minute, low=0)
        and matches(hour, t.hour, low=0)
        and matches(day, t.day, low=1)
        and matches(month, t.month, low=1)
        and matches(weekday, (t.weekday() + 1) % 7 + 1, low=1, weekday_base=1)
    ]


def ncrontab_fires(expression: str) -> list[datetime]:
    second, *rest = expression.split()
    assert second == "0"
    return unix_fires(" ".join(rest))


@pytest.mark.parametrize(
    "expression",
    [
        *contract.DEFAULT_SCHEDULES.values(),
        "0 0 6 * * 1-5",
        "0 15 2 * * SUN,WED",
        "0 0 */6 1,15 * *",
        "0 5,35 8-18 * * MON-FRI",
        "0 0 12 * * */2",
    ],
)
def test_derived_schedules_fire_at_the_same_minutes(expression: str) -> None:
    expected = ncrontab_fires(expression)
    assert expected, "the sample window must contain firings"
    assert unix_fires(to_unix_cron(expression)) == expected
    assert eventbridge_fires(to_eventbridge(expression)) == expected


def test_default_schedules() -> None:
    assert to_eventbridge(contract.DEFAULT_SCHEDULES["silver"]) == "cron(0/15 * * * ? *)"
    assert to_eventbridge(contract.DEFAULT_SCHEDULES["gold"]) == "cron(30 5 * * ? *)"
    assert to_unix_cron(contract.DEFAULT_SCHEDULES["reconcile"]) == "*/30 * * * *"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("*/15 * * * *", "six"),
        ("30 */15 * * * *", "seconds field must be 0"),
        ("0 0 6 1 * 1", "both day of month and weekday"),
        ("0 61 * * * *", "outside 0-59"),
        ("0 0 6 * * 7", "outside 0-6"),
        ("0 0 6 * * FUNDAY", "outside 0-6"),
        ("0 0 6 ? * *", "cannot read"),
    ],
)
def test_schedules_that_cannot_run_everywhere_are_refused(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        to_eventbridge(expression) if "weekday" in message else parse(expression)
