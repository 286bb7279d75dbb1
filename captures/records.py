"""Capture records: states, transitions, and the one atomic step to a final state."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from captures.errors import IllegalTransition
from captures.keys import CAPTURE_INDEX_TTL_S, CAPTURE_RECORD_TTL_S, CaptureKeys
from captures.results import ResultFile
from sessions.redis_types import RedisClient, fields, text_dict
from sessions.timefmt import iso_ms, now_ms


class CaptureStatus(StrEnum):
    """``queued → processing → completed | failed``; a final state never changes."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """True for ``completed`` and ``failed``."""
        return self in (CaptureStatus.COMPLETED, CaptureStatus.FAILED)


ALLOWED = {
    CaptureStatus.QUEUED: {CaptureStatus.PROCESSING, CaptureStatus.FAILED},
    CaptureStatus.PROCESSING: {
        CaptureStatus.PROCESSING,  # a retry after a worker died
        CaptureStatus.COMPLETED,
        CaptureStatus.FAILED,
    },
    CaptureStatus.COMPLETED: set(),
    CaptureStatus.FAILED: set(),
}
"""The moves between states. ``CaptureService`` checks a worker's move against it (a move
the table forbids is a bug, raised before any Redis call); the scripts below make each move
atomically, and refuse one that another attempt or worker got to first (not an error)."""


def check_transition(current: CaptureStatus, new: CaptureStatus) -> None:
    """Raise :class:`IllegalTransition` unless ``current → new`` is allowed."""
    if new not in ALLOWED[current]:
        raise IllegalTransition(f"{current} -> {new}")


# KEYS (capture slot): record, payload; ARGV: status, updated_ms, json of extra fields,
# channel, capture id, record ttl, attempt. Only one caller can ever reach a final state,
# and only the latest attempt: one that was superseded by a retry cannot.
_FINISH = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'completed' or status == 'failed' or not status then return 0 end
if redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[7] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2], 'completedAt', ARGV[2])
local extra = cjson.decode(ARGV[3])
for k, v in pairs(extra) do redis.call('HSET', KEYS[1], k, v) end
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""

# KEYS: record; ARGV: updated_ms, worker id. Counts an attempt; refuses final records.
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'processing' then return -1 end
local previous = redis.call('HGET', KEYS[1], 'worker') or ''
redis.call('HSET', KEYS[1], 'status', 'processing', 'updatedAt', ARGV[1], 'worker', ARGV[2],
  'previousWorker', previous)
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
"""


# KEYS: record; ARGV: field/value pairs. A record Redis lost (it came back empty) stays lost:
# a late attempt must not leave a partial one behind.
_SET_IF_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


class CaptureRecord:
    """A stored capture (the Redis hash's fields) with typed accessors and its public form."""

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw

    @classmethod
    def queued(
        cls,
        capture_id: str,
        key_id: str,
        workspace_id: str,
        metadata: dict[str, Any] | None,
        created_ms: int,
    ) -> CaptureRecord:
        """A new capture, waiting for a worker."""
        raw = {
            "id": capture_id,
            "status": CaptureStatus.QUEUED.value,
            "keyId": key_id,
            "workspaceId": workspace_id,
            "createdAt": str(created_ms),
            "updatedAt": str(created_ms),
            "attempts": "0",
        }
        if metadata is not None:
            raw["metadata"] = json.dumps(metadata)
        return cls(raw)

    @property
    def id(self) -> str:
        """The capture id."""
        return self.raw["id"]

    @property
    def status(self) -> CaptureStatus:
        """Current state."""
        return CaptureStatus(self.raw["status"])

    @property
    def key_id(self) -> str:
        """The creating key."""
        return self.raw["keyId"]

    @property
    def workspace_id(self) -> str:
        """The creating key's workspace."""
        return self.raw["workspaceId"]

    @property
    def created_ms(self) -> int:
        """When it was queued."""
        return int(self.raw["createdAt"])

    @property
    def session_id(self) -> str | None:
        """The session of the latest attempt that opened one."""
        return self.raw.get("sessionId") or None

    @property
    def previous_worker(self) -> str | None:
        """The worker of the attempt before the latest one."""
        return self.raw.get("previousWorker") or None

    def result_file(self) -> ResultFile | None:
        """The stored file, once completed."""
        stored = self.raw.get("result")
        return ResultFile.from_json(stored) if stored else None

    def accepted(self) -> dict[str, Any]:
        """The answer to ``POST /api/captures`` (SPEC section 3)."""
        body: dict[str, Any] = {
            "id": self.id,
            "status": self.raw["status"],
            "createdAt": iso_ms(self.created_ms),
            "statusUrl": status_url(self.id),
        }
        if self.raw.get("metadata"):
            body["metadata"] = json.loads(self.raw["metadata"])
        return body

    def public(self) -> dict[str, Any]:
        """The SPEC section 3 capture object, without ``result`` (its link is minted per
        read)."""
        raw = self.raw
        body: dict[str, Any] = {
            "id": raw["id"],
            "status": raw["status"],
            "createdAt": iso_ms(int(raw["createdAt"])),
            "updatedAt": iso_ms(int(raw["updatedAt"])),
            "statusUrl": status_url(raw["id"]),
        }
        if raw.get("completedAt"):
            body["completedAt"] = iso_ms(int(raw["completedAt"]))
        if raw.get("sessionId"):
            body["sessionId"] = raw["sessionId"]
        if raw.get("error"):
            body["error"] = json.loads(raw["error"])
        if raw.get("metadata"):
            body["metadata"] = json.loads(raw["metadata"])
        return body


