"""Deliveries: their records, each endpoint's log, and the Redis schedule of due attempts.

At least once, across restarts of every process: a delivery is a record (in its
workspace's slot) plus a member of one sorted set scored by when its next attempt is due.
Claiming pushes the member one lease ahead instead of removing it, so a process that dies
mid-attempt leaves it to be claimed again once the lease runs out; only the outcome of an
attempt removes it (done) or moves it to the next backoff step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from captures.webhooks.keys import DELIVERY_TTL_S, LOG_SIZE, WebhookKeys
from sessions.redis_types import RedisClient, text, text_dict
from sessions.timefmt import iso_ms, now_ms

DEFAULT_BACKOFF_S = "5,30,120,600,1800,3600"
"""Delays between attempts: seven attempts in all, the last about 1 h 47 min after the
first (``SESSIONSHOT_WEBHOOK_BACKOFF_S``)."""


def parse_backoff(spec: str) -> tuple[float, ...]:
    """``"5,30,120"`` as delays in seconds; ``ValueError`` unless positive numbers."""
    delays = tuple(float(part) for part in spec.split(",") if part.strip())
    if not delays or any(d <= 0 for d in delays):
        raise ValueError("expected positive seconds separated by commas, e.g. 5,30,120")
    return delays


class DeliveryStatus(StrEnum):
    """``pending → succeeded | failed``; a final state never changes."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    """A stored delivery: one event for one endpoint."""

    raw: dict[str, str]
    workspace_id: str

    @property
    def id(self) -> str:
        """The ``webhook-id`` of every attempt."""
        return self.raw["id"]

    @property
    def endpoint_id(self) -> str:
        """The endpoint it goes to."""
        return self.raw["endpoint"]

    @property
    def event(self) -> str:
        """``capture.completed``, ``capture.failed``, ``session.closed`` or ``webhook.test``."""
        return self.raw["event"]

    @property
    def status(self) -> DeliveryStatus:
        """Where it stands."""
        return DeliveryStatus(self.raw["status"])

    @property
    def attempts(self) -> int:
        """Attempts made so far."""
        return int(self.raw.get("attempts") or 0)

    @property
    def ref(self) -> str:
        """The capture id of a capture event ("" otherwise)."""
        return self.raw.get("ref", "")

    @property
    def data(self) -> dict[str, Any] | None:
        """The event's data when fixed at the event (session and test events)."""
        stored = self.raw.get("data")
        return json.loads(stored) if stored else None

    @property
    def created_ms(self) -> int:
        """When the event happened."""
        return int(self.raw["createdAt"])

    def public(self) -> dict[str, Any]:
        """An entry of ``GET /api/webhooks/{id}/deliveries``."""
        code = self.raw.get("lastStatusCode")
        due = self.raw.get("nextAttemptAt")
        return {
            "id": self.id,
            "event": self.event,
            "status": self.raw["status"],
            "attempts": self.attempts,
            "lastStatusCode": int(code) if code else None,
            "nextAttemptAt": iso_ms(int(due)) if due else None,
        }


# KEYS: delivery hash, endpoint log; ARGV: log size, ttl, then field/value pairs. Creates
# the delivery once (the same event for the same endpoint is one delivery); 0 if it existed.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[1]) - 1)
return 1
"""

# KEYS: schedule; ARGV: now ms, lease ms, count. Due members, each pushed a lease ahead.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), member)
end
return due
"""

# KEYS: delivery hash; ARGV: ttl, then field/value pairs. Records an attempt's outcome
# unless the delivery is gone or already final (1 when recorded).
_RECORD = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' then return 0 end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""


def _flat(values: dict[str, str]) -> list[str]:
    return [item for pair in values.items() for item in pair]


