"""Pages of a per-key index (sessions, captures): opaque cursors, filtered reads.

Lists: pages of a per-key index (a sorted set of ids scored by creation time in ms),
newest first, ties broken by id. A cursor names the last entry a page went past, so
entries added while a client pages (newer ones) never shift the pages still to come.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sessions.errors import InvalidRequest
from sessions.redis_types import RedisClient, text

SESSION_LIST = "sessions"
"""The list name a sessions cursor is bound to."""
SCAN_BUDGET = 1000
"""Most index entries one page reads: a filtered page may come back short, with a cursor."""
R = TypeVar("R")


@dataclass(frozen=True, order=True)
class Position:
    """An entry of a per-key index: its creation time (ms) and id."""

    ms: int
    id: str


def _owner_tag(owner: str) -> str:
    return hashlib.sha256(owner.encode()).hexdigest()[:16]


def encode_cursor(name: str, owner: str, after: Position) -> str:
    """An opaque cursor of list ``name`` for ``owner`` (an API key id), after ``after``."""
    raw = json.dumps([1, name, _owner_tag(owner), after.ms, after.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(name: str, owner: str, cursor: str) -> Position:
    """The position of a cursor :func:`encode_cursor` made for this list and owner;
    :class:`InvalidRequest` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, list_name, tag, ms, entry = json.loads(raw)
    except (ValueError, TypeError) as err:
        raise InvalidRequest("cursor: not a cursor this list gave out.") from err
    if (version, list_name, tag) != (1, name, _owner_tag(owner)):
        raise InvalidRequest("cursor: not a cursor this list gave out.")
    if type(ms) is not int or not isinstance(entry, str):
        raise InvalidRequest("cursor: not a cursor this list gave out.")
    return Position(ms, entry)


async def index_entries(
    redis: RedisClient, index: str, after: Position | None, count: int
) -> list[Position]:
    """Up to ``count`` entries of ``index``, newest first, strictly after ``after``."""
    if after is None:
        rows: Any = await redis.zrevrangebyscore(
            index, "+inf", "-inf", start=0, num=count, withscores=True
        )
        return [Position(int(score), text(member)) for member, score in rows]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(index, after.ms, after.ms)  # the ties: few, created in one ms
        pipe.zrevrangebyscore(index, f"({after.ms}", "-inf", start=0, num=count, withscores=True)
        ties, older = await pipe.execute()
    same = sorted((text(m) for m in ties if text(m) < after.id), reverse=True)
    entries = [Position(after.ms, member) for member in same]
    entries += [Position(int(score), text(member)) for member, score in older]
    return entries[:count]


async def read_page(
    redis: RedisClient,
    index: str,
    after: Position | None,
    limit: int,
    load: Callable[[Sequence[str]], Awaitable[list[R | None]]],
    keep: Callable[[R], bool],
) -> tuple[list[R], Position | None]:
    """Up to ``limit`` records of ``index`` that ``keep`` accepts (gone ones skipped),
    newest first after ``after``, and where the next page starts (None at the end)."""
    found: list[R] = []
    position, scanned = after, 0
    while scanned < SCAN_BUDGET:
        count = min(max(limit + 1 - len(found), 20), SCAN_BUDGET - scanned)
        entries = await index_entries(redis, index, position, count)
        records = await load([entry.id for entry in entries])
        for entry, record in zip(entries, records, strict=True):
            if record is not None and keep(record):
                if len(found) == limit:
                    return found, position  # one more exists: the next page starts here
                found.append(record)
            position = entry
        scanned += len(entries)
        if len(entries) < count:
            return found, None
    return found, position
