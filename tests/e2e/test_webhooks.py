"""Webhooks from real processes (SPEC section 13 "Webhooks"): ``sessionshot serve`` and
``sessionshot worker`` deliver ``capture.completed``, ``capture.failed`` and
``session.closed`` to a local HTTPS receiver, verified with the ``standardwebhooks``
library; a delivery pending when every process is killed with ``-9`` is made again by the
processes started after them, with the same ``webhook-id``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import CaptureStack
from tests.support.procs import RedisServer, ServiceProcess, free_port
from tests.support.target_site import TargetSite
from tests.support.tls import TLSMaterial
from tests.support.waiting import eventually
from tests.support.webhook_receiver import Received, WebhookReceiver

# Real processes started and SIGKILLed: the slowest tier.
pytestmark = pytest.mark.slow

BACKOFF = "0.5,0.5,0.5,0.5,0.5,0.5"
EVENTS = ["capture.completed", "capture.failed", "session.closed"]
STACK_SETTINGS = {"capture_timeout_s": 15, "webhook_backoff_s": BACKOFF}
"""The module's API process and worker (the ``stack`` fixture of tests/conftest.py)."""


def _overrides(site: TargetSite, canary: CanarySite, workdir: Path) -> dict[str, Any]:
    return browser_overrides(
        site, canary, workdir / "storage", capture_timeout_s=15, webhook_backoff_s=BACKOFF
    )


