"""Captures that no retry can save fail at once with their code (SPEC section 3, "Capture
pipeline guarantees": only a worker's death is retried, after the visibility timeout, which
is 90 s with these settings)."""

from __future__ import annotations

import json
import uuid

import pytest

from captures.errors import CaptureFailed
from captures.models import CaptureRequest
from captures.runner import CaptureRunner, Owner
from sessions.models import AuthState, Cookie
from sessions.timefmt import now_ms
from tests.support.procs import ServiceProcess
from tests.support.service import Service
from tests.support.target_site import TargetSite


async def test_a_payload_the_worker_cannot_read_fails_the_capture_at_once(
    browser_service: Service, capture_worker: ServiceProcess, target_site: TargetSite
) -> None:
    """A queued payload that is not a valid request (an API of another version wrote it)
    fails the same way on every attempt: the first one fails the capture, ``INTERNAL``."""
    ws_id, key = await browser_service.new_key(("app.test",))
    (key_row,) = (await browser_service.admin("GET", f"/admin/workspaces/{ws_id}/keys"))["keys"]
    state = browser_service.state
    capture_id = f"cap_{uuid.uuid4()}"
    created = str(now_ms())
    record = {
        "id": capture_id,
        "status": "queued",
        "keyId": key_row["id"],
        "workspaceId": ws_id,
        "createdAt": created,
        "updatedAt": created,
        "attempts": "0",
    }
    payload = {"url": target_site.url("/form"), "renamedField": True}
    await state.captures.store.create(
        record, state.payload_box.seal(capture_id, json.dumps(payload).encode())
    )

    headers = {"Authorization": f"Bearer {key}"}
    done = await browser_service.http.get(f"/api/captures/{capture_id}?wait=30", headers=headers)
    body = done.json()
    assert body["status"] == "failed", (body, capture_worker.stderr[-3000:])
    assert body["error"]["code"] == "INTERNAL", body
    assert "sessionId" not in body, "no session was opened"


async def test_auth_cookies_the_browser_refuses_fail_the_capture_with_their_code(
    browser_service: Service,
) -> None:
    """Chromium refuses a cookie whose path does not start with ``/``. The API refuses such
    a cookie too, so this runs the worker's runner on the real engine with a request that
    skipped validation (as one queued by an API that let it through would)."""
    ws_id, _ = await browser_service.new_key(("app.test",))
    cookie = Cookie.model_construct(
        name="sid", value="COOKIE-VALUE-1", domain="app.test", path="relative"
    )
    request = CaptureRequest.model_validate({"url": "https://app.test/form"}).model_copy(
        update={"auth": AuthState.model_construct(cookies=[cookie], local_storage=[], headers={})}
    )
    engine = browser_service.state.engine
    runner = CaptureRunner(engine, browser_service.state.storage, 10)
    before = engine.local_count
    with pytest.raises(CaptureFailed) as failed:
        await runner.open(Owner(f"cap_{uuid.uuid4()}", "key_x", ws_id), request)
    assert failed.value.public()["code"] == "ACTION_FAILED"
    assert "cookie" in failed.value.public()["message"]
    assert "COOKIE-VALUE-1" not in json.dumps(failed.value.public())
    assert engine.local_count == before, "no session was left open"
