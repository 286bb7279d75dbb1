"""Cron expressions (5 fields) read in an IANA time zone, through croniter."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]{1,100}$")


def check_cron(expression: str) -> str:
    """``expression`` normalised (single spaces), or ``ValueError`` saying what is wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    if not all(_FIELD.match(part) for part in parts) or not croniter.is_valid(" ".join(parts)):
        raise ValueError("not a valid cron expression")
    normal = " ".join(parts)
    next_due_ms(normal, "UTC", 0)  # one that is never due (February 31st) is refused
    return normal


def check_timezone(name: str) -> str:
    """An IANA time zone name, or ``ValueError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError("unknown IANA time zone") from err
    return name


def next_due_ms(expression: str, timezone: str, after_ms: int) -> int:
    """The first due time strictly after ``after_ms`` (Unix ms, whole minutes)."""
    start = datetime.fromtimestamp(after_ms / 1000, ZoneInfo(timezone))
    try:
        due = croniter(expression, start).get_next(datetime)
    except Exception as err:  # croniter's own errors: a date that never comes
        raise ValueError("the expression never comes due") from err
    return int(due.timestamp() * 1000)
