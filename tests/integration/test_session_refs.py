"""Element refs from AI snapshots, and Markdown content (SPEC section 11, docs/sessions.md)."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sessions.render import image_size
from tests.integration.sessions_helpers import Client, new_client
from tests.support.service import Service
from tests.support.target_site import TargetSite


@pytest.fixture(scope="module")
async def client(browser_service: Service) -> Client:
    """A key allowed on the test site's hosts."""
    return await new_client(browser_service)


@pytest.fixture
async def sid(client: Client, target_site: TargetSite) -> AsyncIterator[str]:
    """A session on the form page, closed after the test."""
    session = await client.create()
    await client.ok(session["id"], "goto", url=target_site.url("/form"))
    yield str(session["id"])
    await client.delete(session["id"])


def ref_of(snapshot: str, role: str, name: str | None = None) -> str:
    """The ref of the first element of ``role`` named (or holding the text) ``name`` in an
    AI snapshot."""
    for line in snapshot.splitlines():
        found = re.match(rf"\s*- {re.escape(role)}(?![\w-])(.*)\[ref=((?:f\d+)?e\d+)\]", line)
        if found and (name is None or f'"{name}"' in found[1] or line.endswith(f": {name}")):
            return found[2]
    raise AssertionError(f"no {role} {name!r} with a ref in:\n{snapshot}")


def refs_of(snapshot: str) -> list[str]:
    """Every ref of an AI snapshot's text, in order."""
    return re.findall(r"\[ref=((?:f\d+)?e\d+)\]", snapshot)


async def fails(client: Client, sid: str, code: str, kind: str, **payload: Any) -> dict[str, Any]:
    """The action's documented error (422 for an action that ran, 400 for a bad payload)."""
    response = await client.act(sid, kind, **payload)
    status = 400 if code == "VALIDATION_ERROR" else 422
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["code"] == code, body
    assert isinstance(body["error"], str) and "Traceback" not in body["error"]
    return body


async def ai(client: Client, sid: str, **payload: Any) -> dict[str, Any]:
    return await client.ok(sid, "snapshot", mode="ai", **payload)


# --------------------------------------------------------------------------- snapshots


async def test_an_ai_snapshot_has_refs_and_counts_them(client: Client, sid: str) -> None:
    snap = await ai(client, sid)
    text = snap["snapshot"]
    refs = refs_of(text)
    assert snap["truncated"] is False
    assert snap["refCount"] == len(set(refs)) >= 8, text
    ref_of(text, "button", "Click me")
    ref_of(text, "textbox")
    ref_of(text, "link", "other")

    default = await client.ok(sid, "snapshot")
    assert "[ref=" not in default["snapshot"] and 'heading "Form page"' in default["snapshot"]
    assert default["refCount"] == 0 and default["truncated"] is False


async def test_depth_limits_the_snapshot(client: Client, sid: str) -> None:
    whole = await ai(client, sid)
    shallow = await ai(client, sid, depth=1)
    assert len(shallow["snapshot"]) < len(whole["snapshot"])
    assert shallow["refCount"] < whole["refCount"]
    assert 'option "Red"' not in shallow["snapshot"]
    # The option is below the depth: its ref was not given (the page itself would still
    # find it), so it is refused, and nothing is selected.
    red = ref_of(whole["snapshot"], "option", "Red")
    await fails(client, sid, "REF_NOT_FOUND", "click", ref=red)
    await fails(client, sid, "REF_NOT_FOUND", "query", ref=red)
    listbox = ref_of(shallow["snapshot"], "listbox")
    assert (await client.ok(sid, "query", ref=listbox))["attributes"]["id"] == "color"


async def test_max_chars_cuts_the_text_and_ref_count_covers_it_all(
    client: Client, sid: str
) -> None:
    await client.ok(
        sid,
        "evaluate",
        expression="""for (let i = 0; i < 300; i++) {
            const b = document.createElement('button');
            b.textContent = 'Extra ' + i;
            b.onclick = () => { document.getElementById('out').textContent = 'extra ' + i; };
            document.body.appendChild(b);
        }""",
    )
    whole = await ai(client, sid, maxChars=200_000)
    assert whole["truncated"] is False and whole["refCount"] >= 300
    cut = await ai(client, sid, maxChars=1000)
    assert cut["truncated"] is True and len(cut["snapshot"]) <= 1000
    shown = set(refs_of(cut["snapshot"]))
    assert cut["refCount"] == whole["refCount"] > len(shown)
    # A ref past the cut is still one of the snapshot's.
    last = ref_of(whole["snapshot"], "button", "Extra 299")
    assert last not in shown
    await client.ok(sid, "click", ref=last)
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == "extra 299"


async def test_an_ai_snapshot_of_a_selector(client: Client, sid: str) -> None:
    snap = await ai(client, sid, selector="#color")
    assert snap["refCount"] >= 1 and "Click me" not in snap["snapshot"]
    await fails(client, sid, "SELECTOR_TIMEOUT", "snapshot", mode="ai", selector="#missing")


# --------------------------------------------------------------------------- actions by ref


