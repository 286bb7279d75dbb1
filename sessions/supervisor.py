"""The background loops of a process in one supervised group, and its view of Redis.

A loop that fails is logged once and restarted after a growing delay. One that keeps
failing stops the group: every loop is cancelled at once (so the heartbeat stops and other
instances take this one for lost) and the process is asked to exit non-zero. Redis going
away is not a failure: the loop waits, probing with backoff, until Redis answers again and
then starts over, however long that takes.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis.exceptions import (
    ClusterDownError,
    ReadOnlyError,
    RedisClusterUnreachableError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)

from sessions.redis_types import RedisClient, ping
from sessions.tasks import cancel_and_wait

log = logging.getLogger(__name__)

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,  # refused, reset, LOADING while the AOF replays, a full pool
    RedisTimeoutError,
    ReadOnlyError,  # a replica being promoted
    ClusterDownError,  # a cluster missing a primary (CLUSTERDOWN, MASTERDOWN)
    TryAgainError,
    SlotNotCoveredError,  # a cluster client that lost its map of the slots
    RedisClusterUnreachableError,  # no node of a cluster answers
    OSError,
)
"""Errors that mean "Redis is not answering" rather than "this loop is broken"."""

PROBE_TIMEOUT_S = 2.0
"""Longest a PING may take to count as an answer."""


def is_outage(err: BaseException) -> bool:
    """True for an error that Redis being away (or failing over) explains."""
    return isinstance(err, OUTAGE_ERRORS)


@dataclass(frozen=True)
class Backoff:
    """Exponential delays with jitter: ``first_s``, about twice as long each time, capped."""

    first_s: float
    max_s: float

    def delay(self, attempt: int) -> float:
        """The wait before try number ``attempt`` (0-based); jitter spreads processes out."""
        ceiling = min(self.max_s, self.first_s * 2.0 ** min(attempt, 30))
        return ceiling * random.uniform(0.5, 1.0)


PROBE_BACKOFF = Backoff(first_s=0.05, max_s=1.0)
"""Between PINGs while Redis is away: back within about a second of its return."""


class RedisLink:
    """Whether Redis answers, as this process last saw it; each change is logged once."""

    def __init__(self, redis: RedisClient, backoff: Backoff = PROBE_BACKOFF) -> None:
        self._redis = redis
        self._backoff = backoff
        self.up = True
        self.returns = 0
        """How many times Redis came back after being away."""
        self._back_at: float | None = None
        self._down_at = 0.0

    def lost(self, where: str, err: BaseException) -> None:
        """Redis stopped answering ``where`` (logged only when it was up)."""
        if not self.up:
            return
        self.up = False
        self._down_at = time.monotonic()
        log.warning(
            "redis unavailable; waiting for it",
            extra={"event": "redis_unavailable", "loop": where, "errorType": type(err).__name__},
        )

    def found(self) -> None:
        """Redis answers (logged only when it was away)."""
        if self.up:
            return
        self.up = True
        self.returns += 1
        self._back_at = time.monotonic()
        log.info(
            "redis available again",
            extra={"event": "redis_available", "downS": round(self._back_at - self._down_at, 1)},
        )

    def settled(self, for_s: float) -> bool:
        """False for ``for_s`` seconds after Redis came back (True if it never went away)."""
        return self._back_at is None or time.monotonic() - self._back_at >= for_s

    async def answers(self) -> bool:
        """One PING: True when Redis answers it in time."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await ping(self._redis)
        except asyncio.CancelledError:
            raise
        except Exception:
            return False
        return True

    async def wait_back(self) -> None:
        """Until Redis answers, probing with backoff (never a busy loop)."""
        attempt = 0
        while not await self.answers():
            await asyncio.sleep(self._backoff.delay(attempt))
            attempt += 1
        self.found()


@dataclass(frozen=True)
class RestartPolicy:
    """How a failing loop is restarted, and when the group gives up on it."""

    backoff: Backoff = field(default_factory=lambda: Backoff(first_s=0.2, max_s=5.0))
    max_failures: int = 5
    """A loop failing more often than this within ``window_s`` stops the group."""
    window_s: float = 60.0


Loop = Callable[[], Awaitable[None]]


class LoopGroup:
    """Runs named loops, restarts the ones that fail, and stops them all when one keeps
    failing (then ``on_fatal`` is called: the process should stop and exit non-zero).

    A loop that returns normally is finished and is not restarted.
    """

    def __init__(
        self,
        link: RedisLink,
        on_fatal: Callable[[], None] | None = None,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.link = link
        self._on_fatal = on_fatal
        self._policy = policy or RestartPolicy()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._restarting: set[str] = set()
        self.failed: str | None = None
        """The loop the group gave up on, if any."""

    def add(self, name: str, run: Loop) -> asyncio.Task[None]:
        """Start ``run()`` under supervision; the supervising task (ends with the loop)."""
        if name in self._tasks:
            raise ValueError(f"a loop named {name} already runs")
        task = asyncio.get_running_loop().create_task(self._supervise(name, run), name=name)
        self._tasks[name] = task
        return task

    def healthy(self) -> bool:
        """True while no loop waits to be restarted after a failure and none was given up."""
        return self.failed is None and not self._restarting

    async def stop(self, *names: str) -> None:
        """Cancel the named loops and wait for them (idempotent)."""
        await cancel_and_wait(*(self._tasks[n] for n in names if n in self._tasks))

    async def aclose(self) -> None:
        """Cancel every loop and wait for them (idempotent)."""
        await cancel_and_wait(*self._tasks.values())

    async def _supervise(self, name: str, run: Loop) -> None:
        failures: deque[float] = deque()
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:
                if is_outage(err) and not await self.link.answers():
                    self.link.lost(name, err)
                    await self.link.wait_back()
                    continue  # an outage is no fault of the loop: start over at once
                if not await self._pause(name, err, failures):
                    return

    async def _pause(self, name: str, err: Exception, failures: deque[float]) -> bool:
        """Log a failure and wait before the restart; False when the group gave up."""
        now = time.monotonic()
        failures.append(now)
        while failures and now - failures[0] > self._policy.window_s:
            failures.popleft()
        if len(failures) > self._policy.max_failures:
            self._give_up(name, err, len(failures))
            return False
        delay = self._policy.backoff.delay(len(failures) - 1)
        log.error(
            "background loop failed; restarting it",
            extra={
                "event": "loop_failed",
                "loop": name,
                "errorType": type(err).__name__,
                "restartInS": round(delay, 2),
            },
        )
        self._restarting.add(name)
        try:
            await asyncio.sleep(delay)
        finally:
            self._restarting.discard(name)
        return True

    def _give_up(self, name: str, err: Exception, failures: int) -> None:
        self.failed = name
        log.critical(
            "background loop keeps failing; stopping this process",
            extra={
                "event": "loop_gave_up",
                "loop": name,
                "errorType": type(err).__name__,
                "failures": failures,
            },
        )
        me = asyncio.current_task()
        for task in self._tasks.values():
            if task is not me:
                task.cancel()  # the heartbeat first of all: stop looking alive
        if self._on_fatal is not None:
            self._on_fatal()
