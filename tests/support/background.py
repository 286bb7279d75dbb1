"""An event loop of its own in a thread, for tests whose body is synchronous.

Schemathesis' pytest tests and generated synchronous clients block the test's thread while
they wait for an answer: a service and test sites served on that thread's loop would never
answer. Here they run on a loop in another thread; the test reaches them over real HTTP.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """A running event loop on a daemon thread; :meth:`run` executes a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="background-loop", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def __enter__(self) -> BackgroundLoop:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 120) -> T:
        """Run ``coro`` on the loop and return its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        """Cancel what is left on the loop, stop it and close it."""
        if self.loop.is_closed():
            return
        if self._thread.is_alive():
            self.run(self._cancel_rest(), 30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)
        self.loop.close()

    async def _cancel_rest(self) -> None:
        current = asyncio.current_task()
        rest = [task for task in asyncio.all_tasks() if task is not current]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
        await self.loop.shutdown_default_executor()
