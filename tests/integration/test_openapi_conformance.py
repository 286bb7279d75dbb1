"""Every operation of ``/openapi.json``, run by Schemathesis against a real instance.

The instance serves over HTTP on 127.0.0.1 with a real browser, on a loop of its own
(:mod:`tests.support.background`), because Schemathesis' requests block this thread. Every
answer must be no server error and match the document: a documented status, its content
type, its body schema and its headers. The cases come from the document the app builds,
and the instance must serve that very document.

Bounded: a fixed seed, few examples per operation, short action waits, sessions closed as
soon as they are made, a low limit of active sessions.

Most cases that name a resource (a session, a capture, a webhook, a profile, a schedule, a
signed file, a live link or token) are pointed at a real one made beforehand, so that every
operation's successful answer is checked too, not only its 404.

Network: the key's only allowed domain is ``app.test``, mapped to the local test site on
127.0.0.1; the admin operations only ever touch a workspace of their own (and values read
from answers are never reused), so no case can widen what the browser may reach; the
canary on 127.0.0.2 must see no connection. Every webhook endpoint a case can create points
at the local test site (an https URL of a generated host never reaches the server), and
deliveries go through the egress guard.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.factory import create_app
from tests.conftest import browser_overrides
from tests.support.background import BackgroundLoop
from tests.support.canary_site import CanarySite
from tests.support.procs import RedisServer
from tests.support.service import ADMIN_TOKEN, Service, settings_for_tests, start_service
from tests.support.target_site import TargetSite
from tests.support.tls import TLSMaterial

SEED = 20260702
"""Schemathesis' seed: the same cases on every run."""
MAX_EXAMPLES = 20
"""Generated cases per operation in the fuzzing phase (examples and coverage come on top)."""
ACTIVE_SESSIONS = 5
"""The instance's SESSIONSHOT_WORKSPACE_MAX_SESSIONS: a run cannot pile up browser pages."""
ACTION_TIMEOUT_MS = 300
"""Longest selector or navigation wait of a generated action."""
WAIT_MS = 50
"""Longest ``wait`` action, and ``delayMs`` is 0."""
CAPTURE_WAIT_S = 1
"""Longest long poll of ``GET /api/captures/{id}`` (no worker runs: it would wait it out)."""
HELD_SESSION_TTL_S = 1800
"""TTL of the sessions the cases are pointed at: they outlive the run."""
CRON = "0 7 * * 1-5"
"""A valid schedule for most generated schedules (generated text is rarely a cron line)."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES},
    "request-timeout": 60,
    # Values read from earlier answers (workspace ids, keys) must never reach other inputs:
    # see the module docstring.
    "phases": {
        name: {"extra-data-sources": {"responses": False}}
        for name in ("examples", "coverage", "fuzzing")
    }
    | {"stateful": {"enabled": False}},
}
TIMED_ACTIONS = frozenset(
    {"goto", "click", "hover", "type", "fill", "press", "select", "scroll", "waitForSelector"}
    | {"back", "forward", "reload"}
)
FIXED_WAIT_ACTIONS = frozenset({"content", "snapshot", "screenshot"})
"""Actions whose selector waits a fixed 5 s when nothing matches: they get ``body``."""
# An evaluate expression that could name another host is replaced (generated text never
# does in practice; this makes it certain).
_REACHES_OUT = re.compile(
    r"fetch|XMLHttp|location|http|//|import|open|src|href|Socket|Worker|navigator|Beacon"
    r"|EventSource|RTC|action|submit",
    re.IGNORECASE,
)


@dataclass
class LiveApi:
    """The instance under test and the resources the cases are pointed at."""

    base_url: str
    api_key: str
    workspace_id: str
    action_session: str
    closable_session: str
    capture_id: str
    playground_workspace: str
    playground_key: str
    webhook: str
    deletable_webhook: str
    webhook_url: str
    live_session: str
    file_token: str
    live_token: str
    live_link: str
    profile: str
    deletable_profile: str
    schedule: str
    deletable_schedule: str


def _json(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _prepare(service: Service, site: TargetSite) -> LiveApi:
    ws_id, key = await service.new_key(("app.test",))
    auth = {"Authorization": f"Bearer {key}"}
    http = service.http
    held = {"maxTtlSeconds": HELD_SESSION_TTL_S}
    acting = _json(await http.post("/v1/sessions", headers=auth, json=held), 201)
    acts = f"/v1/sessions/{acting['id']}"
    goto = {"type": "goto", "payload": {"url": site.url("/form")}}
    _json(await http.post(f"{acts}/actions", headers=auth, json=goto), 200)
    screenshot = {"type": "screenshot", "payload": {}}
    shot = _json(await http.post(f"{acts}/actions", headers=auth, json=screenshot), 200)["result"]
    closable = _json(await http.post("/v1/sessions", headers=auth), 201)
    # Tokens, live links and their revocation are made on a session of their own, so that
    # the link and token read by the page operations stay valid whatever the cases do.
    live = _json(await http.post("/v1/sessions", headers=auth, json=held), 201)
    scope = {"scope": "live-view"}
    token = _json(await http.post(f"{acts}/tokens", headers=auth, json=scope), 201)
    link = _json(await http.post(f"{acts}/live", headers=auth, json={"mode": "view"}), 201)
    profiles = [
        _json(await http.post(f"{acts}/profile", headers=auth, json={"name": name}), 201)
        for name in ("kept", "deletable")
    ]
    scheduled = {"cron": CRON, "capture": {"url": site.url("/")}}
    schedules = [
        _json(await http.post("/api/schedules", headers=auth, json={**scheduled, "name": n}), 201)
        for n in ("kept", "deletable")
    ]
    capture = _json(
        await http.post("/api/captures", headers=auth, json={"url": site.url("/")}), 202
    )
    playground = await service.admin("POST", "/admin/workspaces", json={"name": "playground"})
    spare = await service.admin("POST", f"/admin/workspaces/{playground['id']}/keys", json={})
    hook = {"url": site.url("/webhook"), "events": ["capture.completed"]}
    webhooks = [_json(await http.post("/api/webhooks", headers=auth, json=hook), 201)]
    webhooks.append(_json(await http.post("/api/webhooks", headers=auth, json=hook), 201))
    return LiveApi(
        base_url=service.base_url,
        api_key=key,
        workspace_id=ws_id,
        action_session=acting["id"],
        closable_session=closable["id"],
        capture_id=capture["id"],
        playground_workspace=playground["id"],
        playground_key=spare["id"],
        webhook=webhooks[0]["id"],
        deletable_webhook=webhooks[1]["id"],
        webhook_url=site.url("/webhook"),
        live_session=live["id"],
        file_token=shot["url"].split("/v1/files/", 1)[1],
        live_token=token["token"],
        live_link=link["url"].rsplit("/live/", 1)[1],
        profile=profiles[0]["id"],
        deletable_profile=profiles[1]["id"],
        schedule=schedules[0]["id"],
        deletable_schedule=schedules[1]["id"],
    )


@pytest.fixture(scope="module")
def live_api(
    redis_server: RedisServer, tls_material: TLSMaterial, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    """An instance with a browser and the local test sites, on a loop of its own."""
    with BackgroundLoop() as background:
        canary = CanarySite(tls_material)
        background.run(canary.start())
        canary_watch = canary.watch()
        site = TargetSite(tls_material, canary.port)
        background.run(site.start())
        overrides = browser_overrides(
            site,
            canary,
            tmp_path_factory.mktemp("storage"),
            workspace_max_sessions=ACTIVE_SESSIONS,
            rate_limit="1000000/minute",  # the run is not about rate limits
        )
        settings = settings_for_tests(redis_server.url, f"oa{secrets.token_hex(4)}:", **overrides)
        service = background.run(start_service(settings))
        try:
            api = background.run(_prepare(service, site))
            served = httpx.get(f"{api.base_url}/openapi.json", timeout=30).json()
            assert {**served, "servers": []} == {**built_document(), "servers": []}
            yield api
            background.run(_check_untouched(service, api))
            assert not canary_watch.touched, "the browser reached past 127.0.0.1"
        finally:
            background.run(service.aclose())
            background.run(site.aclose())
            background.run(canary.aclose())


async def _check_untouched(service: Service, api: LiveApi) -> None:
    """The run never changed what the key's browser pages may reach."""
    domains = await service.admin("GET", f"/admin/workspaces/{api.workspace_id}/domains")
    assert domains["domains"] == [
        {"domain": "app.test", "active": True, "createdAt": domains["domains"][0]["createdAt"]}
    ]


