"""The warm pool's refill and a capture's render do not run side by side: a capture's session
takes a warm context and the pool is refilled once that session closes; a live session's
warm context is replaced at once (the next session create finds one ready)."""

from __future__ import annotations

import pytest

from sessions.models import SessionOptions
from tests.support.service import Service
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(120)


async def _full(service: Service) -> bool:
    engine = service.state.engine
    return engine.resource_counts()["warm"] == engine.config.warm_contexts


async def test_a_capture_session_refills_the_pool_when_it_closes(
    browser_service: Service,
) -> None:
    engine = browser_service.state.engine
    await eventually(lambda: _full(browser_service), 60, "the warm pool full")
    size = engine.config.warm_contexts
    assert size >= 1
    ws_id, _ = await browser_service.new_key()
    record = await engine.create("key_refill", ws_id, SessionOptions(), kind="capture")
    try:
        # Nothing is being made while the capture runs: the pool stays one short.
        counts = engine.resource_counts()
        assert counts["warm"] == size - 1 and counts["warmFilling"] == 0
    finally:
        await engine.close("key_refill", record.id)
    await eventually(lambda: _full(browser_service), 60, "the pool refilled after the close")


async def test_a_live_session_refills_the_pool_at_once(browser_service: Service) -> None:
    engine = browser_service.state.engine
    await eventually(lambda: _full(browser_service), 60, "the warm pool full")
    ws_id, _ = await browser_service.new_key()
    record = await engine.create("key_refill", ws_id, SessionOptions(), kind="live")
    try:
        assert engine.resource_counts()["warmFilling"] == 1
        await eventually(lambda: _full(browser_service), 60, "the pool refilled while open")
    finally:
        await engine.close("key_refill", record.id)
