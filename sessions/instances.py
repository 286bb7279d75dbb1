"""Instances in Redis: heartbeats, placement candidates, and finalising the lost ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sessions.keys import SessionKeys
from sessions.redis_types import RedisClient, fields, text, text_dict
from sessions.registry import CloseReason, Registry, SessionRecord
from sessions.supervisor import RedisLink, is_outage
from sessions.timefmt import now_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstanceInfo:
    """What an instance last said about itself."""

    id: str
    role: str
    sessions: int
    capacity: int
    draining: bool
    last_beat_ms: int
    internal_url: str = ""
    """Where other instances reach this one over HTTP (the CDP relay, the live view)."""

    @property
    def room(self) -> int:
        """Free session slots."""
        return 0 if self.draining else max(0, self.capacity - self.sessions)


class Instances:
    """The instance table: heartbeats in, live and dead instances out."""

    def __init__(self, redis: RedisClient, keys: SessionKeys, timeout_s: float) -> None:
        self._redis = redis
        self._keys = keys
        self.timeout_ms = int(timeout_s * 1000)

    async def beat(self, info: InstanceInfo) -> None:
        """Record a heartbeat (one round trip)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.instances(), {info.id: info.last_beat_ms})
            pipe.hset(
                self._keys.instance(info.id),
                mapping=fields(
                    {
                        "role": info.role,
                        "sessions": str(info.sessions),
                        "capacity": str(info.capacity),
                        "draining": "1" if info.draining else "0",
                        "beat": str(info.last_beat_ms),
                        "internalUrl": info.internal_url,
                    }
                ),
            )
            await pipe.execute()

    async def internal_url(self, instance_id: str) -> str | None:
        """Where a live instance said it can be reached; None when it is not alive."""
        if not self.is_alive(await self.last_beat(instance_id)):
            return None
        found = await self._redis.hget(self._keys.instance(instance_id), "internalUrl")
        return text(found) if found else None

    async def last_beat(self, instance_id: str) -> int | None:
        """The instance's last heartbeat (ms), or None when it is unknown or forgotten."""
        score = await self._redis.zscore(self._keys.instances(), instance_id)
        return int(score) if score is not None else None

    def is_alive(self, last_beat_ms: int | None, now: int | None = None) -> bool:
        """True when a heartbeat is recent enough."""
        if last_beat_ms is None:
            return False
        return (now or now_ms()) - last_beat_ms < self.timeout_ms

    async def live(self) -> list[InstanceInfo]:
        """Instances with a recent heartbeat."""
        since = now_ms() - self.timeout_ms
        ids = await self._redis.zrangebyscore(self._keys.instances(), since, "+inf")
        async with self._redis.pipeline(transaction=False) as pipe:
            for instance_id in ids:
                pipe.hgetall(self._keys.instance(text(instance_id)))
            rows = await pipe.execute()
        found = []
        for instance_id, row in zip(ids, rows, strict=True):
            data = text_dict(row)
            if data:
                found.append(
                    InstanceInfo(
                        id=text(instance_id),
                        role=data.get("role", "api"),
                        sessions=int(data.get("sessions", 0)),
                        capacity=int(data.get("capacity", 0)),
                        draining=data.get("draining") == "1",
                        last_beat_ms=int(data.get("beat", 0)),
                    )
                )
        return found

    async def lost(self) -> list[tuple[str, int]]:
        """``(instance_id, last_beat_ms)`` of instances whose heartbeat is too old."""
        before = now_ms() - self.timeout_ms
        rows: Any = await self._redis.zrangebyscore(
            self._keys.instances(), "-inf", f"({before}", withscores=True
        )
        return [(text(member), int(score)) for member, score in rows]

    async def forget(self, instance_id: str) -> None:
        """Drop an instance from the table (idempotent)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrem(self._keys.instances(), instance_id)
            pipe.delete(self._keys.instance(instance_id), self._keys.inbox(instance_id))
            await pipe.execute()


ClosedHook = Callable[[SessionRecord], Awaitable[None]]
"""Told of each session this process closed for a lost instance (its final record)."""


async def _no_hook(record: SessionRecord) -> None:
    return None


async def finalise_lost(
    instances: Instances, registry: Registry, on_closed: ClosedHook = _no_hook
) -> int:
    """Close every session of every lost instance as ``instance_lost``, billed up to its
    last heartbeat; safe when several instances do it at once (only the one whose close
    changed the record calls ``on_closed``). Returns how many closed."""
    closed = 0
    for instance_id, last_beat in await instances.lost():
        for session_id in await registry.owned_by(instance_id):
            record = await registry.get(session_id)
            if record is None:
                continue
            # Also completes the billing of a close the lost instance had begun.
            changed, final = await registry.close(record, CloseReason.INSTANCE_LOST, last_beat)
            if changed:
                closed += 1
                await on_closed(final)
        if not await registry.owned_by(instance_id):
            await instances.forget(instance_id)
            log.warning(
                "instance lost",
                extra={"event": "instance_lost", "instanceId": instance_id, "lastBeat": last_beat},
            )
    return closed


async def finalise_previous_run(
    instances: Instances, registry: Registry, instance_id: str, on_closed: ClosedHook = _no_hook
) -> int:
    """Before a restarted instance beats again under its old id, close what its previous
    run left open as ``instance_lost``, billed up to that run's last heartbeat."""
    last_beat = await instances.last_beat(instance_id)
    closed = 0
    for session_id in await registry.owned_by(instance_id):
        record = await registry.get(session_id)
        if record is None:
            continue
        until = last_beat or record.ms("lastActivityAt") or record.ms("startedAt") or now_ms()
        changed, final = await registry.close(record, CloseReason.INSTANCE_LOST, until)
        if changed:
            closed += 1
            await on_closed(final)
    return closed