def built_document() -> dict[str, Any]:
    """The document of an app built with the test instances' settings (no I/O)."""
    app = create_app(settings_for_tests("redis://127.0.0.1:9/0", "unused:"))
    document: dict[str, Any] = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    return document


# Schemathesis' fixture-based loader cannot run under this pytest, so the cases come from
# the document built here, and the live instance is held to serving that same document.
schema = schemathesis.openapi.from_dict(
    built_document(), config=schemathesis.Config.from_dict(CONFIG)
)


def _pick(generated: Any, real: str) -> str:
    """The real id for three cases in four, the generated one (a 404) for the rest."""
    return real if len(str(generated)) % 4 else str(generated)


def _session_for(path: str, method: str, api: LiveApi) -> str:
    """The real session a case on ``path`` is pointed at."""
    if path in ("/v1/sessions/{session_id}/tokens", "/v1/sessions/{session_id}/live"):
        return api.action_session if method == "GET" else api.live_session
    if path == "/v1/sessions/{session_id}" and method == "DELETE":
        return api.closable_session
    return api.action_session


def _point_at_resources(case: Any, api: LiveApi) -> None:
    params = case.path_parameters or {}
    method = case.method.upper()
    # Path parameter -> (the resource read or changed, the one a DELETE removes).
    real = {
        "ws_id": (api.playground_workspace, api.playground_workspace),
        "key_id": (api.playground_key, api.playground_key),
        "capture_id": (api.capture_id, api.capture_id),
        "webhook_id": (api.webhook, api.deletable_webhook),
        "profile_id": (api.profile, api.deletable_profile),
        "schedule_id": (api.schedule, api.deletable_schedule),
        "link": (api.live_link, api.live_link),
        "token": (api.file_token, api.file_token),
    }
    for name, generated in params.items():
        if name == "session_id":
            params[name] = _pick(generated, _session_for(case.path, method, api))
        elif name in real:
            kept, deletable = real[name]
            params[name] = _pick(generated, deletable if method == "DELETE" else kept)
    if case.path == "/v1/sessions/{session_id}/live" and isinstance(case.query, dict):
        case.query["token"] = _pick(case.query.get("token"), api.live_token)


