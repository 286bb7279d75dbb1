"""``/mcp``: the Model Context Protocol's Streamable HTTP transport, mounted on the front.

The front (:meth:`app.front.Front.mount`) has admitted the request (API key, rate limit)
before it gets here, and keeps the body limit. The official MCP SDK speaks the protocol:
its lowlevel ``Server`` lists and calls the tools, its session manager runs each POST in
**stateless** mode. The SDK's stateful mode keeps sessions in process memory; here MCP
sessions live in Redis (:mod:`app.mcp.store`), so any instance serves any of them:

* ``initialize`` without ``Mcp-Session-Id`` issues a session id (in the answer's header);
* any other request needs the header: an id that is unknown, ended, expired or another
  key's answers 404, as the transport specifies, and no header at all answers 400;
* ``DELETE`` ends the MCP session and closes (bills) its browser session;
* ``GET`` (a stream for server-initiated messages) answers 405: this server sends none.

The protocol's newer, sessionless era (a ``MCP-Protocol-Version`` past the handshake
versions) is refused with the error that makes clients fall back to ``initialize``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import mcp_types as types
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Scope,
)
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from app.errors import MethodNotAllowed, NotFound, ValidationFailed
from app.front import caller, first_headers
from app.jsonbody import JsonTooDeep, loads_body
from app.mcp.calls import Call, Toolbox
from app.mcp.store import McpSession, McpSessions
from app.mcp.tools import TOOLS, input_schema
from app.state import AppState
from app.tenancy import Principal

PATH = "/mcp"
SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
_SCOPE_KEY = "sessionshot.mcp"
_INSTRUCTIONS = (
    "A real browser, driven step by step. Start with browser_navigate, read the page with "
    "browser_snapshot, and act on elements by the refs it gives (ref=e12). Only the "
    "workspace's allowed domains can be opened. browser_close ends the browser session."
)


class McpEndpoint:
    """The ASGI app mounted at :data:`PATH`; :meth:`running` while the instance serves."""

    def __init__(self, version: str) -> None:
        self._server: Server[Any] = Server(
            "sessionshot",
            version=version,
            instructions=_INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )
        self._tools = [
            types.Tool(
                name=tool.name, description=tool.description, input_schema=input_schema(tool.args)
            )
            for tool in TOOLS.values()
        ]
        self._manager: StreamableHTTPSessionManager | None = None
        self._store: McpSessions | None = None
        self._toolbox: Toolbox | None = None

    @contextlib.asynccontextmanager
    async def running(self, state: AppState) -> AsyncIterator[None]:
        """Serve with ``state``; the SDK's manager runs in a task of its own (its task group
        must be entered and left by one task), stopped on the way out."""
        manager = StreamableHTTPSessionManager(
            self._server,
            json_response=True,
            stateless=True,
            # The front keeps the real limit; the body reaches the SDK already read.
            max_request_body_size=max(state.settings.max_body_bytes, 1024) * 2,
        )
        store = McpSessions(state.redis, state.keys)
        # Its transport logs a line per request at INFO ("Terminating session: None" in
        # stateless mode); the access log already has one.
        logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
        started = asyncio.Event()
        stop = asyncio.Event()

        async def serve() -> None:
            async with manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(serve(), name="mcp-manager")
        waiting = asyncio.ensure_future(started.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            waiting.cancel()
            await task  # it failed: raise why
        self._manager, self._store, self._toolbox = manager, store, Toolbox(state, store)
        try:
            yield
        finally:
            self._manager = self._toolbox = self._store = None
            stop.set()
            await asyncio.shield(task)

    # The transport -----------------------------------------------------------------------

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """One HTTP request to ``/mcp``."""
        assert scope["type"] == "http"
        if scope["path"] not in (PATH, PATH + "/"):
            raise NotFound()
        who = caller()
        headers = first_headers(scope["headers"])
        method = scope["method"]
        if method == "POST":
            await self._post(scope, headers, receive, send, who)
            return
        if method not in ("GET", "DELETE"):
            raise MethodNotAllowed(headers={"Allow": "GET, POST, DELETE"})
        session = await self._known(headers.get(SESSION_HEADER), who)
        if method == "GET":
            raise MethodNotAllowed(
                "This server sends no messages of its own: there is no stream to open.",
                headers={"Allow": "POST, DELETE"},
            )
        await self._end(session, who, send)

    async def _known(self, mcp_id: str | None, who: Principal) -> McpSession:
        """The caller's MCP session of the header: 400 without one, 404 when unknown."""
        if not mcp_id:
            raise ValidationFailed("The Mcp-Session-Id header is required after initialize.")
        assert self._store is not None
        session = await self._store.find(mcp_id, who.key_id)
        if session is None:
            raise NotFound("Unknown or ended MCP session.")
        return session

    async def _post(
        self,
        scope: HTTPScope,
        headers: dict[str, str],
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
        who: Principal,
    ) -> None:
        body = await _read_body(receive)
        if body is None:
            return  # the client went away: nobody to answer
        version = headers.get(VERSION_HEADER)
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await _send_json(send, 400, _unsupported_version(version))
            return
        try:
            message = loads_body(body)
        except JsonTooDeep:
            raise
        except ValueError as err:
            raise ValidationFailed("Request body must be JSON.") from err
        mcp_id = headers.get(SESSION_HEADER)
        if mcp_id is None and _is_initialize(message):
            session = McpSession("", who.key_id, who.workspace_id, "")
            send = self._issuing(send, who)
        else:
            session = await self._known(mcp_id, who)
        assert self._manager is not None
        inner: dict[str, Any] = {**scope, _SCOPE_KEY: Call(who, session)}
        await self._manager.handle_request(inner, _Replay(body, receive), send)  # type: ignore[arg-type]

    def _issuing(self, send: ASGISendCallable, who: Principal) -> ASGISendCallable:
        """``send`` that issues an MCP session when ``initialize`` succeeds (a JSON-RPC
        result, not an error) and names it in the answer's ``Mcp-Session-Id`` header."""
        held: list[HTTPResponseStartEvent] = []

        async def issuing(message: ASGISendEvent) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                held.append(message)  # until the body says whether it succeeded
                return
            if held and message["type"] == "http.response.body":
                start = held.pop()
                if _succeeded(message["body"]):
                    assert self._store is not None
                    session = await self._store.issue(who.key_id, who.workspace_id)
                    pair = (SESSION_HEADER.encode(), session.id.encode())
                    start["headers"] = [*start["headers"], pair]
                await send(start)
            await send(message)

        return issuing

    async def _end(self, session: McpSession, who: Principal, send: ASGISendCallable) -> None:
        """``DELETE``: the browser session closed (and billed), the MCP session forgotten."""
        assert self._store is not None and self._toolbox is not None
        closed = None
        if session.session_id:  # closed first: a failure leaves the MCP session to retry
            record = await self._toolbox.end_browser_session(who, session.session_id)
            closed = record.public()
        await self._store.end(session.id)
        await _send_json(send, 200, {"ended": True, "browserSession": closed})

    # The MCP server's handlers ------------------------------------------------------------

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self._tools)

    async def _call_tool(
        self, ctx: Any, params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        call: Call = ctx.request.scope[_SCOPE_KEY]
        assert self._toolbox is not None
        return await self._toolbox.call(call, params.name, params.arguments)


class _Replay:
    """A receive that hands the SDK the body already read, then the client's own events
    (a disconnect)."""

    def __init__(self, body: bytes, receive: ASGIReceiveCallable) -> None:
        self._body: bytes | None = body
        self._receive = receive

    async def __call__(self) -> ASGIReceiveEvent:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()


async def _read_body(receive: ASGIReceiveCallable) -> bytes | None:
    """The whole body (the front's receive keeps its size limit and timeout); None when
    the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))  # type: ignore[arg-type]
        if not message.get("more_body", False):
            return b"".join(chunks)


def _succeeded(body: bytes) -> bool:
    """Whether a JSON-RPC answer is a result (the JSON mode answers in one body)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and "result" in answer


def _is_initialize(message: Any) -> bool:
    return isinstance(message, dict) and message.get("method") == "initialize"


def _unsupported_version(version: str) -> dict[str, Any]:
    """The JSON-RPC error for the sessionless protocol era: clients fall back to
    ``initialize`` on it (it names the handshake versions)."""
    data = {"supported": list(HANDSHAKE_PROTOCOL_VERSIONS), "requested": version[:64]}
    return {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": types.UNSUPPORTED_PROTOCOL_VERSION,
            "message": "Unsupported protocol version: this server speaks the handshake era.",
            "data": data,
        },
    }


async def _send_json(send: ASGISendCallable, status: int, body: Any) -> None:
    raw = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw, "more_body": False})
