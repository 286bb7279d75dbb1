"""Health, readiness and metrics endpoints (SPEC section 7)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from quart import Blueprint, Response
from quart_schema import document_response, operation_id, security_scheme_blueprint, tag_blueprint
from redis.exceptions import RedisClusterException, RedisError

from app.openapi import NO_AUTH, media
from app.schemas import Answer
from app.state import app_state

blueprint = Blueprint("health", __name__)
tag_blueprint(blueprint, ["health"])
security_scheme_blueprint(blueprint, NO_AUTH)

_CHECK_TIMEOUT_S = 2.0


class Health(Answer):
    """The process answers."""

    status: Literal["ok"]


class Checks(Answer):
    """Each dependency's state."""

    redis: Literal["ok", "error"]
    browser: Literal["ok", "error"]


class Readiness(Answer):
    """Whether this instance can serve: Redis answers and its browser is connected."""

    status: Literal["ok", "unavailable"]
    checks: Checks


@blueprint.get("/healthz")
@document_response(Health)
@operation_id("checkHealth")
async def healthz() -> dict[str, str]:
    """Check liveness.

    Answers 200 as long as the process serves requests.
    """
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
@document_response(Readiness)
@document_response(Readiness, 503)
@operation_id("checkReadiness")
async def readyz() -> tuple[dict[str, Any], int]:
    """Check readiness.

    200 when Redis answers and the browser is connected, else 503 naming the failing
    check: take the instance out of the load balancer meanwhile.
    """
    state = app_state()
    names = list(state.checks)
    results = await asyncio.gather(*(_run_check(state.checks[n]) for n in names))
    checks = dict(zip(names, results, strict=True))
    if all(value == "ok" for value in checks.values()):
        return {"status": "ok", "checks": checks}, 200
    return {"status": "unavailable", "checks": checks}, 503


async def _refresh_capture_figures() -> None:
    state = app_state()
    try:
        figures = await state.captures.figures()
    except (RedisError, RedisClusterException):
        return  # the scrape still answers, with the figures last read
    state.metrics.show_captures(figures)


@blueprint.get("/metrics")
@media(
    200,
    {"text/plain": {"schema": {"type": "string"}}},
    "Prometheus text format 0.0.4.",
)
@operation_id("getMetrics")
async def metrics() -> Response:
    """Read the metrics.

    Prometheus text: active sessions, session starts, action latency by type, captures by
    final status, capture latency, queue depth, routed requests, credits billed.
    """
    state = app_state()
    await _refresh_capture_figures()
    body = state.metrics.render()
    return Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
