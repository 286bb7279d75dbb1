"""The front door: the ASGI app the server calls, in front of Quart.

Most requests go to Quart untouched. The front answers the rest itself, and everything it
answers gets, written once here, what Quart's hooks and handlers give a Quart route: the
request id, admission (the bearer key and the rate limit), the body within the size limit
and the body timeout, errors in the documented shapes, and the access log line with its
metric. Every endpoint on the front needs an API key. Checks come in Quart's order:
401 / 429 first, then 413, then 400.

Two kinds of endpoint are registered on it:

* :meth:`Front.route` - a JSON endpoint answered without Quart's per-request machinery
  (request and app contexts, two tasks, hooks, response objects: 1.3 - 1.6 ms of a click's
  round trip on 2 cores, docs/benchmarks.md). The front reads and parses the body into the
  route's pydantic model, failing as Quart-Schema does, and calls the route's answer with
  the admitted caller. Admission's Redis round trip runs while the body is read.
* :meth:`Front.mount` - any ASGI app under a path prefix, for endpoints that stream (an MCP
  endpoint, long-lived answers). It is called once admission has let the request in, reads
  its own body through a receive that keeps the size limit and the body timeout, finds its
  caller in :func:`caller`, and its answer gets the request id and the rate headers.

The front must do what Quart's request hooks do (app-wide ones, and a blueprint's where a
route stands in for one of its views): :func:`unmirrored_hooks` names those it would miss,
and the front refuses to start then.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
    WebsocketScope,
)
from pydantic import BaseModel, ValidationError
from quart import Quart
from werkzeug.exceptions import BadRequest, RequestTimeout

from app.admission import Admitted
from app.error_handlers import api_error_of
from app.errors import ApiError, PayloadTooLarge, ValidationFailed, error_body
from app.jsonbody import loads_body
from app.logs import request_id_var
from app.middleware import (
    REQUEST_HOOKS,
    admitted_principal,
    closes_connection,
    declares_body,
    record_request,
    request_id_for,
    token_of,
)
from app.mounts import BoundedBody, Exchange
from app.responses import json_bytes
from app.state import STATE_KEY, AppState
from app.tenancy import Principal

M = TypeVar("M", bound=BaseModel)
V = TypeVar("V", bound=Callable[..., Any])

Answer = Callable[
    [AppState, re.Match[str], Principal, M], Awaitable[tuple[dict[str, Any], dict[str, str]]]
]
"""A route's answer: the body (status 200) and its headers, from the state, the path's
match, the admitted caller and the parsed body; it raises to fail."""

SocketHandler = Callable[
    [AppState, re.Match[str], WebsocketScope, ASGIReceiveCallable, ASGISendCallable],
    Awaitable[int],
]
"""A WebSocket endpoint: it accepts or refuses the upgrade itself, and returns the status
it answered with (101 once accepted) for the access log."""

_caller: ContextVar[Principal] = ContextVar("front_caller")


class Disconnected(Exception):
    """The client went away before its body was read: nothing to answer."""


def caller() -> Principal:
    """The admitted caller of the mounted app's current request."""
    return _caller.get()


@dataclass(frozen=True)
class Route(Generic[M]):
    """A JSON endpoint the front answers: ``method`` on paths ``pattern`` matches whole."""

    method: str
    pattern: re.Pattern[str]
    model: type[M]
    answer: Answer[M]


_STOOD_IN_FOR = "_answered_by_front"


def answered_by_front(view: V) -> V:
    """Mark a Quart view whose route the served app answers in front of Quart (a route of
    the front stands in for it): the front must then do its blueprint's request hooks too."""
    setattr(view, _STOOD_IN_FOR, True)
    return view


