"""WebSocket endpoints: the CDP relay and the live view's stream (SPEC section 12).

Both are answered on the instance the client reached. When the session lives elsewhere,
that instance opens the same endpoint on the owner (at the internal URL the owner announces
in its heartbeat), with the client's own credential, and copies frames both ways without
reading them: the owner authenticates again and applies the rules. A hop is marked, so a
request never travels twice. A refused upgrade is answered as HTTP with the error in the
documented shape (``websocket.http.response``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, WebsocketScope
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from app.cdp_relay import relay_browser
from app.error_handlers import api_error_of
from app.errors import Conflict, Unauthenticated
from app.front import SocketHandler, first_headers
from app.livepage import ended_page
from app.middleware import admitted_principal, token_of
from app.scoped import CredentialExpired, CredentialRefused, Grant
from app.state import AppState
from app.wsio import copy_both_ways, deny, deny_raw, loose
from sessions.errors import OwnerUnavailable, SessionClosed, SessionNotFound
from sessions.registry import LIVE_GENERATION, SessionRecord, Status

log = logging.getLogger(__name__)

HOP_HEADER = "x-sessionshot-hop"
"""Set on a request relayed to the owner: the owner serves it or refuses, never relays."""
OPEN_TIMEOUT_S = 10.0
"""Longest wait for the owner or the browser to accept a relayed connection."""


class ConnectNotEnabled(Conflict):
    """The session was not created with ``connect: true``."""

    code = "CONNECT_NOT_ENABLED"
    default_message = "This session has no CDP endpoint: create it with connect: true."


class TokenRefused(Unauthenticated):
    """A ``token`` that is not a valid ``cdp`` token of this session."""

    default_message = "Invalid, expired or foreign token for this session's CDP endpoint."


async def serve_cdp(
    state: AppState,
    match: re.Match[str],
    scope: WebsocketScope,
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
) -> int:
    """``GET /v1/sessions/{id}/cdp``: the session's browser, relayed."""
    session_id = match["sid"]
    headers = first_headers(scope["headers"])
    service = state.sessions
    assert service is not None
    try:
        record = await _cdp_record(state, session_id, headers, _query(scope, "token"))
        live = service.engine.held(session_id)
        if live is None or live.made.cdp_url is None:
            target = await _owner_url(state, record, headers)
    except Exception as err:  # every refusal in the documented shape
        return await deny(send, scope, api_error_of(err))
    if live is not None and live.made.cdp_url is not None:
        on_activity = partial(service.engine.touch, session_id)
        if not await relay_browser(live.made.cdp_url, receive, send, on_activity):
            # Its browser is gone: the session is closing as browser_crashed.
            return await deny(send, scope, api_error_of(OwnerUnavailable()))
        return 101
    return await relay_hop(
        target + _path_and_query(scope), _hop_headers(headers), receive, send, scope
    )


async def _cdp_record(
    state: AppState, session_id: str, headers: dict[str, str], token: str | None
) -> SessionRecord:
    """The session a CDP client may open: by API key (its own) or by a ``cdp`` token."""
    assert state.sessions is not None
    if token is None:
        admitted = await state.admission.admit(token_of(headers.get("authorization", "")))
        caller = admitted_principal(admitted, {})
        record = await state.sessions.get(caller.key_id, session_id)
    else:
        try:
            grant = state.tokens.read(token)
        except (CredentialRefused, CredentialExpired) as err:
            raise TokenRefused() from err
        if grant.session_id != session_id or grant.scope != "cdp":
            raise TokenRefused()
        found = await state.engine.registry.get(session_id)
        if found is None:
            raise SessionNotFound()
        record = found
    if record.status is Status.CLOSED:
        raise SessionClosed(record=record if token is None else None)
    if not json.loads(record.raw.get("options", "{}")).get("connect"):
        raise ConnectNotEnabled()
    return record


async def _owner_url(state: AppState, record: SessionRecord, headers: dict[str, str]) -> str:
    """The owner's internal URL as ``ws://…`` (503 when this is the hop, or it is gone)."""
    assert state.sessions is not None
    if HOP_HEADER in headers or record.owner == state.sessions.instance_id:
        raise OwnerUnavailable()
    found = await state.sessions.instances.internal_url(record.owner)
    if not found:
        raise OwnerUnavailable()
    state.engine.observer.request_routed()
    return found.rstrip("/").replace("http", "ws", 1)