async def _endpoint(stack: CaptureStack, key: str, url: str) -> dict[str, Any]:
    response = await stack.http.post(
        "/api/webhooks",
        headers={"Authorization": f"Bearer {key}"},
        json={"url": url, "events": EVENTS},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _one_of(receiver: WebhookReceiver, event: str) -> Received:
    found = await eventually(lambda: receiver.of_type(event), 60, f"a {event} delivery")
    return found[0]


async def test_capture_and_session_events_arrive_signed(
    stack: CaptureStack, target_site: TargetSite, tls_material: TLSMaterial
) -> None:
    _, key = await stack.new_key()
    auth = {"Authorization": f"Bearer {key}"}
    async with WebhookReceiver(tls_material) as receiver:
        endpoint = await _endpoint(stack, key, receiver.url())
        verify = Webhook(endpoint["secret"])

        completed = await stack.create_capture(key, {"url": target_site.url("/")})
        failed = await stack.create_capture(key, {"url": target_site.url("/status/500")})
        done = await stack.wait_final(key, completed["id"], 60)
        assert done["status"] == "completed"
        assert (await stack.wait_final(key, failed["id"], 60))["status"] == "failed"

        got = await _one_of(receiver, "capture.completed")
        payload = verify.verify(got.body, got.headers)
        data = payload["data"]
        assert data["id"] == completed["id"] and data["status"] == "completed"
        # The capture object as GET answers it, with a link signed for this delivery.
        unsigned = ("url", "expiresAt")
        assert {k: v for k, v in data["result"].items() if k not in unsigned} == {
            k: v for k, v in done["result"].items() if k not in unsigned
        }
        assert {k: v for k, v in data.items() if k != "result"} == {
            k: v for k, v in done.items() if k != "result"
        }
        async with httpx.AsyncClient(timeout=30) as client:
            file = await client.get(data["result"]["url"])
        assert file.status_code == 200 and file.content.startswith(b"\x89PNG")

        got = await _one_of(receiver, "capture.failed")
        payload = verify.verify(got.body, got.headers)
        assert payload["data"]["id"] == failed["id"]
        assert payload["data"]["error"]["code"] == "NAVIGATION_FAILED"

        created = await stack.http.post("/v1/sessions", headers=auth, json={})
        assert created.status_code == 201, created.text
        closed = await stack.http.delete(f"/v1/sessions/{created.json()['id']}", headers=auth)
        assert closed.status_code == 200, closed.text
        got = await _one_of(receiver, "session.closed")
        session = verify.verify(got.body, got.headers)["data"]
        final = closed.json()
        assert session == {k: v for k, v in final.items() if k in session}
        assert session["status"] == "closed" and session["closeReason"] == "closed"
        assert session["billedCredits"] == final["billedCredits"] >= 1

        # One delivery per event, each made once (the receiver answered 200 every time).
        assert sorted(r.webhook_id for r in receiver.received) == sorted(
            {r.webhook_id for r in receiver.received}
        )
        assert len(receiver.received) == 3


@pytest.mark.timeout(300)
async def test_a_pending_delivery_survives_kill_9(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tls_material: TLSMaterial,
    tmp_path: Path,
) -> None:
    prefix = f"k{secrets.token_hex(4)}:"
    overrides = _overrides(target_site, canary_site, tmp_path)
    first = await CaptureStack.start(redis_server.url, prefix, tmp_path / "first", **overrides)
    second: CaptureStack | None = None
    # The first attempt is held unanswered: the delivery is in flight when the kill comes.
    async with WebhookReceiver(tls_material, answers=[None]) as receiver:
        try:
            worker = await first.start_worker("doomed")
            _, key = await first.new_key()
            endpoint = await _endpoint(first, key, receiver.url())
            capture = await first.create_capture(key, {"url": target_site.url("/")})
            await eventually(lambda: receiver.received, 60, "the first attempt")
            # Every process that could hold the delivery dies at once, with no chance to
            # record anything: the worker and the API instance.
            worker.kill()
            first.api.kill()
            held = receiver.received[0]

            second = await CaptureStack.start(
                redis_server.url, prefix, tmp_path / "second", **overrides
            )
            await second.start_worker("after")
            again = await eventually(lambda: receiver.received[1:], 120, "the delivery made again")
            assert again[0].webhook_id == held.webhook_id
            payload = Webhook(endpoint["secret"]).verify(again[0].body, again[0].headers)
            assert payload["type"] == "capture.completed"
            assert payload["data"]["id"] == capture["id"]

            async def logged() -> list[dict[str, Any]] | None:
                assert second is not None
                response = await second.http.get(
                    f"/api/webhooks/{endpoint['id']}/deliveries",
                    headers={"Authorization": f"Bearer {key}"},
                )
                found: list[dict[str, Any]] = response.json()["deliveries"]
                return found if found and found[0]["status"] == "succeeded" else None

            log = await eventually(logged, 30, "the delivery logged as succeeded")
            assert log[0]["id"] == held.webhook_id and log[0]["lastStatusCode"] == 200
        finally:
            await first.aclose()
            if second is not None:
                await second.aclose()


@pytest.mark.timeout(240)
async def test_a_session_closed_for_a_killed_instance_is_announced(
    stack: CaptureStack, tls_material: TLSMaterial
) -> None:
    """The survivors close a killed instance's sessions as ``instance_lost``: that close is
    a ``session.closed`` event like any other."""
    port = free_port()
    (stack.workdir / "victim").mkdir(exist_ok=True)
    victim = ServiceProcess(
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        stack.env,
        stack.workdir / "victim",
    )
    _, key = await stack.new_key()
    auth = {"Authorization": f"Bearer {key}"}
    try:
        async with (
            WebhookReceiver(tls_material) as receiver,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
        ):
            endpoint = await _endpoint(stack, key, receiver.url())

            async def ready() -> bool:
                assert victim.proc.poll() is None, victim.stderr[-3000:]
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, 60, "the victim instance ready")
            created = await http.post("/v1/sessions", headers=auth, json={})
            assert created.status_code == 201, created.text
            victim.kill()

            got = await _one_of(receiver, "session.closed")
            session = Webhook(endpoint["secret"]).verify(got.body, got.headers)["data"]
            assert session["id"] == created.json()["id"]
            assert session["status"] == "closed" and session["closeReason"] == "instance_lost"
            final = await stack.get_session(key, session["id"])
            assert session == {k: v for k, v in final.items() if k in session}
            assert len(receiver.of_type("session.closed")) == 1
    finally:
        victim.kill()
