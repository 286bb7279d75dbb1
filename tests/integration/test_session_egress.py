"""The egress guard through the real service: the canary on 127.0.0.2 is never reached."""

from __future__ import annotations

from tests.integration.sessions_helpers import new_client
from tests.support.service import Service
from tests.support.sites import CanarySite, TargetSite


async def test_no_vector_reaches_the_canary(
    browser_service: Service, target_site: TargetSite, canary_site: CanarySite
) -> None:
    client = await new_client(browser_service)
    sid = (await client.create())["id"]
    watch = canary_site.watch()
    await client.ok(sid, "goto", url=target_site.url("/attack"))
    done = await client.ok(sid, "waitForSelector", selector="#status:text('done')", timeout=15000)
    assert done["matched"] is True
    results = await client.ok(sid, "content", format="text", selector="#results")
    attempted = results["content"]
    for vector in ("img", "iframe", "fetch", "websocket", "service-worker", "script-redirect"):
        assert vector in attempted, f"the page tried {vector}"
    # Give stragglers (beacons, prefetches, worker fetches) a moment to show up if they could.
    await client.ok(sid, "wait", ms=500)
    assert watch.new_connections == 0, attempted
    assert not watch.touched


async def test_redirect_hop_and_main_document_are_blocked(
    browser_service: Service, target_site: TargetSite, canary_site: CanarySite
) -> None:
    client = await new_client(browser_service, ("app.test", "canary.test"))
    sid = (await client.create())["id"]
    watch = canary_site.watch()
    direct = await client.act(sid, "goto", url=canary_site.url("/"))
    assert direct.status_code == 422 and direct.json()["code"] == "TARGET_BLOCKED"
    hop = await client.act(sid, "goto", url=target_site.url("/redirect?to=" + canary_site.url("/")))
    assert hop.status_code == 422 and hop.json()["code"] == "TARGET_BLOCKED"
    assert not watch.touched
