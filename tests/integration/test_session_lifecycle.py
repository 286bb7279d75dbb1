"""Create options, ownership, TTL and idle expiry, billing exactly once (SPEC 4 and 6)."""

from __future__ import annotations

import asyncio
import json

from sessions.keys import SessionKeys
from tests.integration.sessions_helpers import new_client
from tests.support.service import Service, settings_for_tests, start_service
from tests.support.target_site import TargetSite


async def _usage_credits(service: Service, ws_id: str) -> int:
    redis = service.state.redis
    total = 0
    pattern = SessionKeys(service.settings.redis_prefix).usage_days(ws_id)
    async for key in redis.scan_iter(match=pattern):
        total += int(await redis.hget(key, "credits") or 0)
    return total


async def test_defaults_and_shape(browser_service: Service) -> None:
    client = await new_client(browser_service)
    response = await browser_service.http.post("/v1/sessions", headers=client.headers)
    assert response.status_code == 201
    session = response.json()
    assert session["id"].startswith("sess_") and session["status"] == "active"
    assert session["closeReason"] is None and session["closedAt"] is None
    assert session["options"] == {
        "maxTtlSeconds": 300,
        "idleTimeoutSeconds": None,
        "proxy": False,
        "bypassBotDetection": False,
        "connect": False,
    }
    assert session["actionBreakdown"] == {} and session["actionCount"] == 0
    assert session["kind"] == "live" and 299 <= session["expiresInSeconds"] <= 300
    assert response.headers["X-Session-Owner"]
    listed = await browser_service.http.get("/v1/sessions?status=active", headers=client.headers)
    assert [s["id"] for s in listed.json()["sessions"]] == [session["id"]]
    await client.delete(session["id"])
    listed = await browser_service.http.get("/v1/sessions?status=active", headers=client.headers)
    assert listed.json()["sessions"] == []


async def test_create_validation(browser_service: Service) -> None:
    client = await new_client(browser_service)
    bodies: tuple[object, ...] = (
        {"maxTtlSeconds": 5},
        {"maxTtlSeconds": 999999},
        {"unknown": 1},
        {"viewport": {"width": 100, "height": 800}},
        {"proxy": True},
        {"timezoneId": "Mars/Olympus"},
        {"metadata": {"x": "y" * 2000}},
        {"auth": {"headers": {"Cookie": "a=b"}}},
        {"auth": {"cookies": [{"name": "a", "value": "b"}]}},
        [],
    )
    for body in bodies:
        response = await browser_service.http.post(
            "/v1/sessions", headers=client.headers, json=body
        )
        assert response.status_code == 400, body
        assert response.json()["code"] == "VALIDATION_ERROR"


async def test_other_keys_get_404_everywhere(browser_service: Service) -> None:
    owner = await new_client(browser_service)
    sid = (await owner.create())["id"]
    _, other_key = await browser_service.new_key(("app.test",))
    headers = {"Authorization": f"Bearer {other_key}"}
    http = browser_service.http
    for response in (
        await http.get(f"/v1/sessions/{sid}", headers=headers),
        await http.post(
            f"/v1/sessions/{sid}/actions",
            headers=headers,
            json={"type": "wait", "payload": {"ms": 1}},
        ),
        await http.delete(f"/v1/sessions/{sid}", headers=headers),
        await http.get("/v1/sessions/sess_nope", headers=headers),
    ):
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    listed = await http.get("/v1/sessions", headers=headers)
    assert listed.json()["sessions"] == []
    assert (await owner.get(sid))["status"] == "active"


async def test_delete_bills_once_even_when_raced(browser_service: Service) -> None:
    client = await new_client(browser_service)
    first = (await client.create())["id"]
    once = await client.delete(first)
    twice = await client.delete(first)
    assert once.status_code == twice.status_code == 200
    assert once.json() == twice.json()
    assert once.json()["closeReason"] == "closed" and once.json()["billedCredits"] == 1

    second = (await client.create(maxTtlSeconds=120))["id"]
    results = await asyncio.gather(*(client.delete(second) for _ in range(20)))
    bodies = [r.json() for r in results]
    assert all(r.status_code == 200 for r in results)
    assert all(b == bodies[0] for b in bodies)
    assert await _usage_credits(browser_service, client.workspace_id) == 2


async def test_ttl_and_idle_expiry_close_and_bill(browser_service: Service) -> None:
    client = await new_client(browser_service)
    ttl = (await client.create(maxTtlSeconds=10))["id"]
    idle = (await client.create(idleTimeoutSeconds=2))["id"]
    idle_closed = await client.wait_closed(idle)
    assert idle_closed["closeReason"] == "idle_timeout"
    assert idle_closed["billedCredits"] == 1 and 2 <= idle_closed["durationSeconds"] <= 5
    ttl_closed = await client.wait_closed(ttl)
    assert ttl_closed["closeReason"] == "expired"
    assert 10 <= ttl_closed["durationSeconds"] <= 12, "closed within 2 s of expiresAt"
    assert await _usage_credits(browser_service, client.workspace_id) == 2


