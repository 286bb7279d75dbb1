"""Per-key fixed-window rate limit in Redis, one round trip per request.

The same script stamps the key's ``lastUsedAt``, so authentication costs one read and this
one write, whatever the traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

from app.keys import AppKeys
from sessions.timefmt import iso_ms, now_ms

# KEYS[1] window counter, KEYS[2] key record; ARGV[1] window ms, ARGV[2] lastUsedAt.
_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[2], 'lastUsedAt', ARGV[2])
return count
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


class RateLimiter:
    """Counts requests per API key in fixed windows of ``period_s``."""

    def __init__(self, redis: Redis, keys: AppKeys, limit: int, period_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._limit = limit
        self._period_ms = period_s * 1000
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, key_id: str) -> RateDecision:
        """Count one request of ``key_id`` and decide."""
        now = now_ms()
        window = now // self._period_ms
        count = int(
            await self._script(
                keys=[self._keys.rate(key_id, window), self._keys.api_key(key_id)],
                args=[self._period_ms, iso_ms(now)],
            )
        )
        reset_s = max(1, math.ceil(((window + 1) * self._period_ms - now) / 1000))
        return RateDecision(
            allowed=count <= self._limit,
            limit=self._limit,
            remaining=max(0, self._limit - count),
            reset_s=reset_s,
        )
