"""Both error shapes, 405, 413, malformed bodies, rate limits and readiness (SPEC 2, 5, 7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import redis.asyncio as aioredis

from tests.conftest import ServiceFactory
from tests.support.procs import RedisServer
from tests.support.service import ADMIN_TOKEN, Service
from tests.support.waiting import eventually

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _api_shape(body: object, code: str) -> None:
    assert isinstance(body, dict) and set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"} and body["error"]["code"] == code
    assert "Traceback" not in body["error"]["message"]


def _v1_shape(body: object, code: str) -> None:
    assert isinstance(body, dict) and body["success"] is False and body["code"] == code
    assert isinstance(body["error"], str) and "Traceback" not in body["error"]


async def test_unknown_paths_answer_404_in_each_shape(service: Service) -> None:
    _, key = await service.new_key()
    auth = {"Authorization": f"Bearer {key}"}
    _api_shape((await service.http.get("/api/nothing", headers=auth)).json(), "NOT_FOUND")
    _v1_shape((await service.http.get("/v1/nothing", headers=auth)).json(), "NOT_FOUND")
    _api_shape((await service.http.get("/nothing")).json(), "NOT_FOUND")


async def test_wrong_method_is_405_with_allow(service: Service) -> None:
    response = await service.http.put("/admin/workspaces", headers=ADMIN, json={})
    assert response.status_code == 405
    _api_shape(response.json(), "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    health = await service.http.post("/healthz")
    assert health.status_code == 405
    _api_shape(health.json(), "METHOD_NOT_ALLOWED")


async def test_body_over_limit_is_413(make_service: ServiceFactory) -> None:
    service = await make_service(max_body_bytes=2048)
    big = {"name": "x" * 4096}
    response = await service.http.post("/admin/workspaces", headers=ADMIN, json=big)
    assert response.status_code == 413
    _api_shape(response.json(), "PAYLOAD_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 1024

    streamed = await service.http.post(
        "/admin/workspaces",
        headers={**ADMIN, "Content-Type": "application/json"},
        content=chunks(),
    )
    assert streamed.status_code == 413, "a chunked body without Content-Length is capped too"


async def test_malformed_and_invalid_bodies_are_400(service: Service) -> None:
    cases: list[dict[str, Any]] = [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ({"content": b"[1, 2]", "headers": {"Content-Type": "application/json"}}),
        ({"json": {"name": "ok", "extra": 1}}),
        ({"json": {"name": ""}}),
        ({"json": {}}),
        ({"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}),
        ({"content": b"name=x", "headers": {"Content-Type": "text/plain"}}),
    ]
    for case in cases:
        headers = {**ADMIN, **case.pop("headers", {})}
        response = await service.http.post("/admin/workspaces", headers=headers, **case)
        assert response.status_code == 400, (case, response.text)
        _api_shape(response.json(), "VALIDATION_ERROR")


async def test_rate_limit_is_per_key_with_headers(make_service: ServiceFactory) -> None:
    service = await make_service(rate_limit="3/minute")
    _, key = await service.new_key()
    _, other = await service.new_key()
    auth = {"Authorization": f"Bearer {key}"}
    remaining = []
    for _ in range(3):
        response = await service.http.get("/v1/x", headers=auth)
        assert response.status_code == 404
        assert response.headers["RateLimit-Limit"] == "3"
        remaining.append(int(response.headers["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]

    limited = await service.http.get("/v1/x", headers=auth)
    assert limited.status_code == 429
    _v1_shape(limited.json(), "RATE_LIMITED")
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(limited.headers["RateLimit-Reset"]) <= 60

    api = await service.http.post("/api/captures", headers=auth, json={})
    assert api.status_code == 429
    _api_shape(api.json(), "RATE_LIMITED")

    fresh = await service.http.get("/v1/x", headers={"Authorization": f"Bearer {other}"})
    assert fresh.status_code == 404, "each key has its own budget"


async def test_only_a_valid_key_spends_its_budget(make_service: ServiceFactory) -> None:
    """A wrong secret under a real key id, or the key once revoked, counts nothing."""
    service = await make_service(rate_limit="2/minute")
    ws_id, key = await service.new_key()
    key_id = "key_" + key.split("_")[1]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for _ in range(5):
        wrong = await service.http.get("/v1/x", headers={"Authorization": f"Bearer {forged}"})
        assert wrong.status_code == 401 and "RateLimit-Remaining" not in wrong.headers
    listed = await service.admin("GET", f"/admin/workspaces/{ws_id}/keys")
    assert listed["keys"][0]["lastUsedAt"] is None, "a refused key is not stamped as used"

    auth = {"Authorization": f"Bearer {key}"}
    first = await service.http.get("/v1/x", headers=auth)
    assert first.status_code == 404 and first.headers["RateLimit-Remaining"] == "1"
    await service.admin("DELETE", f"/admin/keys/{key_id}")
    for _ in range(3):
        assert (await service.http.get("/v1/x", headers=auth)).status_code == 401
    redis = aioredis.Redis.from_url(service.settings.redis_url, decode_responses=True)
    try:
        windows = [k async for k in redis.scan_iter(match=f"*rl:{{{key_id}}}:*")]
        counts = [await redis.get(k) for k in windows]
    finally:
        await redis.aclose()
    assert counts == ["1"], "only the admitted request was counted"


async def test_openapi_and_docs_are_served(service: Service) -> None:
    spec = (await service.http.get("/openapi.json")).json()
    assert spec["info"]["title"] == "SessionShot"
    body = spec["paths"]["/admin/workspaces"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/WorkspaceCreate", "documented from the validating model"
    schema = spec["components"]["schemas"]["WorkspaceCreate"]
    assert schema["additionalProperties"] is False
    docs = await service.http.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


async def test_metrics_are_prometheus_text(service: Service) -> None:
    await service.http.get("/healthz")
    metrics = await service.http.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert "sessionshot_http_requests_total" in metrics.text


async def test_request_id_is_echoed(service: Service) -> None:
    response = await service.http.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    generated = await service.http.get("/healthz", headers={"X-Request-Id": "bad id;x"})
    assert generated.headers["X-Request-Id"] not in ("", "bad id;x")


async def test_readyz_follows_redis(make_service: ServiceFactory, tmp_redis: RedisServer) -> None:
    service = await make_service(redis_url=tmp_redis.url)
    ready = await service.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "ok", "browser": "ok"}

    await asyncio.to_thread(tmp_redis.stop)
    down = await service.http.get("/readyz")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable"
    assert down.json()["checks"] == {"redis": "error", "browser": "ok"}
    assert (await service.http.get("/healthz")).status_code == 200

    await asyncio.to_thread(tmp_redis.start)

    async def ready_again() -> httpx.Response | None:
        response = await service.http.get("/readyz")
        return response if response.status_code == 200 else None

    back = await eventually(ready_again, 20, "/readyz 200 once Redis is back")
    assert back.status_code == 200 and back.json()["checks"]["redis"] == "ok"
