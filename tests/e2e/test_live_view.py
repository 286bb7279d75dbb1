"""The live view (SPEC section 12), opened in a real Chromium against real processes.

Two instances (``a`` and ``b``) share one Redis prefix; sessions live on ``a`` and their
live links are made on either, so frames and clicks are relayed to the owner when the link
points at ``b``. A person is played by Playwright clicking on the live view page.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from app.scoped import Grant, Signer
from app.settings import derive_key
from sessions.browser import chromium_args
from sessions.timefmt import now_ms
from tests.conftest import two_instances
from tests.support.cluster import Cluster, Instance
from tests.support.live_socket import click, next_frame, open_stream
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

cluster = two_instances("live", "l", connect_warm=0)
"""Instances ``a`` and ``b`` on one prefix."""


@pytest.fixture(scope="module")
async def viewer() -> AsyncIterator[Browser]:
    """The person's browser."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=chromium_args()
        )
        yield browser
        await browser.close()


async def on_form(a: Instance, key: str, target_site: TargetSite) -> str:
    """A session on ``a`` showing the form page; its id."""
    created = await a.create_session(key)
    assert created.status_code == 201, created.text
    session_id: str = created.json()["id"]
    moved = await a.act(key, session_id, "goto", url=target_site.url("/form"))
    assert moved.status_code == 200, moved.text
    return session_id


async def live_link(inst: Instance, key: str, session_id: str, mode: str) -> dict[str, Any]:
    made = await inst.request(
        "POST", f"/v1/sessions/{session_id}/live", key, json={"mode": mode, "ttlSeconds": 120}
    )
    assert made.status_code == 201, made.text
    link: dict[str, Any] = made.json()
    assert link["url"].startswith(f"{inst.base_url}/live/") and link["mode"] == mode
    return link


async def frame_src(page: Page) -> str:
    src: str = await page.evaluate("document.getElementById('view').src")
    return src


async def open_view(viewer: Browser, url: str) -> Page:
    page = await viewer.new_page(viewport={"width": 1000, "height": 700})
    response = await page.goto(url)
    assert response is not None and response.status == 200
    await eventually(lambda: _showing(page), 20, "a first frame")
    return page


async def _showing(page: Page) -> bool:
    return (await frame_src(page)).startswith("data:image/jpeg")


async def click_on_view(page: Page, box: dict[str, float]) -> None:
    """Click, on the live view, where ``box`` (the session page's CSS pixels) is shown."""
    rect = await page.evaluate(
        """() => {
          const v = document.getElementById('view'); const r = v.getBoundingClientRect();
          return {x: r.x, y: r.y, w: r.width, h: r.height, nw: v.naturalWidth,
                  nh: v.naturalHeight};
        }"""
    )
    x = rect["x"] + (box["x"] + box["width"] / 2) * rect["w"] / rect["nw"]
    y = rect["y"] + (box["y"] + box["height"] / 2) * rect["h"] / rect["nh"]
    await page.mouse.click(x, y)


async def clicks(a: Instance, key: str, session_id: str) -> int:
    answer = await a.act(key, session_id, "evaluate", expression="window.clicks")
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["result"]
    return count


@pytest.mark.parametrize("via", ["a", "b"])
async def test_the_view_follows_the_page_and_interact_clicks_reach_it(
    cluster: Cluster, viewer: Browser, key: str, target_site: TargetSite, via: str
) -> None:
    a = cluster.instances["a"]
    session_id = await on_form(a, key, target_site)
    link = await live_link(cluster.instances[via], key, session_id, "interact")
    page = await open_view(viewer, link["url"])
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    before = await frame_src(page)
    await a.act(key, session_id, "goto", url=target_site.url("/secret"))

    async def changed() -> bool:
        return await frame_src(page) != before

    await eventually(changed, 20, "a frame of the new page")
    await a.act(key, session_id, "goto", url=target_site.url("/form"))
    box = (await a.act(key, session_id, "query", selector="#btn")).json()["boundingBox"]
    await eventually(changed, 20, "the form again")

    async def clicked() -> bool:
        return await clicks(a, key, session_id) == 1

    await click_on_view(page, box)
    await eventually(clicked, 20, "the click on the session's page")
    assert all(url.startswith(cluster.instances[via].base_url) for url in requests), requests
    await page.close()
    await a.request("DELETE", f"/v1/sessions/{session_id}", key)


async def test_a_view_link_does_not_interact(
    a: Instance, viewer: Browser, key: str, target_site: TargetSite
) -> None:
    session_id = await on_form(a, key, target_site)
    box = (await a.act(key, session_id, "query", selector="#btn")).json()["boundingBox"]
    view = await open_view(viewer, (await live_link(a, key, session_id, "view"))["url"])
    await click_on_view(view, box)
    await view.keyboard.press("Enter")
    # The same click through an interact view lands, after the view one would have.
    interact = await open_view(viewer, (await live_link(a, key, session_id, "interact"))["url"])
    await click_on_view(interact, box)

    async def one_click() -> bool:
        return await clicks(a, key, session_id) >= 1

    await eventually(one_click, 20, "the interact click")
    assert await clicks(a, key, session_id) == 1
    for page in (view, interact):
        await page.close()
    await a.request("DELETE", f"/v1/sessions/{session_id}", key)


