"""MCP sessions in Redis, so any instance serves any of them.

An MCP session is issued on ``initialize`` (its id is the ``Mcp-Session-Id`` header) and
belongs to the key that opened it. It drives at most one live browser session at a time,
made at its first browser tool call; the record names it. The record's TTL starts again on
every request, so an abandoned MCP session goes away on its own (its browser session ends
at its own TTL or idle timeout, billed as usual).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from app.keys import MCP_SESSION_TTL_S, AppKeys
from sessions.redis_types import RedisClient, fields, text, text_dict
from sessions.timefmt import now_ms

ID_PREFIX = "mcp_"

# Swap the browser session the record names, if it still names the one the caller saw:
# two tool calls of one MCP session that both found none make one browser session, not two.
_BIND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local current = redis.call('HGET', KEYS[1], 'sessionId') or ''
if current ~= ARGV[1] then return current end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'sessionId')
else redis.call('HSET', KEYS[1], 'sessionId', ARGV[2]) end
return ARGV[2]
"""


@dataclass(frozen=True)
class McpSession:
    """One MCP session as stored."""

    id: str
    key_id: str
    workspace_id: str
    session_id: str
    """The browser session it drives; empty when it has none (yet, or any more)."""


class McpSessions:
    """Issue, find, rebind and end MCP sessions."""

    def __init__(self, redis: RedisClient, keys: AppKeys) -> None:
        self._redis = redis
        self._keys = keys
        self._bind = redis.register_script(_BIND)

    async def issue(self, key_id: str, workspace_id: str) -> McpSession:
        """A new MCP session of the key."""
        mcp_id = ID_PREFIX + secrets.token_urlsafe(24)
        slot = self._keys.mcp_session(mcp_id)
        record = {"keyId": key_id, "workspaceId": workspace_id, "createdAt": str(now_ms())}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(slot, mapping=fields(record))
            pipe.expire(slot, MCP_SESSION_TTL_S)
            await pipe.execute()
        return McpSession(mcp_id, key_id, workspace_id, "")

    async def find(self, mcp_id: str, key_id: str) -> McpSession | None:
        """The key's MCP session ``mcp_id`` (its TTL started again), or None when it is
        unknown, ended, expired or another key's."""
        if not mcp_id.startswith(ID_PREFIX) or len(mcp_id) > 100:
            return None
        slot = self._keys.mcp_session(mcp_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(slot)
            pipe.expire(slot, MCP_SESSION_TTL_S)
            row, _ = await pipe.execute()
        record = text_dict(row or {})
        if record.get("keyId") != key_id:
            return None
        return McpSession(mcp_id, key_id, record["workspaceId"], record.get("sessionId", ""))

    async def bind(self, mcp_id: str, seen: str, session_id: str) -> str | None:
        """Name ``session_id`` (empty: none) as the MCP session's browser session if it still
        names ``seen``; the one it names now, or None when the MCP session is gone."""
        found = await self._bind(keys=[self._keys.mcp_session(mcp_id)], args=[seen, session_id])
        return None if found is None else text(found)

    async def end(self, mcp_id: str) -> None:
        """Forget the MCP session (its id answers 404 from now on)."""
        await self._redis.delete(self._keys.mcp_session(mcp_id))
