"""Webhook endpoints and their deliveries (SPEC section 13 "Webhooks"), on one instance.

Deliveries go to a local HTTPS receiver on 127.0.0.1 and are verified with the
``standardwebhooks`` library; the backoff is shortened through its setting. A receiver on
127.0.0.2 (not in the allowed CIDRs) must never see a connection. The module runs on one
redis-server, then on a three-primary Redis Cluster (SPEC 17).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from captures.models import CaptureRequest
from captures.records import CaptureStatus
from captures.webhooks.endpoints import EndpointRequest
from tests.integration.test_ref_fuzz import JUNK
from tests.support.redis_cluster import RedisBackend
from tests.support.service import Service, settings_for_tests, start_service
from tests.support.tls import TLSMaterial
from tests.support.waiting import eventually
from tests.support.webhook_receiver import Received, WebhookReceiver

BACKOFF = "0.2,0.2,0.2,0.2,0.2,0.2"
"""Seven quick attempts: the retry schedule of the product, compressed."""
EVENTS = ["capture.completed", "capture.failed", "session.closed"]
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture(scope="module")
async def hooks_service(
    redis_backend: RedisBackend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    """An instance whose guard allows 127.0.0.1 only, accepting the test certificates."""
    settings = settings_for_tests(
        redis_backend.url,
        f"wh{secrets.token_hex(4)}:",
        target_allow_cidrs="127.0.0.1/32",
        ignore_https_errors=True,
        storage_dir=str(tmp_path_factory.mktemp("storage")),
        warm_contexts=0,
        webhook_backoff_s=BACKOFF,
    )
    service = await start_service(settings)
    yield service
    await service.aclose()


class Api:
    """A workspace's key on the instance."""

    def __init__(self, service: Service, ws_id: str, key: str) -> None:
        self.service = service
        self.ws_id = ws_id
        self.headers = {"Authorization": f"Bearer {key}"}

    async def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = await self.service.http.request(method, path, headers=self.headers, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    async def create(self, url: str, events: list[str] | None = None) -> dict[str, Any]:
        body = {"url": url, "events": events or EVENTS}
        created: dict[str, Any] = await self.call("POST", "/api/webhooks", 201, json=body)
        return created

    async def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        found = await self.call("GET", f"/api/webhooks/{webhook_id}/deliveries", 200)
        listed: list[dict[str, Any]] = found["deliveries"]
        return listed


@pytest.fixture
async def api(hooks_service: Service) -> Api:
    ws_id, key = await hooks_service.new_key()
    return Api(hooks_service, ws_id, key)


@pytest.fixture(scope="module")
async def fuzz_api(hooks_service: Service) -> Api:
    """One workspace for every generated body (each endpoint made is deleted again)."""
    ws_id, key = await hooks_service.new_key()
    return Api(hooks_service, ws_id, key)


@pytest.fixture
async def receiver(tls_material: TLSMaterial) -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(tls_material) as server:
        yield server


async def test_endpoints_are_the_workspaces_and_show_their_secret_once(
    api: Api, hooks_service: Service
) -> None:
    created = await api.create("https://127.0.0.1:9/hook", ["capture.completed"])
    assert set(created) == {"id", "url", "events", "createdAt", "secret"}
    assert created["id"].startswith("wh_") and created["secret"].startswith("whsec_")
    assert created["events"] == ["capture.completed"]
    Webhook(created["secret"])  # a secret the library takes

    listed = await api.call("GET", "/api/webhooks", 200)
    assert listed == {"webhooks": [{k: v for k, v in created.items() if k != "secret"}]}

    # Any key of the workspace manages them; another workspace does not see them.
    other_key = await hooks_service.admin(
        "POST", f"/admin/workspaces/{api.ws_id}/keys", json={"name": "second"}
    )
    second = Api(hooks_service, api.ws_id, other_key["key"])
    assert (await second.call("GET", "/api/webhooks", 200))["webhooks"] == listed["webhooks"]
    stranger = Api(hooks_service, *await hooks_service.new_key())
    assert (await stranger.call("GET", "/api/webhooks", 200))["webhooks"] == []
    for method, path in (
        ("DELETE", ""),
        ("POST", "/rotate"),
        ("GET", "/deliveries"),
        ("POST", "/test"),
    ):
        answer = await stranger.call(method, f"/api/webhooks/{created['id']}{path}", 404)
        assert answer["error"]["code"] == "NOT_FOUND"

    rotated = await second.call("POST", f"/api/webhooks/{created['id']}/rotate", 200)
    assert rotated["id"] == created["id"] and rotated["secret"] != created["secret"]
    removed = await api.call("DELETE", f"/api/webhooks/{created['id']}", 200)
    assert removed == listed["webhooks"][0]
    await api.call("DELETE", f"/api/webhooks/{created['id']}", 404)
    assert (await api.call("GET", "/api/webhooks", 200))["webhooks"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1/hook", "events": EVENTS},
        {"url": "ftp://127.0.0.1/hook", "events": EVENTS},
        {"url": "https://127.0.0.1/hook", "events": []},
        {"url": "https://127.0.0.1/hook", "events": ["capture.started"]},
        {"url": "https://127.0.0.1/hook", "events": ["webhook.test"]},
        {"url": "https://127.0.0.1/hook", "events": ["session.closed", "session.closed"]},
        {"url": "https://127.0.0.1/hook"},
        {"events": EVENTS},
        {"url": "https://127.0.0.1/hook", "events": EVENTS, "secret": "whsec_mine"},
        [],
    ],
)
async def test_bad_bodies_are_refused(api: Api, body: Any) -> None:
    answer = await api.call("POST", "/api/webhooks", 400, json=body)
    assert set(answer) == {"error"} and answer["error"]["code"] == "VALIDATION_ERROR"


