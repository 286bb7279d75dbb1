"""The action lane: ``POST /v1/sessions/{id}/actions`` answered straight from ASGI.

Agents drive a session one action at a time, so an action's round trip is time they wait.
Quart's per-request machinery (request and app contexts, a receiving and a handling task,
hooks, response objects) measured 1.3 - 1.6 ms of a click's round trip on 2 cores
(docs/benchmarks.md). The lane answers this one route in front of Quart with the pieces
Quart's path uses: the request id, admission, the same pydantic model, :func:`answer_action`,
the error mapping and shapes, metrics and the access log. It also starts admission's Redis
round trip before it reads and validates the body, so the two overlap. Errors come in
Quart's order: 401 / 429 first, then 413 and 400.

Every other request, and every other method on this path, goes to Quart unchanged. The Quart
route stays the documented one (``/openapi.json``) and answers when the lane is off
(``create_app(settings, action_lane=False)``); the tests hold the two to the same answers.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
)
from pydantic import ValidationError
from quart import Quart
from werkzeug.exceptions import BadRequest, RequestTimeout

from app.actions import answer_action
from app.admission import Admitted
from app.error_handlers import api_error_of
from app.errors import ApiError, PayloadTooLarge, ValidationFailed, error_body
from app.jsonbody import loads_body
from app.logs import request_id_var
from app.middleware import (
    REQUEST_HOOKS,
    admitted_principal,
    record_request,
    request_id_for,
    token_of,
)
from app.responses import json_bytes
from app.state import STATE_KEY, AppState
from sessions.action_models import ActionRequest

_ACTION_PATH = re.compile(r"/v1/sessions/([^/]+)/actions")


class Disconnected(Exception):
    """The client went away before its body was read: nothing to answer."""


_ACTIONS_BLUEPRINT = "sessions"
"""The blueprint of the action route: its hooks would run for it too."""


def unmirrored_hooks(app: Quart) -> list[str]:
    """Request hooks Quart would run for the action route that the lane does not do.

    The lane answers in front of Quart, so a hook added to the app (or to the sessions
    blueprint) would silently not run for actions: the lane must learn it first.
    """
    found = []
    for kind, mirrored in REQUEST_HOOKS.items():
        registry: dict[str | None, list[Any]] = getattr(app, f"{kind}_funcs")
        for scope in (None, _ACTIONS_BLUEPRINT):
            found += [
                f"{kind} {getattr(hook, '__qualname__', hook)}"
                for hook in registry.get(scope, ())
                if hook not in mirrored
            ]
    return found


class ActionLane:
    """ASGI in front of Quart's own: the action route here, everything else to Quart."""

    def __init__(self, app: Quart, inner: ASGIFramework) -> None:
        missing = unmirrored_hooks(app)
        if missing:
            raise RuntimeError(f"the action lane does not run these hooks: {missing}")
        self._app = app
        self._inner = inner

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """Answer an action, or hand the request to Quart."""
        state: AppState | None = self._app.extensions.get(STATE_KEY)
        if scope["type"] == "http" and scope["method"] == "POST" and state is not None:
            match = _ACTION_PATH.fullmatch(scope["path"])
            if match is not None:
                await self._serve(state, match[1], scope, receive, send)
                return
        await self._inner(scope, receive, send)

    async def _serve(
        self,
        state: AppState,
        session_id: str,
        scope: HTTPScope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
    ) -> None:
        started = time.perf_counter()
        headers = _first_headers(scope["headers"])
        request_id = request_id_for(headers.get("x-request-id", ""))
        context_token = request_id_var.set(request_id)
        answer_headers: dict[str, str] = {}
        try:
            try:
                body, route_headers = await self._answer(
                    state, session_id, headers, receive, answer_headers
                )
                status = 200
            except Disconnected:
                return
            except Exception as err:  # mapped to its documented answer, as Quart's handlers do
                error = api_error_of(err)
                status, body, route_headers = (
                    error.status,
                    error_body(error, scope["path"]),
                    error.headers,
                )
            raw = json_bytes(body)
            out = {"Content-Type": "application/json", **route_headers, "X-Request-Id": request_id}
            for name, value in answer_headers.items():
                out.setdefault(name, value)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-length", str(len(raw)).encode()),
                        *((k.lower().encode(), v.encode()) for k, v in out.items()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": raw, "more_body": False})
            record_request(state.metrics, "POST", scope["path"], status, started)
        finally:
            request_id_var.reset(context_token)

    async def _answer(
        self,
        state: AppState,
        session_id: str,
        headers: dict[str, str],
        receive: ASGIReceiveCallable,
        answer_headers: dict[str, str],
    ) -> tuple[dict[str, Any], dict[str, str]]:
        token = token_of(headers.get("authorization", ""))
        admission = asyncio.ensure_future(state.admission.admit(token))
        try:
            raw: bytes | ApiError = await self._read_body(headers, receive)
        except ApiError as err:
            raw = err
        except BaseException:
            await _settle(admission)
            raise
        caller = admitted_principal(await admission, answer_headers)
        if isinstance(raw, ApiError):
            raise raw
        data = _parse_action(headers.get("content-type", ""), raw)
        assert state.sessions is not None  # set before the lifespan publishes the state
        return await answer_action(state.sessions, caller, session_id, data)

    async def _read_body(self, headers: dict[str, str], receive: ASGIReceiveCallable) -> bytes:
        """The whole body, within Quart's size limit and body timeout."""
        limit: int = self._app.config["MAX_CONTENT_LENGTH"]
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge()
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._app.config["BODY_TIMEOUT"]):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise Disconnected()
                    chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge()
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError as err:
            raise RequestTimeout() from err


async def _settle(task: asyncio.Future[Admitted | None]) -> None:
    """Let an admission finish on its own when the request ends early (it is one Redis call)."""
    try:
        await task
    except Exception:  # the request is already failing; admission's own error adds nothing
        return


def _first_headers(raw: Any) -> dict[str, str]:
    """Header names (lower case) to their first value, as Quart's ``headers.get`` reads them."""
    found: dict[str, str] = {}
    for name, value in raw:
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _parse_action(content_type: str, raw: bytes) -> ActionRequest:
    """The body as an action, failing as quart-schema's ``validate_request`` does."""
    mimetype = content_type.partition(";")[0].strip().lower()
    is_json = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
    data: Any = None
    if is_json:
        text = raw.decode()  # not UTF-8: mapped to "Malformed request body."
        try:
            data = loads_body(text)
        except ValueError as err:
            raise BadRequest() from err
    try:
        return ActionRequest.model_validate(data)
    except ValidationError:
        raise
    except (TypeError, ValueError) as err:
        raise ValidationFailed("Request body must be a JSON object.") from err
