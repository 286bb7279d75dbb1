"""The ledger is read page by page by score; no row is lost or repeated across pages."""

from __future__ import annotations

import asyncio
import json
import secrets

import redis.asyncio as aioredis

from sessions.credits import CreditPolicy
from sessions.keys import SessionKeys
from sessions.registry import CloseReason, Registry
from sessions.usage import PAGE, UsageReports
from tests.support.procs import RedisServer

DAY_MS = 86_400_000
BASE_MS = 1_795_000_000_000 - (1_795_000_000_000 % DAY_MS)


async def test_csv_rows_span_pages_with_equal_close_times(redis_server: RedisServer) -> None:
    redis = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    keys = SessionKeys(f"page{secrets.token_hex(4)}:")
    registry = Registry(redis, keys, CreditPolicy())
    total = 2 * PAGE + 137
    try:

        async def one(index: int) -> str:
            sid = f"sess_{index:05d}"
            started = BASE_MS + 1000
            fields = {
                "id": sid,
                "keyId": "key_1",
                "workspaceId": "ws_page",
                "owner": "inst_x",
                "status": "active",
                "kind": "live",
                "createdAt": str(started),
                "startedAt": str(started),
                "expiresAt": str(started + 300_000),
                "lastActivityAt": str(started),
                "options": json.dumps({}),
                "currentUrl": "about:blank",
            }
            assert await registry.create(fields, 10**6)
            record = await registry.get(sid)
            assert record is not None
            # Runs of equal close times straddle the page boundaries.
            closed = started + 5000 + (index // 7)
            await registry.close(record, CloseReason.CLOSED, closed)
            return sid

        slots = asyncio.Semaphore(32)

        async def bounded(index: int) -> str:
            async with slots:
                return await one(index)

        ids = set(await asyncio.gather(*(bounded(i) for i in range(total))))
        reader = UsageReports(redis, keys)
        seen = [r["id"] async for r in reader.records("ws_page", BASE_MS, BASE_MS + DAY_MS)]
        assert len(seen) == total and set(seen) == ids
        closed_at = [
            int(r["closedAt"]) async for r in reader.records("ws_page", BASE_MS, BASE_MS + DAY_MS)
        ]
        assert closed_at == sorted(closed_at)
    finally:
        await redis.aclose()
