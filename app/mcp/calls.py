"""Tool calls: each one actions on the MCP session's browser session, or a capture.

A browser tool runs its actions through :func:`app.actions.answer_action`, the call the
REST action route makes, so it gets the same validation, limits, egress guard, allowed
domains, counters and credits, and reaches the session's owner wherever it is. The browser
session is made at the first browser tool call (default options, like ``POST
/v1/sessions`` with no body), and again at the next call once it has closed.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import mcp_types as types
from pydantic import ValidationError

from app.actions import answer_action
from app.error_handlers import api_error_of, describe_validation
from app.errors import DomainNotAllowed, NotFound
from app.mcp.results import action_result, error_result, json_result
from app.mcp.store import McpSession, McpSessions
from app.mcp.tools import TOOLS, ActionTool
from app.state import AppState
from app.tenancy import Principal
from captures.models import CaptureRequest
from captures.records import CaptureRecord, CaptureStatus
from sessions.action_models import ActionRequest
from sessions.cluster import SessionService
from sessions.domains import host_matches
from sessions.errors import SessionClosed, SessionNotFound
from sessions.models import SessionOptions
from sessions.registry import SessionRecord
from sessions.timefmt import now_ms

_BIND_TRIES = 3
_LONG_POLL_S = 30


@dataclass
class Call:
    """One request's caller and MCP session, for the tool calls it carries."""

    caller: Principal
    mcp: McpSession


class Toolbox:
    """Runs tool calls for an instance."""

    def __init__(self, state: AppState, store: McpSessions) -> None:
        self._state = state
        self._store = store
        # A capture is final within its budget on every attempt a worker makes.
        self._capture_wait_s = state.settings.capture_timeout_s * 3 + 30

    @property
    def _sessions(self) -> SessionService:
        service = self._state.sessions
        assert service is not None  # set before the lifespan publishes the state
        return service

    async def call(
        self, call: Call, name: str, arguments: dict[str, Any] | None
    ) -> types.CallToolResult:
        """The tool's result; failures are results too (``isError``), never raised."""
        tool = TOOLS.get(name)
        if tool is None:
            return error_result("VALIDATION_ERROR", f"Unknown tool: {name[:100]}.")
        try:
            args = tool.args.model_validate(arguments or {})
            steps = tool.actions(args) if isinstance(tool, ActionTool) else []
        except ValidationError as err:
            return error_result("VALIDATION_ERROR", describe_validation(err))
        except ValueError as err:
            return error_result("VALIDATION_ERROR", str(err))
        try:
            if isinstance(tool, ActionTool):
                return await self._act(call, steps)
            if name == "browser_close":
                return await self._close(call)
            assert isinstance(args, CaptureRequest)
            return await self._capture(call, args)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # answered as the REST API answers it, in the result
            error = api_error_of(err)
            return error_result(error.code, error.message)

    async def _act(self, call: Call, steps: list[ActionRequest]) -> types.CallToolResult:
        body: dict[str, Any] = {}
        for step in steps:
            body = await self._run(call, step)
        return action_result(body)

    async def _run(self, call: Call, step: ActionRequest) -> dict[str, Any]:
        for attempt in range(_BIND_TRIES):
            session_id = call.mcp.session_id or await self._open(call)
            try:
                body, _ = await answer_action(
                    self._sessions, call.caller, session_id, step, title=True
                )
                return body
            except (SessionClosed, SessionNotFound):
                # Closed at its TTL or idle timeout, or by hand: the call opens a new one (a
                # refused action is not counted, so nothing ran on the old one).
                if attempt == _BIND_TRIES - 1:
                    raise
                await self._store.bind(call.mcp.id, session_id, "")
                call.mcp = replace(call.mcp, session_id="")
        raise AssertionError("unreachable")

    async def _open(self, call: Call) -> str:
        """A new browser session for the MCP session, unless another call made one first."""
        caller = call.caller
        record = await self._sessions.create(caller.key_id, caller.workspace_id, SessionOptions())
        seen = call.mcp.session_id
        chosen = record.id
        for _ in range(_BIND_TRIES):
            bound = await self._store.bind(call.mcp.id, seen, record.id)
            if bound is None:  # the MCP session ended meanwhile
                await self._sessions.close(caller.key_id, record.id)
                raise NotFound("The MCP session has ended.")
            if bound == record.id:
                break
            if bound:  # another call of this MCP session made one: use that, drop ours
                await self._sessions.close(caller.key_id, record.id)
                chosen = bound
                break
            seen = bound  # closed meanwhile: try again from none
        call.mcp = replace(call.mcp, session_id=chosen)
        return chosen

    async def _close(self, call: Call) -> types.CallToolResult:
        session_id = call.mcp.session_id
        if not session_id:
            return json_result({"session": None, "message": "No browser session is open."})
        record = await self.end_browser_session(call.caller, session_id)
        await self._store.bind(call.mcp.id, session_id, "")
        call.mcp = replace(call.mcp, session_id="")
        return json_result({"session": session_body(record)})

    async def end_browser_session(self, caller: Principal, session_id: str) -> SessionRecord:
        """Close (and bill) the browser session; idempotent."""
        return await self._sessions.close(caller.key_id, session_id)

    async def _capture(self, call: Call, request: CaptureRequest) -> types.CallToolResult:
        caller = call.caller
        host = urlsplit(request.url).hostname or ""
        if not host_matches(host, await self._state.tenancy.active_domains(caller.workspace_id)):
            raise DomainNotAllowed(
                f"{host} is not on this workspace's allowed domains; an administrator can add it."
            )
        captures = self._state.captures
        accepted = await captures.submit(caller.key_id, caller.workspace_id, request)
        deadline = time.monotonic() + self._capture_wait_s
        record: CaptureRecord | None = None
        while True:
            left = deadline - time.monotonic()
            record = await captures.read(accepted["id"], caller.key_id, min(_LONG_POLL_S, left))
            if record is None:
                raise NotFound("Capture not found.")
            if record.status.final or left <= _LONG_POLL_S:
                break
        return json_result(await captures.public(record), await self._image(record))

    async def _image(self, record: CaptureRecord) -> types.ImageContent | None:
        file = record.result_file()
        if record.status is not CaptureStatus.COMPLETED or file is None:
            return None
        if file.format not in ("png", "jpeg"):
            return None
        stored = await self._state.storage.get(file.key)
        if stored.data is None:
            return None
        data = base64.b64encode(stored.data).decode("ascii")
        return types.ImageContent(type="image", data=data, mime_type=file.content_type)


def session_body(record: SessionRecord) -> dict[str, Any]:
    """A session object with ``expiresInSeconds``, as the REST API answers it."""
    return {**record.public(), "expiresInSeconds": record.expires_in(now_ms())}