async def test_element_actions_take_refs(client: Client, sid: str) -> None:
    text = (await ai(client, sid))["snapshot"]
    button = ref_of(text, "button", "Click me")

    query = await client.ok(sid, "query", ref=button)
    assert query["matched"] is True and query["tagName"] == "button"
    assert query["attributes"]["id"] == "btn"

    click = await client.ok(sid, "click", ref=button)
    assert click["tagName"] == "button" and click["clickedPoint"]["x"] > 0
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == "clicked 1"

    hover = await client.ok(sid, "hover", ref=ref_of(text, "generic", "Hover me"))
    assert hover["hoveredPoint"]["y"] > 0
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == "hovered"

    name, bio = re.findall(r"- textbox[^\n]*?\[ref=((?:f\d+)?e\d+)\]", text)[:2]
    filled = await client.ok(sid, "fill", ref=bio, value="from a ref")
    assert filled["tagName"] == "textarea"
    typed = await client.ok(sid, "type", ref=name, text="typed")
    assert typed["tagName"] == "input"
    await client.ok(sid, "press", ref=name, key="Enter")
    byid = "document.getElementById"
    values = await client.ok(
        sid,
        "evaluate",
        expression=f"[{byid}('name').value, {byid}('bio').value, {byid}('lastkey').textContent]",
    )
    assert values["result"] == ["typed", "from a ref", "Enter"]

    selected = await client.ok(sid, "select", ref=ref_of(text, "listbox"), values=["green"])
    assert selected["selected"] == ["green"] and selected["tagName"] == "select"

    waited = await client.ok(sid, "waitForSelector", ref=button, state="visible")
    assert waited["tagName"] == "button"

    scrolled = await client.ok(sid, "scroll", ref=ref_of(text, "generic", "Bottom of the page"))
    assert scrolled["scrollY"] > 0

    content = await client.ok(sid, "content", ref=button, format="text")
    assert content["content"] == "Click me"

    shot = await client.ok(sid, "screenshot", ref=button, inline=True)
    width, height = image_size(base64.b64decode(shot["result"]["data"]))
    assert 0 < width < 1280 and 0 < height < 800


async def test_refs_survive_a_default_snapshot(client: Client, sid: str) -> None:
    button = ref_of((await ai(client, sid))["snapshot"], "button", "Click me")
    await client.ok(sid, "snapshot")  # the page's table of refs is this one's now
    await client.ok(sid, "click", ref=button)
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == "clicked 1"


async def test_selector_or_ref_exactly_once(client: Client, sid: str) -> None:
    button = ref_of((await ai(client, sid))["snapshot"], "button", "Click me")
    refused: list[tuple[str, dict[str, Any]]] = [
        ("click", {}),
        ("click", {"selector": "#btn", "ref": button}),
        ("hover", {}),
        ("type", {"text": "x"}),
        ("fill", {"selector": "#name", "ref": button, "value": "x"}),
        ("select", {"values": ["red"]}),
        ("waitForSelector", {"selector": "#btn", "ref": button}),
        ("query", {}),
        ("query", {"selector": "#btn", "ref": button}),
        ("press", {"key": "a", "selector": "#name", "ref": button}),
        ("scroll", {}),
        ("scroll", {"y": 10, "ref": button}),
        ("scroll", {"selector": "#btn", "ref": button}),
        ("content", {"selector": "#btn", "ref": button}),
        ("screenshot", {"selector": "#btn", "ref": button}),
        ("click", {"ref": "btn"}),
        ("click", {"ref": "e1 >> css=body"}),
        ("click", {"ref": ""}),
        ("click", {"ref": 5}),
        ("click", {"ref": ["e1"]}),
        ("snapshot", {"mode": "full"}),
        ("snapshot", {"depth": 0}),
        ("snapshot", {"depth": 51}),
        ("snapshot", {"maxChars": 999}),
        ("snapshot", {"maxChars": 200_001}),
        ("content", {"format": "md"}),
    ]
    for kind, payload in refused:
        await fails(client, sid, "VALIDATION_ERROR", kind, **payload)
    session = await client.get(sid)
    assert "click" not in session["actionBreakdown"], "a 400 is not counted"
    # Where the element is optional, neither is fine.
    assert (await client.ok(sid, "content", format="text"))["content"].startswith("Form page")
    await client.ok(sid, "press", key="Escape")


# --------------------------------------------------------------------------- stale refs


async def test_a_ref_no_snapshot_gave_is_not_found(client: Client, sid: str) -> None:
    # No ai snapshot yet: the default one has no refs.
    await client.ok(sid, "snapshot")
    for kind, payload in [
        ("click", {"ref": "e1"}),
        ("hover", {"ref": "e2"}),
        ("fill", {"ref": "e3", "value": "x"}),
        ("query", {"ref": "e1"}),
        ("content", {"ref": "e1"}),
    ]:
        body = await fails(client, sid, "REF_NOT_FOUND", kind, **payload)
        assert body["session"]["id"] == sid
    snap = await ai(client, sid)
    await fails(client, sid, "REF_NOT_FOUND", "click", ref="e99999")
    await fails(client, sid, "REF_NOT_FOUND", "click", ref="f7e1")
    assert snap["refCount"] < 99999
    breakdown = (await client.get(sid))["actionBreakdown"]
    assert breakdown["click"] == {"total": 3, "success": 0, "error": 3}


