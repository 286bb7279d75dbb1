"""``sessionshot serve`` takes its connection and stop timeouts from settings
(``SESSIONSHOT_KEEP_ALIVE_TIMEOUT_S``, ``SESSIONSHOT_GRACEFUL_TIMEOUT_S``)."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aredis

from captures.keys import CaptureKeys
from tests.support.capture_stack import CaptureStack
from tests.support.procs import RedisServer

StackFactory = Callable[..., Any]


@pytest.fixture
async def start_stack(
    redis_server: RedisServer, prefix: str, tmp_path: Path
) -> AsyncIterator[StackFactory]:
    """Start a ``serve`` process with settings overrides; stopped after the test."""
    started: list[CaptureStack] = []

    async def start(**overrides: Any) -> CaptureStack:
        stack = await CaptureStack.start(redis_server.url, prefix, tmp_path, **overrides)
        started.append(stack)
        return stack

    yield start
    for stack in started:
        await stack.aclose()


async def test_an_idle_keep_alive_connection_is_closed_after_the_setting(
    start_stack: StackFactory,
) -> None:
    stack: CaptureStack = await start_stack(keep_alive_timeout_s=1)
    port = int(stack.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        assert length is not None, head
        await reader.readexactly(int(length.group(1)))
        # Kept alive, then closed by the server once idle for 1 s; with the former fixed
        # 75 s the connection would outlast this bound.
        async with asyncio.timeout(20):
            assert await reader.read() == b"", "nothing more, then the end of the stream"
    finally:
        writer.close()


async def test_a_stop_lets_a_long_poll_finish_within_the_graceful_timeout(
    start_stack: StackFactory, redis_server: RedisServer, prefix: str
) -> None:
    """A long poll of 12 s in flight when SIGTERM arrives is answered, not cut: the drain
    lasts up to 25 s here (the default, 10 s, would cut it)."""
    stack: CaptureStack = await start_stack(graceful_timeout_s=25)
    _, key = await stack.new_key()
    accepted = await stack.create_capture(key, {"url": "https://app.test/"})  # no worker: queued
    record = CaptureKeys(prefix).capture(accepted["id"])
    watcher = aredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        async with watcher.monitor() as monitor:
            poll = asyncio.create_task(
                stack.http.get(
                    accepted["statusUrl"],
                    params={"wait": "12"},
                    headers={"Authorization": f"Bearer {key}"},
                )
            )
            # In flight once it read the record twice: before and after it began to watch.
            reads = 0
            async with asyncio.timeout(30):
                while reads < 2:
                    if (await monitor.next_command())["command"] == f"HGETALL {record}":
                        reads += 1
    finally:
        await watcher.aclose()
    stack.api.proc.send_signal(signal.SIGTERM)
    response = await poll
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "queued"
    assert await asyncio.to_thread(stack.api.proc.wait, 60) == 0
