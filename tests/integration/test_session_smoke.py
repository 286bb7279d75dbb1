"""A first end-to-end pass: create, goto, click, delete."""

from __future__ import annotations

from tests.integration.sessions_helpers import new_client
from tests.support.service import Service
from tests.support.target_site import TargetSite


async def test_create_goto_click_delete(browser_service: Service, target_site: TargetSite) -> None:
    client = await new_client(browser_service)
    session = await client.create()
    assert session["status"] == "active" and session["kind"] == "live"
    sid = session["id"]
    goto = await client.ok(sid, "goto", url=target_site.url("/form"))
    assert goto["status"] == 200
    click = await client.ok(sid, "click", selector="#btn")
    assert click["tagName"] == "button" and click["clickedPoint"]["x"] > 0
    closed = await client.delete(sid)
    assert closed.status_code == 200
    body = closed.json()
    assert body["status"] == "closed" and body["billedCredits"] == 1
    assert body["actionCount"] == 2
