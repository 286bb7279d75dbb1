"""Every action type against a real page, with its SPEC section 4 fields, and the counters."""

from __future__ import annotations

import base64

import httpx

from sessions.render import image_size
from tests.integration.sessions_helpers import Client, new_client
from tests.support.service import Service
from tests.support.target_site import TargetSite

ELEMENT_FIELDS = {"matched", "visible", "elementText", "tagName", "attributes", "boundingBox"}


def _element(data: dict[str, object]) -> None:
    assert ELEMENT_FIELDS <= set(data)


async def _on_form(client: Client, site: TargetSite) -> str:
    session = await client.create()
    await client.ok(session["id"], "goto", url=site.url("/form"))
    return str(session["id"])


async def test_interaction_actions(browser_service: Service, target_site: TargetSite) -> None:
    client = await new_client(browser_service)
    sid = await _on_form(client, target_site)

    query = await client.ok(sid, "query", selector="#btn")
    _element(query)
    assert query["matched"] is True and query["visible"] is True
    assert query["tagName"] == "button" and query["elementText"] == "Click me"
    assert query["attributes"] == {
        "id": "btn",
        "data-role": "primary",
        "class": "big",
        "onclick": query["attributes"]["onclick"],
    }
    box = query["boundingBox"]
    assert box["width"] > 0 and box["height"] > 0
    assert query["url"] == target_site.url("/form")

    missing = await client.ok(sid, "query", selector="#nope")
    assert missing["matched"] is False

    click = await client.ok(sid, "click", selector="#btn")
    _element(click)
    assert click["clickedPoint"] == {
        "x": box["x"] + box["width"] / 2,
        "y": box["y"] + box["height"] / 2,
    }
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == "clicked 1"
    await client.ok(sid, "click", selector="#btn", clickCount=2)
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == "clicked 3"

    hover = await client.ok(sid, "hover", selector="#hover-target")
    assert hover["hoveredPoint"]["x"] > 0 and hover["tagName"] == "div"
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == "hovered"

    typed = await client.ok(sid, "type", selector="#name", text="hello")
    assert typed["tagName"] == "input"
    value = await client.ok(sid, "evaluate", expression="document.querySelector('#name').value")
    assert value["result"] == "hello"

    await client.ok(sid, "fill", selector="#bio", value="line one")
    value = await client.ok(sid, "evaluate", expression="document.querySelector('#bio').value")
    assert value["result"] == "line one"

    await client.ok(sid, "press", selector="#name", key="Enter")
    assert (await client.ok(sid, "query", selector="#lastkey"))["elementText"] == "Enter"
    await client.ok(sid, "press", key="Escape")
    assert (await client.ok(sid, "query", selector="#lastkey"))["elementText"] == "Escape"

    selected = await client.ok(sid, "select", selector="#color", values=["red", "blue"])
    assert selected["selected"] == ["red", "blue"] and selected["tagName"] == "select"

    scrolled = await client.ok(sid, "scroll", y=1200)
    assert scrolled["scrollY"] == 1200 and scrolled["scrollX"] == 0
    into_view = await client.ok(sid, "scroll", selector="#bottom")
    assert into_view["scrollY"] > 1200

    appeared = await client.ok(sid, "waitForSelector", selector="#delayed", timeout=10000)
    assert appeared["elementText"] == "Delayed content"
    gone = await client.ok(sid, "waitForSelector", selector="#hidden", state="hidden")
    assert gone["matched"] in (True, False)
    await client.ok(sid, "wait", ms=10)

    session = await client.get(sid)
    breakdown = session["actionBreakdown"]
    assert breakdown["query"] == {"total": 7, "success": 7, "error": 0}
    assert breakdown["click"]["total"] == 2 and breakdown["goto"]["success"] == 1
    assert session["actionCount"] == sum(v["total"] for v in breakdown.values())
    assert session["actionErrorCount"] == 0
    assert session["currentUrl"] == target_site.url("/form")


async def test_navigation_and_output_actions(
    browser_service: Service, target_site: TargetSite
) -> None:
    client = await new_client(browser_service)
    sid = await _on_form(client, target_site)
    goto = await client.ok(sid, "goto", url=target_site.url("/"), waitUntil="domcontentloaded")
    assert goto["status"] == 200
    back = await client.ok(sid, "back")
    assert back["url"] == target_site.url("/form")
    forward = await client.ok(sid, "forward")
    assert forward["url"] == target_site.url("/")
    await client.ok(sid, "reload")

    await client.ok(sid, "goto", url=target_site.url("/form"))
    html = await client.ok(sid, "content", format="html")
    assert '<h1 id="title">Form page</h1>' in html["content"] and html["truncated"] is False
    text = await client.ok(sid, "content", format="text", selector="#title")
    assert text["content"] == "Form page"
    snap = await client.ok(sid, "snapshot")
    assert 'heading "Form page"' in snap["snapshot"] and "button" in snap["snapshot"]
    value = await client.ok(sid, "evaluate", expression="({a: 1, b: [document.title]})")
    assert value["result"] == {"a": 1, "b": ["Form page"]}

    await client.ok(sid, "goto", url=target_site.url("/big"))
    big = await client.ok(sid, "content", format="text")
    assert big["truncated"] is True
    assert len(big["content"].encode()) <= browser_service.settings.max_content_bytes


async def test_screenshots_and_pdf(browser_service: Service, target_site: TargetSite) -> None:
    client = await new_client(browser_service)
    sid = await _on_form(client, target_site)

    shot = await client.ok(sid, "screenshot")
    result = shot["result"]
    assert result["format"] == "png" and (result["width"], result["height"]) == (1280, 800)
    async with httpx.AsyncClient() as http:
        fetched = await http.get(result["url"])
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "image/png"
    assert fetched.headers["Cache-Control"] == "private, no-store"
    assert fetched.headers["Content-Disposition"].startswith("inline;")
    assert len(fetched.content) == result["bytes"]
    assert image_size(fetched.content) == (1280, 800)

    full = await client.ok(sid, "screenshot", fullPage=True, format="jpeg", quality=40, inline=True)
    data = base64.b64decode(full["result"]["data"])
    assert data[:2] == b"\xff\xd8" and full["result"]["bytes"] == len(data)
    width, height = image_size(data)
    assert width == 1280 and height > 5000 and full["result"]["height"] == height

    element = await client.ok(sid, "screenshot", selector="#btn", inline=True)
    assert element["result"]["width"] < 400

    pdf = await client.ok(sid, "pdf")
    async with httpx.AsyncClient() as http:
        fetched = await http.get(pdf["result"]["url"])
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.content.startswith(b"%PDF") and pdf["result"]["pages"] >= 1

    tampered = pdf["result"]["url"][:-3] + (
        "aaa" if not pdf["result"]["url"].endswith("aaa") else "bbb"
    )
    async with httpx.AsyncClient() as http:
        refused = await http.get(tampered)
    assert refused.status_code == 403
    assert refused.json()["code"] == "SIGNATURE_INVALID"
