"""The capture worker: claims jobs from the Redis stream, runs them, reclaims the dead's."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from captures.errors import CaptureFailed
from captures.keys import GROUP
from captures.models import CaptureRequest
from captures.records import CaptureRecord
from captures.runner import CaptureRunner, Owner
from captures.service import Attempt, CaptureService
from sessions.instances import Instances
from sessions.redis_types import RedisClient, text
from sessions.registry import CloseReason, Registry, Status
from sessions.supervisor import is_outage
from sessions.tasks import TaskSet
from sessions.timefmt import now_ms

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
READ_BLOCK_MS = 500
"""Longest a blocking read waits, so a stop request is seen promptly."""


@dataclass(frozen=True)
class WorkerConfig:
    """How one worker behaves."""

    worker_id: str
    concurrency: int = 4
    visibility_ms: int = 90_000
    grace_s: float = 30.0


class CaptureWorker:
    """Consumes the capture stream with at most ``concurrency`` jobs in flight."""

    def __init__(
        self,
        redis: RedisClient,
        captures: CaptureService,
        registry: Registry,
        runner: CaptureRunner,
        config: WorkerConfig,
        instances: Instances | None = None,
    ) -> None:
        self._instances = instances
        self._redis = redis
        self._captures = captures
        self._registry = registry
        self._runner = runner
        self.config = config
        self._stream = captures.keys.stream()
        self._jobs = TaskSet()
        self._in_flight = 0
        self._room = asyncio.Event()  # set while fewer than ``concurrency`` jobs run
        self._room.set()
        self._idle = asyncio.Event()  # set while no job runs
        self._idle.set()
        self._running: dict[str, str] = {}  # stream entry id -> capture id

    async def join_group(self) -> None:
        """Create the consumer group if it does not exist yet."""
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        """Claim jobs and start them until ``stop`` is set (then :meth:`drain`).

        Redis going away ends it with the error, for the process's loop group to start it
        again once Redis answers; running jobs are kept meanwhile.
        """
        while not stop.is_set():
            free = self.config.concurrency - self._in_flight
            if free <= 0:
                await _first(self._room.wait(), stop.wait())
                continue
            for entry_id, capture_id in await self._claim(free):
                if entry_id not in self._running:
                    self._start(entry_id, capture_id)

    async def _claim(self, count: int) -> list[tuple[str, str]]:
        """A dead worker's jobs first, then new ones; makes the group again if Redis lost it
        (it came back empty)."""
        try:
            return await self._reclaim(count) or await self._read(count)
        except ResponseError as err:
            if "NOGROUP" not in str(err):
                raise
        log.warning("capture consumer group missing; creating it again", extra={"event": "nogroup"})
        await self.join_group()
        return []

    async def keep_claimed(self) -> None:
        """Reset the idle time of running jobs, so only a dead worker's jobs get reclaimed
        (a loop of its own, run until cancelled)."""
        interval_s = self.config.visibility_ms / 3000
        while True:
            await asyncio.sleep(interval_s)
            if not self._running:
                continue
            try:
                await self._redis.xclaim(
                    self._stream,
                    GROUP,
                    self.config.worker_id,
                    min_idle_time=0,
                    message_ids=list(self._running),
                    justid=True,
                )
            except ResponseError as err:
                if "NOGROUP" not in str(err):
                    raise  # else their jobs went with the stream: nothing left to hold

    async def aclose(self) -> None:
        """Cancel the jobs still running (they stay in the stream, to be reclaimed)."""
        await self._jobs.aclose()

    async def _read(self, count: int) -> list[tuple[str, str]]:
        reply: Any = await self._redis.xreadgroup(
            GROUP, self.config.worker_id, {self._stream: ">"}, count=count, block=READ_BLOCK_MS
        )
        return [
            (text(eid), text(data["captureId"])) for _, items in reply or [] for eid, data in items
        ]

    async def _reclaim(self, count: int) -> list[tuple[str, str]]:
        reply: Any = await self._redis.xautoclaim(
            self._stream,
            GROUP,
            self.config.worker_id,
            min_idle_time=self.config.visibility_ms,
            start_id="0-0",
            count=count,
        )
        claimed = reply[1] if reply else []
        return [(text(eid), text(data["captureId"])) for eid, data in claimed if data]

    def _start(self, entry_id: str, capture_id: str) -> None:
        self._running[entry_id] = capture_id
        self._count(+1)
        self._jobs.spawn(self._job(entry_id, capture_id), name=f"capture-{capture_id}")

    def _count(self, delta: int) -> None:
        self._in_flight += delta
        _toggle(self._room, self._in_flight < self.config.concurrency)
        _toggle(self._idle, self._in_flight == 0)

    async def _job(self, entry_id: str, capture_id: str) -> None:
        try:
            await self._handle(capture_id)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, GROUP, entry_id)
                pipe.xdel(self._stream, entry_id)  # the stream holds only unfinished jobs
                await pipe.execute()
        finally:
            self._running.pop(entry_id, None)
            self._count(-1)

    async def _handle(self, capture_id: str) -> None:
        attempt = await self._captures.start(capture_id, self.config.worker_id)
        if attempt is None:
            return  # already final (or gone): nothing to do but acknowledge
        await self._close_abandoned_session(attempt.record)
        if attempt.number > MAX_ATTEMPTS:
            await self._fail(attempt, CaptureFailed())
            return
        request = await self._captures.request(attempt.record)
        if request is None:
            await self._fail(attempt, CaptureFailed())
            return
        await self._capture(attempt, request)

    async def _capture(self, attempt: Attempt, request: CaptureRequest) -> None:
        """One attempt. A failure no retry can get past fails the capture now, with its
        code; Redis going away or an unknown fault while opening leaves the job to be
        retried."""
        record = attempt.record
        owner = Owner(record.id, record.key_id, record.workspace_id)
        started = now_ms()
        try:
            session_id = await self._runner.open(owner, request)
        except CaptureFailed as failure:
            await self._fail(attempt, failure)
            return
        await self._captures.opened_session(record.id, session_id)
        try:
            file = await self._runner.run(owner, session_id, request)
        except CaptureFailed as failure:
            await self._runner.close(owner, session_id)
            await self._fail(attempt, failure)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if is_outage(err):
                raise  # the job stays pending; it is retried once Redis answers
            log.exception("capture failed", extra={"captureId": record.id})
            await self._runner.close(owner, session_id)
            await self._fail(attempt, CaptureFailed())
            return
        await self._runner.close(owner, session_id)
        await self._captures.complete(attempt, session_id, file)
        log.info(
            "capture completed",
            extra={"event": "capture_completed", "captureId": record.id, "ms": now_ms() - started},
        )

    async def _fail(self, attempt: Attempt, failure: CaptureFailed) -> None:
        await self._captures.fail(attempt, failure.public())
        log.info(
            "capture failed",
            extra={"event": "capture_failed", "captureId": attempt.record.id, "code": failure.code},
        )

    async def _close_abandoned_session(self, record: CaptureRecord) -> None:
        """A previous attempt's session whose worker died is closed and billed, once."""
        previous = record.session_id
        if previous is None:
            return
        session = await self._registry.get(previous)
        if session is None or session.status is not Status.ACTIVE:
            return
        # Billed up to the dead worker's last heartbeat when it is known.
        beat = None
        if self._instances is not None and record.previous_worker is not None:
            beat = await self._instances.last_beat(record.previous_worker)
        last_seen = beat or session.ms("lastActivityAt") or session.ms("startedAt") or now_ms()
        await self._registry.close(session, CloseReason.INSTANCE_LOST, last_seen)

    async def drain(self) -> None:
        """Finish in-flight jobs within the grace period; the rest stay to be reclaimed."""
        if self._in_flight:
            log.info("draining", extra={"event": "worker_draining", "inFlight": self._in_flight})
            try:
                await asyncio.wait_for(self._idle.wait(), self.config.grace_s)
            except TimeoutError:
                log.warning("grace period over", extra={"cutOff": self._in_flight})
        await self._jobs.aclose()


def _toggle(event: asyncio.Event, on: bool) -> None:
    if on:
        event.set()
    else:
        event.clear()


async def _first(*waits: Any) -> None:
    """Return as soon as one of the awaitables finishes; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