async def test_a_test_event_is_signed_and_logged(api: Api, receiver: WebhookReceiver) -> None:
    endpoint = await api.create(receiver.url())
    sent = await api.call("POST", f"/api/webhooks/{endpoint['id']}/test", 202)
    assert sent["event"] == "webhook.test" and sent["status"] == "pending"
    assert sent["attempts"] == 0 and sent["id"].startswith("msg_")

    await eventually(lambda: receiver.received, 20, "the test delivery")
    got = receiver.received[0]
    assert got.webhook_id == sent["id"] and got.headers["content-type"] == "application/json"
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert set(payload) == {"type", "timestamp", "data"}
    assert payload["type"] == "webhook.test" and payload["data"]["endpointId"] == endpoint["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43).verify(got.body, got.headers)

    async def logged() -> list[dict[str, Any]] | None:
        found = await api.deliveries(endpoint["id"])
        return found if found and found[0]["status"] == "succeeded" else None

    log = await eventually(logged, 20, "the delivery logged as succeeded")
    assert log == [
        {
            "id": sent["id"],
            "event": "webhook.test",
            "status": "succeeded",
            "attempts": 1,
            "lastStatusCode": 200,
            "nextAttemptAt": None,
        }
    ]


async def test_a_failing_receiver_gets_the_same_id_again(
    api: Api, tls_material: TLSMaterial
) -> None:
    async with WebhookReceiver(tls_material, answers=[500, 503]) as receiver:
        endpoint = await api.create(receiver.url())
        sent = await api.call("POST", f"/api/webhooks/{endpoint['id']}/test", 202)
        await eventually(lambda: len(receiver.received) >= 3, 30, "three attempts")
        assert [r.webhook_id for r in receiver.received] == [sent["id"]] * 3
        assert [r.answered for r in receiver.received] == [500, 503, 200]
        for attempt in receiver.received:
            Webhook(endpoint["secret"]).verify(attempt.body, attempt.headers)

        async def succeeded() -> list[dict[str, Any]] | None:
            found = await api.deliveries(endpoint["id"])
            return found if found[0]["status"] == "succeeded" else None

        log = await eventually(succeeded, 20, "the delivery logged as succeeded")
        assert log[0]["attempts"] == 3 and log[0]["lastStatusCode"] == 200


async def test_seven_attempts_then_failed(api: Api, tls_material: TLSMaterial) -> None:
    async with WebhookReceiver(tls_material, answers=[500] * 8) as receiver:
        endpoint = await api.create(receiver.url())
        sent = await api.call("POST", f"/api/webhooks/{endpoint['id']}/test", 202)

        async def failed() -> list[dict[str, Any]] | None:
            found = await api.deliveries(endpoint["id"])
            return found if found[0]["status"] == "failed" else None

        log = await eventually(failed, 40, "the delivery to fail for good")
        assert log[0] == {
            "id": sent["id"],
            "event": "webhook.test",
            "status": "failed",
            "attempts": 7,
            "lastStatusCode": 500,
            "nextAttemptAt": None,
        }
        assert [r.webhook_id for r in receiver.received] == [sent["id"]] * 7


async def test_after_a_rotation_both_secrets_sign(api: Api, receiver: WebhookReceiver) -> None:
    endpoint = await api.create(receiver.url())
    rotated = await api.call("POST", f"/api/webhooks/{endpoint['id']}/rotate", 200)
    await api.call("POST", f"/api/webhooks/{endpoint['id']}/test", 202)
    await eventually(lambda: receiver.received, 20, "the test delivery")
    got = receiver.received[0]
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (endpoint["secret"], rotated["secret"]):
        assert Webhook(secret).verify(got.body, got.headers)["type"] == "webhook.test"


async def test_a_refused_address_is_never_contacted(api: Api, tls_material: TLSMaterial) -> None:
    async with WebhookReceiver(tls_material, bind_host="127.0.0.2") as receiver:
        endpoint = await api.create(receiver.url())
        await api.call("POST", f"/api/webhooks/{endpoint['id']}/test", 202)

        async def failed() -> list[dict[str, Any]] | None:
            found = await api.deliveries(endpoint["id"])
            return found if found[0]["status"] == "failed" else None

        log = await eventually(failed, 40, "the delivery to fail for good")
        assert log[0]["attempts"] == 7 and log[0]["lastStatusCode"] is None
        assert receiver.connections == 0 and receiver.received == []


FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "url": st.sampled_from(
        ["https://127.0.0.1:9/h", "HTTPS://127.0.0.1:9/", "http://127.0.0.1/", "https://", ""]
    )
    | JUNK,
    "events": st.lists(st.sampled_from([*EVENTS, "webhook.test", "x"]), max_size=4) | JUNK,
    "extra": JUNK,
}


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    """A body with some fields fuzzed, or a whole junk body now and then."""
    body: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True)):
        body[name] = draw(FIELDS[name])
    return body if draw(st.integers(0, 9)) else draw(JUNK)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies())
