"""Admission of every keyed request: the key check and the rate count in one Redis round trip.

One script reads the key record, compares the stored ``HMAC-SHA-256(pepper, key)`` with the
presented key's in constant time, and only for a valid, unrevoked key counts the request in
its fixed window and stamps ``lastUsedAt``. So a malformed, unknown, wrong or revoked key never
touches a budget (knowing a key id is not enough to burn it), a revocation is seen by the very
next request on every instance (nothing is cached), and a request costs one round trip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.keys import AppKeys
from app.tenancy import Principal, Tenancy, key_id_of
from sessions.redis_types import RedisClient, text
from sessions.timefmt import iso_ms, now_ms

# KEYS[1] key record, KEYS[2] window counter (one slot: both are tagged with the key id).
# ARGV[1] presented key's digest, ARGV[2] window ms, ARGV[3] lastUsedAt.
# Returns {0} (not admitted) or {1, workspaceId, count in this window}.
_SCRIPT = """
local rec = redis.call('HMGET', KEYS[1], 'hash', 'workspaceId', 'revokedAt')
local stored, given = rec[1], ARGV[1]
if not stored or not rec[2] or rec[3] or #stored ~= #given then return {0} end
local diff = 0
for i = 1, #given do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i)))
end
if diff ~= 0 then return {0} end
local count = redis.call('INCR', KEYS[2])
if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[3])
return {1, rec[2], count}
"""


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one request against the limit, with its header values."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        """``RateLimit-*`` headers, plus ``Retry-After`` when refused."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_s)
        return headers


def rate_decision(count: int, limit: int, period_ms: int, at_ms: int) -> RateDecision:
    """How the ``count``-th request of the fixed window holding ``at_ms`` stands against
    ``limit``; windows start at multiples of ``period_ms``."""
    window = at_ms // period_ms
    reset_s = max(1, math.ceil(((window + 1) * period_ms - at_ms) / 1000))
    return RateDecision(
        allowed=count <= limit,
        limit=limit,
        remaining=max(0, limit - count),
        reset_s=reset_s,
    )


@dataclass(frozen=True)
class Admitted:
    """A request whose key checked out, and how it stands against the key's rate limit."""

    principal: Principal
    rate: RateDecision


class Admission:
    """Checks API keys and counts their requests in fixed windows of ``period_s``."""

    def __init__(
        self, redis: RedisClient, keys: AppKeys, tenancy: Tenancy, limit: int, period_s: int
    ) -> None:
        self._keys = keys
        self._tenancy = tenancy
        self._limit = limit
        self._period_ms = period_s * 1000
        self._script = redis.register_script(_SCRIPT)

    async def admit(self, api_key: str | None) -> Admitted | None:
        """The caller and its rate decision; None for a missing, malformed, unknown or
        revoked key (no Redis call for a missing or malformed one)."""
        if not api_key:
            return None
        key_id = key_id_of(api_key)
        if key_id is None:
            return None
        now = now_ms()
        window = now // self._period_ms
        answer = await self._script(
            keys=[self._keys.api_key(key_id), self._keys.rate(key_id, window)],
            args=[self._tenancy.digest(api_key), self._period_ms, iso_ms(now)],
        )
        if int(answer[0]) != 1:
            return None
        rate = rate_decision(int(answer[2]), self._limit, self._period_ms, now)
        return Admitted(Principal(key_id=key_id, workspace_id=text(answer[1])), rate)
