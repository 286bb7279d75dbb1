"""``Idempotency-Key``: the same key and body within 24 h replays the first response."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from quart import request

from app.errors import Conflict, IdempotencyConflict, ValidationFailed
from app.keys import IDEMPOTENCY_TTL_S, AppKeys
from sessions.redis_types import RedisClient

MAX_KEY_LENGTH = 255
Run = Callable[[], Awaitable[tuple[dict[str, Any], int]]]


def _body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def idempotent(
    redis: RedisClient, keys: AppKeys, key_id: str, scope: str, body: Any, run: Run
) -> tuple[dict[str, Any], int]:
    """Run ``run`` once per (key, Idempotency-Key); replay its response afterwards."""
    idem = request.headers.get("Idempotency-Key")
    if idem is None:
        return await run()
    if not idem or len(idem) > MAX_KEY_LENGTH:
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters.")
    slot = keys.idempotency(key_id, scope, hashlib.sha256(idem.encode()).hexdigest())
    digest = _body_hash(body)
    pending = json.dumps({"hash": digest, "pending": True})
    if not await redis.set(slot, pending, nx=True, ex=IDEMPOTENCY_TTL_S):
        stored = await redis.get(slot)
        if stored is None:
            raise Conflict("A request with this Idempotency-Key just expired; retry.")
        data = json.loads(stored)
        if data["hash"] != digest:
            raise IdempotencyConflict()
        if data.get("pending"):
            raise Conflict("A request with this Idempotency-Key is still in progress.")
        return data["body"], int(data["status"])
    try:
        body_out, status = await run()
    except BaseException:
        await redis.delete(slot)
        raise
    done = {"hash": digest, "status": status, "body": body_out}
    await redis.set(slot, json.dumps(done), ex=IDEMPOTENCY_TTL_S)
    return body_out, status
