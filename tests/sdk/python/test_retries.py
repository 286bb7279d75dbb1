"""Retries of 429 after ``Retry-After``, then ``RateLimited``; idempotency keys on creates."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sessionshot_client import AsyncSessionShot, IdempotencyConflict, RateLimited, SessionShot

from tests.conftest import ServiceFactory

pytestmark = pytest.mark.timeout(120)


class Recorder:
    """An httpx event hook keeping every request the client sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def sync_hook(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def async_hook(self, request: httpx.Request) -> None:
        self.requests.append(request)


async def test_rate_limited_after_the_retries_async(make_service: ServiceFactory) -> None:
    service = await make_service(rate_limit="2/minute")
    _, key = await service.new_key()
    seen = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [seen.async_hook]}) as http:
        client = AsyncSessionShot(
            service.base_url, key, max_retries=2, max_retry_delay_s=0.1, http_client=http
        )
        for _ in range(2):
            await client.sessions.list()
        with pytest.raises(RateLimited) as limited:
            await client.sessions.list(status="active")
    assert len(seen.requests) == 2 + 3, "the refused call was tried once and retried twice"
    assert limited.value.status == 429 and limited.value.code == "RATE_LIMITED"
    assert limited.value.retry_after_s is not None and 1 <= limited.value.retry_after_s <= 60


async def test_rate_limited_after_the_retries_sync(make_service: ServiceFactory) -> None:
    service = await make_service(rate_limit="1/minute")
    _, key = await service.new_key()
    seen = Recorder()

    def scenario() -> RateLimited:
        with httpx.Client(event_hooks={"request": [seen.sync_hook]}) as http:
            client = SessionShot(
                service.base_url, key, max_retries=3, max_retry_delay_s=0.1, http_client=http
            )
            client.webhooks.list()
            with pytest.raises(RateLimited) as limited:
                client.captures.create("https://app.test/")
            return limited.value

    error = await asyncio.to_thread(scenario)
    assert len(seen.requests) == 1 + 4
    creates = [r for r in seen.requests if r.method == "POST"]
    keys = {r.headers["Idempotency-Key"] for r in creates}
    assert len(creates) == 4 and len(keys) == 1, "every retry carries the same key"
    assert error.retry_after_s is not None


async def test_retry_after_is_honoured_until_the_call_passes(
    make_service: ServiceFactory,
) -> None:
    service = await make_service(rate_limit="2/second")
    _, key = await service.new_key()
    seen = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [seen.async_hook]}) as http:
        client = AsyncSessionShot(service.base_url, key, max_retries=5, http_client=http)
        for _ in range(10):
            await client.sessions.list()
    assert len(seen.requests) > 10, "ten quick calls met a limit of two a second"


async def test_creates_carry_an_idempotency_key(make_service: ServiceFactory) -> None:
    service = await make_service()
    _, key = await service.new_key(("app.test",))
    seen = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [seen.async_hook]}) as http:
        client = AsyncSessionShot(service.base_url, key, http_client=http)
        first = await client.captures.create("https://app.test/a", idempotency_key="order-1")
        again = await client.captures.create("https://app.test/a", idempotency_key="order-1")
        other = await client.captures.create("https://app.test/a")
        with pytest.raises(IdempotencyConflict) as conflict:
            await client.captures.create("https://app.test/b", idempotency_key="order-1")
    assert again.id == first.id and other.id != first.id
    assert conflict.value.status == 409
    sent = [r.headers.get("Idempotency-Key") for r in seen.requests]
    assert sent[:2] == ["order-1", "order-1"] and sent[2] and sent[2] != "order-1"
