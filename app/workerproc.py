"""``sessionshot worker``: the capture worker's composition root."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

from app import eventloop
from app.factory import (
    engine_config,
    heartbeat_s,
    instance_id,
    make_capture_service,
    make_payload_box,
    make_webhooks,
    open_backends,
)
from app.redisconn import check_redis_mode
from app.server import stop_on_signals
from app.settings import Settings
from captures.runner import CaptureRunner
from captures.webhooks.events import SessionEvents, WebhookEvents
from captures.worker import READ_BLOCK_MS, CaptureWorker, WorkerConfig
from sessions.engine import SessionEngine
from sessions.instances import Heart, InstanceInfo, Instances
from sessions.keys import SessionKeys
from sessions.observer import NoObserver
from sessions.profiles import ProfileVault
from sessions.redis_types import RedisClient
from sessions.supervisor import LoopGroup, RedisLink
from sessions.timefmt import now_ms
from storage import Storage

log = logging.getLogger("sessionshot.worker")

STOP_MARGIN_S = 20.0
"""After the grace period, this long to close sessions and the browser before giving up."""
CLAIM_STOP_S = READ_BLOCK_MS / 1000 + 1
"""After a stop, how long the claim loop may take to finish the read it is in."""


async def run_worker(settings: Settings, concurrency: int) -> int:
    """Run one worker until SIGTERM / SIGINT, then drain; the exit status (1 when a
    background loop kept failing and stopped the worker)."""
    await check_redis_mode(settings)  # a wrong client kind stops here, named
    stop = asyncio.Event()
    stop_on_signals(stop, deadline_s=settings.worker_grace_s + STOP_MARGIN_S)
    worker_id = instance_id(settings).replace("inst_", "worker_", 1)
    async with AsyncExitStack() as stack:
        redis, storage, tenancy = open_backends(stack, settings)
        # Captures never use connect browsers: none is kept launched here.
        config = dataclasses.replace(engine_config(settings, worker_id), connect_warm=0)
        instances = Instances(
            redis, SessionKeys(settings.redis_prefix), settings.instance_timeout_s
        )
        # Leave the instance table only after the sessions closed (exit runs in reverse).
        stack.push_async_callback(instances.forget, worker_id)
        webhooks = make_webhooks(settings, redis, storage)
        # Its own sessions are captures' (their events are the captures'); a live session
        # it closes for a lost instance becomes a session.closed delivery.
        engine = SessionEngine(
            config,
            redis,
            storage,
            tenancy.active_domains,
            observer=SessionEvents(NoObserver(), webhooks.events),
            profiles=ProfileVault(redis, settings.redis_prefix, make_payload_box(settings)),
        )
        stack.push_async_callback(engine.aclose)
        # Every background loop in one supervised group, stopped before the sessions close.
        loops = LoopGroup(RedisLink(redis), on_fatal=stop.set)
        stack.push_async_callback(loops.aclose)
        await engine.start(loops)
        worker = make_worker(
            settings, redis, storage, engine, instances, worker_id, concurrency, webhooks.events
        )
        stack.push_async_callback(worker.aclose)  # jobs a drain did not finish are cut off

        def describe() -> InstanceInfo:
            # A worker takes no placed sessions; it beats so a dead one's are finalised.
            return InstanceInfo(worker_id, "worker", engine.local_count, 0, False, now_ms())

        heart = Heart(
            instances,
            engine.registry,
            describe,
            heartbeat_s(settings),
            link=loops.link,
            healthy=loops.healthy,
            on_return=engine.drop_unrecorded,
            on_closed=engine.observer.session_final,
        )
        await heart.start()
        await worker.join_group()
        loops.add("heartbeat", heart.run)
        loops.add("keep-claimed", worker.keep_claimed)
        loops.add("webhook-deliveries", webhooks.deliverer.run)
        loops.add("storage-retention", lambda: sweep_storage(storage, settings.storage_retention_s))
        claiming = loops.add("capture-claims", lambda: worker.run(stop))
        log.info(
            "worker ready",
            extra={"event": "worker_ready", "workerId": worker_id, "concurrency": concurrency},
        )
        await stop.wait()
        # A read under way ends within its block time; one waiting for Redis is cut short.
        await asyncio.wait([claiming], timeout=CLAIM_STOP_S)
        await loops.stop("capture-claims")
        if loops.failed is None:
            await worker.drain()
    log.info("worker stopped", extra={"event": "worker_stopped", "workerId": worker_id})
    return 1 if loops.failed else 0


def make_worker(
    settings: Settings,
    redis: RedisClient,
    storage: Storage,
    engine: SessionEngine,
    instances: Instances,
    worker_id: str,
    concurrency: int,
    events: WebhookEvents,
) -> CaptureWorker:
    """The stream consumer of one worker process; a capture it finishes is recorded by
    ``events`` for delivery (and wakes this process's delivery loop at once)."""
    return CaptureWorker(
        redis,
        make_capture_service(settings, redis, storage, events),
        engine.registry,
        CaptureRunner(engine, storage, settings.capture_timeout_s),
        WorkerConfig(
            worker_id=worker_id,
            concurrency=concurrency,
            visibility_ms=int(settings.visibility_s * 1000),
            grace_s=settings.worker_grace_s,
        ),
        instances,
    )


async def sweep_storage(storage: Storage, retention_s: int) -> None:
    """Delete stored files older than the retention period, on a fixed schedule."""
    interval_s = min(3600.0, retention_s / 10)
    while True:
        cutoff = datetime.now(UTC) - timedelta(seconds=retention_s)
        try:
            removed = await storage.delete_older_than(cutoff)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("storage retention sweep failed")
        else:
            if removed:
                log.info("retention", extra={"event": "files_expired", "count": removed})
        await asyncio.sleep(interval_s)


def main_worker(settings: Settings, concurrency: int | None) -> int:
    """Entry point used by the CLI."""
    return eventloop.run(run_worker(settings, concurrency or settings.worker_concurrency))
