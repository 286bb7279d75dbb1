"""Capture long polls woken through pub/sub, on one Redis and on a Redis Cluster (SPEC 17).

The final-state script publishes the capture id and each API's listener wakes the polls
waiting on it. On a cluster the script runs on the capture's slot while the listener is
subscribed on whichever node owns the channel's: the message must still get there. Each test
runs on the session's redis-server and on its three-primary cluster.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from captures.errors import CaptureFailed
from captures.keys import CaptureKeys
from captures.records import CaptureStatus, CaptureStore
from tests.support.redis_cluster import RedisBackend
from tests.support.service import Service
from tests.support.waiting import eventually

Factory = Callable[..., Awaitable[Service]]
DOMAIN = "app.test"


@pytest.fixture
def redis_url(redis_backend: RedisBackend) -> str:
    """The services of this module run on each Redis the product supports."""
    return redis_backend.url


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_long_poll_is_woken_when_the_capture_ends(
    make_service: Factory, redis_backend: RedisBackend
) -> None:
    service = await make_service()
    _, key = await service.new_key((DOMAIN,))
    created = await service.http.post(
        "/api/captures", headers=_auth(key), json={"url": f"https://{DOMAIN}/page"}
    )
    assert created.status_code == 202, created.text
    capture_id = created.json()["id"]
    stream = CaptureKeys(service.settings.redis_prefix).stream()
    assert await service.state.redis.xlen(stream) == 1, "queued on the job stream"

    poll = asyncio.create_task(
        service.http.get(f"{created.json()['statusUrl']}?wait=30", headers=_auth(key), timeout=60)
    )
    listener = service.state.captures.events
    # White-box: the poll is registered with the listener, so only a message can wake it.
    await eventually(lambda: capture_id in listener._waiters, 10, "the long poll to wait")

    # A worker's steps, from another client of the same Redis: only pub/sub reaches the API.
    client = redis_backend.client()
    try:
        store = CaptureStore(client, CaptureKeys(service.settings.redis_prefix))
        attempt = await store.start(capture_id, "worker_elsewhere")
        record = await store.get(capture_id)
        assert attempt == 1 and record is not None
        extra = {"error": json.dumps(CaptureFailed("gave up").public())}
        assert await store.finish(capture_id, CaptureStatus.FAILED, extra, record.created_ms, 1)
    finally:
        await client.aclose()

    answered = await poll
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "failed", "woken by the final state, not the 30 s bound"
    assert answered.json()["error"]["message"] == "gave up"
