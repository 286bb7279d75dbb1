"""A key's captures, newest first, a page at a time (``GET /api/captures``, SPEC section 13).

Each key has an index of its captures by creation time (:meth:`CaptureKeys.key_captures`);
pages are cut from it as the sessions list's are (:func:`sessions.registry.read_page`), so a
capture created while a client pages lands before the first page and never shifts the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from captures.records import CaptureRecord, CaptureStatus, CaptureStore
from sessions.paging import decode_cursor, encode_cursor, read_page
from sessions.redis_types import RedisClient

CAPTURE_LIST = "captures"
"""The list name a captures cursor is bound to."""
_LINK_FIELDS = ("url", "expiresAt")


async def page_of_captures(
    redis: RedisClient,
    store: CaptureStore,
    key_id: str,
    status: CaptureStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[CaptureRecord], str | None]:
    """Up to ``limit`` of the key's captures (only those in ``status`` when given), newest
    first, after ``cursor``; and the next page's cursor, None after the last page. A cursor
    this list did not give this key is :class:`sessions.errors.InvalidRequest`."""
    after = decode_cursor(CAPTURE_LIST, key_id, cursor) if cursor else None

    def keep(record: CaptureRecord) -> bool:
        return record.key_id == key_id and status in (None, record.status)

    index = store.keys.key_captures(key_id)
    records, position = await read_page(redis, index, after, limit, store.get_many, keep)
    return records, encode_cursor(CAPTURE_LIST, key_id, position) if position else None


def listed(record: CaptureRecord) -> dict[str, Any]:
    """A capture as a read answers it, but with no signed link: a list mints none (its
    ``result`` holds the file's facts; read the capture for a link)."""
    body = record.public()
    file = record.result_file()
    if file is not None:
        facts = file.public("", datetime.fromtimestamp(0, UTC))
        body["result"] = {k: v for k, v in facts.items() if k not in _LINK_FIELDS}
    return body