async def test_refs_end_with_their_document(
    client: Client, sid: str, target_site: TargetSite
) -> None:
    await client.ok(
        sid,
        "evaluate",
        expression="""for (let i = 0; i < 100; i++) {
            const b = document.createElement('button'); b.textContent = 'Extra ' + i;
            document.body.appendChild(b);
        }""",
    )
    form = (await ai(client, sid))["snapshot"]
    button = ref_of(form, "button", "Click me")

    await client.ok(sid, "goto", url=target_site.url("/form"))
    # The same page again, a new document: refs of the old one are not used on it.
    await fails(client, sid, "REF_NOT_FOUND", "click", ref=button, timeout=15000)
    assert (await client.ok(sid, "query", selector="#out"))["elementText"] == ""

    await client.ok(sid, "goto", url=target_site.url("/article"))
    article = await ai(client, sid)
    stale = [ref for ref in refs_of(form) if f"[ref={ref}]" not in article["snapshot"]]
    assert len(stale) >= 100 - article["refCount"] > 0
    for ref in (stale[0], stale[-1]):
        await fails(client, sid, "REF_NOT_FOUND", "click", ref=ref)
    only = ref_of(article["snapshot"], "button", "Only button")
    assert (await client.ok(sid, "query", ref=only))["attributes"] == {"id": "only"}


async def test_a_ref_whose_element_is_gone(client: Client, sid: str) -> None:
    button = ref_of((await ai(client, sid))["snapshot"], "button", "Click me")
    await client.ok(sid, "evaluate", expression="document.getElementById('btn').remove()")
    await fails(client, sid, "REF_NOT_FOUND", "query", ref=button)
    await fails(client, sid, "REF_NOT_FOUND", "click", ref=button, timeout=300)
    await fails(client, sid, "REF_NOT_FOUND", "waitForSelector", ref=button, timeout=300)
    gone = await client.ok(sid, "waitForSelector", ref=button, state="detached", timeout=300)
    assert gone["matched"] is False
    # An element put back is a new element: its ref comes from a new snapshot.
    await client.ok(
        sid,
        "evaluate",
        expression="""(() => { const b = document.createElement('button');
            b.id = 'btn'; b.textContent = 'Click me'; document.body.appendChild(b); })()""",
    )
    await fails(client, sid, "REF_NOT_FOUND", "click", ref=button, timeout=300)
    again = ref_of((await ai(client, sid))["snapshot"], "button", "Click me")
    assert again != button
    assert (await client.ok(sid, "query", ref=again))["attributes"] == {"id": "btn"}


# --------------------------------------------------------------------------- markdown


async def test_markdown_content(client: Client, sid: str, target_site: TargetSite) -> None:
    await client.ok(sid, "goto", url=target_site.url("/article"))
    answer = await client.ok(sid, "content", format="markdown")
    markdown = answer["content"]
    assert answer["truncated"] is False
    lines = markdown.splitlines()
    assert "# Article title" in lines and "## Steps" in lines and "### Prices" in lines
    assert f"[the guide]({target_site.url('/docs/guide')})" in markdown
    assert "**bold**" in markdown
    assert re.search(r"^[-*+] first item$", markdown, re.M)
    assert re.search(r"^[-*+] second item$", markdown, re.M)
    assert re.search(r"^1\. one$", markdown, re.M) and re.search(r"^2\. two$", markdown, re.M)
    rows = [re.sub(r" +", " ", line) for line in lines if line.startswith("|")]
    assert rows[0] == "| Fruit | Price |"
    assert re.fullmatch(r"\| -+ \| -+ \|", rows[1]), rows
    assert rows[2:] == ["| apple | 3 |", r"| pear \| green | 5 |"]
    for dropped in ("SCRIPT-BODY-TEXT", "INLINE-SCRIPT-TEXT", "STYLE-RULE-TEXT", "NOSCRIPT"):
        assert dropped not in markdown
    assert "<" not in markdown and "Article page" not in markdown

    table = await client.ok(sid, "content", format="markdown", selector="#prices")
    assert table["content"].strip().splitlines()[0].replace("  ", " ").startswith("| Fruit")
    assert "Article title" not in table["content"]
    only = ref_of((await ai(client, sid))["snapshot"], "button", "Only button")
    by_ref = await client.ok(sid, "content", format="markdown", ref=only)
    assert by_ref["content"].strip() == "Only button"


async def test_markdown_of_a_big_page_is_capped(
    browser_service: Service, client: Client, sid: str, target_site: TargetSite
) -> None:
    await client.ok(sid, "goto", url=target_site.url("/big"))
    answer = await client.ok(sid, "content", format="markdown")
    assert answer["truncated"] is True
    assert len(answer["content"].encode()) <= browser_service.settings.max_content_bytes
    assert answer["content"].startswith("# Big page")
