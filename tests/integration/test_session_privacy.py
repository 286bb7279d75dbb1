"""A session that is not the caller's looks exactly like one that never existed (SPEC 2).

Another workspace's key, or another key of the same workspace, gets the very bytes an unknown
id gets, on every session route, on both action paths and whether the request is answered by
the owner or forwarded to it: nothing of the record (its URL with its query string, its
metadata, its owner) and nothing that tells an existing id from a made-up one.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

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
]


def visible(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    """Status, body bytes and the headers that do not change from request to request."""
    headers = {k: v for k, v in response.headers.items() if k not in VOLATILE_HEADERS}
    return response.status_code, response.content, headers


async def call(
    service: Service, client: Client, method: str, session_id: str, suffix: str, body: object
) -> httpx.Response:
    return await service.http.request(
        method, f"/v1/sessions/{session_id}{suffix}", headers=client.headers, json=body
    )


@pytest.fixture
async def instances(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> dict[str, Service]:
    """The owner (action lane in front) and a second instance answering through Quart."""
    overrides = browser_overrides(target_site, canary_site, tmp_path)
    return {
        "owner": await make_service(**overrides),
        "other instance": await make_service(action_lane=False, **overrides),
    }


async def test_another_callers_session_is_an_unknown_id(
    instances: dict[str, Service], target_site: TargetSite
) -> None:
    owner = instances["owner"]
    mine = await new_client(owner)
    session = await mine.create(metadata={"customer": "acme-private"})
    await mine.ok(session["id"], "goto", url=target_site.url("/form?token=query-secret"))
    key = await owner.admin("POST", f"/admin/workspaces/{mine.workspace_id}/keys", json={})
    callers = {
        "another workspace": await new_client(owner),
        "another key of the workspace": Client(owner, mine.workspace_id, key["key"]),
    }
    for where, service in instances.items():
        for who, caller in callers.items():
            for method, suffix, body in ROUTES:
                theirs = await call(service, caller, method, session["id"], suffix, body)
                unknown = await call(service, caller, method, f"sess_{uuid.uuid4()}", suffix, body)
                label = f"{who}, {method} {suffix or '/'} on the {where}"
                assert theirs.status_code == 404, f"{label}: {theirs.text}"
                assert visible(theirs) == visible(unknown), label
                assert b"query-secret" not in theirs.content and b"acme" not in theirs.content
                assert "x-session-owner" not in theirs.headers, label
    still = await mine.get(session["id"])
    assert still["status"] == "active" and still["actionCount"] == 1, "nothing ran or closed"
