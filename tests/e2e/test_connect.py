"""Connect sessions over CDP and scoped tokens (SPEC section 12), against real processes.

Two instances (``a`` and ``b``) share one Redis prefix; the clients are Playwright's
``connect_over_cdp``, Puppeteer's ``connect`` (Node), a bare WebSocket speaking CDP and a
live view's stream. The browsers load the loopback HTTPS target site. What a client cannot
do is tested in ``test_connect_guard.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright
from websockets.exceptions import InvalidStatus

from app.scoped import SCOPES, Grant, Signer
from app.settings import derive_key
from sessions.timefmt import now_ms
from tests.conftest import two_instances
from tests.support.browser_procs import connect_browsers
from tests.support.cdp_client import (
    Cdp,
    cdp_url,
    connect_session,
    evaluate,
    new_token,
    page_session,
    raw_cdp,
)
from tests.support.cluster import Cluster, Instance
from tests.support.live_socket import click, frame_unlike, next_frame, open_stream
from tests.support.procs import free_port
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


cluster = two_instances("connect", "c", connect_warm=1)
"""Instances ``a`` and ``b`` on one prefix, one warm connect browser each."""


async def test_playwright_drives_the_session_page_and_rest_sees_it(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    session = await connect_session(a, key)
    sid = session["id"]
    assert session["connectUrl"] == f"ws://127.0.0.1:{a.port}/v1/sessions/{sid}/cdp"
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            session["connectUrl"], headers={"Authorization": f"Bearer {key}"}
        )
        page = browser.contexts[0].pages[0]
        await page.goto(target_site.url("/form"))
        await page.fill("#name", "from playwright")
        # REST sees what the CDP client did ...
        read = await a.act(key, sid, "query", selector="#name")
        assert read.status_code == 200, read.text
        assert read.json()["url"] == target_site.url("/form")
        value = await a.act(
            key, sid, "evaluate", expression="document.querySelector('#name').value"
        )
        assert value.json()["result"] == "from playwright"
        # ... and the CDP client sees what REST did, on the same page.
        clicked = await a.act(key, sid, "click", selector="#btn")
        assert clicked.status_code == 200, clicked.text
        assert await page.text_content("#out") == "clicked 1"
        await browser.close()  # the client's connection only: the session lives on
    assert (await a.get_session(key, sid)).json()["status"] == "active"
    # Through the other instance: relayed to the owner, same page.
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            cdp_url(b, sid), headers={"Authorization": f"Bearer {key}"}
        )
        page = browser.contexts[0].pages[0]
        assert page.url == target_site.url("/form")
        await page.click("#btn")
        assert await page.text_content("#out") == "clicked 2"
        await browser.close()
    closed = await b.request("DELETE", f"/v1/sessions/{sid}", key)
    assert closed.json()["status"] == "closed"
    assert closed.json()["actionCount"] == 3


async def test_a_session_without_connect_has_no_cdp_endpoint(a: Instance, key: str) -> None:
    plain = (await a.create_session(key)).json()
    assert "connectUrl" not in plain and plain["options"]["connect"] is False
    with pytest.raises(InvalidStatus) as refused:
        await raw_cdp(cdp_url(a, plain["id"]), key)
    assert refused.value.response.status_code == 409
    assert json.loads(refused.value.response.body)["code"] == "CONNECT_NOT_ENABLED"
    await a.request("DELETE", f"/v1/sessions/{plain['id']}", key)


async def test_credentials_of_the_cdp_endpoint(
    a: Instance, b: Instance, key: str, cluster: Cluster
) -> None:
    one = await connect_session(a, key)
    two = await connect_session(b, key)
    _, other_key = await cluster.new_key(("app.test",))
    for url, credential in [
        (cdp_url(a, one["id"]), None),
        (cdp_url(a, one["id"]), other_key),  # another workspace: as unknown
        (cdp_url(a, "sess_unknown"), key),
    ]:
        with pytest.raises(InvalidStatus) as refused:
            await raw_cdp(url, credential)
        assert refused.value.response.status_code in (401, 404)
    token = await new_token(a, key, one["id"], "cdp")
    # A token works without the key, on any instance ...
    for inst in (a, b):
        ws = await raw_cdp(cdp_url(inst, one["id"], token))
        cdp = Cdp(ws)
        assert "product" in (await cdp.call("Browser.getVersion"))["result"]
        await ws.close()
    # ... for its session and scope only.
    live_token = await new_token(a, key, one["id"], "live-view")
    for url in (
        cdp_url(a, two["id"], token),
        cdp_url(a, one["id"], live_token),
        cdp_url(a, one["id"], token[:-2] + "xx"),
    ):
        with pytest.raises(InvalidStatus) as refused:
            await raw_cdp(url)
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["code"] == "UNAUTHENTICATED"
    await a.request("DELETE", f"/v1/sessions/{one['id']}", key)
    await a.request("DELETE", f"/v1/sessions/{two['id']}", key)
    # Dead with the session.
    with pytest.raises(InvalidStatus) as refused:
        await raw_cdp(cdp_url(a, one["id"], token))
    assert refused.value.response.status_code == 409


async def test_each_token_works_for_its_session_and_scope_alone(
    a: Instance, b: Instance, key: str, cluster: Cluster
) -> None:
    session = await connect_session(a, key)
    sid = session["id"]
    tokens = {scope: await new_token(a, key, sid, scope) for scope in SCOPES}
    async with httpx.AsyncClient() as http:
        for scope, token in tokens.items():
            # No token stands in for the API key. (Refused before their bodies are read,
            # so each on a connection of its own.)
            for method, path in (
                ("GET", f"/v1/sessions/{sid}"),
                ("POST", f"/v1/sessions/{sid}/actions"),
                ("POST", f"/v1/sessions/{sid}/tokens"),
                ("DELETE", f"/v1/sessions/{sid}"),
            ):
                refused = await http.request(
                    method,
                    b.base_url + path,
                    headers={"Authorization": f"Bearer {token}", "Connection": "close"},
                    json={"scope": "cdp"} if method == "POST" else None,
                )
                assert refused.status_code == 401, (scope, method, path, refused.text)
            # A live token opens the view of its own mode, on any instance; the others none.
            opened = await http.get(f"{b.base_url}/v1/sessions/{sid}/live?token={token}")
            if scope == "cdp":
                assert opened.status_code == 403, opened.text
                continue
            assert opened.status_code == 302, opened.text
            shown = await http.get(opened.headers["location"])
            assert shown.status_code == 200
            mode = "interact" if scope == "live-interact" else "view"
            assert f'data-mode="{mode}"' in shown.text
            with pytest.raises(InvalidStatus) as refused_cdp:
                await raw_cdp(cdp_url(a, sid, token))
            assert refused_cdp.value.response.status_code == 401
        # Expired tokens.
        signer = Signer(derive_key(cluster.settings.require_secret(), "scoped-tokens"))
        expired = {s: signer.issue(Grant(sid, s, now_ms() - 1000)) for s in SCOPES}
        with pytest.raises(InvalidStatus) as refused_cdp:
            await raw_cdp(cdp_url(a, sid, expired["cdp"]))
        assert refused_cdp.value.response.status_code == 401
        for scope in ("live-view", "live-interact"):
            gone = await http.get(f"{a.base_url}/v1/sessions/{sid}/live?token={expired[scope]}")
            assert gone.status_code == 410
        # Every token is dead once the session has closed.
        await a.request("DELETE", f"/v1/sessions/{sid}", key)
        for inst in (a, b):
            with pytest.raises(InvalidStatus) as refused_cdp:
                await raw_cdp(cdp_url(inst, sid, tokens["cdp"]))
            assert refused_cdp.value.response.status_code in (401, 409)
            for scope in ("live-view", "live-interact"):
                url = f"{inst.base_url}/v1/sessions/{sid}/live?token={tokens[scope]}"
                assert (await http.get(url)).status_code == 410


async def test_closing_the_session_closes_its_cdp_connections(
    a: Instance, b: Instance, key: str
) -> None:
    session = await connect_session(a, key)
    direct = await raw_cdp(session["connectUrl"], key)
    routed = await raw_cdp(cdp_url(b, session["id"]), key)
    await a.request("DELETE", f"/v1/sessions/{session['id']}", key)
    for ws in (direct, routed):
        await asyncio.wait_for(ws.wait_closed(), 10)


async def test_cdp_traffic_counts_as_activity(a: Instance, key: str) -> None:
    session = await connect_session(a, key, idleTimeoutSeconds=3)
    ws = await raw_cdp(session["connectUrl"], key)
    cdp = Cdp(ws)
    for _ in range(5):  # 5 s of CDP calls: longer than the idle timeout
        await cdp.call("Browser.getVersion")
        await asyncio.sleep(1)
    assert (await a.get_session(key, session["id"])).json()["status"] == "active"
    await ws.close()

    async def idle_closed() -> bool:
        found = (await a.get_session(key, session["id"])).json()
        return bool(found["status"] == "closed" and found["closeReason"] == "idle_timeout")

    await eventually(idle_closed, 15, "the idle timeout")


async def test_puppeteer_connects(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    # `make test` installs Node and the clients (make test-npm): missing, the set-up is broken.
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("Node or puppeteer-core is not installed: run make test-npm")
    session = await connect_session(a, key)
    sid = session["id"]
    token = await new_token(a, key, sid, "cdp")
    for url in (session["connectUrl"] + f"?token={token}", cdp_url(b, sid, token)):
        await a.act(key, sid, "goto", url=target_site.url("/secret"))
        done = await asyncio.to_thread(
            subprocess.run,
            ["node", str(NODE_DIR / "puppeteer_connect.mjs"), url, target_site.url("/form")],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=NODE_DIR,
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        # Puppeteer's first page is the session's, and REST sees where Puppeteer took it.
        assert seen == {"before": target_site.url("/secret"), "title": "Form page"}
        href = await a.act(key, sid, "evaluate", expression="location.href")
        assert href.json()["result"] == target_site.url("/form")
    await a.request("DELETE", f"/v1/sessions/{sid}", key)


async def live_link(inst: Instance, key: str, session_id: str, mode: str) -> str:
    made = await inst.request(
        "POST", f"/v1/sessions/{session_id}/live", key, json={"mode": mode, "ttlSeconds": 120}
    )
    assert made.status_code == 201, made.text
    url: str = made.json()["url"]
    return url


async def test_the_live_view_of_a_connect_session(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    """A person watches what a CDP client does, through another instance, and clicks."""
    session = await connect_session(a, key)
    sid = session["id"]
    await a.act(key, sid, "goto", url=target_site.url("/form"))
    viewer = await open_stream(await live_link(b, key, sid, "interact"))
    watcher = await open_stream(await live_link(b, key, sid, "view"))
    first = await next_frame(viewer)
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            cdp_url(b, sid), headers={"Authorization": f"Bearer {key}"}
        )
        page = browser.contexts[0].pages[0]
        await page.goto(target_site.url("/secret"))
        secret = await frame_unlike(viewer, first)
        await frame_unlike(watcher, first)
        await page.goto(target_site.url("/form"))
        await frame_unlike(viewer, secret)
        box = await page.locator("#btn").bounding_box()
        assert box is not None
        await click(watcher, dict(box))  # view mode: dropped
        await click(viewer, dict(box))
        await eventually(lambda: _clicks_are(page, 1), 20, "the click from the live view")
        assert await page.text_content("#out") == "clicked 1"
        await browser.close()
    for stream in (viewer, watcher):
        await stream.close()
    await a.request("DELETE", f"/v1/sessions/{sid}", key)


async def _clicks_are(page: Page, count: int) -> bool:
    return bool(await page.evaluate("window.clicks") == count)


async def test_instances_relay_to_the_owner_at_its_internal_url(
    cluster: Cluster, a: Instance, key: str, target_site: TargetSite
) -> None:
    """An owner whose public URL leads nowhere is still reached, at the internal URL it
    announces (by default the address it listens on)."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    (d,) = await cluster.start("d", SESSIONSHOT_PUBLIC_URL=nowhere)
    try:
        session = await connect_session(d, key)
        sid = session["id"]
        assert session["connectUrl"] == f"{nowhere.replace('http', 'ws')}/v1/sessions/{sid}/cdp"
        await d.act(key, sid, "goto", url=target_site.url("/form"))
        ws = await raw_cdp(cdp_url(a, sid), key)
        cdp = Cdp(ws)
        page = await page_session(cdp)
        assert await evaluate(cdp, page, "location.href") == target_site.url("/form")
        await ws.close()
        stream = await open_stream(await live_link(a, key, sid, "view"))
        await next_frame(stream)
        await stream.close()
        await d.request("DELETE", f"/v1/sessions/{sid}", key)
    finally:
        await cluster.terminate(d)


