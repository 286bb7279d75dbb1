"""Cron expressions of schedules: five fields, read in an IANA time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from captures.schedules.cron import check_cron, check_timezone, next_due_ms


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def test_the_next_due_time_is_strictly_later_and_in_the_time_zone() -> None:
    start = _ms("2026-03-01T10:00:00+00:00")
    assert _iso(next_due_ms("* * * * *", "UTC", start)) == "2026-03-01T10:01:00+00:00"
    assert _iso(next_due_ms("30 9 * * *", "Asia/Kolkata", start)) == "2026-03-02T04:00:00+00:00"
    assert _iso(next_due_ms("0 7 * * MON", "UTC", start)) == "2026-03-02T07:00:00+00:00"


def test_daylight_saving_time_moves_the_utc_instant() -> None:
    # 07:00 in Paris is 06:00 UTC in winter, 05:00 UTC once summer time began (March 29).
    before = next_due_ms("0 7 * * *", "Europe/Paris", _ms("2026-03-27T12:00:00+00:00"))
    after = next_due_ms("0 7 * * *", "Europe/Paris", _ms("2026-03-30T12:00:00+00:00"))
    assert _iso(before) == "2026-03-28T06:00:00+00:00"
    assert _iso(after) == "2026-03-31T05:00:00+00:00"


@pytest.mark.parametrize(
    "expression",
    ["* * * *", "* * * * * *", "@daily", "61 * * * *", "* 25 * * *", "0 0 31 2 *", "a b c d e", ""],
)
def test_malformed_or_never_due_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        check_cron(expression)


def test_white_space_is_normalised() -> None:
    assert check_cron("  */5   *  * *\t1-5 ") == "*/5 * * * 1-5"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "UTC+5"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_timezone(name)
