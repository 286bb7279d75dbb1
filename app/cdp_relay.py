"""The CDP relay on a session's owner: a client's WebSocket to its browser, screened.

Every client message is judged by :mod:`sessions.cdp_rules` before it reaches the browser:
forwarded unchanged, refused with a CDP error answer (the connection stays open), answered
as a success without reaching the browser (the download-behaviour calls clients make when
they connect), or - a new browser context - run by the relay itself, which denies downloads
in that context before the client hears of it. Browser messages go to the client unread,
except the answers to the relay's own calls (ids above :data:`OWN_IDS_FROM`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Callable
from typing import Any

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from app.wsio import close_client, first_of, loose
from sessions.cdp_rules import CLIENT_ID_LIMIT, error_reply, screen, success_reply

OWN_IDS_FROM = CLIENT_ID_LIMIT
"""The relay's own calls use ids from here: a client's larger ids are refused, so a client
can never be answered in the relay's place (CDP ids are int32)."""
_OWN_ID = re.compile(r'^\{"id":(2\d{9})[,}]')
OPEN_TIMEOUT_S = 10.0


class _OwnCalls:
    """Calls the relay makes on the client's connection, and their pending answers."""

    def __init__(self, browser: ClientConnection) -> None:
        self._browser = browser
        self._ids = itertools.count(OWN_IDS_FROM)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a call of the relay's own; its whole answer (``result`` or ``error``)."""
        call_id = next(self._ids)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = answer
        try:
            await self._browser.send(
                json.dumps({"id": call_id, "method": method, "params": params})
            )
            return await answer
        finally:
            self.pending.pop(call_id, None)

    def take(self, data: str) -> bool:
        """True when ``data`` answers one of the relay's calls (then it is settled)."""
        match = _OWN_ID.match(data)
        if match is None:
            return False
        answer = self.pending.get(int(match[1]))
        if answer is not None and not answer.done():
            answer.set_result(json.loads(data))
        return True


async def relay_browser(
    url: str, receive: ASGIReceiveCallable, send: ASGISendCallable, on_activity: Callable[[], None]
) -> bool:
    """Accept the client and relay it to the browser at ``url`` until either side closes;
    False, with the client not accepted, when the browser does not answer."""
    try:
        browser = await connect(
            url, max_size=None, compression=None, ping_interval=None, open_timeout=OPEN_TIMEOUT_S
        )
    except (OSError, TimeoutError, WebSocketException):
        return False
    async with browser:
        await loose(send)({"type": "websocket.accept"})
        relay = _Relay(browser, send, on_activity)
        try:
            await first_of(relay.up(receive), relay.down())
        finally:
            for task in relay.tasks:
                task.cancel()
        await close_client(send)
    return True


class _Relay:
    """One client's connection to its browser."""

    def __init__(
        self, browser: ClientConnection, send: ASGISendCallable, on_activity: Callable[[], None]
    ) -> None:
        self._browser = browser
        self._send = send
        self._on_activity = on_activity
        self._own = _OwnCalls(browser)
        self.tasks: set[asyncio.Future[None]] = set()

    async def to_client(self, text: str) -> None:
        """One message to the client."""
        await loose(self._send)({"type": "websocket.send", "text": text})

    async def up(self, receive: ASGIReceiveCallable) -> None:
        """Client to browser, every message screened."""
        while True:
            message: Any = await receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = (message.get("bytes") or b"").decode("utf-8", "replace")
            self._on_activity()
            await self._pass(raw)

    async def _pass(self, raw: str) -> None:
        screened = screen(raw)
        kind = screened.ruling.kind
        if kind == "forward":  # the message as it was checked, whatever the client's JSON
            await self._browser.send(screened.forward_text())
        elif kind == "pretend":
            await self.to_client(success_reply(screened.message or {}))
        elif kind == "create_context" and screened.message is not None:
            task = asyncio.ensure_future(_create_context(self._own, screened.message, self))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            await self.to_client(error_reply(screened.message, screened.ruling.reason))

    async def down(self) -> None:
        """Browser to client, unread but for the answers to the relay's own calls."""
        async for data in self._browser:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            if self._own.pending and self._own.take(text):
                continue
            await self.to_client(text)


async def _create_context(own: _OwnCalls, message: dict[str, Any], relay: _Relay) -> None:
    """``Target.createBrowserContext`` run by the relay: downloads are denied in the new
    context before its id reaches the client."""
    answer = await own.call("Target.createBrowserContext", dict(message.get("params") or {}))
    context_id = (answer.get("result") or {}).get("browserContextId")
    if context_id:
        denied = await own.call(
            "Browser.setDownloadBehavior", {"behavior": "deny", "browserContextId": context_id}
        )
        if "error" in denied:
            await own.call("Target.disposeBrowserContext", {"browserContextId": context_id})
            await relay.to_client(
                error_reply(message, "Downloads could not be denied in this context.")
            )
            return
        await relay.to_client(success_reply(message, answer["result"]))
        return
    error = answer.get("error") or {}
    await relay.to_client(error_reply(message, str(error.get("message") or "Context not created.")))
