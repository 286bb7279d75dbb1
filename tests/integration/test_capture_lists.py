"""``GET /api/captures``: a key's captures, newest first, in pages with cursors (SPEC 13).

No worker runs: captures stay ``queued`` unless a test moves them as a worker would, through
the capture store on the same Redis.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from captures.errors import CaptureFailed
from captures.records import CaptureStatus
from captures.results import ResultFile
from tests.conftest import ServiceFactory
from tests.support.redis_cluster import RedisBackend
from tests.support.service import Service

DOMAIN = "app.test"
URL = f"https://{DOMAIN}/page"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _create(service: Service, key: str, **fields: Any) -> dict[str, Any]:
    response = await service.http.post(
        "/api/captures", headers=bearer(key), json={"url": URL, **fields}
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def _list(service: Service, key: str, **query: Any) -> httpx.Response:
    return await service.http.get("/api/captures", headers=bearer(key), params=query)


async def _page(service: Service, key: str, **query: Any) -> dict[str, Any]:
    response = await _list(service, key, **query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"captures", "nextCursor"}, body
    return body


async def _finish(service: Service, capture_id: str, status: CaptureStatus) -> None:
    """Move a capture to a final state as a worker would."""
    store = service.state.captures.store
    attempt = await store.start(capture_id, "worker_test")
    record = await store.get(capture_id)
    assert record is not None
    if status is CaptureStatus.COMPLETED:
        file = ResultFile("k/file.png", "file.png", "image/png", "png", 1234, 1280, 800)
        extra = {"result": file.to_json(), "sessionId": "sess_test"}
    else:
        extra = {"error": json.dumps(CaptureFailed("gave up").public())}
    assert await store.finish(capture_id, status, extra, record.created_ms, attempt)


async def test_pages_hold_every_capture_once_newest_first_while_more_are_created(
    make_service: ServiceFactory, redis_backend: RedisBackend
) -> None:
    service = await make_service(redis_url=redis_backend.url)
    _, key = await service.new_key((DOMAIN,))
    created = [(await _create(service, key))["id"] for _ in range(10)]

    seen: list[str] = []
    during: list[str] = []
    cursor = None
    for _ in range(10):
        query: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await _page(service, key, **query)
        assert len(page["captures"]) <= 3
        seen += [capture["id"] for capture in page["captures"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
        during.append((await _create(service, key))["id"])  # newer: before the first page
    assert cursor is None, "the pages came to an end"
    assert seen == created[::-1], "every capture once, newest first, none created meanwhile"
    assert len(during) == 3

    first = await _page(service, key)  # default limit 20: everything, the newest first
    assert [c["id"] for c in first["captures"]] == (created + during)[::-1]
    assert first["nextCursor"] is None


async def test_items_read_as_a_get_without_a_signed_link(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    done = await _create(service, key, metadata={"ticket": "T-1"})
    await _finish(service, done["id"], CaptureStatus.COMPLETED)

    listed = (await _page(service, key))["captures"]
    assert len(listed) == 1
    item = listed[0]
    read = await service.http.get(done["statusUrl"], headers=bearer(key))
    assert read.status_code == 200, read.text
    got = read.json()
    assert "url" in got["result"] and "expiresAt" in got["result"]
    assert "url" not in item["result"] and "expiresAt" not in item["result"]
    expected = {**got, "result": {k: v for k, v in got["result"].items() if k != "url"}}
    expected["result"].pop("expiresAt")
    assert item == expected
    assert item["result"] == {"format": "png", "bytes": 1234, "width": 1280, "height": 800}
    assert item["metadata"] == {"ticket": "T-1"} and item["sessionId"] == "sess_test"


async def test_the_status_filter(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    ids = [(await _create(service, key))["id"] for _ in range(5)]
    await _finish(service, ids[1], CaptureStatus.COMPLETED)
    await _finish(service, ids[3], CaptureStatus.FAILED)
    await service.state.captures.store.start(ids[4], "worker_test")

    async def listed(status: str, limit: int = 20) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            query = {"status": status, "limit": limit} | ({"cursor": cursor} if cursor else {})
            page = await _page(service, key, **query)
            assert all(c["status"] == status for c in page["captures"]), page
            found += [c["id"] for c in page["captures"]]
            cursor = page["nextCursor"]
            if cursor is None:
                return found

    assert await listed("completed") == [ids[1]]
    assert await listed("failed") == [ids[3]]
    assert await listed("processing") == [ids[4]]
    assert await listed("queued") == [ids[2], ids[0]]
    assert await listed("queued", limit=1) == [ids[2], ids[0]]
    failed = (await _page(service, key, status="failed"))["captures"][0]
    assert failed["error"]["message"] == "gave up"


async def test_another_key_sees_none_of_them(service: Service) -> None:
    ws_id, key = await service.new_key((DOMAIN,))
    for _ in range(3):
        await _create(service, key)
    other = await service.admin("POST", f"/admin/workspaces/{ws_id}/keys", json={})
    assert (await _page(service, other["key"])) == {"captures": [], "nextCursor": None}
    _, stranger = await service.new_key((DOMAIN,))
    assert (await _page(service, stranger)) == {"captures": [], "nextCursor": None}

    # Nor can it use this key's cursor.
    cursor = (await _page(service, key, limit=1))["nextCursor"]
    assert cursor
    refused = await _list(service, other["key"], cursor=cursor)
    _assert_400(refused)


def _assert_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "VALIDATION_ERROR", body


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def test_bad_queries_are_refused(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    for _ in range(2):
        await _create(service, key)
    good = (await _page(service, key, limit=1))["nextCursor"]
    assert good
    bad: list[dict[str, Any]] = [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"limit": "ten"},
        {"status": "done"},
        {"cursor": "not a cursor"},
        {"cursor": "%%%"},
        {"cursor": good[:-3]},
        {"cursor": good + "x" * 2000},
        {"cursor": _b64([1, "captures", "0" * 16, 1, "cap_x"])},
        {"cursor": _b64([1, "sessions", "0" * 16, 1, "sess_x"])},
        {"cursor": _b64({"a": 1})},
        {"cursor": _b64(7)},
        {"other": "1"},
    ]
    for query in bad:
        _assert_400(await _list(service, key, **query))
    assert len((await _page(service, key, limit=100))["captures"]) == 2
    assert len((await _page(service, key, limit=1, cursor=good))["captures"]) == 1
    assert len((await _page(service, key, cursor=""))["captures"]) == 2  # empty: the first page


async def test_a_sessions_cursor_is_foreign_here(service: Service) -> None:
    _, key = await service.new_key((DOMAIN,))
    await _create(service, key)
    for _ in range(2):
        created = await service.http.post("/v1/sessions", headers=bearer(key))
        assert created.status_code == 201, created.text
    sessions = await service.http.get("/v1/sessions?limit=1", headers=bearer(key))
    cursor = sessions.json()["nextCursor"]
    assert cursor
    _assert_400(await _list(service, key, cursor=cursor))


async def test_a_key_must_be_sent(service: Service) -> None:
    response = await service.http.get("/api/captures")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