async def test_actions_push_back_the_idle_timeout(browser_service: Service) -> None:
    client = await new_client(browser_service)
    sid = (await client.create(idleTimeoutSeconds=2))["id"]
    for _ in range(4):
        await asyncio.sleep(1)
        await client.ok(sid, "wait", ms=1)
    assert (await client.get(sid))["status"] == "active"
    assert (await client.wait_closed(sid))["closeReason"] == "idle_timeout"


async def test_metadata_and_idempotency(browser_service: Service) -> None:
    client = await new_client(browser_service)
    body = {"metadata": {"ticket": "T-1"}, "maxTtlSeconds": 60}
    headers = {**client.headers, "Idempotency-Key": "create-1"}
    http = browser_service.http
    first = await http.post("/v1/sessions", headers=headers, json=body)
    again = await http.post("/v1/sessions", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["metadata"] == {"ticket": "T-1"}
    conflict = await http.post("/v1/sessions", headers=headers, json={"maxTtlSeconds": 61})
    assert conflict.status_code == 409 and conflict.json()["code"] == "IDEMPOTENCY_CONFLICT"
    active = await http.get("/v1/sessions?status=active", headers=client.headers)
    assert len(active.json()["sessions"]) == 1
    assert (await client.get(first.json()["id"]))["metadata"] == {"ticket": "T-1"}


async def test_options_and_auth_are_seen_by_the_page(
    browser_service: Service, target_site: TargetSite
) -> None:
    client = await new_client(browser_service)
    session = await client.create(
        viewport={"width": 800, "height": 600},
        locale="de-DE",
        timezoneId="Asia/Tokyo",
        bypassBotDetection=True,
        auth={
            "cookies": [{"name": "sid", "value": "cookie-secret", "domain": "app.test"}],
            "localStorage": [{"key": "workspace", "value": "ls-secret"}],
            "headers": {"X-Tenant": "header-secret"},
        },
    )
    sid = session["id"]
    assert session["options"]["bypassBotDetection"] is True
    await client.ok(sid, "goto", url=target_site.url("/echo"))

    async def text(selector: str) -> str:
        return str((await client.ok(sid, "query", selector=selector))["elementText"])

    assert json.loads(await text("#cookies")) == {"sid": "cookie-secret"}
    assert json.loads(await text("#headers"))["x-tenant"] == "header-secret"
    assert json.loads(await text("#ls-at-start")) == {"workspace": "ls-secret"}
    assert await text("#webdriver") == "false"
    assert "Headless" not in await text("#ua")
    assert await text("#tz") == "Asia/Tokyo" and await text("#lang") == "de-DE"
    size = await client.ok(sid, "evaluate", expression="[innerWidth, innerHeight]")
    assert size["result"] == [800, 600]

    target_site.requests.clear()
    await client.ok(sid, "goto", url=target_site.url("/third-party"))
    await client.ok(sid, "waitForSelector", selector="#status:text('done')", timeout=10000)
    hosts = {(r.hostname, "x-tenant" in r.headers) for r in target_site.requests}
    assert ("app.test", True) in hosts
    assert ("thirdparty.test", False) in hosts and ("thirdparty.test", True) not in hosts

    plain = await client.create()
    await client.ok(plain["id"], "goto", url=target_site.url("/echo"))
    webdriver = await client.ok(plain["id"], "query", selector="#webdriver")
    assert webdriver["elementText"] == "true", "only bypassBotDetection sessions hide it"


async def test_an_answered_action_is_counted_for_whatever_comes_next(
    browser_service: Service, target_site: TargetSite
) -> None:
    """An action is answered while its count is still on its way to Redis; a read on this
    instance or another, the next action and a close right after all see it counted."""
    client = await new_client(browser_service)
    settings = browser_service.settings
    other = await start_service(
        settings_for_tests(settings.redis_url, settings.redis_prefix, warm_contexts=0)
    )
    try:
        sid = (await client.create())["id"]
        await client.ok(sid, "goto", url=target_site.url("/form"))
        for count in range(2, 22):
            await client.ok(sid, "query", selector="#btn")
            here = await client.get(sid)
            there = await other.http.get(f"/v1/sessions/{sid}", headers=client.headers)
            assert here["actionCount"] == there.json()["actionCount"] == count
        for _ in range(5):  # back to back, no read in between
            await client.ok(sid, "query", selector="#btn")
        failed = await client.act(sid, "click", selector="#missing", timeout=100)
        assert failed.status_code == 422
        final = (await client.delete(sid)).json()
    finally:
        await other.aclose()
    assert final["actionCount"] == 27 and final["actionErrorCount"] == 1
    assert final["actionBreakdown"]["query"] == {"total": 25, "success": 25, "error": 0}
    assert final["actionBreakdown"]["click"] == {"total": 1, "success": 0, "error": 1}
