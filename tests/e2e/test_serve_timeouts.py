"""``sessionshot serve`` takes its connection and stop timeouts from settings
(``SESSIONSHOT_KEEP_ALIVE_TIMEOUT_S``, ``SESSIONSHOT_GRACEFUL_TIMEOUT_S``)."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aredis

from captures.keys import CaptureKeys
from tests.support.capture_stack import CaptureStack
from tests.support.procs import RedisServer

StackFactory = Callable[..., Any]
T = TypeVar("T")


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


async def _in_flight(redis_url: str, send: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Task[T]:
    """Start ``send`` and return once the server has taken the request: its admission
    (the first Redis command after it was sent) has run."""
    watcher = aredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        async with watcher.monitor() as monitor:
            task = asyncio.create_task(send())
            async with asyncio.timeout(30):
                await monitor.next_command()
    finally:
        await watcher.aclose()
    return task


async def test_a_stop_lets_an_action_finish_within_the_graceful_timeout(
    start_stack: StackFactory, redis_server: RedisServer
) -> None:
    """An action of 12 s in flight when SIGTERM arrives is answered, not cut: the drain
    lasts up to 25 s here (the default, 10 s, would cut it)."""
    stack: CaptureStack = await start_stack(graceful_timeout_s=25)
    _, key = await stack.new_key()
    auth = {"Authorization": f"Bearer {key}"}
    created = await stack.http.post("/v1/sessions", headers=auth, json={})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    slow = "new Promise(done => setTimeout(() => done('finished'), 12000))"
    action = await _in_flight(
        redis_server.url,
        lambda: stack.http.post(
            f"/v1/sessions/{session_id}/actions",
            headers=auth,
            json={"type": "evaluate", "payload": {"expression": slow}},
        ),
    )
    stack.api.proc.send_signal(signal.SIGTERM)
    response = await action
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "finished"
    assert await asyncio.to_thread(stack.api.proc.wait, 60) == 0


async def test_a_stop_answers_a_long_poll_at_once(
    start_stack: StackFactory, redis_server: RedisServer, prefix: str
) -> None:
    """A 30 s long poll in flight when SIGTERM arrives is answered with the capture as it
    stands, rather than cut off without an answer when the 10 s drain ends."""
    stack: CaptureStack = await start_stack()
    _, key = await stack.new_key()
    accepted = await stack.create_capture(key, {"url": "https://app.test/"})  # no worker: queued
    record = CaptureKeys(prefix).capture(accepted["id"])
    watcher = aredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        async with watcher.monitor() as monitor:
            poll = asyncio.create_task(
                stack.http.get(
                    accepted["statusUrl"],
                    params={"wait": "30"},
                    headers={"Authorization": f"Bearer {key}"},
                )
            )
            # Waiting once it read the record twice: before and after it began to watch.
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