@example(body={"url": "https://127.0.0.1:9/", "events": EVENTS, "url2": 1})
@example(body={"url": "https://127.0.0.1:9/" + "x" * 300_000, "events": EVENTS})
@example(body={"url": "https://127.0.0.1:9/", "events": [float("nan")]})
async def test_no_webhook_body_makes_a_500(fuzz_api: Api, body: Any) -> None:
    api = fuzz_api
    response = await api.service.http.post(
        "/api/webhooks",
        headers={**api.headers, "Content-Type": "application/json"},
        content=json.dumps(body),
    )
    event(str(response.status_code))
    try:
        EndpointRequest.model_validate(json.loads(json.dumps(body)))
    except ValidationError:
        valid = False
    else:
        valid = True
    assert response.status_code == (201 if valid else 400), (body, response.text)
    answer = response.json()
    if valid:
        await api.call("DELETE", f"/api/webhooks/{answer['id']}", 200)
    else:
        assert set(answer) == {"error"} and answer["error"]["code"] == "VALIDATION_ERROR"


async def test_deep_and_huge_bodies_are_refused(api: Api) -> None:
    headers = {**api.headers, "Content-Type": "application/json"}
    for raw in (b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        response = await api.service.http.post("/api/webhooks", headers=headers, content=raw)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    huge = json.dumps({"url": "https://127.0.0.1/", "events": EVENTS, "pad": "x" * 2_000_000})
    response = await api.service.http.post("/api/webhooks", headers=headers, content=huge)
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_final_capture_whose_job_comes_back_is_announced_once(
    api: Api, receiver: WebhookReceiver
) -> None:
    """A worker that finished a capture and died before recording its deliveries: the job is
    handed out again, and the next worker records them (once, with the same id)."""
    captures = api.service.state.captures
    endpoint = await api.create(receiver.url(), ["capture.failed"])
    request = CaptureRequest.model_validate({"url": "https://app.test/"})
    accepted = await captures.submit("key_gone", api.ws_id, request)
    attempt = await captures.start(accepted["id"], "worker-1")
    assert attempt is not None
    # The first worker's last step: the final state, and then nothing (killed).
    error = {"code": "CAPTURE_FAILED", "message": "The capture failed."}
    record = attempt.record
    finished = await captures.store.finish(
        record.id,
        CaptureStatus.FAILED,
        {"error": json.dumps(error)},
        record.created_ms,
        attempt.number,
    )
    assert finished and not await api.deliveries(endpoint["id"])

    for worker in ("worker-2", "worker-3"):
        assert await captures.start(accepted["id"], worker) is None

    await eventually(lambda: receiver.received, 20, "the capture.failed delivery")
    got = receiver.received[0]
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "capture.failed" and payload["data"]["id"] == accepted["id"]
    log = await api.deliveries(endpoint["id"])
    assert [entry["event"] for entry in log] == ["capture.failed"]
    assert {r.webhook_id for r in receiver.received} == {log[0]["id"]}


def _node_verify(secret: str, got: Received, body: bytes | None = None) -> Any:
    """The delivery verified by the standardwebhooks npm library (tests/node); the event,
    or None when the library refused it."""
    if (
        shutil.which("node") is None
        or not (NODE_DIR / "node_modules" / "standardwebhooks").is_dir()
    ):
        pytest.fail("Node or the standardwebhooks package is not installed: run make test-npm")
    message = {
        "secret": secret,
        "body": base64.b64encode(got.body if body is None else body).decode(),
        "headers": got.headers,
    }
    done = subprocess.run(
        ["node", str(NODE_DIR / "verify_webhook.mjs")],
        input=json.dumps(message),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=NODE_DIR,
        check=False,
    )
    return json.loads(done.stdout) if done.returncode == 0 else None


async def test_the_node_library_verifies_deliveries_as_the_docs_show(
    api: Api, receiver: WebhookReceiver
) -> None:
    endpoint = await api.create(receiver.url())
    await api.call("POST", f"/api/webhooks/{endpoint['id']}/test", 202)
    await eventually(lambda: receiver.received, 20, "the test delivery")
    first = receiver.received[0]
    event = await asyncio.to_thread(_node_verify, endpoint["secret"], first)
    assert event["type"] == "webhook.test" and event["data"]["endpointId"] == endpoint["id"]
    tampered = first.body.replace(b"webhook.test", b"webhook.tesT")
    assert await asyncio.to_thread(_node_verify, endpoint["secret"], first, tampered) is None
    assert await asyncio.to_thread(_node_verify, "whsec_" + "A" * 43, first) is None

    # After a rotation, both secrets verify (two signatures in one header).
    rotated = await api.call("POST", f"/api/webhooks/{endpoint['id']}/rotate", 200)
    await api.call("POST", f"/api/webhooks/{endpoint['id']}/test", 202)
    await eventually(lambda: receiver.received[1:], 20, "the second test delivery")
    second = receiver.received[1]
    for secret in (endpoint["secret"], rotated["secret"]):
        assert (await asyncio.to_thread(_node_verify, secret, second))["type"] == "webhook.test"
