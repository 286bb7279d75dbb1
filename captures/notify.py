"""Wakes long-polls when a capture reaches a final state (one pub/sub listener per API)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from sessions.redis_types import RedisClient, text


class DoneListener:
    """Subscribes to the ``captures:done`` channel and sets the waiters' events."""

    def __init__(self, redis: RedisClient, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._subscribed = asyncio.Event()
        self._released = False

    async def run(self) -> None:
        """Listen until cancelled. An interruption (Redis went away) wakes every waiter and
        ends the loop; the process's loop group starts it again (a new subscription) once
        Redis answers."""
        try:
            await self._listen()
        finally:
            self._subscribed.clear()
            # Long-polls re-read the record when woken, so waking them all is safe.
            self._wake_all()

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
            self._subscribed.set()
            async for message in pubsub.listen():
                if message and message.get("type") == "message":
                    self._wake(text(message["data"]))
            raise RedisConnectionError("the subscription ended")  # to be made again
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    def _wake(self, capture_id: str) -> None:
        for event in self._waiters.get(capture_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    def release(self) -> None:
        """End every long poll now, and any that starts later at once: the server is
        stopping, and a poll still waiting when its graceful timeout ends would be cut off
        without an answer. Each answers the capture as it stands."""
        self._released = True
        self._wake_all()

    @contextlib.contextmanager
    def watch(self, capture_id: str) -> Iterator[asyncio.Event]:
        """An event set when ``capture_id`` is published; register before re-reading."""
        event = asyncio.Event()
        if self._released:
            event.set()
        self._waiters.setdefault(capture_id, set()).add(event)
        try:
            yield event
        finally:
            events = self._waiters.get(capture_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[capture_id]

    async def ready(self, timeout_s: float = 5.0) -> bool:
        """True once subscribed (for readiness and tests)."""
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout_s)
        except TimeoutError:
            return False
        return True
