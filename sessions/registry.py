"""Session records in Redis: create, read, count actions, close-and-bill atomically."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from sessions.credits import CreditPolicy, utc_day
from sessions.keys import SessionKeys
from sessions.paging import SESSION_LIST, Position, decode_cursor, encode_cursor, read_page
from sessions.redis_types import RedisClient, text, text_dict
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


# Each script touches one Redis Cluster slot: the workspace's, which holds its session
# records, reservations, ledger and day totals. A pointer by session id (its own slot,
# written once) says which workspace a session belongs to.

# KEYS: record, ws_active, key_active, key_sessions
# ARGV: limit, created_ms, session_id, then field/value pairs of the record
_CREATE = """
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
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

# KEYS: record, ws_active, key_active, ledger, usage_day
# ARGV: session_id, reason, closed_ms, duration_s, credits, kind, key_id, retention_s
# The close and its ledger entry in one atomic step: billed exactly once, whoever closes.
_CLOSE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'status', 'closed', 'closeReason', ARGV[2], 'closedAt', ARGV[3],
  'durationSeconds', ARGV[4], 'billedCredits', ARGV[5])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
local capture = 0
if ARGV[6] == 'capture' then capture = 1 end
for _, prefix in ipairs({'', 'key:' .. ARGV[7] .. ':'}) do
  redis.call('HINCRBY', KEYS[5], prefix .. 'sessions', 1)
  redis.call('HINCRBY', KEYS[5], prefix .. 'captures', capture)
  redis.call('HINCRBY', KEYS[5], prefix .. 'durationSeconds', ARGV[4])
  redis.call('HINCRBY', KEYS[5], prefix .. 'credits', ARGV[5])
