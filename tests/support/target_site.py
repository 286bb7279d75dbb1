"""The target web site: a small Quart app behind Hypercorn (TLS, h2 + http/1.1) on 127.0.0.1.

Browsers reach it as ``https://app.test:PORT/`` (also ``other.test``, ``thirdparty.test``,
``*.app.test``) through a host map (``hosts.py``); it records every request it receives.
Start it with ``await site.start()`` (or ``async with``) and stop it with ``aclose()``.

NETWORK RULE: it binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from types import TracebackType
from typing import Any, Self

from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.support.hosts import APP_HOST, CANARY_HOST, TARGET_IP
from tests.support.loopback import listening_socket
from tests.support.request_records import RecordedRequest
from tests.support.target_app import READY_PATH, TargetApp
from tests.support.tls import TLSMaterial
from tests.support.waiting import WaitTimedOut, eventually

_HANDSHAKE_TIMEOUT_S = 10.0


async def _probe(host: str, port: int, context: ssl.SSLContext, server_name: str) -> int:
    """GET :data:`READY_PATH` over TLS (verifying the certificate); return the status."""
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=server_name
    )
    try:
        writer.write(
            f"GET {READY_PATH} HTTP/1.1\r\nHost: {server_name}:{port}\r\n"
            "Connection: close\r\n\r\n".encode("ascii")
        )
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


class TargetSite:
    """The target web site on ``bind_host`` (127.0.0.1), served over HTTPS by Hypercorn.

    ``requests`` lists every request received, oldest first (the readiness probe
    excepted); read it directly or through :meth:`requests_to`. ``port`` is set once
    started. URLs use names (``https://app.test:PORT/``) that only a host map resolves.
    """

    def __init__(self, tls: TLSMaterial, canary_port: int, *, bind_host: str = TARGET_IP) -> None:
        self.tls = tls
        self.canary_port = canary_port
        self.bind_host = bind_host
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self.handler_tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"TargetSite({self.bind_host}:{self.port}, requests={len(self.requests)})"

    def origin(self, host: str = APP_HOST) -> str:
        """``https://{host}:{port}``."""
        return f"https://{host}:{self.port}"

    def url(self, path: str = "/", host: str = APP_HOST) -> str:
        """The URL of ``path`` under ``host`` (``app.test`` by default)."""
        return self.origin(host) + path

    def canary_origin(self) -> str:
        """The canary as the target's pages link to it."""
        return f"https://{CANARY_HOST}:{self.canary_port}"

    def requests_to(
        self, path: str | None = None, hostname: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests, optionally only those for ``path`` and/or ``hostname``."""
        return [
            r
            for r in self.requests
            if (path is None or r.path == path) and (hostname is None or r.hostname == hostname)
        ]

    def clear_requests(self) -> None:
        """Forget every recorded request."""
        self.requests.clear()

    def _config(self, fd: int) -> Config:
        config = Config()
        config.bind = [f"fd://{fd}"]
        config.certfile = str(self.tls.cert_path)
        config.keyfile = str(self.tls.key_path)
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")
        config.graceful_timeout = 1.0
        config.keep_alive_timeout = 5.0
        config.ssl_handshake_timeout = _HANDSHAKE_TIMEOUT_S
        return config

    async def start(self) -> None:
        """Bind a free port, serve, and return once a real HTTPS request succeeded."""
        if self._task is not None:
            raise RuntimeError("already started")
        sock = listening_socket(self.bind_host)
        self.port = int(sock.getsockname()[1])
        # Hypercorn takes the listening socket over by descriptor (no port race).
        config = self._config(sock.detach())
        self._stop.clear()
        app = TargetApp(self).app
        self._task = asyncio.create_task(
            serve(app, config, shutdown_trigger=self._stop.wait),
            name=f"target-site-{self.port}",
        )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        assert self._task is not None
        task = self._task
        client = self.tls.client_context()
        client.set_alpn_protocols(["http/1.1"])

        async def ready() -> bool:
            if task.done():
                task.result()
                raise RuntimeError("target site stopped while starting")
            try:
                return await _probe(self.bind_host, self.port, client, APP_HOST) == 200
            except (OSError, ValueError, IndexError):
                return False

        try:
            await eventually(ready, 30, "the target site to answer", interval_s=0.05)
        except WaitTimedOut:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop serving (open connections get Hypercorn's 1 s grace) and wait."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        # Requests still in flight (``/slow``, open WebSockets) end now rather than
        # after Hypercorn's grace period, whose expiry cancels connection tasks noisily.
        handlers = list(self.handler_tasks)
        for handler in handlers:
            handler.cancel()
        if handlers:
            await asyncio.wait(handlers)
        await asyncio.wait([task], timeout=30)
        if not task.done():
            task.cancel()
            await asyncio.wait([task])
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error

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
