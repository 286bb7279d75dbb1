"""Local HTTP proxy that every browser context's traffic goes through.

The proxy resolves each target itself, checks every resolved address
(:mod:`sessions.egress.resolver`) and connects to a checked IP, never to the name,
so a DNS answer cannot change between the check and the connect (no rebinding).

Sessions are told apart by the port they connect to, not by credentials: every
session gets its own *endpoint*, a listener on ``127.0.0.1`` with a free port
(:meth:`EgressProxy.open_endpoint`), and everything accepted on that port is
attributed to the endpoint's *tag* (the session id). All endpoints share one
policy and one accounting table. The route is chosen per endpoint too: an
endpoint opened with ``upstream=True`` chains its checked connections through
``policy.upstream_proxy`` (``CONNECT <pinned-ip>:<port>``); if the policy has no
upstream, its connections are refused (``no_upstream``) rather than sent direct.

Why not proxy credentials: Playwright answers a proxy's ``407`` challenge through
CDP ``Fetch.authRequired``, so a context with proxy credentials gets
``Fetch.enable`` for every request and ``Network.setCacheDisabled(true)`` (every
request then carries ``Pragma: no-cache`` and misses the HTTP cache). Without
credentials there is no interception and the cache works. A ``Proxy-Authorization``
header, should one arrive, is ignored and never forwarded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from sessions.egress.addresses import IPAddress, canonical_host
from sessions.egress.errors import EgressBlocked
from sessions.egress.http_head import (
    HEAD_TIMEOUT_S,
    MAX_HEAD_BYTES,
    ProxyRequest,
    Target,
    origin_form_head,
    parse_target,
    read_request,
    respond,
)
from sessions.egress.policy import EgressPolicy
from sessions.egress.refusals import RefusalLog
from sessions.egress.resolver import checked_addresses
from sessions.egress.upstream import Upstream, UpstreamError, open_via_upstream, pump

_log = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"
CONNECT_TIMEOUT_S = 10.0
_IN, _OUT = 0, 1
_REFUSAL_STATUS = {"bad_host": 400, "bad_request": 400, "resolve_failed": 502}


@dataclass(eq=False)
class _Endpoint:
    """One session's listener, its open connections and its counters.

    The counters live here, so :meth:`EgressProxy.retag` moves them (and the
    connections still in flight) by re-keying this object.
    """

    tag: str
    upstream: bool
    held: bool = False
    server: asyncio.Server | None = None
    closed: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    traffic: list[int] = field(default_factory=lambda: [0, 0])  # [bytes_in, bytes_out]
    refused: int = 0
    last_refusal: tuple[str, str] | None = None
    log: RefusalLog = field(default_factory=RefusalLog)

    def close(self) -> list[asyncio.Task[None]]:
        """Stop accepting and cancel every connection; returns the tasks to await."""
        self.closed = True
        if self.server is not None:
            self.server.close()
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        return tasks

    async def wait_closed(self, tasks: list[asyncio.Task[None]]) -> None:
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in tasks if t is not current), return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()


class EgressProxy:
    """Checked HTTP CONNECT / absolute-form proxy with one loopback port per session.

    Use as ``async with EgressProxy(policy) as proxy:``; per session call
    ``url = await proxy.open_endpoint(session_id)`` and hand ``url`` to
    :func:`~sessions.egress.browser_args.context_proxy_settings`. Per tag it counts
    bytes (``stats``) and policy refusals (``refused``, ``last_refusal``), and keeps
    every refused target in a :class:`~sessions.egress.refusals.RefusalLog`;
    ``close_endpoint(tag)`` stops the listener, cuts the tag's open tunnels and
    forgets its counters. There is no default listener: nothing is bound until
    the first endpoint is opened.
    """

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._upstream = Upstream.parse(policy.upstream_proxy) if policy.upstream_proxy else None
        self._started = False
        self._closed = False
        self._endpoints: dict[str, _Endpoint] = {}

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

    async def start(self) -> None:
        """Make the proxy ready to open endpoints (idempotent; binds nothing)."""
        if self._closed:
            raise RuntimeError("EgressProxy is closed")
        self._started = True

    async def open_endpoint(self, tag: str, upstream: bool = False, held: bool = False) -> str:
        """Listen on a free ``127.0.0.1`` port for ``tag``; returns ``http://127.0.0.1:PORT``.

        Connections accepted there count for ``tag`` and, with ``upstream=True``, are
        chained through ``policy.upstream_proxy`` (refused with ``no_upstream`` when
        the policy has none). A ``held`` endpoint serves a browser that has no session
        yet: it answers every request 403 without resolving its name, counting or
        recording it, until :meth:`release`. ``ValueError`` if ``tag`` already has an
        endpoint.
        """
        self._check_running()
        if tag in self._endpoints:
            raise ValueError(f"egress endpoint for tag {tag!r} is already open")
        if upstream and self._upstream is None:
            _log.warning("egress endpoint %s wants an upstream but none is configured", tag)
        endpoint = _Endpoint(tag, upstream, held)
        # Reserved before the await, so a concurrent open of the same tag fails and a
        # retag, close_endpoint or aclose during the bind sees this endpoint.
        self._endpoints[tag] = endpoint

        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._on_client(endpoint, reader, writer)

        try:
            server = await asyncio.start_server(
                accept, host=LISTEN_HOST, port=0, limit=MAX_HEAD_BYTES
            )
        except BaseException:
            if self._endpoints.get(endpoint.tag) is endpoint:
                del self._endpoints[endpoint.tag]
            raise
        endpoint.server = server
        if endpoint.closed:  # closed while binding
            server.close()
            await server.wait_closed()
            raise RuntimeError(f"egress endpoint for tag {tag!r} was closed while opening")
        port = int(server.sockets[0].getsockname()[1])
        return f"http://{LISTEN_HOST}:{port}"

    async def close_endpoint(self, tag: str) -> None:
        """Stop ``tag``'s listener, cut its open connections, forget its counters.

        Idempotent: an unknown tag is a no-op.
        """
        endpoint = self._endpoints.pop(tag, None)
        if endpoint is None:
            return
        await endpoint.wait_closed(endpoint.close())

    def retag(self, old_tag: str, new_tag: str) -> None:
        """Rename a tag in place: its endpoint, open connections and counters move.

        ``KeyError`` if ``old_tag`` has no endpoint, ``ValueError`` if ``new_tag``
        already has one. The endpoint URL does not change.
        """
        if old_tag == new_tag:
            if old_tag not in self._endpoints:
                raise KeyError(old_tag)
            return
        if new_tag in self._endpoints:
            raise ValueError(f"egress endpoint for tag {new_tag!r} is already open")
        endpoint = self._endpoints.pop(old_tag)
        endpoint.tag = new_tag
        self._endpoints[new_tag] = endpoint

    def release(self, tag: str) -> None:
        """Let a held endpoint's requests through the policy from now on."""
        self._endpoints[tag].held = False

    def stats(self, tag: str) -> tuple[int, int]:
        """``(bytes_in, bytes_out)`` piped for ``tag``: from targets, to targets."""
        endpoint = self._endpoints.get(tag)
        if endpoint is None:
            return 0, 0
        bytes_in, bytes_out = endpoint.traffic
        return bytes_in, bytes_out

    def refused(self, tag: str) -> int:
        """Number of connections of ``tag`` refused by policy (403 answers)."""
        endpoint = self._endpoints.get(tag)
        return 0 if endpoint is None else endpoint.refused

    def last_refusal(self, tag: str) -> tuple[str, str] | None:
        """``(host, reason)`` of ``tag``'s most recent policy refusal, or ``None``.

        Only the refusals :meth:`refused` counts (403 answers: ``private_address``,
        ``bad_port``, ``no_upstream``); ``host`` is canonical (see
        :func:`~sessions.egress.addresses.canonical_host`), so compare it with the
        canonical host of the URL that failed.
        """
        endpoint = self._endpoints.get(tag)
        return None if endpoint is None else endpoint.last_refusal

    def refusal_log(self, tag: str) -> RefusalLog:
        """Every target refused for ``tag`` (an empty log when ``tag`` has no endpoint).

        Unlike :meth:`refused` it holds refusals of every reason that names a target
        (``resolve_failed`` and ``bad_host`` too), with the target's port.
        """
        endpoint = self._endpoints.get(tag)
        return RefusalLog() if endpoint is None else endpoint.log

    async def aclose(self) -> None:
        """Close every endpoint and tear down every open connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        endpoints = list(self._endpoints.values())
        self._endpoints.clear()
        pending = [(endpoint, endpoint.close()) for endpoint in endpoints]
        for endpoint, tasks in pending:
            await endpoint.wait_closed(tasks)

    def _check_running(self) -> None:
        if self._closed:
            raise RuntimeError("EgressProxy is closed")
        if not self._started:
            raise RuntimeError("EgressProxy is not started")

    def _spawn(self, endpoint: _Endpoint, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        endpoint.tasks.add(task)
        task.add_done_callback(endpoint.tasks.discard)
        return task

    def _on_client(
        self, endpoint: _Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # A plain callback (not a coroutine) so the task is ours to track and cancel.
        if endpoint.closed:
            writer.close()
            return
        task = self._spawn(endpoint, self._handle(endpoint, reader, writer))
        # Also closes the socket of a task cancelled before it ever ran (whose
        # ``finally`` never executes).
        task.add_done_callback(lambda _: writer.close())

    async def _handle(
        self, endpoint: _Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._serve(endpoint, reader, writer)
        except asyncio.CancelledError:
            raise
        except Exception:
            # One broken connection must never take the listener down.
            _log.debug("egress connection of %s failed", endpoint.tag, exc_info=True)
        finally:
            writer.close()

    async def _serve(
        self, endpoint: _Endpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT_S):
                request = await read_request(reader)
        except (ValueError, TimeoutError, asyncio.IncompleteReadError):
            await respond(writer, 400, "Bad Request")
            return
        if endpoint.held:
            # A browser with no session yet calls its vendor's services on its own
            # (sign-in, component updates): nothing it asks for is wanted, not even a
            # name lookup.
            _log.debug("egress held tag=%s", endpoint.tag)
            await respond(writer, 403, "Forbidden", ("X-Egress-Blocked: held",))
            return
        try:
            target = parse_target(request)
        except EgressBlocked as exc:
            await self._refuse(endpoint, writer, exc, None)
            return
        try:
            host = _canonical(target.host)
            upstream = self._route(endpoint, host)
            addresses = await checked_addresses(self._policy, host, target.port)
        except EgressBlocked as exc:
            await self._refuse(endpoint, writer, exc, target.port)
            return
        remote = await self._open_any(addresses, target.port, upstream)
        if remote is None:
            await respond(writer, 502, "Bad Gateway")
            return
        await self._relay(endpoint, request, target, (reader, writer), remote)

    def _route(self, endpoint: _Endpoint, host: str) -> Upstream | None:
        if not endpoint.upstream:
            return None
        if self._upstream is None:
            raise EgressBlocked(host, "no_upstream")
        return self._upstream

    async def _refuse(
        self,
        endpoint: _Endpoint,
        writer: asyncio.StreamWriter,
        exc: EgressBlocked,
        port: int | None,
    ) -> None:
        _log.info("egress refused tag=%s host=%s reason=%s", endpoint.tag, exc.host, exc.reason)
        if port is not None:
            # Before the answer goes out, so the log already holds it when the browser
            # reports the failure.
            endpoint.log.record(exc.host, port, exc.reason)
        status = _REFUSAL_STATUS.get(exc.reason, 403)
        if status == 403:
            endpoint.refused += 1
            endpoint.last_refusal = (exc.host, exc.reason)
        phrase = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
        # The marker lets the engine tell a guard refusal from an origin's own 403
        # on plain-http main documents, where Chromium shows the proxy's answer.
        await respond(writer, status, phrase, (f"X-Egress-Blocked: {exc.reason}",))

    async def _open_any(
        self, addresses: Sequence[IPAddress], port: int, upstream: Upstream | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for address in addresses:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    if upstream is None:
                        return await asyncio.open_connection(str(address), port)
                    return await open_via_upstream(upstream, address, port)
            except (OSError, TimeoutError, ValueError, UpstreamError) as exc:
                _log.debug("egress connect to %s:%s failed: %r", address, port, exc)
        return None

    async def _relay(
        self,
        endpoint: _Endpoint,
        request: ProxyRequest,
        target: Target,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        remote: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        client_reader, client_writer = client
        remote_reader, remote_writer = remote
        # The endpoint's own list: a retag moves it, so in-flight bytes follow the tag.
        counters = endpoint.traffic
        try:
            if target.tunnel:
                client_writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                head = origin_form_head(request, target)
                remote_writer.write(head)
                counters[_OUT] += len(head)
            upload = self._spawn(endpoint, pump(client_reader, remote_writer, counters, _OUT))
            try:
                # The target's EOF ends the exchange; the client's EOF only half-closes
                # so a response still in flight can come back.
                await pump(remote_reader, client_writer, counters, _IN)
            finally:
                upload.cancel()
                await asyncio.wait([upload])
        finally:
            remote_writer.close()


def _canonical(host: str) -> str:
    try:
        return canonical_host(host)
    except ValueError:
        raise EgressBlocked(host, "bad_host") from None
