"""Small loopback TCP servers for guard tests: counting servers and an upstream proxy."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable

ALLOWED_IP = "127.0.0.1"
_LISTEN_BACKLOG = 128

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def listening_socket(host: str) -> socket.socket:
    """A non-blocking TCP socket listening on a free port of ``host`` (a loopback address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sock.listen(_LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class LoopbackServer:
    """TCP server on a loopback address that counts accepted connections.

    Counting happens at accept time, before any TLS handshake, so a connection the
    proxy should never have made is seen even if it would fail later.
    """

    def __init__(self, host: str, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = 0
        self.connections = 0
        self.heads: list[bytes] = []
        self._handler = handler
        self._tls = tls
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await self.settle()
        await self._server.wait_closed()

    async def settle(self) -> None:
        """Wait until every connection handler has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.get_running_loop().create_task(self._run(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._tls is not None:
                await writer.start_tls(self._tls)
            await self._handler(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()


class UpstreamConnectProxy(LoopbackServer):
    """Minimal CONNECT proxy on 127.0.0.1 that records what it was asked for."""

    def __init__(self) -> None:
        super().__init__(ALLOWED_IP, self._connect)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        authority = head.split(b" ")[1].decode()
        host, _, port = authority.rpartition(":")
        # Network rule: this helper only ever dials loopback.
        assert ipaddress.ip_address(host).is_loopback, authority
        remote_reader, remote_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n")

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(4096):
                dst.write(data)
                await dst.drain()
            dst.close()

        try:
            await asyncio.gather(pump(reader, remote_writer), pump(remote_reader, writer))
        finally:
            remote_writer.close()