def status_url(capture_id: str) -> str:
    """Where a capture is read."""
    return f"/api/captures/{capture_id}"


class CaptureStore:
    """All Redis access for capture records and sealed payloads."""

    def __init__(self, redis: RedisClient, keys: CaptureKeys) -> None:
        self._redis = redis
        self.keys = keys
        self._finish = redis.register_script(_FINISH)
        self._start = redis.register_script(_START)
        self._set_if_present = redis.register_script(_SET_IF_PRESENT)

    async def create(self, record: dict[str, str], sealed: bytes) -> None:
        """Store the record and its sealed payload (one slot, atomically), then queue it."""
        capture_id = record["id"]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.capture(capture_id), mapping=fields(record))
            pipe.set(self.keys.payload(capture_id), base64.b64encode(sealed).decode())
            await pipe.execute()
        await self._index(record["keyId"], capture_id, int(record["createdAt"]))
        await self._redis.xadd(self.keys.stream(), {"captureId": capture_id})

    async def _index(self, key_id: str, capture_id: str, created_ms: int) -> None:
        """List the capture under its key (the index's own slot), dropping entries older
        than any record lives."""
        index = self.keys.key_captures(key_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(index, {capture_id: created_ms})
            pipe.zremrangebyscore(index, "-inf", created_ms - CAPTURE_INDEX_TTL_S * 1000)
            pipe.expire(index, CAPTURE_INDEX_TTL_S)
            await pipe.execute()

    async def get(self, capture_id: str) -> CaptureRecord | None:
        """The record, or None."""
        raw = await self._redis.hgetall(self.keys.capture(capture_id))
        return CaptureRecord(text_dict(raw)) if raw else None

    async def get_many(self, capture_ids: Sequence[str]) -> list[CaptureRecord | None]:
        """The records, in order; None for each one that is gone."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for capture_id in capture_ids:
                pipe.hgetall(self.keys.capture(capture_id))
            rows = await pipe.execute()
        return [CaptureRecord(text_dict(row)) if row else None for row in rows]

    async def payload(self, capture_id: str) -> bytes | None:
        """The sealed request, or None once the capture ended."""
        value: Any = await self._redis.get(self.keys.payload(capture_id))
        return None if value is None else base64.b64decode(value)

    async def start(self, capture_id: str, worker_id: str) -> int:
        """Mark processing and count the attempt; -1 when the capture is already final."""
        return int(
            await self._start(keys=[self.keys.capture(capture_id)], args=[now_ms(), worker_id])
        )

    async def set_fields(self, capture_id: str, values: dict[str, str]) -> None:
        """Update non-state fields (the session id of the running attempt), if the record
        is still there."""
        flat = [item for pair in values.items() for item in pair]
        await self._set_if_present(keys=[self.keys.capture(capture_id)], args=flat)

    async def finish(
        self,
        capture_id: str,
        status: CaptureStatus,
        extra: dict[str, str],
        created_ms: int,
        attempt: int,
    ) -> bool:
        """Reach a final state, once; deletes the payload and wakes long-polls."""
        assert status.final
        now = now_ms()
        done = await self._finish(
            keys=[self.keys.capture(capture_id), self.keys.payload(capture_id)],
            args=[
                status.value,
                now,
                json.dumps(extra),
                self.keys.done_channel(),
                capture_id,
                CAPTURE_RECORD_TTL_S,
                attempt,
            ],
        )
        if done:  # service-wide figures for /metrics (their own slot)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(self.keys.stats(), status.value, 1)
                pipe.hincrby(self.keys.stats(), "latencyMsSum", max(0, now - created_ms))
                await pipe.execute()
        return bool(done)
