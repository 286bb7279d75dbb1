"""One timer loop for every session deadline (TTL and idle), woken by an event."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable

Expire = Callable[[str], Awaitable[None]]


class DeadlineQueue:
    """Calls ``on_due(session_id)`` when a session's deadline passes.

    ``set`` replaces a session's deadline (stale heap entries are skipped), so an idle
    timeout is pushed back by simply setting a later deadline after each action.
    """

    def __init__(self, on_due: Expire) -> None:
        self._on_due = on_due
        self._heap: list[tuple[float, str]] = []
        self._deadline: dict[str, float] = {}
        self._changed = asyncio.Event()

    def set(self, session_id: str, monotonic_at: float) -> None:
        """Schedule (or reschedule) a session."""
        self._deadline[session_id] = monotonic_at
        heapq.heappush(self._heap, (monotonic_at, session_id))
        if self._heap[0][1] == session_id:
            self._changed.set()

    def discard(self, session_id: str) -> None:
        """Forget a session (closed by other means)."""
        self._deadline.pop(session_id, None)

    async def run(self) -> None:
        """The loop; runs until cancelled."""
        while True:
            self._changed.clear()
            timeout = self._next_wait()
            if timeout is None or timeout > 0:
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout)
                except TimeoutError:
                    pass
                continue
            at, session_id = heapq.heappop(self._heap)
            if self._deadline.get(session_id) != at:
                continue
            del self._deadline[session_id]
            await self._on_due(session_id)

    def _next_wait(self) -> float | None:
        while self._heap and self._deadline.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        if not self._heap:
            return None
        return max(0.0, self._heap[0][0] - time.monotonic())
