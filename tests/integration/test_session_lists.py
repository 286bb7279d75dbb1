"""``GET /v1/sessions``: a key's sessions, newest first, in pages with cursors (SPEC 4, 13)."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.integration.sessions_helpers import Client, new_client
from tests.support.service import Service


async def _list(client: Client, **query: Any) -> httpx.Response:
    return await client.service.http.get("/v1/sessions", headers=client.headers, params=query)


async def _page(client: Client, **query: Any) -> dict[str, Any]:
    response = await _list(client, **query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"sessions", "nextCursor"}, body
    return body


async def _all(client: Client, **query: Any) -> list[str]:
    """Every page's ids, following the cursors."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await _page(client, **query, **({"cursor": cursor} if cursor else {}))
        assert len(page["sessions"]) <= int(query.get("limit", 20))
        ids += [session["id"] for session in page["sessions"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return ids


async def _closed_session(client: Client) -> str:
    sid = str((await client.create())["id"])
    assert (await client.delete(sid)).status_code == 200
    return sid


def _assert_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False and body["code"] == "VALIDATION_ERROR", body


async def test_pages_hold_every_session_once_newest_first(browser_service: Service) -> None:
    client = await new_client(browser_service)
    created = [await _closed_session(client) for _ in range(19)]
    active = [str((await client.create())["id"]) for _ in range(2)]
    newest_first = (created + active)[::-1]

    # The default page is 20 long; the 21st comes on the next one.
    first = await _page(client)
    assert [s["id"] for s in first["sessions"]] == newest_first[:20]
    assert first["nextCursor"]
    rest = await _page(client, cursor=first["nextCursor"])
    assert [s["id"] for s in rest["sessions"]] == newest_first[20:]
    assert rest["nextCursor"] is None

    # Pages of three, with sessions created between them: those come before the first page.
    seen: list[str] = []
    cursor = None
    during: list[str] = []
    while True:
        page = await _page(client, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
        if len(during) < 3:
            during.append(await _closed_session(client))
    assert seen == newest_first

    assert await _all(client, status="closed", limit=4) == (created + during)[::-1]
    assert await _all(client, status="active", limit=1) == active[::-1]
    assert await _all(client, status="active") == active[::-1]
    for sid in active:
        await client.delete(sid)
    assert await _all(client, status="active") == []


async def test_another_key_sees_none_and_cannot_use_the_cursor(browser_service: Service) -> None:
    owner = await new_client(browser_service)
    for _ in range(2):
        await _closed_session(owner)
    cursor = (await _page(owner, limit=1))["nextCursor"]
    assert cursor
    other = await new_client(browser_service)
    assert await _page(other) == {"sessions": [], "nextCursor": None}
    _assert_400(await _list(other, cursor=cursor))
    assert len((await _page(owner, cursor=cursor))["sessions"]) == 1


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_bad_queries_are_refused(browser_service: Service) -> None:
    client = await new_client(browser_service)
    await _closed_session(client)
    capture = await browser_service.http.post(
        "/api/captures", headers=client.headers, json={"url": "https://app.test/"}
    )
    assert capture.status_code == 202
    await browser_service.http.post(
        "/api/captures", headers=client.headers, json={"url": "https://app.test/"}
    )
    captures = await browser_service.http.get("/api/captures?limit=1", headers=client.headers)
    captures_cursor = captures.json()["nextCursor"]
    assert captures_cursor
    for query in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "all"},
        {"status": "open"},
        {"cursor": "garbage!"},
        {"cursor": captures_cursor},
        {"cursor": _b64([1, "sessions", "0" * 16, 0, "sess_x"])},
        {"cursor": _b64([1, "sessions"])},
        {"cursor": "x" * 2000},
        {"page": 2},
    ):
        _assert_400(await _list(client, **query))
    # The captures above may have been picked up by a worker: their sessions are listed too.
    listed = (await _page(client, limit=100))["sessions"]
    assert len([s for s in listed if s["kind"] == "live"]) == 1