def unmirrored_hooks(app: Quart) -> list[str]:
    """Request hooks Quart would run for a request the front answers that the front does not.

    App-wide hooks run for every request, so the front must do each of them; a blueprint's
    hooks matter where a front route stands in for one of its views (:func:`answered_by_front`).
    """
    scopes: dict[str | None, None] = {None: None}
    for endpoint, view in app.view_functions.items():
        if getattr(view, _STOOD_IN_FOR, False):
            scopes[endpoint.rpartition(".")[0] or None] = None
    found = []
    for kind, mirrored in REQUEST_HOOKS.items():
        registry: dict[str | None, list[Any]] = getattr(app, f"{kind}_funcs")
        for scope in scopes:
            found += [
                f"{kind} {getattr(hook, '__qualname__', hook)}"
                for hook in registry.get(scope, ())
                if hook not in mirrored
            ]
    return found


class Front:
    """The app's ASGI callable: its routes and mounts here, everything else to Quart."""

    def __init__(self, app: Quart, inner: ASGIFramework) -> None:
        missing = unmirrored_hooks(app)
        if missing:
            raise RuntimeError(f"the front does not run these hooks: {missing}")
        self._app = app
        self._inner = inner
        self._routes: list[Route[Any]] = []
        self._mounts: list[tuple[str, ASGIFramework]] = []
        self._sockets: list[tuple[re.Pattern[str], SocketHandler]] = []

    def route(
        self,
        method: str,
        pattern: str,
        model: type[M],
        answer: Answer[M],
    ) -> None:
        """Answer ``method`` on paths matching ``pattern`` (a regular expression, matched
        whole) with ``answer``; the body is parsed into ``model``. Where a Quart view
        answers the same requests (the reference, or the documented route), mark it with
        :func:`answered_by_front`."""
        self._routes.append(Route(method, re.compile(pattern), model, answer))

    def mount(self, prefix: str, app: ASGIFramework) -> None:
        """Hand HTTP requests for ``prefix`` and the paths under it to ``app`` once they
        are admitted (the app sees the whole path)."""
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"a mount prefix starts with / and does not end with one: {prefix}")
        self._mounts.append((prefix, app))

    def socket(self, pattern: str, handler: SocketHandler) -> None:
        """Answer WebSocket requests on paths matching ``pattern`` (a regular expression,
        matched whole) with ``handler``, which checks its own credentials."""
        self._sockets.append((re.compile(pattern), handler))

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """Answer a request of the front's, or hand it to Quart."""
        state: AppState | None = self._app.extensions.get(STATE_KEY)
        if scope["type"] == "websocket" and state is not None:
            for pattern, handler in self._sockets:
                match = pattern.fullmatch(scope["path"])
                if match is not None:
                    with _Turn(scope) as turn:  # type: ignore[arg-type]
                        status = await handler(state, match, scope, receive, send)
                        record_request(state.metrics, "GET", scope["path"], status, turn.started)
                    return
        if scope["type"] == "http" and state is not None:
            path = scope["path"]
            for route in self._routes:
                if route.method == scope["method"]:
                    match = route.pattern.fullmatch(path)
                    if match is not None:
                        await self._serve(state, route, match, scope, receive, send)
                        return
            for prefix, app in self._mounts:
                if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/"):
                    await self._serve_mounted(state, app, scope, receive, send)
                    return
        await self._inner(scope, receive, send)

    async def _serve(
        self,
        state: AppState,
        route: Route[Any],
        match: re.Match[str],
        scope: HTTPScope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
    ) -> None:
        with _Turn(scope) as turn:
            try:
                body, route_headers = await self._answer(
                    state, route, match, turn.headers, receive, turn.answer_headers
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
            await turn.answer(send, status, body, route_headers)
            record_request(state.metrics, scope["method"], scope["path"], status, turn.started)

    async def _answer(
        self,
        state: AppState,
        route: Route[Any],
        match: re.Match[str],
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
            answer_headers["Connection"] = "close"  # the rest of the body is left unread
        except BaseException:
            answer_headers["Connection"] = "close"
            await _settle(admission)
            raise
        principal = admitted_principal(await admission, answer_headers)
        if isinstance(raw, ApiError):
            raise raw
        data = parse_body(route.model, headers.get("content-type", ""), raw)
        return await route.answer(state, match, principal, data)

    async def _read_body(self, headers: dict[str, str], receive: ASGIReceiveCallable) -> bytes:
        """The whole body, within Quart's size limit and body timeout."""
        limit = self._body_limit(headers)
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

    def _body_limit(self, headers: dict[str, str]) -> int:
        """Quart's body size limit; 413 at once for a body declared larger."""
        limit: int = self._app.config["MAX_CONTENT_LENGTH"]
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge()
        return limit

    async def _serve_mounted(
        self,
        state: AppState,
        app: ASGIFramework,
        scope: HTTPScope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
    ) -> None:
        caller_token = None
        bounded: BoundedBody | None = None
        with _Turn(scope) as turn:
            exchange = Exchange(send, turn.request_id, turn.answer_headers)
            try:
                try:
                    token = token_of(turn.headers.get("authorization", ""))
                    admitted = await state.admission.admit(token)
                    caller_token = _caller.set(admitted_principal(admitted, turn.answer_headers))
                    limit = self._body_limit(turn.headers)
                    bounded = BoundedBody(receive, limit, self._app.config["BODY_TIMEOUT"])
                    await app(scope, bounded, exchange.send)
                except Exception as err:  # mapped as a route's error, unless the answer began
                    error = api_error_of(err)
                    if exchange.status is None:
                        body = error_body(error, scope["path"])
                        whole = bounded is not None and bounded.whole
                        if closes_connection(declares_body(turn.headers), whole):
                            turn.answer_headers["Connection"] = "close"
                        await turn.answer(send, error.status, body, error.headers)
                        exchange.status = error.status
                if exchange.status is not None:  # a client gone before any answer: no log
                    record_request(
                        state.metrics, scope["method"], scope["path"], exchange.status, turn.started
                    )
            finally:
                if caller_token is not None:
                    _caller.reset(caller_token)


class _Turn:
    """One request's prologue and epilogue, shared by routes and mounts: its clock, first
    headers, request id (in the log context while it runs) and the answer's extra headers."""

    __slots__ = ("_token", "answer_headers", "headers", "request_id", "started")

    def __init__(self, scope: HTTPScope) -> None:
        self.started = time.perf_counter()
        self.headers = first_headers(scope["headers"])
        self.request_id = request_id_for(self.headers.get("x-request-id", ""))
        self.answer_headers: dict[str, str] = {}

    def __enter__(self) -> _Turn:
        self._token = request_id_var.set(self.request_id)
        return self

    def __exit__(self, *exc: object) -> None:
        request_id_var.reset(self._token)

    async def answer(
        self, send: ASGISendCallable, status: int, body: Any, route_headers: dict[str, str]
    ) -> None:
        """Send a whole JSON answer."""
        start, end = answer_messages(
            status, body, route_headers, self.answer_headers, self.request_id
        )
        await send(start)
        await send(end)


def answer_messages(
    status: int,
    body: Any,
    route_headers: dict[str, str],
    answer_headers: dict[str, str],
    request_id: str,
) -> tuple[Any, Any]:
    """A JSON answer as its two ASGI messages: the route's headers, the request id, then
    the answer's own (rate headers) where the route set none of that name."""
    raw = json_bytes(body)
    out = {"Content-Type": "application/json", **route_headers, "X-Request-Id": request_id}
    for name, value in answer_headers.items():
        out.setdefault(name, value)
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-length", str(len(raw)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in out.items()),
        ],
    }
    return start, {"type": "http.response.body", "body": raw, "more_body": False}


def parse_body(model: type[M], content_type: str, raw: bytes) -> M:
    """The body as ``model``, failing as quart-schema's ``validate_request`` does: only a
    JSON media type is read (anything else validates as no body at all)."""
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
        return model.model_validate(data)
    except ValidationError:
        raise
    except (TypeError, ValueError) as err:
        raise ValidationFailed("Request body must be a JSON object.") from err


async def _settle(task: asyncio.Future[Admitted | None]) -> None:
    """Let an admission finish on its own when the request ends early (it is one Redis call)."""
    try:
        await task
    except Exception:  # the request is already failing; admission's own error adds nothing
        return


def first_headers(raw: Any) -> dict[str, str]:
    """Header names (lower case) to their first value, as Quart's ``headers.get`` reads them."""
    found: dict[str, str] = {}
    for name, value in raw:
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found