class Heart:
    """Beats for this instance and finalises lost ones, every ``interval_s``.

    It beats only while ``healthy()`` (every background loop of the process runs), so an
    instance that cannot answer forwarded requests is soon taken for lost. After Redis
    comes back it calls ``on_return`` once, and it finalises no other instance until the
    others have had an instance timeout to beat again: after an outage every heartbeat in
    Redis is old, and a sweep at once would take every live instance for lost.
    """

    def __init__(
        self,
        instances: Instances,
        registry: Registry,
        describe: Callable[[], InstanceInfo],
        interval_s: float,
        *,
        link: RedisLink | None = None,
        healthy: Callable[[], bool] = lambda: True,
        on_return: Callable[[], Awaitable[object]] | None = None,
        on_closed: ClosedHook = _no_hook,
    ) -> None:
        self._instances = instances
        self._on_closed = on_closed
        self._registry = registry
        self._describe = describe
        self._interval_s = interval_s
        self._link = link
        self._healthy = healthy
        self._on_return = on_return
        self._returns_seen = link.returns if link is not None else 0
        self._sweep_failing = False

    async def start(self) -> None:
        """Finish a previous run under the same id, then beat for the first time."""
        await finalise_previous_run(
            self._instances, self._registry, self._describe().id, self._on_closed
        )
        await self.beat_once()

    async def beat_once(self) -> None:
        """One heartbeat (while healthy) and one sweep for lost instances."""
        if self._healthy():
            await self._instances.beat(self._describe())
        link = self._link
        if link is None:
            await self._sweep()
            return
        if link.returns != self._returns_seen:
            self._returns_seen = link.returns
            if self._on_return is not None:
                await self._on_return()
        if link.settled(self._instances.timeout_ms / 1000):
            await self._sweep()

    async def _sweep(self) -> None:
        """Finalise lost instances; a failure that is not an outage never stops the beat."""
        try:
            await finalise_lost(self._instances, self._registry, self._on_closed)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if is_outage(err):
                raise
            if not self._sweep_failing:  # logged once until a sweep succeeds again
                log.warning(
                    "sweep for lost instances failed", extra={"errorType": type(err).__name__}
                )
            self._sweep_failing = True
        else:
            self._sweep_failing = False

    async def run(self) -> None:
        """Until cancelled; a failure ends it, for the process's loop group to handle."""
        me = asyncio.current_task()
        while True:
            await self.beat_once()
            if me is not None and me.cancelling():
                raise asyncio.CancelledError  # a library swallowed our cancellation
            await asyncio.sleep(self._interval_s)
