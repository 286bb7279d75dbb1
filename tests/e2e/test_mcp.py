"""The MCP server at ``/mcp`` (SPEC section 11, "MCP server"), driven by the official MCP
Python client over Streamable HTTP against real ``sessionshot serve`` processes.

Two instances (``a`` and ``b``) share one Redis prefix, and a capture worker runs beside
them; the browsers load the loopback HTTPS target site. The tests check what an MCP
client sees (tools, results, errors, the ``Mcp-Session-Id`` life cycle) and what the REST
API shows of it (the browser session, its counters and its credits).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import stop_process
from tests.support.cluster import Cluster, Instance
from tests.support.hosts import OTHER_HOST
from tests.support.procs import RedisServer, ServiceProcess
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

PROTOCOL = "2025-11-25"
MAX_BODY = 64 * 1024
"""The instances' body limit: small, so a body over it is sent whole before the 413 comes
(a server answers a body declared too large at once, and closes on the rest of it)."""
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": PROTOCOL,
}
SPEC_TOOLS = {
    "browser_navigate",
    "browser_snapshot",
    "browser_click",
    "browser_hover",
    "browser_type",
    "browser_select_option",
    "browser_press_key",
    "browser_scroll",
    "browser_wait_for",
    "browser_navigate_back",
    "browser_get_content",
    "browser_evaluate",
    "browser_take_screenshot",
    "browser_close",
    "capture_page",
}


@pytest.fixture(scope="module")
async def cluster(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    """Instances ``a`` and ``b`` and one capture worker on one Redis prefix."""
    workdir = tmp_path_factory.mktemp("mcp")
    shared = Cluster(
        redis_server.url,
        f"m{secrets.token_hex(4)}:",
        workdir,
        **browser_overrides(target_site, canary_site, workdir / "storage"),
        max_body_bytes=MAX_BODY,
    )
    worker: ServiceProcess | None = None
    try:
        await shared.start("a", "b")
        (workdir / "worker").mkdir()
        worker = ServiceProcess(["worker"], shared.env, workdir / "worker")
        ready = worker

        def worker_ready() -> bool:
            assert ready.proc.poll() is None, f"worker exited: {ready.stderr[-3000:]}"
            return '"worker_ready"' in ready.stdout + ready.stderr

        await eventually(worker_ready, 60, "worker_ready")
        yield shared
    finally:
        if worker is not None:
            await stop_process(worker)
        await shared.aclose()


@pytest.fixture(scope="module")
async def key(cluster: Cluster) -> str:
    """An API key of a workspace allowed on ``app.test`` only."""
    _, api_key = await cluster.new_key(("app.test",))
    return api_key


@pytest.fixture
def a(cluster: Cluster) -> Instance:
    return cluster.instances["a"]


@pytest.fixture
def b(cluster: Cluster) -> Instance:
    return cluster.instances["b"]


class Client:
    """The official MCP client on one instance; every later request may go elsewhere
    (``route``), and the ``Mcp-Session-Id`` the server issued is kept in ``session_id``."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.session_id: str | None = None

    async def call(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> types.CallToolResult:
        """A tool call, its result as the client parsed it."""
        return await self.session.call_tool(name, arguments or {})

    async def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """A tool call that must succeed; its first text block as JSON."""
        result = await self.call(name, arguments)
        assert not result.is_error, _texts(result)
        data: dict[str, Any] = json.loads(_texts(result)[0])
        return data


@contextlib.asynccontextmanager
async def mcp_client(
    inst: Instance, key: str | None, route: Callable[[int], Instance] | None = None
) -> AsyncIterator[Client]:
    """An initialised MCP client on ``inst`` with ``key``; ``route(n)`` picks the instance
    of the n-th request after ``initialize`` (the transport's URL is rewritten)."""
    holder: list[Client] = []
    sent = [0]

    async def on_request(request: httpx2.Request) -> None:
        if route is not None and holder and holder[0].session_id is not None:
            sent[0] += 1
            request.url = request.url.copy_with(port=route(sent[0]).port)

    async def on_response(response: httpx2.Response) -> None:
        issued = response.headers.get("mcp-session-id")
        if issued and holder:
            holder[0].session_id = issued

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(120),
        event_hooks={"request": [on_request], "response": [on_response]},
    )
    async with (
        http,
        streamable_http_client(f"{inst.base_url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        client = Client(session)
        holder.append(client)
        await session.initialize()
        yield client


def _texts(result: types.CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


def _ref(snapshot: str, role: str, name: str) -> str:
    """The ref of the element ``role "name"`` in an AI snapshot."""
    found = re.search(rf'{role} "{re.escape(name)}"[^\n]*\[ref=(\w+)\]', snapshot)
    assert found, f"no {role} {name!r} in the snapshot:\n{snapshot}"
    return found[1]


async def _sessions(inst: Instance, key: str) -> list[dict[str, Any]]:
    response = await inst.request("GET", "/v1/sessions", key)
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()["sessions"]
    return sessions


async def _raw(
    inst: Instance, key: str | None, body: bytes | dict[str, Any], **headers: str
) -> httpx.Response:
    """A POST to ``/mcp`` as any client would send it."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    return await inst.http.post("/mcp", content=content, headers={**MCP_HEADERS, **auth, **headers})


def _initialize() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    }


def _tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


async def _raw_session(inst: Instance, key: str) -> str:
    response = await _raw(inst, key, _initialize())
    assert response.status_code == 200, response.text
    issued = response.headers["mcp-session-id"]
    assert issued
    return issued


# --------------------------------------------------------------------------- tools


async def test_lists_the_tools_of_the_spec(a: Instance, key: str) -> None:
    async with mcp_client(a, key) as client:
        listed = await client.session.list_tools()
    assert {tool.name for tool in listed.tools} == SPEC_TOOLS
    for tool in listed.tools:
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.description, tool.name
    click = next(tool for tool in listed.tools if tool.name == "browser_click")
    assert {"ref", "selector", "button", "doubleClick"} <= set(click.input_schema["properties"])


async def test_drives_a_page_by_refs(a: Instance, key: str, target_site: TargetSite) -> None:
    async with mcp_client(a, key) as client:
        navigated = await client.call("browser_navigate", {"url": target_site.url("/form")})
        assert not navigated.is_error, _texts(navigated)
        assert json.loads(_texts(navigated)[0])["status"] == 200
        form_page = f"Page URL: {target_site.url('/form')}\nPage title: Form page"
        assert _texts(navigated)[1] == form_page

        snapshot = await client.call("browser_snapshot")
        meta = json.loads(_texts(snapshot)[0])
        assert meta["refCount"] > 0 and meta["truncated"] is False
        assert _texts(snapshot)[1] == form_page
        text = _texts(snapshot)[2]  # the snapshot itself, as is
        button = _ref(text, "button", "Click me")
        field = re.search(r"textbox[^\n]*\[ref=(\w+)\]", text)
        assert field, text

        await client.ok("browser_type", {"ref": field[1], "text": "Ada Lovelace"})
        clicked = await client.ok("browser_click", {"ref": button})
        assert clicked["tagName"] == "button"
        page = await client.ok(
            "browser_evaluate",
            {
                "expression": "[document.getElementById('name').value,"
                " document.getElementById('out').textContent]"
            },
        )
        assert page["result"] == ["Ada Lovelace", "clicked 1"]

        # A ref the latest snapshot did not issue is an action error, in the result.
        missing = await client.call("browser_click", {"ref": "e99999"})
        assert missing.is_error and _texts(missing)[0].startswith("REF_NOT_FOUND: ")


async def test_markdown_content_and_a_screenshot_image(
    a: Instance, key: str, target_site: TargetSite
) -> None:
    async with mcp_client(a, key) as client:
        await client.ok("browser_navigate", {"url": target_site.url("/form")})
        content = await client.call("browser_get_content")
        assert not content.is_error and json.loads(_texts(content)[0])["truncated"] is False
        markdown = _texts(content)[2]
        assert "# Form page" in markdown and "<h1" not in markdown

        shot = await client.call("browser_take_screenshot")
        assert not shot.is_error, _texts(shot)
        images = [block for block in shot.content if isinstance(block, types.ImageContent)]
        assert len(images) == 1 and images[0].mime_type == "image/png"
        assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")
        described = json.loads(_texts(shot)[0])
        assert "data" not in described["result"] and described["result"]["format"] == "png"


async def test_failures_are_tool_results_with_the_error_code(
    a: Instance, key: str, target_site: TargetSite
) -> None:
    async with mcp_client(a, key) as client:
        refused = await client.call(
            "browser_navigate", {"url": target_site.url("/form", host=OTHER_HOST)}
        )
        assert refused.is_error and _texts(refused)[0].startswith("DOMAIN_NOT_ALLOWED: ")

        for name, arguments in (
            ("browser_click", {}),  # neither ref nor selector
            ("browser_click", {"ref": "e1", "selector": "#btn"}),  # both
            ("browser_navigate", {"url": 5}),
            ("browser_navigate", {"url": "http://app.test/"}),  # not https
            ("browser_wait_for", {"text": "x", "timeMs": 10}),
            ("browser_type", {"selector": "#name", "text": "x", "extra": 1}),
            ("no_such_tool", {}),
        ):
            result = await client.call(name, arguments)
            assert result.is_error, (name, arguments)
            assert _texts(result)[0].startswith("VALIDATION_ERROR: "), _texts(result)


async def test_the_browser_session_is_visible_counted_and_billed_when_the_mcp_session_ends(
    a: Instance, key: str, target_site: TargetSite
) -> None:
    before = {s["id"] for s in await _sessions(a, key)}
    async with mcp_client(a, key) as client:
        await client.ok("browser_navigate", {"url": target_site.url("/form")})
        await client.ok("browser_snapshot")
        await client.ok("browser_click", {"selector": "#btn"})
        bad = await client.call("browser_click", {"selector": "#btn", "timeout": 1})
        assert bad.is_error
        made = [s for s in await _sessions(a, key) if s["id"] not in before]
        assert len(made) == 1, made
        live = made[0]
        assert live["status"] == "active" and live["kind"] == "live"
        assert live["options"]["maxTtlSeconds"] == 300  # default options
    # The arguments' error above was refused before reaching the session: not counted.
    assert live["actionCount"] == 3
    assert live["actionBreakdown"] == {
        "goto": {"total": 1, "success": 1, "error": 0},
        "snapshot": {"total": 1, "success": 1, "error": 0},
        "click": {"total": 1, "success": 1, "error": 0},
    }
    # Leaving the client DELETEs the MCP session: its browser session is closed and billed.
    response = await a.get_session(key, live["id"])
    closed = response.json()
    assert closed["status"] == "closed" and closed["closeReason"] == "closed", closed
    assert closed["billedCredits"] >= 1 and closed["actionCount"] == 3


async def test_browser_close_ends_the_browser_session_and_the_next_call_opens_another(
    a: Instance, key: str, target_site: TargetSite
) -> None:
    async with mcp_client(a, key) as client:
        await client.ok("browser_navigate", {"url": target_site.url("/form")})
        closed = (await client.ok("browser_close"))["session"]
        assert closed["status"] == "closed" and closed["billedCredits"] >= 1
        again = await client.ok("browser_navigate", {"url": target_site.url("/form")})
        assert again["status"] == 200
        active = [s for s in await _sessions(a, key) if s["status"] == "active"]
        assert closed["id"] not in {s["id"] for s in active}
        assert any(s["actionCount"] == 1 for s in active)


async def test_a_browser_session_closed_elsewhere_is_replaced_at_the_next_call(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    before = {s["id"] for s in await _sessions(a, key)}
    async with mcp_client(a, key) as client:
        await client.ok("browser_navigate", {"url": target_site.url("/form")})
        (first,) = [s for s in await _sessions(a, key) if s["id"] not in before]
        # Closed as its TTL or idle timeout would close it (here by DELETE, on the other
        # instance): the next tool call opens a new browser session and runs there.
        closed = await b.request("DELETE", f"/v1/sessions/{first['id']}", key)
        assert closed.status_code == 200, closed.text
        again = await client.ok("browser_navigate", {"url": target_site.url("/form")})
        assert again["status"] == 200
        made = [s for s in await _sessions(a, key) if s["id"] not in before]
        assert len(made) == 2
        second = next(s for s in made if s["id"] != first["id"])
        assert second["status"] == "active" and second["actionCount"] == 1
    assert (await a.get_session(key, first["id"])).json()["actionCount"] == 1


async def test_any_instance_serves_any_mcp_session(
    a: Instance, b: Instance, key: str, target_site: TargetSite
) -> None:
    # Initialised on a; then every request alternates, starting on b.
    def alternate(n: int) -> Instance:
        return b if n % 2 else a

    async with mcp_client(a, key, route=alternate) as client:
        await client.ok("browser_navigate", {"url": target_site.url("/form")})
        for _ in range(2):  # one on each instance: the owner's answer and a forwarded one
            clicked = await client.call("browser_click", {"selector": "#btn"})
            assert not clicked.is_error, _texts(clicked)
            assert _texts(clicked)[1].endswith("\nPage title: Form page"), _texts(clicked)
        out = await client.ok(
            "browser_evaluate", {"expression": "document.getElementById('out').textContent"}
        )
        assert out["result"] == "clicked 2"
        assert client.session_id is not None
        mcp_id = client.session_id

    # Ended through whichever instance got the DELETE: unknown on both now.
    for inst in (a, b):
        response = await _raw(
            inst, key, _tool_call("browser_snapshot", {}), **{"Mcp-Session-Id": mcp_id}
        )
        assert response.status_code == 404, response.text


async def test_capture_page_answers_with_the_final_capture_and_its_image(
    b: Instance, key: str, target_site: TargetSite
) -> None:
    async with mcp_client(b, key) as client:
        result = await client.call(
            "capture_page", {"url": target_site.url("/form"), "output": {"format": "png"}}
        )
        assert not result.is_error, _texts(result)
        capture = json.loads(_texts(result)[0])
        assert capture["status"] == "completed", capture
        assert capture["result"]["format"] == "png"
        images = [block for block in result.content if isinstance(block, types.ImageContent)]
        assert len(images) == 1
        assert base64.b64decode(images[0].data).startswith(b"\x89PNG\r\n\x1a\n")

        refused = await client.call(
            "capture_page", {"url": target_site.url("/form", host=OTHER_HOST)}
        )
        assert refused.is_error and _texts(refused)[0].startswith("DOMAIN_NOT_ALLOWED: ")


# --------------------------------------------------------------------------- the transport


async def test_no_key_is_401_in_the_documented_shape(a: Instance) -> None:
    response = await _raw(a, None, _initialize())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    with pytest.raises(Exception):  # the official client fails to connect  # noqa: B017
        async with mcp_client(a, None):
            pass


async def test_unknown_or_foreign_session_ids_are_404(
    a: Instance, b: Instance, key: str, cluster: Cluster
) -> None:
    mine = await _raw_session(a, key)
    listed = await _raw(
        b, key, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, **{"Mcp-Session-Id": mine}
    )
    assert listed.status_code == 200, listed.text
    assert {t["name"] for t in listed.json()["result"]["tools"]} == SPEC_TOOLS

    _, other_key = await cluster.new_key(("app.test",))
    for inst, api_key, session_id in (
        (a, key, "mcp_" + secrets.token_urlsafe(24)),
        (b, key, "not-even-ours"),
        (a, other_key, mine),  # another key's session looks like no session
        (b, other_key, mine),
    ):
        response = await _raw(
            inst, api_key, _tool_call("browser_snapshot", {}), **{"Mcp-Session-Id": session_id}
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "NOT_FOUND"

    # Without a session id, only initialize is served; GET has no stream to open.
    response = await _raw(a, key, _tool_call("browser_snapshot", {}))
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
    stream = await a.http.get(
        "/mcp",
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "text/event-stream",
            "Mcp-Session-Id": mine,
        },
    )
    assert stream.status_code == 405

    deleted = await a.http.delete(
        "/mcp", headers={"Authorization": f"Bearer {key}", "Mcp-Session-Id": mine}
    )
    assert deleted.status_code == 200, deleted.text
    again = await _raw(b, key, _tool_call("browser_snapshot", {}), **{"Mcp-Session-Id": mine})
    assert again.status_code == 404


def _nested(depth: int) -> bytes:
    return (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":'
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


FUZZ_BODIES: list[bytes] = [
    b"",
    b"{",
    b"not json at all",
    b"\xff\xfe\x00garbage",
    b"[]",
    b'"initialize"',
    b"null",
    b'{"jsonrpc": 5, "id": {}, "method": []}',
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5,"arguments":[]}}',
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"browser_navigate",'
    b'"arguments":{"url":{"$gt":""}}}}',
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}',
    b'{"jsonrpc":"2.0","id":1,"method":"no/such/method"}',
    b'[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"ping"}]',
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":7}}',
    _nested(50),
    _nested(5000),
    _nested(10_000),
    b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":'
    + b'{"a":' * 10_000
    + b"1"
    + b"}" * 10_000
    + b"}",
    # Over SESSIONSHOT_MAX_BODY_BYTES: 413.
    b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"x":"' + b"a" * MAX_BODY + b'"}}',
]


@pytest.mark.parametrize("with_session", [False, True])
async def test_fuzzed_bodies_never_get_a_500(a: Instance, key: str, with_session: bool) -> None:
    headers = {"Mcp-Session-Id": await _raw_session(a, key)} if with_session else {}
    for body in FUZZ_BODIES:
        response = await _raw(a, key, body, **headers)
        assert response.status_code < 500, (body[:80], response.status_code, response.text[:300])
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/json"), body[:80]
            assert isinstance(response.json(), dict)
    # Wrong content types and protocol versions too.
    for extra in (
        {"Content-Type": "text/plain"},
        {"Accept": "text/html"},
        {"MCP-Protocol-Version": "1999-01-01"},
        {"MCP-Protocol-Version": "2026-07-28"},
    ):
        response = await _raw(a, key, _tool_call("browser_snapshot", {}), **headers, **extra)
        assert response.status_code < 500, (extra, response.status_code, response.text[:300])


async def test_a_failed_initialize_issues_no_session(a: Instance, key: str) -> None:
    bad = _initialize()
    bad["params"]["protocolVersion"] = 7
    response = await _raw(a, key, bad)
    assert response.status_code < 500, response.text
    assert "error" in response.json()
    assert "mcp-session-id" not in response.headers


async def test_new_protocol_era_clients_fall_back_to_a_session(a: Instance, key: str) -> None:
    response = await _raw(
        a,
        key,
        {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {}},
        **{"MCP-Protocol-Version": "2026-07-28"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == types.UNSUPPORTED_PROTOCOL_VERSION
    assert PROTOCOL in error["data"]["supported"]