async def serve_live(
    state: AppState,
    match: re.Match[str],
    scope: WebsocketScope,
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
) -> int:
    """``/live/{link}/socket``: the frames of a live view, and a person's input."""
    headers = first_headers(scope["headers"])
    assert state.sessions is not None
    service = state.sessions
    try:
        grant, record = await live_grant(state, match["link"])
        live = service.engine.held(grant.session_id)
        if live is None:
            target = await _owner_url(state, record, headers)
    except Exception as err:
        return await deny(send, scope, api_error_of(err))
    if live is None:
        hop = target + _path_and_query(scope)
        return await relay_hop(hop, _hop_headers(headers), receive, send, scope)
    await loose(send)({"type": "websocket.accept"})

    async def send_text(text: str) -> None:
        await loose(send)({"type": "websocket.send", "text": text})

    reason = await service.screencasts.serve(
        grant.session_id,
        live.page,
        interact=grant.scope == "live-interact",
        expires_ms=grant.expires_ms,
        send=send_text,
        receive=_texts(receive),
        on_input=lambda: service.engine.touch(grant.session_id),
    )
    if reason != "left":
        try:
            await send_text(json.dumps({"type": "end", "reason": reason}))
            await loose(send)({"type": "websocket.close", "code": 1000})
        except (ConnectionError, OSError):
            pass
    return 101


async def live_grant(state: AppState, link: str) -> tuple[Grant, SessionRecord]:
    """A live link's grant and session: 403 when it is not ours, 410 once it has expired,
    been revoked or its session has closed."""
    grant = state.live_links.read(link)
    if grant.scope == "cdp":
        raise CredentialRefused()
    record = await state.engine.registry.get(grant.session_id)
    if record is None:
        raise CredentialRefused()
    if record.status is Status.CLOSED:
        raise CredentialExpired("The session has closed.")
    if int(record.raw.get(LIVE_GENERATION) or 0) != grant.generation:
        raise CredentialExpired("This link has been revoked.")
    return grant, record


def live_refusal(err: Exception) -> tuple[int, bytes]:
    """The page a browser gets for a refused live link (or token)."""
    if isinstance(err, CredentialExpired):
        return 410, ended_page(410, "This live view has ended", err.message)
    if isinstance(err, CredentialRefused):
        return 403, ended_page(403, "This link is not valid", err.message)
    error = api_error_of(err)
    return error.status, ended_page(error.status, "Live view unavailable", error.message)


def _texts(receive: ASGIReceiveCallable) -> Callable[[], Awaitable[str | None]]:
    async def next_text() -> str | None:
        while True:
            message: Any = await receive()
            if message["type"] == "websocket.disconnect":
                return None
            if message.get("text") is not None:
                return str(message["text"])

    return next_text


async def relay_hop(
    url: str,
    headers: dict[str, str],
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
    scope: WebsocketScope,
) -> int:
    """Relay a client's WebSocket to the owner's same endpoint, frames unread; the status
    answered (the owner's refusal passes through as it is)."""
    try:
        owner = await connect(
            url,
            additional_headers=headers,
            max_size=None,
            compression=None,
            ping_interval=None,
            open_timeout=OPEN_TIMEOUT_S,
        )
    except InvalidStatus as err:  # the owner refused: its answer is ours
        response = err.response
        content_type = response.headers.get("content-type", "")
        return await deny_raw(send, response.status_code, content_type, bytes(response.body or b""))
    except (OSError, TimeoutError, WebSocketException):
        return await deny(send, scope, api_error_of(OwnerUnavailable()))
    async with owner:
        await loose(send)({"type": "websocket.accept"})
        await copy_both_ways(owner, receive, send)
    return 101


def _query(scope: WebsocketScope, name: str) -> str | None:
    values = parse_qs(scope["query_string"].decode("latin-1")).get(name)
    return values[0] if values else None


def _path_and_query(scope: WebsocketScope) -> str:
    query = scope["query_string"].decode("latin-1")
    return scope["path"] + (f"?{query}" if query else "")


def _hop_headers(headers: dict[str, str]) -> dict[str, str]:
    out = {HOP_HEADER: "1"}
    for name in ("authorization", "x-request-id"):
        if name in headers:
            out[name] = headers[name]
    return out


SOCKETS: list[tuple[str, SocketHandler]] = [
    (r"/v1/sessions/(?P<sid>[^/]+)/cdp", serve_cdp),
    (r"/live/(?P<link>[^/]+)/socket", serve_live),
]
"""WebSocket endpoints on the front: path pattern (matched whole) and handler."""
