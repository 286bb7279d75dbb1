"""A session that is not the caller's looks exactly like one that never existed (SPEC 2).

Another workspace's key, or another key of the same workspace, gets the very bytes an unknown
id gets, on every session route (the CDP upgrade included), on both action paths and whether
the request is answered by the owner or forwarded to it: nothing of the record (its URL with
its query string, its metadata, its owner) and nothing that tells an existing id, active or
closed, from a made-up one.

Two instances share one Redis: one with the action lane in front, one answering actions
through Quart, each holding a session of its own, so every route is tried on the owner and on
the instance that would forward, with each action path in both places.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.sockets import SOCKETS
from tests.conftest import ServiceFactory, browser_overrides
from tests.integration.sessions_helpers import Client, new_client
from tests.support.canary_site import CanarySite
from tests.support.service import Service
from tests.support.target_site import TargetSite

VOLATILE_HEADERS = {"date", "x-request-id", "ratelimit-remaining", "ratelimit-reset"}
ROUTES = [
    ("GET", "", None),
    ("POST", "/actions", {"type": "evaluate", "payload": {"expression": "document.title"}}),
    ("POST", "/actions", {"type": "goto", "payload": {"url": "https://app.test/"}}),
    ("DELETE", "", None),
    ("POST", "/tokens", {"scope": "cdp"}),
    ("POST", "/live", {"mode": "view"}),
    ("DELETE", "/live", None),
    ("POST", "/profile", {"name": "taken"}),
]
CDP = "/cdp"
TOKEN_ROUTES = {("GET", "/live")}
"""Routes whose credential is a scoped token of the session, not an API key."""

Visible = tuple[int, bytes, dict[str, str]]


def visible(status: int, body: bytes, headers: list[tuple[str, str]]) -> Visible:
    """Status, body bytes and the headers that do not change from request to request."""
    kept = {k.lower(): v for k, v in headers if k.lower() not in VOLATILE_HEADERS}
    return status, body, kept


async def call(
    service: Service, client: Client, method: str, session_id: str, suffix: str, body: object
) -> Visible:
    response: httpx.Response = await service.http.request(
        method, f"/v1/sessions/{session_id}{suffix}", headers=client.headers, json=body
    )
    return visible(response.status_code, response.content, list(response.headers.items()))


async def open_cdp(service: Service, client: Client, session_id: str) -> Visible:
    """The refused upgrade of ``GET /v1/sessions/{id}/cdp`` with the client's key."""
    url = service.base_url.replace("http", "ws", 1) + f"/v1/sessions/{session_id}{CDP}"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=client.headers):
            pass
    answer = refused.value.response
    return visible(answer.status_code, bytes(answer.body or b""), list(answer.headers.raw_items()))


async def test_every_session_route_is_tried(service: Service) -> None:
    """A session route added later must join ROUTES (or say it takes a scoped token)."""
    served = set()
    for rule in service.app.url_map.iter_rules():
        found = re.fullmatch(r"/v1/sessions/<session_id>(.*)", rule.rule)
        if found is not None:
            served |= {(m, found[1]) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    tried = {(method, suffix) for method, suffix, _ in ROUTES}
    assert served - TOKEN_ROUTES == tried, "a session route this test does not try"
    sockets = {p for p, _ in SOCKETS if p.startswith("/v1/sessions/")}
    assert sockets == {r"/v1/sessions/(?P<sid>[^/]+)" + CDP}, "a session socket not tried"


@pytest.fixture
async def instances(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> dict[str, Service]:
    """One instance with the action lane in front, one answering actions through Quart."""
    overrides = browser_overrides(target_site, canary_site, tmp_path)
    return {
        "lane": await make_service(**overrides),
        "quart": await make_service(action_lane=False, **overrides),
    }


async def test_another_callers_session_is_an_unknown_id(
    instances: dict[str, Service], target_site: TargetSite
) -> None:
    sessions: dict[str, str] = {}  # what the session is -> its id
    owners: dict[str, Client] = {}
    for name, service in instances.items():
        mine = await new_client(service)
        session = await mine.create(metadata={"customer": "acme-private"})
        await mine.ok(session["id"], "goto", url=target_site.url("/form?token=query-secret"))
        sessions[f"active, held by the {name} instance"] = session["id"]
        owners[session["id"]] = mine
    closed = await owners[sessions["active, held by the lane instance"]].create()
    closed_owner = owners[sessions["active, held by the lane instance"]]
    assert (await closed_owner.delete(closed["id"])).status_code == 200
    sessions["closed"] = closed["id"]
    owners[closed["id"]] = closed_owner

    lane = instances["lane"]
    for what, session_id in sessions.items():
        owner = owners[session_id]
        key = await lane.admin("POST", f"/admin/workspaces/{owner.workspace_id}/keys", json={})
        callers = {
            "another workspace": await new_client(lane),
            "another key of the workspace": Client(lane, owner.workspace_id, key["key"]),
        }
        for where, service in instances.items():
            for who, caller in callers.items():
                for method, suffix, body in [*ROUTES, ("GET", CDP, None)]:
                    label = f"{who}, {method} {suffix or '/'} on the {where} instance, {what}"
                    unknown_id = f"sess_{uuid.uuid4()}"
                    if suffix == CDP:
                        theirs = await open_cdp(service, caller, session_id)
                        unknown = await open_cdp(service, caller, unknown_id)
                    else:
                        theirs = await call(service, caller, method, session_id, suffix, body)
                        unknown = await call(service, caller, method, unknown_id, suffix, body)
                    assert theirs[0] == 404, f"{label}: {theirs[1]!r}"
                    assert theirs == unknown, label
                    assert b"query-secret" not in theirs[1] and b"acme" not in theirs[1], label
                    assert "x-session-owner" not in theirs[2], label

    for name in instances:
        session_id = sessions[f"active, held by the {name} instance"]
        still = await owners[session_id].get(session_id)
        assert still["status"] == "active" and still["actionCount"] == 1, "nothing ran or closed"
        profiles = await lane.http.get("/api/profiles", headers=owners[session_id].headers)
        assert profiles.json()["profiles"] == [], "no profile was saved from it"
