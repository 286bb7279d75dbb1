"""An ASGI app mounted on the front door gets what every front request gets.

A small ASGI app stands in for a future endpoint (MCP, a live view): mounted on a running
instance, it must be reached only with a valid key within the rate limit, see the request's
id and its caller, read its body within the size limit, have its errors answered in the
documented shape, and appear in the access log and the request metric.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from app.errors import ValidationFailed
from app.front import Front, caller
from app.logs import request_id_var
from tests.conftest import ServiceFactory
from tests.support.metrics import requests_counted
from tests.support.service import Service

MAX_BODY = 2048
PREFIX = "/v1/probe"


class Probe:
    """Answers what it was given: its caller, the request id, the body's size."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        assert scope["type"] == "http"
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            assert message["type"] == "http.request"
            body += message["body"]
            if not message["more_body"]:
                break
        if body == b"refuse":
            raise ValidationFailed("The probe refuses this body.")
        answer = {
            "path": scope["path"],
            "workspace": caller().workspace_id,
            "requestId": request_id_var.get(),
            "bytes": len(body),
        }
        raw = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"x-probe", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": raw, "more_body": False})


class Mounted:
    """A running instance with a :class:`Probe` mounted at ``PREFIX``, and a workspace's key."""

    def __init__(self, service: Service, probe: Probe, workspace: str, key: str) -> None:
        self.service = service
        self.probe = probe
        self.workspace = workspace
        self.keyed = {"Authorization": f"Bearer {key}"}


async def mounted(make_service: ServiceFactory, **overrides: Any) -> Mounted:
    """Start an instance and mount a :class:`Probe` on its front."""
    service = await make_service(max_body_bytes=MAX_BODY, **overrides)
    front = service.app.asgi_app
    assert isinstance(front, Front)
    probe = Probe()
    front.mount(PREFIX, probe)
    workspace, key = await service.new_key()
    return Mounted(service, probe, workspace, key)


def chunks(count: int, size: int) -> AsyncIterator[bytes]:
    """A body httpx sends chunked (no Content-Length)."""

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"x" * size

    return stream()


async def test_a_mounted_app_gets_the_caller_and_the_request_id(
    make_service: ServiceFactory,
) -> None:
    m = await mounted(make_service)
    http = m.service.http
    response = await http.post(
        f"{PREFIX}/tools", headers={**m.keyed, "X-Request-Id": "agent-7.step_2"}, content=b"{}"
    )
    assert response.status_code == 200
    assert response.json() == {
        "path": f"{PREFIX}/tools",
        "workspace": m.workspace,
        "requestId": "agent-7.step_2",
        "bytes": 2,
    }
    assert response.headers["X-Request-Id"] == "agent-7.step_2"
    assert response.headers["x-probe"] == "1", "the app's own headers are kept"
    assert {"ratelimit-limit", "ratelimit-remaining"} <= set(response.headers)
    generated = await http.get(PREFIX, headers=m.keyed)
    assert generated.status_code == 200
    assert generated.json()["requestId"] == generated.headers["X-Request-Id"]
    assert len(generated.headers["X-Request-Id"]) == 16
    beside = await http.get(f"{PREFIX}x", headers=m.keyed)
    assert (beside.status_code, beside.json()["code"]) == (404, "NOT_FOUND"), "Quart's"
    assert m.probe.calls == 2
    front = m.service.app.asgi_app
    assert isinstance(front, Front)
    for prefix in ("mcp", "/mcp/", ""):
        with pytest.raises(ValueError, match="mount prefix"):
            front.mount(prefix, m.probe)


async def test_a_mounted_app_is_reached_only_when_admitted(make_service: ServiceFactory) -> None:
    m = await mounted(make_service, rate_limit="2/minute")
    http = m.service.http
    big = b"x" * (MAX_BODY + 1)
    for headers in ({}, {"Authorization": "Bearer ss_live_not_a_key"}):
        for body in (b"{}", big):
            response = await http.post(PREFIX, headers=headers, content=body)
            assert response.status_code == 401, "the key before the body"
            assert response.json() == {
                "success": False,
                "error": "Missing or invalid API key.",
                "code": "UNAUTHENTICATED",
            }
            assert len(response.headers["X-Request-Id"]) == 16
    for _ in range(2):
        assert (await http.post(PREFIX, headers=m.keyed, content=b"{}")).status_code == 200
    limited = await http.post(PREFIX, headers=m.keyed, content=big)
    assert limited.status_code == 429, "the rate limit before the body"
    assert limited.json()["code"] == "RATE_LIMITED"
    assert "retry-after" in limited.headers and limited.headers["ratelimit-remaining"] == "0"
    assert m.probe.calls == 2


async def test_a_mounted_app_reads_its_body_within_the_limit(make_service: ServiceFactory) -> None:
    m = await mounted(make_service)
    http = m.service.http
    declared = await http.post(PREFIX, headers=m.keyed, content=b"x" * (MAX_BODY + 1))
    assert (declared.status_code, declared.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert m.probe.calls == 0, "a body declared too large never reaches the app"
    streamed = await http.post(PREFIX, headers=m.keyed, content=chunks(4, 1024))
    assert (streamed.status_code, streamed.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert "ratelimit-limit" in streamed.headers and "x-request-id" in streamed.headers
    within = await http.post(PREFIX, headers=m.keyed, content=chunks(2, 1024))
    assert within.status_code == 200 and within.json()["bytes"] == MAX_BODY
    assert m.probe.calls == 2


async def test_a_mounted_apps_answers_and_errors_are_logged_and_counted(
    make_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    m = await mounted(make_service)
    http = m.service.http
    before = (await http.get("/metrics")).text
    with caplog.at_level("INFO", logger="sessionshot.http"):
        refused = await http.post(PREFIX, headers=m.keyed, content=b"refuse")
        answered = await http.post(f"{PREFIX}/a", headers=m.keyed, content=b"{}")
        unkeyed = await http.post(PREFIX, content=b"{}")
    assert refused.status_code == 400
    assert refused.json() == {
        "success": False,
        "error": "The probe refuses this body.",
        "code": "VALIDATION_ERROR",
    }
    assert "x-request-id" in refused.headers and "ratelimit-limit" in refused.headers
    assert (answered.status_code, unkeyed.status_code) == (200, 401)
    logged = [
        (r.__dict__["method"], r.__dict__["path"], r.__dict__["status"], r.__dict__["ms"] > 0)
        for r in caplog.records
        if r.getMessage() == "request"
    ]
    assert logged == [
        ("POST", PREFIX, 400, True),
        ("POST", f"{PREFIX}/a", 200, True),
        ("POST", PREFIX, 401, True),
    ]
    after = (await http.get("/metrics")).text
    for status in ("200", "400", "401"):
        assert (
            requests_counted(after, "POST", status) == requests_counted(before, "POST", status) + 1
        ), status
