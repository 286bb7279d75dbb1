"""Each documented failure code produced by a real page, and counted (SPEC section 4)."""

from __future__ import annotations

from typing import Any

from tests.integration.sessions_helpers import new_client
from tests.support.canary_site import CanarySite
from tests.support.procs import free_port
from tests.support.service import Service
from tests.support.target_site import TargetSite


async def test_failure_codes_are_real_and_counted(
    browser_service: Service, target_site: TargetSite, canary_site: CanarySite
) -> None:
    # canary.test is an allowed domain here, so only the egress guard stands in the way.
    client = await new_client(browser_service, ("app.test", "other.test", "canary.test"))
    session = await client.create()
    sid = session["id"]
    await client.ok(sid, "goto", url=target_site.url("/form"))

    async def fails(status: int, code: str, kind: str, **payload: object) -> dict[str, Any]:
        response = await client.act(sid, kind, **payload)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        assert body["success"] is False and body["code"] == code, body
        assert isinstance(body["error"], str) and "Traceback" not in body["error"]
        assert body["session"]["id"] == sid
        assert isinstance(body["expiresInSeconds"], int) and body["expiresInSeconds"] > 0
        return body

    await fails(422, "SELECTOR_TIMEOUT", "click", selector="#missing", timeout=200)
    await fails(422, "SELECTOR_TIMEOUT", "waitForSelector", selector="#missing", timeout=200)
    await fails(
        422, "NAVIGATION_TIMEOUT", "goto", url=target_site.url("/slow?ms=3000"), timeout=300
    )
    await fails(422, "NAVIGATION_FAILED", "goto", url=target_site.url("/status/404"))
    closed_port = f"https://app.test:{free_port()}/"
    await fails(422, "NAVIGATION_FAILED", "goto", url=closed_port)
    await fails(422, "ACTION_FAILED", "evaluate", expression="(() => { throw new Error('x') })()")
    watch = canary_site.watch()
    await fails(422, "TARGET_BLOCKED", "goto", url=canary_site.url("/"))
    assert not watch.touched
    await fails(403, "DOMAIN_NOT_ALLOWED", "goto", url=target_site.url("/", host="thirdparty.test"))

    # A redirect that leaves the allowed hosts: the action fails, and output is refused.
    escape = target_site.url("/redirect?to=" + target_site.url("/", host="thirdparty.test"))
    await fails(422, "DOMAIN_NOT_ALLOWED", "goto", url=escape)
    for kind, payload in (
        ("content", {}),
        ("snapshot", {}),
        ("evaluate", {"expression": "document.title"}),
        ("screenshot", {"inline": True}),
        ("pdf", {"inline": True}),
    ):
        await fails(422, "DOMAIN_NOT_ALLOWED", kind, **payload)

    invalid = await client.act(sid, "goto", url="http://app.test/")
    assert invalid.status_code == 400 and invalid.json()["code"] == "VALIDATION_ERROR"
    for bad in ("file:///etc/passwd", "chrome://version", "javascript:alert(1)"):
        refused = await client.act(sid, "goto", url=bad)
        assert refused.status_code == 400
    unknown = await client.act(sid, "teleport")
    assert unknown.status_code == 400

    session = await client.get(sid)
    assert session["actionErrorCount"] == 14, "every refused or failed action is counted"
    assert session["actionSuccessCount"] == 1, "400s are not counted"
    breakdown = session["actionBreakdown"]
    assert breakdown["goto"] == {"total": 7, "success": 1, "error": 6}
    assert breakdown["content"] == {"total": 1, "success": 0, "error": 1}

    assert (await client.delete(sid)).status_code == 200
    after = await client.act(sid, "click", selector="#btn")
    assert after.status_code == 409
    body = after.json()
    assert body["code"] == "SESSION_CLOSED" and body["expiresInSeconds"] == 0
    assert body["session"]["status"] == "closed"
    assert body["session"]["actionCount"] == session["actionCount"], "409s are not counted"


async def test_file_and_chrome_pages_never_load(
    browser_service: Service, target_site: TargetSite
) -> None:
    client = await new_client(browser_service)
    sid = (await client.create())["id"]
    await client.ok(sid, "goto", url=target_site.url("/"))
    for url in ("file:///etc/passwd", "chrome://version"):
        result = await client.ok(sid, "evaluate", expression=f"location.href = '{url}', 1")
        assert result["result"] == 1
    await client.ok(sid, "wait", ms=300)
    still = await client.ok(sid, "evaluate", expression="location.href")
    assert still["result"].startswith("https://app.test")
