"""Session records in Redis: create, read, count actions, close-and-bill atomically."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from sessions.credits import CreditPolicy, utc_day
from sessions.keys import SessionKeys
from sessions.redis_types import fields as rfields
from sessions.redis_types import text, text_dict
from sessions.timefmt import iso_ms


class Status(StrEnum):
    """Session states; the only transition is ``active`` → ``closed``, exactly once."""

    ACTIVE = "active"
    CLOSED = "closed"


class CloseReason(StrEnum):
    """Why a session closed (SPEC section 4)."""

    CLOSED = "closed"
    EXPIRED = "expired"
    IDLE_TIMEOUT = "idle_timeout"
    BROWSER_CRASHED = "browser_crashed"
    INSTANCE_LOST = "instance_lost"
    SHUTDOWN = "shutdown"


# Each script touches one Redis Cluster slot: a session's record, or a workspace's keys.

# KEYS (workspace slot): ws_active, key_active, key_sessions; ARGV: limit, created_ms, id
_RESERVE = """
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return 1
"""

# KEYS: record; ARGV: type, outcome ('success'|'error'), now_ms, current_url
_COUNT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return 0 end
redis.call('HINCRBY', KEYS[1], 'actionCount', 1)
if ARGV[2] == 'success' then
  redis.call('HINCRBY', KEYS[1], 'actionSuccessCount', 1)
else
  redis.call('HINCRBY', KEYS[1], 'actionErrorCount', 1)
end
redis.call('HINCRBY', KEYS[1], 'b:' .. ARGV[1] .. ':total', 1)
redis.call('HINCRBY', KEYS[1], 'b:' .. ARGV[1] .. ':' .. ARGV[2], 1)
redis.call('HSET', KEYS[1], 'lastActivityAt', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'currentUrl', ARGV[4]) end
return 1
"""

# KEYS (session slot): record; ARGV: reason, closed_ms, duration_s, credits, retention_s.
# The only way to ``closed``, once; returns whether it happened and the final record.
_CLOSE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'status', 'closed', 'closeReason', ARGV[1], 'closedAt', ARGV[2],
  'durationSeconds', ARGV[3], 'billedCredits', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {1, redis.call('HGETALL', KEYS[1])}
"""

# KEYS (workspace slot): ledger, usage_day, ws_active, key_active
# ARGV: session_id, closed_ms, duration_s, credits, kind, key_id, retention_s
# The ledger entry (ZADD NX) admits the day's totals exactly once; the rest is idempotent,
# so running it again after any interruption completes a close without double billing.
_BILL = """
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then return 0 end
local capture = 0
if ARGV[5] == 'capture' then capture = 1 end
for _, prefix in ipairs({'', 'key:' .. ARGV[6] .. ':'}) do
  redis.call('HINCRBY', KEYS[2], prefix .. 'sessions', 1)
  redis.call('HINCRBY', KEYS[2], prefix .. 'captures', capture)
  redis.call('HINCRBY', KEYS[2], prefix .. 'durationSeconds', ARGV[3])
  redis.call('HINCRBY', KEYS[2], prefix .. 'credits', ARGV[4])
end
local retention = tonumber(ARGV[7])
redis.call('EXPIRE', KEYS[2], retention)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]) - retention * 1000)
return 1
"""

_INT_FIELDS = ("createdAt", "startedAt", "expiresAt", "closedAt", "lastActivityAt")
_COUNTERS = ("actionCount", "actionSuccessCount", "actionErrorCount")


def _pairs(flat: list[Any]) -> dict[str, str]:
    items = [text(v) for v in flat]
    return dict(zip(items[::2], items[1::2], strict=True))


class SessionRecord:
    """A session's stored fields with typed accessors and its public form."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = dict(raw)

    def ms(self, name: str) -> int | None:
        """A millisecond timestamp field, or None."""
        value = self.raw.get(name)
        return int(value) if value else None

    @property
    def id(self) -> str:
        """The session id."""
        return self.raw["id"]

    @property
    def status(self) -> Status:
        """Current state."""
        return Status(self.raw["status"])

    @property
    def key_id(self) -> str:
        """The API key that owns the session."""
        return self.raw["keyId"]

    @property
    def workspace_id(self) -> str:
        """The workspace of the owning key."""
        return self.raw["workspaceId"]

    @property
    def owner(self) -> str:
        """The id of the instance whose browser holds the session."""
        return self.raw["owner"]

    @property
    def kind(self) -> str:
        """``live`` or ``capture``."""
        return self.raw.get("kind", "live")

    def expires_in(self, now_ms: int) -> int:
        """Whole seconds left (0 once closed)."""
        expires = self.ms("expiresAt")
        if self.status is Status.CLOSED or expires is None:
            return 0
        return max(0, math.floor((expires - now_ms) / 1000))

    def breakdown(self) -> dict[str, dict[str, int]]:
        """``actionBreakdown``: per action type, total / success / error."""
        out: dict[str, dict[str, int]] = {}
        for field, value in self.raw.items():
            if field.startswith("b:"):
                _, action, outcome = field.split(":", 2)
                entry = out.setdefault(action, {"total": 0, "success": 0, "error": 0})
                entry[outcome] = int(value)
        return out

    def public(self) -> dict[str, Any]:
        """The SPEC section 4 session object."""
        raw = self.raw
        closed = self.ms("closedAt")
        session: dict[str, Any] = {
            "id": raw["id"],
            "status": raw["status"],
            "closeReason": raw.get("closeReason") or None,
            "createdAt": iso_ms(int(raw["createdAt"])),
            "startedAt": iso_ms(int(raw["startedAt"])),
            "expiresAt": iso_ms(int(raw["expiresAt"])),
            "closedAt": iso_ms(closed) if closed else None,
            "durationSeconds": int(raw.get("durationSeconds") or 0),
            "billedCredits": int(raw.get("billedCredits") or 0),
        }
        for counter in _COUNTERS:
            session[counter] = int(raw.get(counter) or 0)
        session["actionBreakdown"] = self.breakdown()
        session["options"] = json.loads(raw["options"])
        session["kind"] = self.kind
        session["currentUrl"] = raw.get("currentUrl") or None
        if raw.get("metadata"):
            session["metadata"] = json.loads(raw["metadata"])
        if raw.get("captureId"):
            session["captureId"] = raw["captureId"]
        return session