async def test_the_server_drops_input_sent_on_a_view_link(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    """A view page sends no input; input sent on a view link's stream anyway (by hand, on
    the owner or through another instance) does not reach the page either."""
    session_id = await on_form(a, key, target_site)
    box = (await a.act(key, session_id, "query", selector="#btn")).json()["boundingBox"]
    await a.act(key, session_id, "evaluate", expression="document.querySelector('#name').focus()")
    keys = [
        {"type": "key", "event": event, "key": "x", "code": "KeyX", "text": "x", "keyCode": 88}
        for event in ("keyDown", "keyUp")
    ]
    wheel = {"type": "wheel", "x": box["x"], "y": box["y"], "deltaY": 400}
    for via in (a, b):
        view = await open_stream((await live_link(via, key, session_id, "view"))["url"])
        await next_frame(view)
        for message in keys:
            await view.send(json.dumps(message))
        await click(view, box)
        await view.send(json.dumps(wheel))
        await view.close()
    await asyncio.sleep(1)  # input that would be dispatched has been by then
    state = "[window.clicks, document.querySelector('#name').value, window.scrollY]"
    assert (await a.act(key, session_id, "evaluate", expression=state)).json()["result"] == [
        0,
        "",
        0,
    ]
    # The same messages on an interact link's stream do reach it.
    interact = await open_stream((await live_link(b, key, session_id, "interact"))["url"])
    await next_frame(interact)
    for message in keys:
        await interact.send(json.dumps(message))

    async def typed() -> bool:
        value = await a.act(
            key, session_id, "evaluate", expression="document.querySelector('#name').value"
        )
        return bool(value.json()["result"] == "x")

    await eventually(typed, 20, "the typed key")
    await click(interact, box)
    await eventually(lambda: _clicks_are(a, key, session_id, 1), 20, "the click")
    await interact.send(json.dumps(wheel))

    async def scrolled() -> bool:
        found = await a.act(key, session_id, "evaluate", expression="window.scrollY")
        return bool(found.json()["result"] > 0)

    await eventually(scrolled, 20, "the wheel")
    await interact.close()
    await a.request("DELETE", f"/v1/sessions/{session_id}", key)


async def _clicks_are(a: Instance, key: str, session_id: str, count: int) -> bool:
    return await clicks(a, key, session_id) == count


async def test_expired_revoked_altered_and_closed_links_are_refused(
    cluster: Cluster, a: Instance, b: Instance, viewer: Browser, key: str, target_site: TargetSite
) -> None:
    session_id = await on_form(a, key, target_site)
    link = await live_link(b, key, session_id, "view")
    open_page = await open_view(viewer, link["url"])
    altered = link["url"][:-3] + ("AAA" if not link["url"].endswith("AAA") else "BBB")
    secret = cluster.settings.require_secret()
    expired = Signer(derive_key(secret, "live-links")).issue(
        Grant(session_id, "live-view", now_ms() - 1000, 0)
    )
    async with httpx.AsyncClient() as http:
        assert (await http.get(altered)).status_code == 403
        assert (await http.get(f"{a.base_url}/live/{expired}")).status_code == 410
        revoked = await a.request("DELETE", f"/v1/sessions/{session_id}/live", key)
        assert revoked.status_code == 204
        gone = await http.get(link["url"])
        assert gone.status_code == 410 and "text/html" in gone.headers["content-type"]

        async def ended() -> bool:
            state: str = await open_page.evaluate("document.getElementById('state').textContent")
            return "ended" in state

        await eventually(ended, 20, "the open view to end")
        # A new link works after a revocation, until the session closes.
        fresh = await live_link(a, key, session_id, "view")
        assert (await http.get(fresh["url"])).status_code == 200
        await a.request("DELETE", f"/v1/sessions/{session_id}", key)
        assert (await http.get(fresh["url"])).status_code == 410
    await open_page.close()


async def test_a_live_token_opens_a_view_of_its_mode(
    a: Instance, b: Instance, viewer: Browser, key: str, target_site: TargetSite
) -> None:
    session_id = await on_form(a, key, target_site)
    made = await a.request(
        "POST", f"/v1/sessions/{session_id}/tokens", key, json={"scope": "live-interact"}
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    async with httpx.AsyncClient() as http:
        moved = await http.get(f"{b.base_url}/v1/sessions/{session_id}/live?token={token}")
        assert moved.status_code == 302, moved.text
        wrong = await http.get(f"{b.base_url}/v1/sessions/sess_other/live?token={token}")
        assert wrong.status_code == 403
    page = await open_view(viewer, moved.headers["location"])
    box = (await a.act(key, session_id, "query", selector="#btn")).json()["boundingBox"]
    await click_on_view(page, box)

    async def clicked() -> bool:
        return await clicks(a, key, session_id) == 1

    await eventually(clicked, 20, "the click")
    await page.close()
    await a.request("DELETE", f"/v1/sessions/{session_id}", key)