def _bound_action(body: Any) -> None:
    """Short waits, and no expression that could name another host."""
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        return
    payload, kind = body["payload"], body.get("type")
    if not isinstance(kind, str):
        return  # refused before anything runs
    if kind in TIMED_ACTIONS and "timeout" not in payload:
        payload["timeout"] = ACTION_TIMEOUT_MS
    for name, cap in (("timeout", ACTION_TIMEOUT_MS), ("ms", WAIT_MS), ("delayMs", 0)):
        value = payload.get(name)
        if type(value) is int and value > cap:
            payload[name] = cap
    if kind in FIXED_WAIT_ACTIONS and isinstance(payload.get("selector"), str):
        payload["selector"] = "body"
    expression = payload.get("expression")
    if isinstance(expression, str) and _REACHES_OUT.search(expression):
        payload["expression"] = "1"


def _steer_inputs(case: Any, api: LiveApi) -> None:
    """Most captures aim at the allowed domain and most reports at a valid range, so the
    successful answers are checked too (random hosts and dates are all refused)."""
    body, query = case.body, case.query
    if case.path == "/api/captures" and isinstance(body, dict):
        if isinstance(body.get("url"), str):
            body["url"] = _pick(body["url"], "https://app.test/")
    if case.path.startswith("/api/schedules") and isinstance(body, dict):
        if isinstance(body.get("cron"), str):
            body["cron"] = _pick(body["cron"], CRON)
        capture = body.get("capture")
        if isinstance(capture, dict) and isinstance(capture.get("url"), str):
            capture["url"] = _pick(capture["url"], "https://app.test/")
    if case.path == "/api/webhooks" and isinstance(body, dict) and isinstance(body.get("url"), str):
        # Never a generated host: an endpoint made here gets the run's session.closed events.
        body["url"] = api.webhook_url if len(body["url"]) % 4 else "http://app.test/webhook"
    if case.path.endswith("/usage") and isinstance(query, dict):
        if isinstance(query.get("from"), str) and _pick(query["from"], "") == "":
            query.update({"from": "2026-01-01", "to": "2026-01-03T12:00:00Z"})


def _bound_query(case: Any) -> None:
    query = case.query or {}
    wait = query.get("wait")
    if isinstance(wait, int) and wait > CAPTURE_WAIT_S:
        query["wait"] = CAPTURE_WAIT_S
    elif isinstance(wait, str) and wait.isdigit() and int(wait) > CAPTURE_WAIT_S:
        query["wait"] = str(CAPTURE_WAIT_S)


def _credentials(path: str, api: LiveApi) -> dict[str, str]:
    if path.startswith("/admin/"):
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if path.startswith(("/api/", "/v1/")) and not path.startswith("/v1/files/"):
        return {"Authorization": f"Bearer {api.api_key}"}
    return {}


def _close_created(case: Any, response: Any, api: LiveApi) -> None:
    """Close a session the case created, so the run never holds more than a few pages."""
    if case.path == "/v1/sessions" and case.method.upper() == "POST":
        if response.status_code == 201:
            created = response.json()["id"]
            closed = httpx.delete(
                f"{api.base_url}/v1/sessions/{created}",
                headers=_credentials("/v1/", api),
                timeout=60,
            )
            assert closed.status_code == 200, closed.text


@pytest.mark.timeout(300)
@schema.parametrize()
def test_every_answer_matches_the_document(case: Any, live_api: LiveApi) -> None:
    # Schemathesis checks nothing about an operation that documents no answer (a success,
    # or the redirect that is the success of opening a live view with a token).
    documented = case.operation.definition.raw["responses"]
    assert any(status[0] in "23" for status in documented), case.operation.label
    _point_at_resources(case, live_api)
    if case.path.endswith("/actions"):
        _bound_action(case.body)
    _steer_inputs(case, live_api)
    _bound_query(case)
    case.headers = {**(case.headers or {}), **_credentials(case.path, live_api)}
    response = case.call(base_url=live_api.base_url, timeout=60)
    try:
        case.validate_response(response, checks=CHECKS)
    finally:
        _close_created(case, response, live_api)
