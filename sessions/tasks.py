"""Background work with strong references: nothing spawned is ever orphaned or silent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


CANCEL_ROUNDS = 10
CANCEL_ROUND_S = 0.5


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel tasks and wait for them, cancelling again if one swallowed a cancellation.

    Some client libraries catch ``CancelledError`` deep inside a call; a plain
    ``cancel(); await task`` would then wait forever.
    """
    pending = {task for task in tasks if not task.done()}
    for _ in range(CANCEL_ROUNDS):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=CANCEL_ROUND_S)
    if pending:
        log.error("tasks ignored cancellation", extra={"tasks": [t.get_name() for t in pending]})
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.debug("task ended with an error", extra={"task": task.get_name()})


class TaskSet:
    """Keeps spawned tasks alive, logs their failures once, cancels them on close."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in the background."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            err = task.exception()
            log.error(
                "background task failed",
                extra={"task": task.get_name(), "errorType": type(err).__name__},
            )

    def __len__(self) -> int:
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel what is still running and wait for it."""
        await cancel_and_wait(*self._tasks)
