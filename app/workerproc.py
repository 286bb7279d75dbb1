"""``sessionshot worker``: the capture worker's composition root."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

from app.factory import (
    engine_config,
    instance_id,
    make_payload_box,
    make_storage,
    make_tenancy,
    open_redis,
)
from app.server import stop_on_signals
from app.settings import Settings
from captures.keys import CaptureKeys
from captures.records import CaptureStore
from captures.runner import CaptureRunner
from captures.worker import CaptureWorker, WorkerConfig
from sessions.engine import SessionEngine

log = logging.getLogger("sessionshot.worker")

VISIBILITY_MARGIN_S = 30
"""A job is reclaimed once idle this long past the capture budget (its worker is gone)."""


async def run_worker(settings: Settings, concurrency: int) -> None:
    """Run one worker until SIGTERM / SIGINT, then drain."""
    stop = asyncio.Event()
    stop_on_signals(stop)
    worker_id = instance_id(settings).replace("inst_", "worker_", 1)
    async with AsyncExitStack() as stack:
        redis = open_redis(settings)
        stack.push_async_callback(redis.aclose)
        storage = make_storage(settings)
        stack.push_async_callback(storage.aclose)
        tenancy = make_tenancy(settings, redis)
        config = engine_config(settings, worker_id)
        engine = SessionEngine(config, redis, storage, tenancy.active_domains)
        await engine.start()
        stack.push_async_callback(engine.aclose)
        store = CaptureStore(redis, CaptureKeys(settings.redis_prefix))
        worker = CaptureWorker(
            redis,
            store,
            engine.registry,
            CaptureRunner(engine, storage, settings.capture_timeout_s),
            make_payload_box(settings),
            WorkerConfig(
                worker_id=worker_id,
                concurrency=concurrency,
                visibility_ms=int((settings.capture_timeout_s + VISIBILITY_MARGIN_S) * 1000),
                grace_s=settings.worker_grace_s,
            ),
        )
        await worker.join_group()
        log.info(
            "worker ready",
            extra={"event": "worker_ready", "workerId": worker_id, "concurrency": concurrency},
        )
        await worker.run(stop)
    log.info("worker stopped", extra={"event": "worker_stopped", "workerId": worker_id})


def main_worker(settings: Settings, concurrency: int | None) -> int:
    """Entry point used by the CLI."""
    asyncio.run(run_worker(settings, concurrency or settings.worker_concurrency))
    return 0