end
-- Retention: the record, old ledger entries and day totals expire.
local retention = tonumber(ARGV[8])
redis.call('EXPIRE', KEYS[1], retention)
redis.call('EXPIRE', KEYS[5], retention)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[3]) - retention * 1000)
return {1, redis.call('HGETALL', KEYS[1])}
"""

_COUNTERS = ("actionCount", "actionSuccessCount", "actionErrorCount")


def _pairs(flat: list[Any]) -> dict[str, str]:
    items = [text(v) for v in flat]
    return dict(zip(items[::2], items[1::2], strict=True))


LIVE_GENERATION = "liveGeneration"
"""Session record field: live links carry its value when made, and only that one is valid."""


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
        if raw.get("connectUrl"):
            session["connectUrl"] = raw["connectUrl"]
        return session


POINTER_CACHE_SIZE = 100_000
"""Session → workspace pointers remembered per process (they never change)."""


class Registry:
    """All Redis access for session records."""

    def __init__(
        self,
        redis: RedisClient,
        keys: SessionKeys,
        credits: CreditPolicy,
        retention_s: int = 400 * 86400,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._credits = credits
        self._retention_s = retention_s
        self._workspace_of: OrderedDict[str, str] = OrderedDict()
        self._create = redis.register_script(_CREATE)
        self._count = redis.register_script(_COUNT)
        self._close = redis.register_script(_CLOSE)

    async def create(self, fields: Mapping[str, str], workspace_limit: int) -> bool:
        """Store a new active record; False when the workspace is at its limit."""
        if not await self._create_record(fields, workspace_limit):
            await self._release_stale(fields["workspaceId"])
            if not await self._create_record(fields, workspace_limit):
                return False
        sid, ws_id = fields["id"], fields["workspaceId"]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._keys.session_workspace(sid), ws_id, ex=self._retention_s)
            pipe.sadd(self._keys.instance_sessions(fields["owner"]), sid)
            await pipe.execute()
        self._remember(sid, ws_id)
        return True

    async def _create_record(self, fields: Mapping[str, str], limit: int) -> bool:
        sid, ws_id, key_id = fields["id"], fields["workspaceId"], fields["keyId"]
        flat = [item for pair in fields.items() for item in pair]
        created = await self._create(
            keys=[
                self._keys.session(ws_id, sid),
                self._keys.workspace_active(ws_id),
                self._keys.key_active(ws_id, key_id),
                self._keys.key_sessions(ws_id, key_id),
            ],
            args=[limit, fields["createdAt"], sid, *flat],
        )
        return bool(created)

    async def _release_stale(self, ws_id: str) -> None:
        """Drop reservations whose record is gone or closed (an interrupted create)."""
        members: Any = await self._redis.smembers(self._keys.workspace_active(ws_id))
        for session_id in (text(m) for m in members):
            raw = await self._redis.hgetall(self._keys.session(ws_id, session_id))
            if not raw or text_dict(raw).get("status") != Status.ACTIVE.value:
                await self._redis.srem(self._keys.workspace_active(ws_id), session_id)

    def _remember(self, session_id: str, ws_id: str) -> None:
        self._workspace_of[session_id] = ws_id
        if len(self._workspace_of) > POINTER_CACHE_SIZE:
            self._workspace_of.popitem(last=False)

    async def workspace_of(self, session_id: str) -> str | None:
        """The session's workspace (cached: a session never changes workspace)."""
        ws_id = self._workspace_of.get(session_id)
        if ws_id is None:
            found = await self._redis.get(self._keys.session_workspace(session_id))
            if found is None:
                return None
            ws_id = text(found)
            self._remember(session_id, ws_id)
        return ws_id

    async def get(self, session_id: str) -> SessionRecord | None:
        """The record, or None."""
        ws_id = await self.workspace_of(session_id)
        if ws_id is None:
            return None
        raw = await self._redis.hgetall(self._keys.session(ws_id, session_id))
        return SessionRecord(text_dict(raw)) if raw else None

    async def list_for_key(
        self, workspace_id: str, key_id: str, status: Status | None
    ) -> list[SessionRecord]:
        """The key's sessions, newest first (at most the 500 most recent)."""
        return (await self.page_for_key(workspace_id, key_id, status, 500, None))[0]

    async def page_for_key(
        self, workspace_id: str, key_id: str, status: Status | None, limit: int, cursor: str | None
    ) -> tuple[list[SessionRecord], str | None]:
        """A page of the key's sessions, newest first, after ``cursor`` (one this gave the
        same key, else :class:`InvalidRequest`), and the next page's cursor (None at the end)."""
        after = decode_cursor(SESSION_LIST, key_id, cursor) if cursor else None

        async def load(ids: Sequence[str]) -> list[SessionRecord | None]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sid in ids:
                    pipe.hgetall(self._keys.session(workspace_id, sid))
                rows = await pipe.execute()
            return [SessionRecord(text_dict(row)) if row else None for row in rows]

        if status is Status.ACTIVE:  # a handful (the workspace's limit), ordered as the index
            found: Any = await self._redis.smembers(self._keys.key_active(workspace_id, key_id))
            records = [r for r in await load([text(m) for m in found]) if r is not None]
            at = {r.id: Position(r.ms("createdAt") or 0, r.id) for r in records}
            records.sort(key=lambda r: at[r.id], reverse=True)
            rest = [r for r in records if r.status is status and (not after or at[r.id] < after)]
            more = len(rest) > limit
            last = at[rest[limit - 1].id] if more else None
            return rest[:limit], encode_cursor(SESSION_LIST, key_id, last) if last else None
        index = self._keys.key_sessions(workspace_id, key_id)
        page, position = await read_page(
            self._redis, index, after, limit, load, lambda r: status in (None, r.status)
        )
        return page, encode_cursor(SESSION_LIST, key_id, position) if position else None

    async def count_action(
        self, workspace_id: str, session_id: str, action: str, ok: bool, now_ms: int, url: str
    ) -> bool:
        """Count one action; False (and nothing counted) once the session is closed."""
        counted = await self._count(
            keys=[self._keys.session(workspace_id, session_id)],
            args=[action, "success" if ok else "error", now_ms, url],
        )
        return bool(counted)

    async def close(
        self, record: SessionRecord, reason: CloseReason, closed_ms: int
    ) -> tuple[bool, SessionRecord]:
        """Close and bill in one atomic step; ``(closed_now, final_record)``."""
        started = record.ms("startedAt") or closed_ms
        duration_s, credits = self._credits.bill(started, max(closed_ms, started))
        ws_id = record.workspace_id
        changed, flat = await self._close(
            keys=[
                self._keys.session(ws_id, record.id),
                self._keys.workspace_active(ws_id),
                self._keys.key_active(ws_id, record.key_id),
                self._keys.ledger(ws_id),
                self._keys.usage_day(ws_id, utc_day(closed_ms)),
            ],
            args=[
                record.id,
                reason.value,
                closed_ms,
                duration_s,
                credits,
                record.kind,
                record.key_id,
                self._retention_s,
            ],
        )
        final = SessionRecord(_pairs(flat))
        # The owner's set is another slot; leaving it is idempotent and retried by sweeps.
        await self._redis.srem(self._keys.instance_sessions(record.owner), record.id)
        return bool(changed), final

    async def next_live_generation(self, record: SessionRecord) -> int:
        """Revoke the session's live links: the generation they must carry moves on."""
        key = self._keys.session(record.workspace_id, record.id)
        return int(await self._redis.hincrby(key, LIVE_GENERATION, 1))

    async def owned_by(self, instance_id: str) -> list[str]:
        """Ids of the sessions an instance owns (closed ones until they leave the set)."""
        members = await self._redis.smembers(self._keys.instance_sessions(instance_id))
        return [text(member) for member in members]
