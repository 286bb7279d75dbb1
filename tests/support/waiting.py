"""Bounded waits: ask again until a condition holds, or fail the test naming what was awaited.

:func:`eventually` is the one way tests wait for something. It never blocks the event loop,
which serves the loopback test sites and in-process services the condition may depend on.
:func:`wait_until` is its blocking twin for synchronous tests and fixtures that wait on
other processes (asynchronous code hands those waits to :func:`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

INTERVAL_S = 0.1
"""How long to pause between two checks by default."""


class WaitTimedOut(AssertionError):
    """The condition did not hold within the bound (fails the test like an ``assert``)."""


@overload
async def eventually(
    check: Callable[[], Awaitable[T | None]],
    timeout_s: float,
    what: str,
    *,
    interval_s: float = ...,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | None], timeout_s: float, what: str, *, interval_s: float = ...
) -> T: ...


async def eventually(
    check: Callable[[], Any], timeout_s: float, what: str, *, interval_s: float = INTERVAL_S
) -> Any:
    """Call ``check`` (sync or async) until it returns something truthy and return that.

    ``check`` runs at least once, and once more at or after the deadline, so a slow check
    never costs the last look. An exception from ``check`` ends the wait at once (a check
    asserts what must never happen meanwhile, such as a process exiting). After
    ``timeout_s`` seconds, :class:`WaitTimedOut` names ``what``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        late = time.monotonic() >= deadline
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if late:
            raise WaitTimedOut(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))


def wait_until(
    check: Callable[[], T | None], timeout_s: float, what: str, *, interval_s: float = INTERVAL_S
) -> T:
    """:func:`eventually` for synchronous code: blocks the calling thread between checks."""
    deadline = time.monotonic() + timeout_s
    while True:
        late = time.monotonic() >= deadline
        value = check()
        if value:
            return value
        if late:
            raise WaitTimedOut(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))
