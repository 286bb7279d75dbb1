"""Health, readiness and metrics endpoints (SPEC section 7)."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response
from quart_schema import hide

from app.state import app_state

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


@blueprint.get("/metrics")
@hide
async def metrics() -> Response:
    """Prometheus text exposition."""
    body = app_state().metrics.render()
    return Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
