"""A local HTTPS webhook receiver: records every delivery and answers as it is told.

It serves HTTP/1.1 over TLS with the run's throwaway certificates (made at run time by
:mod:`tests.support.tls`) and closes each connection after one answer. ``answers`` gives
the statuses of the first requests in order (``None``: hold the request unanswered until
the receiver closes); every later request gets 200.

Every delivery records when it arrived (``Received.received_at``) and, once a 2xx answer
went out for it, when (``answered_at`` by ``webhook-id``): wall-clock seconds
(``time.time()``), the clock the service's timestamps use on the same machine.

NETWORK RULE: it binds a loopback address only (127.0.0.1 by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from tests.support.tls import TLSMaterial

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    """One delivery as it arrived: lower-cased header names, the raw body, our answer."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None
    received_at: float = 0.0
    """``time.time()`` when the request's last byte was read."""

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header."""
        return self.headers.get("webhook-id", "")


class WebhookReceiver:
    """HTTPS server on a loopback address that records deliveries.

    ``connections`` counts accepted connections (before TLS), so a connection that should
    never have been made is seen even if it would have failed. Use ``async with``.
    """

    def __init__(
        self,
        tls: TLSMaterial,
        *,
        bind_host: str = "127.0.0.1",
        answers: Sequence[int | None] = (),
    ) -> None:
        if not ipaddress.ip_address(bind_host).is_loopback:
            raise ValueError("the receiver binds loopback addresses only")
        self.bind_host = bind_host
        self.port = 0
        self.connections = 0
        self.received: list[Received] = []
        self.answered_at: dict[str, float] = {}
        """``webhook-id`` to ``time.time()`` just after its first 2xx answer was sent."""
        self._answers = list(answers)
        self._tls = tls.server_context(canary=bind_host == "127.0.0.2", alpn=("http/1.1",))
        self._server: asyncio.Server | None = None
        self._release = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, self.bind_host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop listening, release held requests and wait for every handler."""
        self._release.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def url(self, path: str = "/hook", host: str | None = None) -> str:
        """``https://{host}:{port}{path}``; the bound address unless a (mapped) name is given."""
        return f"https://{host or self.bind_host}:{self.port}{path}"

    def by_id(self, webhook_id: str) -> list[Received]:
        """The deliveries that carried ``webhook_id``."""
        return [r for r in self.received if r.webhook_id == webhook_id]

    def of_type(self, event: str) -> list[Received]:
        """The deliveries whose body's ``type`` is ``event``."""
        found = []
        for item in self.received:
            with contextlib.suppress(ValueError):
                if json.loads(item.body).get("type") == event:
                    found.append(item)
        return found

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(self._tls)
            path, headers, body = await _read_request(reader)
            received_at = time.time()
            answer = self._answers.pop(0) if self._answers else 200
            self.received.append(Received(path, headers, body, answer, received_at))
            if answer is None:
                await self._release.wait()
                return
            head = f"HTTP/1.1 {answer} Answer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(head.encode())
            await writer.drain()
            webhook_id = headers.get("webhook-id", "")
            if 200 <= answer < 300 and webhook_id not in self.answered_at:
                self.answered_at[webhook_id] = time.time()
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEAD_BYTES:
        raise ValueError("head too large")
    lines = head.decode("latin-1").split("\r\n")
    _method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, Any] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length > MAX_BODY_BYTES:
        raise ValueError("body too large")
    body = await reader.readexactly(length) if length else b""
    return path, headers, body
