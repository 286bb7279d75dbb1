"""The session deadline queue: TTL and idle deadlines fire once, in order, as last set.

``sessions.expiry.DeadlineQueue`` decides when a session's ``expired`` / ``idle_timeout``
close happens (SPEC section 4, "TTL, idle timeout, expiry"). It runs on the event loop and
touches nothing else, so these tests drive it directly with deadlines on the monotonic clock:
past ones are due at once, far-future ones (an hour away) never fall due during a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from sessions.expiry import DeadlineQueue
from tests.support.waiting import eventually

HOUR_S = 3600.0
WAIT_S = 5.0


class Recorder:
    """The ``on_due`` callback: remembers which sessions fell due, in order."""

    def __init__(self) -> None:
        self.due: list[str] = []

    async def __call__(self, session_id: str) -> None:
        self.due.append(session_id)

    async def wait_for(self, count: int) -> list[str]:
        """The sessions due so far, once there are ``count`` of them."""
        await eventually(lambda: len(self.due) >= count, WAIT_S, f"{count} sessions due")
        return list(self.due)


@contextlib.asynccontextmanager
async def running(queue: DeadlineQueue) -> AsyncIterator[None]:
    task = asyncio.create_task(queue.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_due_sessions_fire_in_deadline_order_not_insertion_order() -> None:
    recorder = Recorder()
    queue = DeadlineQueue(recorder)
    now = time.monotonic()
    queue.set("c", now - 1)
    queue.set("a", now - 3)
    queue.set("b", now - 2)
    async with running(queue):
        assert await recorder.wait_for(3) == ["a", "b", "c"]


async def test_a_later_deadline_replaces_an_earlier_one() -> None:
    recorder = Recorder()
    queue = DeadlineQueue(recorder)
    now = time.monotonic()
    queue.set("pushed-back", now - 2)
    queue.set("pushed-back", now + HOUR_S)  # an action pushed the idle deadline back
    queue.set("marker", now - 1)  # falls due after the replaced deadline would have
    async with running(queue):
        assert await recorder.wait_for(1) == ["marker"]
        await asyncio.sleep(0)
        assert recorder.due == ["marker"]


async def test_an_earlier_deadline_replaces_a_later_one() -> None:
    recorder = Recorder()
    queue = DeadlineQueue(recorder)
    now = time.monotonic()
    queue.set("s", now + HOUR_S)
    queue.set("s", now - 1)
    async with running(queue):
        assert await recorder.wait_for(1) == ["s"]


async def test_a_discarded_session_never_fires() -> None:
    recorder = Recorder()
    queue = DeadlineQueue(recorder)
    now = time.monotonic()
    queue.set("closed-by-delete", now - 2)
    queue.set("marker", now - 1)
    queue.discard("closed-by-delete")
    queue.discard("never-set")  # harmless
    async with running(queue):
        assert await recorder.wait_for(1) == ["marker"]


async def test_each_deadline_fires_once() -> None:
    recorder = Recorder()
    queue = DeadlineQueue(recorder)
    now = time.monotonic()
    queue.set("s", now - 2)
    queue.set("s", now - 2)  # set twice with the same deadline
    queue.set("marker", now - 1)
    async with running(queue):
        assert await recorder.wait_for(2) == ["s", "marker"]
        queue.discard("s")  # after it fired: nothing left to forget
        queue.set("s", time.monotonic() - 1)  # a new deadline fires again
        assert await recorder.wait_for(3) == ["s", "marker", "s"]


async def test_an_idle_loop_wakes_for_a_new_deadline() -> None:
    recorder = Recorder()
    queue = DeadlineQueue(recorder)
    async with running(queue):
        await asyncio.sleep(0)  # the loop waits with nothing scheduled
        queue.set("s", time.monotonic() - 1)
        assert await recorder.wait_for(1) == ["s"]


async def test_a_loop_waiting_for_a_far_deadline_wakes_for_a_nearer_one() -> None:
    recorder = Recorder()
    queue = DeadlineQueue(recorder)
    queue.set("far", time.monotonic() + HOUR_S)
    async with running(queue):
        await asyncio.sleep(0)  # the loop now waits up to an hour for "far"
        queue.set("near", time.monotonic() - 1)
        assert await recorder.wait_for(1) == ["near"]
