"""Signed-in browsers of the dashboard, kept in Redis, and what each request costs them.

A browser holds only a random cookie value; Redis holds, under its hash, the workspace and
the API key the sign-in acts as (never the key itself) and the session's CSRF token. Each
request of a signed-in browser is counted against that key's rate limit, in the same window
as the key's API requests, and stops working as soon as the key is revoked.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from app.admission import RateDecision, rate_decision
from app.dashboard.keys import SESSION_TTL_S, DashboardKeys
from app.keys import AppKeys
from sessions.redis_types import RedisClient, fields, text_dict
from sessions.timefmt import iso_ms, now_ms

# KEYS[1] API key record, KEYS[2] its window counter (one slot: both tagged with the key id).
# ARGV[1] the sign-in's workspace, ARGV[2] window ms, ARGV[3] lastUsedAt.
# Returns {0} (key gone, revoked or moved) or {1, count in this window}.
_COUNT = """
local rec = redis.call('HMGET', KEYS[1], 'workspaceId', 'revokedAt')
if not rec[1] or rec[1] ~= ARGV[1] or rec[2] then return {0} end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[3])
return {1, count}
"""


@dataclass(frozen=True)
class SignIn:
    """One signed-in browser: whose workspace, acting as which key, and its CSRF token."""

    workspace_id: str
    key_id: str
    csrf: str
    via: str
    """``key`` (an API key was pasted) or ``link`` (a one-time link)."""

    def csrf_matches(self, presented: str) -> bool:
        """Whether a form's token is this session's, compared in constant time."""
        return hmac.compare_digest(self.csrf.encode(), presented.encode())


class SignIns:
    """Creates, reads and ends dashboard sign-ins; counts their requests."""

    def __init__(self, redis: RedisClient, prefix: str, limit: int, period_s: int) -> None:
        self._redis = redis
        self._keys = DashboardKeys(prefix)
        self._app_keys = AppKeys(prefix)
        self._limit = limit
        self._period_ms = period_s * 1000
        self._count = redis.register_script(_COUNT)

    async def start(self, workspace_id: str, key_id: str, via: str) -> str:
        """A new sign-in; the cookie value that names it (shown to nobody else)."""
        cookie = secrets.token_urlsafe(32)
        record = {
            "workspaceId": workspace_id,
            "keyId": key_id,
            "csrf": secrets.token_urlsafe(32),
            "createdAt": iso_ms(now_ms()),
            "via": via,
        }
        name = self._keys.session(cookie)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, mapping=fields(record))
            pipe.expire(name, SESSION_TTL_S)
            await pipe.execute()
        return cookie

    async def find(self, cookie: str) -> SignIn | None:
        """The sign-in a cookie names, or None (unknown, expired or ended)."""
        if not cookie or len(cookie) > 128:
            return None
        row = text_dict(await self._redis.hgetall(self._keys.session(cookie)))
        if not {"workspaceId", "keyId", "csrf"} <= row.keys():
            return None
        return SignIn(row["workspaceId"], row["keyId"], row["csrf"], row.get("via", "key"))

    async def end(self, cookie: str) -> None:
        """End a sign-in: its cookie no longer works anywhere."""
        if cookie and len(cookie) <= 128:
            await self._redis.delete(self._keys.session(cookie))

    async def charge(self, signin: SignIn) -> RateDecision | None:
        """Count one request against the sign-in's key; None when the key no longer works
        (revoked or deleted), which ends what the sign-in may do."""
        now = now_ms()
        window = now // self._period_ms
        answer = await self._count(
            keys=[
                self._app_keys.api_key(signin.key_id),
                self._app_keys.rate(signin.key_id, window),
            ],
            args=[signin.workspace_id, self._period_ms, iso_ms(now)],
        )
        if int(answer[0]) != 1:
            return None
        return rate_decision(int(answer[1]), self._limit, self._period_ms, now)
