"""Health, readiness and metrics endpoints (SPEC section 7)."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response
from quart_schema import hide
from redis.exceptions import RedisError

from app.state import app_state
from captures.keys import GROUP
from sessions.redis_types import text_dict

blueprint = Blueprint("health", __name__)

_CHECK_TIMEOUT_S = 2.0


@blueprint.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


async def _run_check(check: Any) -> str:
    try:
        ok = await asyncio.wait_for(check(), _CHECK_TIMEOUT_S)
    except asyncio.CancelledError:
        raise
    except Exception:
        ok = False
    return "ok" if ok else "error"


@blueprint.get("/readyz")
async def readyz() -> tuple[dict[str, Any], int]:
    """Readiness: Redis answers and the browser is connected."""
    state = app_state()
    names = list(state.checks)
    results = await asyncio.gather(*(_run_check(state.checks[n]) for n in names))
    checks = dict(zip(names, results, strict=True))
    if all(value == "ok" for value in checks.values()):
        return {"status": "ok", "checks": checks}, 200
    return {"status": "unavailable", "checks": checks}, 503


async def _refresh_capture_figures() -> None:
    state = app_state()
    keys = state.captures.keys
    try:
        async with state.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.stats())
            pipe.xinfo_groups(keys.stream())
            stats, groups = await pipe.execute(raise_on_error=False)
    except RedisError:
        return
    if isinstance(stats, dict):
        figures = text_dict(stats)
        for status in ("completed", "failed"):
            state.metrics.captures.labels(status).set(int(figures.get(status, 0)))
        state.metrics.capture_latency.set(int(figures.get("latencyMsSum", 0)) / 1000)
    if isinstance(groups, list):
        # Waiting = not yet delivered to any worker (lag) + delivered but not finished.
        for group in groups:
            info = text_dict(group)
            if info.get("name") == GROUP:
                lag = int(info.get("lag") or 0)
                state.metrics.queue_depth.set(lag + int(info.get("pending") or 0))


@blueprint.get("/metrics")
@hide
async def metrics() -> Response:
    """Prometheus text exposition."""
    state = app_state()
    await _refresh_capture_figures()
    body = state.metrics.render()
    return Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
