"""Billing reports from the credit ledger (SPEC section 6).

Whole UTC days come from per-day totals written in the same atomic step as each ledger
entry, so a report costs one read per day, whatever the number of sessions. Only the
partial days at the edges of a range (a ``from``/``to`` that is not midnight) read the
ledger entries themselves. The CSV streams the ledger in pages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sessions.errors import InvalidRequest
from sessions.keys import SessionKeys
from sessions.redis_types import RedisClient, text, text_dict
from sessions.timefmt import iso_ms

MAX_RANGE_DAYS = 366
COUNTERS = ("sessions", "captures", "durationSeconds", "credits")
CSV_HEADER = (
    "sessionId",
    "kind",
    "keyId",
    "startedAt",
    "closedAt",
    "durationSeconds",
    "credits",
    "closeReason",
)
PAGE = 500


class BadRange(InvalidRequest):
    """A malformed date, ``from`` not before ``to``, or a range over 366 days (400)."""


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_instant(value: str, name: str) -> datetime:
    """An ISO date (midnight UTC) or datetime (UTC if no offset), as an aware UTC datetime."""
    text_value = value.strip()
    try:
        if len(text_value) == 10:
            moment = datetime.combine(date.fromisoformat(text_value), time(), tzinfo=UTC)
        else:
            iso = text_value.replace("Z", "+00:00").replace("z", "+00:00")
            moment = datetime.fromisoformat(iso)
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise BadRange(f"{name}: expected an ISO date or datetime") from err
    if not EARLIEST <= moment <= LATEST:
        raise BadRange(f"{name}: must be between 1970 and 9000")
    return moment


def _ceil_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded up: ledger times are whole milliseconds, so
    ``t >= moment`` and ``t < moment`` hold for exactly the same ``t`` as with the ceiling."""
    micros = (moment - EARLIEST) // timedelta(microseconds=1)
    return -(-micros // 1000)


@dataclass(frozen=True)
class Range:
    """``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Range:
        """Validate a report range."""
        if not start or not end:
            raise BadRange("from and to are required")
        begin, finish = parse_instant(start, "from"), parse_instant(end, "to")
        if begin >= finish:
            raise BadRange("from must be before to")
        if finish - begin > timedelta(days=MAX_RANGE_DAYS):
            raise BadRange(f"the range may span at most {MAX_RANGE_DAYS} days")
        return cls(begin, finish)

    @property
    def start_ms(self) -> int:
        """Start in epoch milliseconds (rounded up)."""
        return _ceil_ms(self.start)

    @property
    def end_ms(self) -> int:
        """End (exclusive) in epoch milliseconds (rounded up)."""
        return _ceil_ms(self.end)

    def days(self) -> list[tuple[date, bool]]:
        """Every UTC day the range touches, with True when it covers the whole day."""
        out = []
        day = self.start.date()
        while datetime.combine(day, time(), tzinfo=UTC) < self.end:
            day_start = datetime.combine(day, time(), tzinfo=UTC)
            whole = day_start >= self.start and day_start + timedelta(days=1) <= self.end
            out.append((day, whole))
            day += timedelta(days=1)
        return out

    def public(self) -> dict[str, str]:
        """``from`` and ``to`` as echoed in reports."""
        return {"from": iso_ms(self.start_ms), "to": iso_ms(self.end_ms)}


def _zero() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def _add(into: dict[str, int], values: dict[str, int]) -> None:
    for name in COUNTERS:
        into[name] += values.get(name, 0)


class UsageReports:
    """Reads the ledger and the per-day totals of workspaces."""

    def __init__(self, redis: RedisClient, keys: SessionKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def workspace(self, ws_id: str, span: Range) -> dict[str, Any]:
        """The ``/v1/usage`` document of one workspace."""
        days = span.days()
        whole = [day for day, is_whole in days if is_whole]
        daily: dict[date, dict[str, int]] = {day: _zero() for day, _ in days}
        by_key: dict[str, dict[str, int]] = {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in whole:
                pipe.hgetall(self._keys.usage_day(ws_id, day.isoformat()))
            rows = await pipe.execute()
        for day, row in zip(whole, rows, strict=True):
            for field, value in text_dict(row).items():
                if field.startswith("key:"):
                    _, key_id, counter = field.split(":", 2)
                    by_key.setdefault(key_id, _zero())[counter] += int(value)
                else:
                    daily[day][field] = int(value)
        if len(whole) < len(days):
            async for entry in self._entries(ws_id, self._edges(span, whole)):
                day = datetime.fromtimestamp(entry["closedMs"] / 1000, tz=UTC).date()
                _add(daily[day], entry["counters"])
                _add(by_key.setdefault(entry["keyId"], _zero()), entry["counters"])
        totals = _zero()
        for values in daily.values():
            _add(totals, values)
        return {
            "workspaceId": ws_id,
            **span.public(),
            "totals": totals,
            "daily": [{"date": day.isoformat(), **values} for day, values in daily.items()],
            "byKey": [{"keyId": key, **values} for key, values in sorted(by_key.items())],
        }

    async def totals(self, ws_id: str, span: Range) -> dict[str, int]:
        """Just the totals of one workspace."""
        report = await self.workspace(ws_id, span)
        totals: dict[str, int] = report["totals"]
        return totals

    @staticmethod
    def _edges(span: Range, whole: list[date]) -> list[tuple[int, int]]:
        """Millisecond ranges of the partial days (the whole ones come from totals)."""
        if not whole:
            return [(span.start_ms, span.end_ms)]
        first = int(datetime.combine(whole[0], time(), tzinfo=UTC).timestamp() * 1000)
        after = int(
            datetime.combine(whole[-1] + timedelta(days=1), time(), tzinfo=UTC).timestamp() * 1000
        )
        return [(a, b) for a, b in ((span.start_ms, first), (after, span.end_ms)) if a < b]

    async def _entries(
        self, ws_id: str, ranges: Iterable[tuple[int, int]]
    ) -> AsyncIterator[dict[str, Any]]:
        for start_ms, end_ms in ranges:
            async for record in self.records(ws_id, start_ms, end_ms):
                yield {
                    "closedMs": int(record["closedAt"]),
                    "keyId": record["keyId"],
                    "counters": {
                        "sessions": 1,
                        "captures": int(record.get("kind") == "capture"),
                        "durationSeconds": int(record.get("durationSeconds") or 0),
                        "credits": int(record.get("billedCredits") or 0),
                    },
                }

    async def records(
        self, ws_id: str, start_ms: int, end_ms: int
    ) -> AsyncIterator[dict[str, str]]:
        """Closed session records with ``start_ms <= closedAt < end_ms``, oldest first.

        Pages by score (``closedAt``), not by offset, so each page costs the same however
        far into the range it is; ``skip`` steps over the entries already read at the
        page's first score.
        """
        ledger = self._keys.ledger(ws_id)
        low, skip = start_ms, 0
        while True:
            page: Any = await self._redis.zrangebyscore(
                ledger, low, f"({end_ms}", start=skip, num=PAGE, withscores=True
            )
            if not page:
                return
            async with self._redis.pipeline(transaction=False) as pipe:
                for session_id, _ in page:
                    pipe.hgetall(self._keys.session(ws_id, text(session_id)))
                rows = await pipe.execute()
            for row in rows:
                if row:
                    yield text_dict(row)
            if len(page) < PAGE:
                return
            last = int(page[-1][1])
            at_last = sum(1 for _, score in page if int(score) == last)
            skip = skip + at_last if last == low else at_last
            low = last

    async def csv_rows(self, ws_ids: Iterable[str], span: Range) -> AsyncIterator[str]:
        """The CSV, header first, one row per closed session, streamed."""
        yield _csv_line(CSV_HEADER)
        for ws_id in ws_ids:
            async for record in self.records(ws_id, span.start_ms, span.end_ms):
                yield _csv_line(
                    (
                        record["id"],
                        record.get("kind", "live"),
                        record["keyId"],
                        iso_ms(int(record["startedAt"])),
                        iso_ms(int(record["closedAt"])),
                        record.get("durationSeconds", "0"),
                        record.get("billedCredits", "0"),
                        record.get("closeReason", ""),
                    )
                )


def _csv_line(values: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()
