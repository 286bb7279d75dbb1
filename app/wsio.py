"""WebSocket plumbing shared by the relay endpoints: copying, ending, refusing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, WebsocketScope
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.errors import ApiError, error_body
from app.front import answer_messages, first_headers
from app.middleware import request_id_for

log = logging.getLogger(__name__)

Out = Callable[[dict[str, Any]], Awaitable[None]]


def loose(send: ASGISendCallable) -> Out:
    """``send`` taking plain event dicts (Hypercorn's event types are a union of TypedDicts
    that mypy cannot choose from for a dict built here)."""
    return cast(Out, send)


async def copy_both_ways(
    peer: ClientConnection, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Copy frames between the ASGI client and ``peer`` until either side closes."""

    async def up() -> None:
        while True:
            message: Any = await receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            await peer.send(data if data is not None else message.get("bytes") or b"")

    async def down() -> None:
        async for data in peer:
            key = "text" if isinstance(data, str) else "bytes"
            await loose(send)({"type": "websocket.send", key: data})

    await first_of(up(), down())
    await close_client(send)


async def first_of(*steps: Awaitable[None]) -> None:
    """Run ``steps`` until the first ends; cancel the others. A closed connection on
    either side is an end, not a failure."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception) and not isinstance(
                result, (ConnectionClosed, ConnectionError, OSError)
            ):
                log.error("relay failed", extra={"event": "relay_failed", "error": repr(result)})


async def close_client(send: ASGISendCallable, code: int = 1000) -> None:
    """Close the client's side (quietly when it has gone already)."""
    try:
        await loose(send)({"type": "websocket.close", "code": code})
    except (ConnectionError, OSError, RuntimeError):
        pass


async def deny(send: ASGISendCallable, scope: WebsocketScope, err: ApiError) -> int:
    """Refuse an upgrade with the error as an HTTP answer in the documented shape."""
    request_id = request_id_for(first_headers(scope["headers"]).get("x-request-id", ""))
    start, end = answer_messages(
        err.status, error_body(err, scope["path"]), err.headers, {}, request_id
    )
    start["type"] = "websocket.http.response.start"
    end["type"] = "websocket.http.response.body"
    await send(start)
    await send(end)
    return err.status


async def deny_raw(send: ASGISendCallable, status: int, content_type: str, body: bytes) -> int:
    """Refuse an upgrade with an answer as it came (the owner's refusal, passed on)."""
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode("latin-1")))
    start = {"type": "websocket.http.response.start", "status": status, "headers": headers}
    await loose(send)(start)
    await loose(send)({"type": "websocket.http.response.body", "body": body})
    return status