class Schedule:
    """Delivery records and the schedule of their attempts."""

    def __init__(self, redis: RedisClient, keys: WebhookKeys, backoff_s: Sequence[float]) -> None:
        self._redis = redis
        self.keys = keys
        self.backoff_s = tuple(backoff_s)
        self._create = redis.register_script(_CREATE)
        self._claim = redis.register_script(_CLAIM)
        self._record = redis.register_script(_RECORD)

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first, then one per backoff delay."""
        return len(self.backoff_s) + 1

    async def add(
        self,
        ws_id: str,
        delivery_id: str,
        endpoint_id: str,
        event: str,
        *,
        ref: str = "",
        data: dict[str, Any] | None = None,
    ) -> Delivery:
        """A new delivery, due now (idempotent for the same id); as recorded."""
        now = now_ms()
        values = {
            "id": delivery_id,
            "endpoint": endpoint_id,
            "event": event,
            "status": DeliveryStatus.PENDING.value,
            "attempts": "0",
            "createdAt": str(now),
            "nextAttemptAt": str(now),
            "ref": ref,
        }
        if data is not None:
            values["data"] = json.dumps(data, separators=(",", ":"))
        keys = [self.keys.delivery(ws_id, delivery_id), self.keys.log(ws_id, endpoint_id)]
        await self._create(keys=keys, args=[LOG_SIZE, DELIVERY_TTL_S, *_flat(values)])
        # Scheduled even when the record existed: a crash between the two steps must not
        # leave a delivery that nothing will ever attempt (a final one is dropped unsent).
        await self._redis.zadd(self.keys.schedule(), {f"{ws_id} {delivery_id}": now}, nx=True)
        return Delivery(values, ws_id)

    async def claim(self, count: int, lease_s: float) -> list[tuple[str, str]]:
        """Up to ``count`` due deliveries as ``(workspace, delivery id)``, leased."""
        reply: Any = await self._claim(
            keys=[self.keys.schedule()], args=[now_ms(), int(lease_s * 1000), count]
        )
        members = [text(m).split(" ", 1) for m in reply or []]
        return [(m[0], m[1]) for m in members if len(m) == 2]

    async def next_due_ms(self) -> int | None:
        """When the earliest delivery is due (or its lease ends); None when none is."""
        first: Any = await self._redis.zrange(self.keys.schedule(), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    async def get(self, ws_id: str, delivery_id: str) -> Delivery | None:
        """A delivery, or None once it expired."""
        raw: Any = await self._redis.hgetall(self.keys.delivery(ws_id, delivery_id))
        return Delivery(text_dict(raw), ws_id) if raw else None

    async def drop(self, ws_id: str, delivery_id: str) -> None:
        """Take a delivery off the schedule (final, gone, or its endpoint removed)."""
        await self._redis.zrem(self.keys.schedule(), f"{ws_id} {delivery_id}")

    async def attempted(self, delivery: Delivery, status_code: int | None, ok: bool) -> None:
        """Record an attempt: succeeded, retried after the next delay, or failed for good."""
        attempts = delivery.attempts + 1
        values = {"lastStatusCode": "" if status_code is None else str(status_code)}
        due: int | None = None
        if ok:
            values["status"] = DeliveryStatus.SUCCEEDED.value
        elif attempts >= self.max_attempts:
            values["status"] = DeliveryStatus.FAILED.value
        else:
            due = now_ms() + int(self.backoff_s[attempts - 1] * 1000)
        values["nextAttemptAt"] = "" if due is None else str(due)
        key = self.keys.delivery(delivery.workspace_id, delivery.id)
        await self._record(keys=[key], args=[DELIVERY_TTL_S, *_flat(values)])
        member = f"{delivery.workspace_id} {delivery.id}"
        if due is None:
            await self._redis.zrem(self.keys.schedule(), member)
        else:
            await self._redis.zadd(self.keys.schedule(), {member: due})


class DeliveryLog:
    """Reads an endpoint's latest deliveries."""

    def __init__(self, redis: RedisClient, keys: WebhookKeys) -> None:
        self._redis = redis
        self.keys = keys

    async def latest(self, ws_id: str, endpoint_id: str) -> list[dict[str, Any]]:
        """The endpoint's last :data:`LOG_SIZE` deliveries, newest first."""
        ids: Any = await self._redis.lrange(self.keys.log(ws_id, endpoint_id), 0, LOG_SIZE - 1)
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.hgetall(self.keys.delivery(ws_id, text(delivery_id)))
            rows: list[Any] = await pipe.execute()
        return [Delivery(text_dict(row), ws_id).public() for row in rows if row]
