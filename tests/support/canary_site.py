"""The canary: a server on 127.0.0.2 that allowed traffic must never reach.

A hand-rolled TLS/HTTP server that counts every TCP connection at accept time (before TLS,
so even a failed handshake is seen) and every HTTP request. A test that must prove "nothing
reached the canary" takes a :meth:`CanarySite.watch` first and reads it afterwards.

NETWORK RULE: it binds 127.0.0.2 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from tests.support.hosts import CANARY_HOST, CANARY_IP
from tests.support.loopback import listening_socket
from tests.support.request_records import CanaryRequest, parse_request_head
from tests.support.tls import TLSMaterial

_HANDSHAKE_TIMEOUT_S = 10.0
_SHUTDOWN_TIMEOUT_S = 2.0
_HEAD_TIMEOUT_S = 10.0

log = logging.getLogger(__name__)


_CANARY_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 6\r\n"
    b"X-Content-Type-Options: nosniff\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"Cache-Control: no-store\r\n"
    b"Connection: close\r\n"
    b"\r\n"
    b"canary"
)


@dataclass(repr=False)
class CanaryWatch:
    """What reached the canary since this watch was taken (see :meth:`CanarySite.watch`)."""

    canary: CanarySite
    connections_before: int
    requests_before: int

    @property
    def new_connections(self) -> int:
        """TCP connections accepted since the watch started."""
        return self.canary.connections - self.connections_before

    @property
    def new_requests(self) -> list[CanaryRequest]:
        """HTTP requests parsed since the watch started."""
        return self.canary.requests[self.requests_before :]

    @property
    def touched(self) -> bool:
        """True if anything at all reached the canary since the watch started."""
        return self.new_connections > 0 or bool(self.new_requests)

    def __repr__(self) -> str:
        return f"CanaryWatch({self.describe()})"

    def describe(self) -> str:
        """A one-line summary for assertion messages."""
        targets = [f"{r.method} {r.hostname}{r.target}" for r in self.new_requests]
        return f"{self.new_connections} new connection(s), requests: {targets}"


@dataclass(eq=False, repr=False)
class CanarySite:
    """A server on ``bind_host`` (127.0.0.2) that must never be reached by allowed traffic.

    ``connections`` counts TCP connections at accept time, before anything else;
    ``tls_handshakes`` those that completed TLS; ``requests`` every HTTP head parsed
    (TLS or cleartext - the first byte decides). Every request gets ``200 canary``.
    """

    tls: TLSMaterial
    bind_host: str = CANARY_IP
    port: int = 0
    connections: int = 0
    tls_handshakes: int = 0
    requests: list[CanaryRequest] = field(default_factory=list)
    _sock: socket.socket | None = field(default=None, repr=False)
    _accept_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _context: ssl.SSLContext | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"CanarySite({self.bind_host}:{self.port}, connections={self.connections}, "
            f"requests={len(self.requests)})"
        )

    def origin(self, host: str = CANARY_HOST) -> str:
        """``https://canary.test:PORT``."""
        return f"https://{host}:{self.port}"

    def url(self, path: str = "/", host: str = CANARY_HOST) -> str:
        """The canary URL of ``path``."""
        return self.origin(host) + path

    def watch(self) -> CanaryWatch:
        """Snapshot the counters now; the watch reports what arrives afterwards."""
        return CanaryWatch(self, self.connections, len(self.requests))

    async def start(self) -> None:
        """Bind a free port on ``bind_host`` and start accepting."""
        if self._accept_task is not None:
            raise RuntimeError("already started")
        self._context = self.tls.server_context(canary=True, alpn=("http/1.1",))
        self._sock = listening_socket(self.bind_host)
        self.port = int(self._sock.getsockname()[1])
        self._accept_task = asyncio.create_task(
            self._accept_loop(self._sock), name=f"canary-{self.port}"
        )

    async def aclose(self) -> None:
        """Stop accepting, drop open connections and wait for their handlers."""
        task, self._accept_task = self._accept_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for handler in list(self._tasks):
            handler.cancel()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError:
                log.exception("canary accept failed")
                await asyncio.sleep(0.05)
                continue
            self.connections += 1
            handler = loop.create_task(self._handle(conn))
            self._tasks.add(handler)
            handler.add_done_callback(self._tasks.discard)

    async def _handle(self, conn: socket.socket) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            first = await _peek(conn, _HEAD_TIMEOUT_S)
            if not first:
                return
            use_tls = first == b"\x16"  # a TLS record of type handshake
            reader, writer = await self._streams(conn, use_tls)
            if use_tls:
                self.tls_handshakes += 1
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT_S)
            self.requests.append(parse_request_head(head, use_tls))
            writer.write(_CANARY_RESPONSE)
            await writer.drain()
        except (OSError, EOFError, TimeoutError, asyncio.LimitOverrunError, ValueError):
            pass  # ssl.SSLError is an OSError; IncompleteReadError an EOFError
        finally:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                _abort(conn, writer)
            else:
                await _close(conn, writer)

    async def _streams(
        self, conn: socket.socket, use_tls: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 * 1024)
        protocol = asyncio.StreamReaderProtocol(reader)
        if use_tls:
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol,
                conn,
                ssl=self._context,
                ssl_handshake_timeout=_HANDSHAKE_TIMEOUT_S,
                ssl_shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
            )
        else:
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, conn)
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def _peek(conn: socket.socket, timeout_s: float) -> bytes:
    """The first byte ``conn`` will deliver, without consuming it (b"" on EOF/timeout)."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(readable, timeout_s)
    except TimeoutError:
        return b""
    finally:
        loop.remove_reader(fd)
    try:
        return conn.recv(1, socket.MSG_PEEK)
    except OSError:
        return b""


def _abort(conn: socket.socket, writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        conn.close()
    else:
        writer.transport.abort()


async def _close(conn: socket.socket, writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        conn.close()
        return
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), _SHUTDOWN_TIMEOUT_S + 1)