@pytest.mark.slow
async def test_a_crashed_connect_browser_closes_its_session_alone(
    cluster: Cluster, key: str, target_site: TargetSite
) -> None:
    (c,) = await cluster.start("c")
    try:
        plain = (await c.create_session(key)).json()
        session = await connect_session(c, key)
        # The session's browser, and the warm one launched to replace the one it took.
        await eventually(lambda: len(connect_browsers(c)) == 2, 30, "two connect browsers")
        for pid in connect_browsers(c):
            os.kill(pid, signal.SIGKILL)

        async def crashed() -> bool:
            found = (await c.get_session(key, session["id"])).json()
            return bool(found["status"] == "closed" and found["closeReason"] == "browser_crashed")

        await eventually(crashed, 20, "the connect session closed as browser_crashed")
        assert (await c.get_session(key, plain["id"])).json()["status"] == "active"
        moved = await c.act(key, plain["id"], "goto", url=target_site.url("/form"))
        assert moved.status_code == 200, moved.text
        # The instance still makes connect sessions, and they work.
        again = await connect_session(c, key)
        ws = await raw_cdp(again["connectUrl"], key)
        assert "product" in (await Cdp(ws).call("Browser.getVersion"))["result"]
        await ws.close()
        for sid in (plain["id"], again["id"]):
            await c.request("DELETE", f"/v1/sessions/{sid}", key)
    finally:
        await cluster.terminate(c)
