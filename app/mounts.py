"""What an ASGI app mounted on the front (:meth:`app.front.Front.mount`) is handed.

A mounted app reads and answers its request itself, possibly streaming. The front still
owns the request's edges: :class:`BoundedBody` is the receive it reads with, keeping the
body size limit and the body timeout as the front does for its own routes, and
:class:`Exchange` is the send it answers through, which stamps the request id and the rate
headers on the answer and tells the front its status for the access log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from hypercorn.typing import ASGIReceiveCallable, ASGIReceiveEvent, ASGISendCallable, ASGISendEvent
from werkzeug.exceptions import RequestTimeout

from app.errors import PayloadTooLarge


class BoundedBody:
    """A receive callable that fails past the size limit (413) or the body timeout (mapped
    as Quart maps its own), counted from when the app may start reading."""

    def __init__(self, receive: ASGIReceiveCallable, limit: int, timeout_s: float) -> None:
        self._receive = receive
        self._limit = limit
        self._deadline = asyncio.get_running_loop().time() + timeout_s
        self._size = 0
        self._whole = False

    @property
    def whole(self) -> bool:
        """Whether the whole body has been read."""
        return self._whole

    async def __call__(self) -> ASGIReceiveEvent:
        """The next message; the body's count and deadline kept."""
        if self._whole:  # after the body only a disconnect is left, whenever it comes
            return await self._receive()
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError as err:
            raise RequestTimeout() from err
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._limit:
                raise PayloadTooLarge()
            self._whole = not message.get("more_body", False)
        return message


class Exchange:
    """The send callable of a mounted app: its answer's head gets the request id and, where
    the app set none of the name, the rate headers; ``status`` is the answer's."""

    def __init__(
        self, send: ASGISendCallable, request_id: str, answer_headers: dict[str, str]
    ) -> None:
        self._send = send
        self._request_id = request_id.encode()
        self._answer_headers = answer_headers
        self.status: int | None = None

    async def send(self, message: ASGISendEvent) -> None:
        """Pass ``message`` on, the answer's head stamped."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message = {**message, "headers": self._stamped(message["headers"])}
        await self._send(message)

    def _stamped(self, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        own = [(n, v) for n, v in headers if n.lower() != b"x-request-id"]
        names = {n.lower() for n, _ in own}
        extra = [
            (name.lower().encode(), value.encode())
            for name, value in self._answer_headers.items()
            if name.lower().encode() not in names
        ]
        return [*own, (b"x-request-id", self._request_id), *extra]
