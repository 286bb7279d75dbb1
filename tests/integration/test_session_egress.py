"""The egress guard through the real service: the canary on 127.0.0.2 is never reached."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ServiceFactory, browser_overrides
from tests.integration.sessions_helpers import new_client
from tests.support.canary_site import CanarySite
from tests.support.procs import ServiceProcess, free_port
from tests.support.service import Service
from tests.support.target_site import TargetSite


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


# A name under the special-use .invalid TLD: the guard refuses it without a DNS query, so
# nothing leaves the machine (Chromium itself never resolves names either).
UNRESOLVABLE = "nothing.invalid"
NOT_RESOLVABLE = ("nothing.invalid", "not resolvable")
PRIVATE = ("canary.test", "private", "SESSIONSHOT_TARGET_ALLOW_CIDRS")


def assert_blocked(message: str, words: tuple[str, ...]) -> None:
    for word in words:
        assert word in message, message
    if "private" not in words:
        assert "SESSIONSHOT_TARGET_ALLOW_CIDRS" not in message, message


async def test_refused_main_document_says_why_for_each_navigation(
    browser_service: Service, target_site: TargetSite, canary_site: CanarySite
) -> None:
    client = await new_client(browser_service, ("app.test", "canary.test", UNRESOLVABLE))
    sid = (await client.create())["id"]
    watch = canary_site.watch()
    unresolvable = f"https://{UNRESOLVABLE}:{target_site.port}/"
    # Back to back, each navigation gets its own reason, not the one before it.
    for url, words in (
        (unresolvable, NOT_RESOLVABLE),
        (canary_site.url("/"), PRIVATE),
        (unresolvable, NOT_RESOLVABLE),
        (target_site.url("/redirect?to=" + canary_site.url("/")), PRIVATE),
        (target_site.url("/redirect?to=" + unresolvable), NOT_RESOLVABLE),
    ):
        response = await client.act(sid, "goto", url=url)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "TARGET_BLOCKED", (url, body)
        assert_blocked(body["error"], words)
    # A refused subresource is not the action's failure.
    await client.ok(sid, "goto", url=target_site.url("/attack"))
    assert not watch.touched


async def test_capture_of_a_refused_target_fails_with_target_blocked(
    browser_service: Service,
    capture_worker: ServiceProcess,
    target_site: TargetSite,
    canary_site: CanarySite,
) -> None:
    _, key = await browser_service.new_key(("canary.test", UNRESOLVABLE))
    headers = {"Authorization": f"Bearer {key}"}
    watch = canary_site.watch()
    for url, words in (
        (f"https://{UNRESOLVABLE}:{target_site.port}/", NOT_RESOLVABLE),
        (canary_site.url("/"), PRIVATE),
    ):
        created = await browser_service.http.post(
            "/api/captures", headers=headers, json={"url": url}
        )
        assert created.status_code == 202, created.text
        status_url = created.json()["statusUrl"]
        body = (await browser_service.http.get(f"{status_url}?wait=30", headers=headers)).json()
        assert body["status"] == "failed", (body, capture_worker.stderr[-3000:])
        assert body["error"]["code"] == "TARGET_BLOCKED", body
        assert_blocked(body["error"]["message"], words)
    assert not watch.touched


async def test_an_unreachable_or_untrusted_target_says_what_it_means(
    browser_service: Service,
    make_service: ServiceFactory,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
) -> None:
    client = await new_client(browser_service)
    sid = (await client.create())["id"]
    closed = await client.act(sid, "goto", url=f"https://app.test:{free_port()}/")
    assert closed.status_code == 422 and closed.json()["code"] == "NAVIGATION_FAILED", closed.text
    assert "could not connect" in closed.json()["error"], closed.text

    strict = await make_service(
        **browser_overrides(target_site, canary_site, tmp_path, ignore_https_errors=False)
    )
    strict_client = await new_client(strict)
    sid = (await strict_client.create())["id"]
    untrusted = await strict_client.act(sid, "goto", url=target_site.url("/form"))
    assert untrusted.status_code == 422, untrusted.text
    body = untrusted.json()
    assert body["code"] == "NAVIGATION_FAILED" and "net::ERR_CERT_" in body["error"], body
    assert "SESSIONSHOT_IGNORE_HTTPS_ERRORS" in body["error"], body