class Registry:
    """All Redis access for session records."""

    def __init__(
        self,
        redis: Redis,
        keys: SessionKeys,
        credits: CreditPolicy,
        retention_s: int = 400 * 86400,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._credits = credits
        self._retention_s = retention_s
        self._reserve_script = redis.register_script(_RESERVE)
        self._count = redis.register_script(_COUNT)
        self._close = redis.register_script(_CLOSE)
        self._bill_script = redis.register_script(_BILL)

    async def create(self, fields: Mapping[str, str], workspace_limit: int) -> bool:
        """Store a new active record; False when the workspace is at its limit."""
        if not await self._reserve(fields, workspace_limit):
            await self._release_stale(fields["workspaceId"])
            if not await self._reserve(fields, workspace_limit):
                return False
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(self._keys.session(fields["id"]), mapping=rfields(dict(fields)))
            pipe.sadd(self._keys.instance_sessions(fields["owner"]), fields["id"])
            await pipe.execute()
        return True

    async def _reserve(self, fields: Mapping[str, str], limit: int) -> bool:
        ws_id, key_id = fields["workspaceId"], fields["keyId"]
        reserved = await self._reserve_script(
            keys=[
                self._keys.workspace_active(ws_id),
                self._keys.key_active(ws_id, key_id),
                self._keys.key_sessions(ws_id, key_id),
            ],
            args=[limit, fields["createdAt"], fields["id"]],
        )
        return bool(reserved)

    async def _release_stale(self, ws_id: str) -> None:
        """Drop reservations whose session is gone or closed (an interrupted create)."""
        members: Any = await self._redis.smembers(self._keys.workspace_active(ws_id))
        for session_id in (text(m) for m in members):
            record = await self.get(session_id)
            if record is None or record.status is not Status.ACTIVE:
                await self._redis.srem(self._keys.workspace_active(ws_id), session_id)

    async def get(self, session_id: str) -> SessionRecord | None:
        """The record, or None."""
        raw = await self._redis.hgetall(self._keys.session(session_id))
        return SessionRecord(text_dict(raw)) if raw else None

    async def list_for_key(
        self, workspace_id: str, key_id: str, status: Status | None
    ) -> list[SessionRecord]:
        """The key's sessions, newest first (at most the 500 most recent without a filter)."""
        if status is Status.ACTIVE:
            found: Any = await self._redis.smembers(self._keys.key_active(workspace_id, key_id))
        else:
            found = await self._redis.zrevrange(
                self._keys.key_sessions(workspace_id, key_id), 0, 499
            )
        ids = [text(sid) for sid in found]
        async with self._redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hgetall(self._keys.session(sid))
            rows = await pipe.execute()
        records = [SessionRecord(text_dict(row)) for row in rows if row]
        if status is not None:
            records = [r for r in records if r.status is status]
        records.sort(key=lambda r: r.ms("createdAt") or 0, reverse=True)
        return records

    async def count_action(
        self, session_id: str, action: str, ok: bool, now_ms: int, url: str
    ) -> bool:
        """Count one action; False (and nothing counted) once the session is closed."""
        counted = await self._count(
            keys=[self._keys.session(session_id)],
            args=[action, "success" if ok else "error", now_ms, url],
        )
        return bool(counted)

    async def close(
        self, record: SessionRecord, reason: CloseReason, closed_ms: int
    ) -> tuple[bool, SessionRecord]:
        """Close and bill exactly once; ``(closed_now, final_record)``.

        Safe to repeat: on an already closed session it completes the billing step, which
        counts a session only once, so an interrupted close is finished by the next one.
        """
        started = record.ms("startedAt") or closed_ms
        duration_s, credits = self._credits.bill(started, max(closed_ms, started))
        changed, flat = await self._close(
            keys=[self._keys.session(record.id)],
            args=[reason.value, closed_ms, duration_s, credits, self._retention_s],
        )
        final = SessionRecord(_pairs(flat))
        if final.status is Status.CLOSED:
            await self._bill(final)
        return bool(changed), final

    async def _bill(self, final: SessionRecord) -> None:
        closed_ms = final.ms("closedAt") or 0
        ws_id = final.workspace_id
        await self._bill_script(
            keys=[
                self._keys.ledger(ws_id),
                self._keys.usage_day(ws_id, utc_day(closed_ms)),
                self._keys.workspace_active(ws_id),
                self._keys.key_active(ws_id, final.key_id),
            ],
            args=[
                final.id,
                closed_ms,
                final.raw.get("durationSeconds", "0"),
                final.raw.get("billedCredits", "0"),
                final.kind,
                final.key_id,
                self._retention_s,
            ],
        )
        await self._redis.srem(self._keys.instance_sessions(final.owner), final.id)

    async def owned_by(self, instance_id: str) -> list[str]:
        """Ids of the active sessions an instance owns."""
        members = await self._redis.smembers(self._keys.instance_sessions(instance_id))
        return [text(member) for member in members]
