"""The egress proxy against real loopback servers, and against real Chromium.

NETWORK RULE: every byte in here goes to 127.0.0.0/8 only. Allowed targets live on
127.0.0.1, the canary on 127.0.0.2; names are pinned through the policy host map,
so nothing is ever looked up in DNS (the one getaddrinfo test uses ``localhost``
and is skipped unless /etc/hosts answers it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.async_api import async_playwright

from sessions.browser import chromium_args
from sessions.egress import (
    BROWSER_RESOLVER_FLAG,
    EgressPolicy,
    EgressProxy,
    canonical_host,
    context_proxy_settings,
)
from sessions.egress.http_head import ProxyRequest, read_request
from tests.support.loopback import Handler, LoopbackServer, UpstreamConnectProxy

ALLOWED_IP = "127.0.0.1"
CANARY_IP = "127.0.0.2"
HOST_MAP = {"allowed.test": ALLOWED_IP, "canary.test": CANARY_IP}
ALLOW = (ipaddress.ip_network("127.0.0.1/32"),)
CHROMIUM = Path("/usr/bin/chromium")


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(4096):
        writer.write(data)
        await writer.drain()


def http_responder(server_heads: list[bytes], body: bytes) -> Handler:
    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        server_heads.append(head)
        content_type = b"text/html" if head.startswith(b"GET / ") else b"text/plain"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        await writer.drain()

    return respond


def http_server(host: str, body: bytes, tls: ssl.SSLContext | None = None) -> LoopbackServer:
    heads: list[bytes] = []
    server = LoopbackServer(host, http_responder(heads, body), tls)
    server.heads = heads
    return server


Route = tuple[str, bytes]  # (extra header lines without the final CRLF, body)


def routed_server(host: str, routes: Mapping[str, Route]) -> LoopbackServer:
    """Plain http server answering ``GET <path>`` from ``routes`` (404 otherwise)."""
    heads: list[bytes] = []

    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(head)
        path = head.split(b" ")[1].decode()
        status, (extra, body) = ("200 OK", routes[path]) if path in routes else ("404 X", ("", b""))
        writer.write(
            f"HTTP/1.1 {status}\r\n{extra}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    server = LoopbackServer(host, respond)
    server.heads = heads
    return server


def basic(tag: str, password: str = "x") -> str:
    return "Basic " + base64.b64encode(f"{tag}:{password}".encode()).decode()


def endpoint_port(endpoint: str) -> int:
    host, _, port = endpoint.removeprefix("http://").rpartition(":")
    assert host == ALLOWED_IP, endpoint
    return int(port)


class ProxyClient:
    """One raw client connection to an egress proxy endpoint."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def send(cls, endpoint: str, head: str) -> ProxyClient:
        reader, writer = await asyncio.open_connection(ALLOWED_IP, endpoint_port(endpoint))
        writer.write(head.encode("latin-1"))
        await writer.drain()
        return cls(reader, writer)

    async def head(self) -> tuple[int, dict[str, str]]:
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = raw[:-4].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        return int(status_line.split(" ")[1]), headers

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def hung_up(client: ProxyClient) -> bool:
    """True once the proxy closed the connection (FIN, or RST if bytes were unread)."""
    try:
        async with asyncio.timeout(5):  # a connection left open fails here, not by hanging
            return await client.reader.read() == b""
    except ConnectionResetError:
        return True


def connect_head(authority: str, extra: str = "") -> str:
    return f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{extra}\r\n"


async def open_tunnel(endpoint: str, authority: str) -> ProxyClient:
    client = await ProxyClient.send(endpoint, connect_head(authority))
    status, _ = await client.head()
    assert status == 200
    return client


async def echo_once(client: ProxyClient, data: bytes = b"hello") -> None:
    client.writer.write(data)
    assert await client.reader.readexactly(len(data)) == data


async def tunnel_roundtrip(endpoint: str, authority: str) -> None:
    client = await open_tunnel(endpoint, authority)
    try:
        await echo_once(client)
    finally:
        await client.close()


async def refused_with(endpoint: str, authority: str) -> str:
    """CONNECT that must be refused with 403; returns the X-Egress-Blocked reason."""
    client = await ProxyClient.send(endpoint, connect_head(authority))
    status, headers = await client.head()
    assert await hung_up(client)
    await client.close()
    assert status == 403
    return headers["x-egress-blocked"]


@contextlib.asynccontextmanager
async def running_proxy(policy: EgressPolicy | None = None) -> AsyncIterator[EgressProxy]:
    async with EgressProxy(policy or EgressPolicy(ALLOW, HOST_MAP)) as proxy:
        yield proxy


@pytest.fixture
async def echo_server() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer(ALLOWED_IP, echo) as server:
        yield server


@pytest.fixture
async def canary() -> AsyncIterator[LoopbackServer]:
    async with http_server(CANARY_IP, b"canary") as server:
        # Positive control: the canary really is reachable and really counts.
        _, writer = await asyncio.open_connection(CANARY_IP, server.port)
        writer.close()
        await writer.wait_closed()
        await server.settle()
        assert server.connections == 1
        server.connections = 0
        yield server
    assert server.connections == 0, "the canary was contacted"


async def test_connect_to_allowed_host_pipes_and_counts(echo_server: LoopbackServer) -> None:
    async with running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("sess-a")
        await tunnel_roundtrip(endpoint, f"allowed.test:{echo_server.port}")
        await echo_server.settle()
        assert proxy.stats("sess-a") == (5, 5)
        assert proxy.stats("other") == (0, 0)
        assert proxy.refused("sess-a") == 0
        assert proxy.last_refusal("sess-a") is None
        await proxy.close_endpoint("sess-a")
        assert proxy.stats("sess-a") == (0, 0)  # forgotten with the endpoint


@pytest.mark.parametrize(
    "host", ["canary.test", "CANARY.test.", CANARY_IP, "2130706434", "0x7f.2", "0177.0.0.2"]
)
async def test_connect_to_blocked_host_is_refused(canary: LoopbackServer, host: str) -> None:
    async with running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("sess-b")
        assert await refused_with(endpoint, f"{host}:{canary.port}") == "private_address"
        assert proxy.refused("sess-b") == 1
        assert proxy.last_refusal("sess-b") == (canonical_host(host), "private_address")
        assert proxy.stats("sess-b") == (0, 0)


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1"])
async def test_legacy_ipv4_forms_are_canonicalised(echo_server: LoopbackServer, host: str) -> None:
    async with running_proxy() as proxy:
        await tunnel_roundtrip(await proxy.open_endpoint("t"), f"{host}:{echo_server.port}")


async def test_plain_http_is_rewritten_and_pinned(canary: LoopbackServer) -> None:
    async with http_server(ALLOWED_IP, b"hello over http") as web, running_proxy() as proxy:
        client = await ProxyClient.send(
            await proxy.open_endpoint("sess-h"),
            f"GET http://allowed.test:{web.port}/a/b?c=d HTTP/1.1\r\n"
            f"Host: canary.test:{canary.port}\r\nProxy-Authorization: {basic('x', 'y')}\r\n"
            "Proxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n",
        )
        status, _ = await client.head()
        body = await client.reader.read()
        await client.close()
        await web.settle()
        assert (status, body) == (200, b"hello over http")
        sent = web.heads[0].decode()
        assert sent.startswith("GET /a/b?c=d HTTP/1.1\r\n")
        assert f"Host: allowed.test:{web.port}\r\n" in sent  # from the URL, not the client
        assert "Proxy-" not in sent
        assert "Connection: close\r\n" in sent
        bytes_in, bytes_out = proxy.stats("sess-h")
        assert bytes_out == len(web.heads[0])
        assert bytes_in > len(b"hello over http")
        assert proxy.stats("x") == (0, 0)  # a credential username means nothing


async def test_plain_http_to_canary_is_refused(canary: LoopbackServer) -> None:
    async with running_proxy() as proxy:
        client = await ProxyClient.send(
            await proxy.open_endpoint("sess-p"),
            f"GET http://canary.test:{canary.port}/ HTTP/1.1\r\nHost: canary.test\r\n\r\n",
        )
        status, headers = await client.head()
        await client.close()
        assert status == 403
        assert headers["x-egress-blocked"] == "private_address"
        assert proxy.refused("sess-p") == 1
        assert proxy.last_refusal("sess-p") == ("canary.test", "private_address")


async def test_no_credentials_needed_and_any_are_ignored(echo_server: LoopbackServer) -> None:
    async with running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("plain")
        authority = f"allowed.test:{echo_server.port}"
        # No challenge without credentials ...
        await tunnel_roundtrip(endpoint, authority)
        # ... and the old "upstream" password neither picks a route nor a tag.
        auth = f"Proxy-Authorization: {basic('other', 'upstream')}\r\n"
        client = await ProxyClient.send(endpoint, connect_head(authority, auth))
        assert (await client.head())[0] == 200
        await echo_once(client)
        await client.close()
        await echo_server.settle()
        assert proxy.stats("plain") == (10, 10)
        assert proxy.stats("other") == (0, 0)
        assert proxy.refused("plain") == 0


@pytest.mark.parametrize(
    "head",
    [
        "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n",
        "GET https://allowed.test/ HTTP/1.1\r\n\r\n",
        "CONNECT allowed.test HTTP/1.1\r\n\r\n",
        "CONNECT allowed.test:0 HTTP/1.1\r\n\r\n",
        "CONNECT allowed.test:99999 HTTP/1.1\r\n\r\n",
        "CONNECT user@allowed.test:443 HTTP/1.1\r\n\r\n",
        "CONNECT exa_mple..test:443 HTTP/1.1\r\n\r\n",
        "CONNECT allowed.test:443 HTTP/2.0\r\n\r\n",
        "NOT A REQUEST\r\n\r\n",
        "CONNECT allowed.test:443 HTTP/1.1\r\n folded: header\r\n\r\n",
        "CONNECT allowed.test:443 HTTP/1.1\r\n" + "X-A: b\r\n" * 101 + "\r\n",
        "CONNECT allowed.test:443 HTTP/1.1\r\nX-Big: " + "a" * 17000 + "\r\n\r\n",
    ],
)
async def test_malformed_requests_get_400(head: str) -> None:
    async with running_proxy() as proxy:
        client = await ProxyClient.send(await proxy.open_endpoint("t"), head)
        status, _ = await client.head()
        await client.close()
        assert status == 400
        assert proxy.refused("t") == 0
        assert proxy.last_refusal("t") is None


async def test_allowed_ports_restrict_targets(echo_server: LoopbackServer) -> None:
    policy = EgressPolicy(ALLOW, HOST_MAP, allowed_ports=frozenset({443}))
    async with running_proxy(policy) as proxy:
        endpoint = await proxy.open_endpoint("t")
        assert await refused_with(endpoint, f"allowed.test:{echo_server.port}") == "bad_port"
        assert proxy.last_refusal("t") == ("allowed.test", "bad_port")
        assert echo_server.connections == 0


def _hosts_file_answers_localhost() -> bool:
    # Only then does getaddrinfo("localhost") stay off the network (no DNS query).
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[1:2] == ["localhost"] and line.startswith("127.") for line in lines)


@pytest.mark.skipif(not _hosts_file_answers_localhost(), reason="localhost not in /etc/hosts")
async def test_resolved_names_are_checked(echo_server: LoopbackServer) -> None:
    authority = f"localhost:{echo_server.port}"
    async with running_proxy(EgressPolicy((), {})) as proxy:
        endpoint = await proxy.open_endpoint("t")
        assert await refused_with(endpoint, authority) == "private_address"
    assert echo_server.connections == 0


@pytest.mark.parametrize("host", ["nothing.invalid", "NOTHING.invalid.", "x.onion", "y.alt"])
async def test_special_use_names_are_not_resolvable(host: str) -> None:
    # Refused before any lookup: these names never leave the machine as a DNS query.
    async with running_proxy(EgressPolicy((), {})) as proxy:
        endpoint = await proxy.open_endpoint("t")
        mark = proxy.refusal_log("t").mark()
        client = await ProxyClient.send(endpoint, connect_head(f"{host}:8443"))
        status, headers = await client.head()
        await client.close()
        assert (status, headers["x-egress-blocked"]) == (502, "resolve_failed")
        refusal = proxy.refusal_log("t").since(mark, f"https://{host}:8443/")
        assert refusal is not None and refusal.reason == "resolve_failed"
        assert "not resolvable" in refusal.message()
        assert proxy.refusal_log("t").since(mark, f"https://{host}/") is None  # another port


async def test_refusal_log_keeps_each_target_and_follows_the_endpoint(
    canary: LoopbackServer,
) -> None:
    async with running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("warm")
        log = proxy.refusal_log("warm")
        assert await refused_with(endpoint, f"canary.test:{canary.port}") == "private_address"
        mark = log.mark()
        client = await ProxyClient.send(endpoint, connect_head("gone.invalid:443"))
        assert (await client.head())[0] == 502
        await client.close()
        # Only what was refused after the mark counts; each target keeps its own reason.
        assert log.since(mark, f"https://canary.test:{canary.port}/") is None
        first = log.since(0, f"https://CANARY.test:{canary.port}/x")
        assert first is not None and first.reason == "private_address"
        assert "SESSIONSHOT_TARGET_ALLOW_CIDRS" in first.message()
        gone = log.since(mark, "https://gone.invalid/")
        assert gone is not None and gone.reason == "resolve_failed"
        proxy.retag("warm", "sess")
        assert proxy.refusal_log("sess") is log
        assert proxy.refusal_log("warm").since(0, "https://gone.invalid/") is None


async def test_a_held_endpoint_refuses_everything_until_released(
    echo_server: LoopbackServer,
) -> None:
    # A warm browser's endpoint: its own calls go nowhere and leave no trace on the session
    # that later takes it.
    authority = f"allowed.test:{echo_server.port}"
    async with running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("warm", held=True)
        assert await refused_with(endpoint, authority) == "held"
        await echo_server.settle()
        assert echo_server.connections == 0
        proxy.retag("warm", "sess")
        assert await refused_with(endpoint, authority) == "held"
        assert proxy.refused("sess") == 0 and proxy.last_refusal("sess") is None
        assert proxy.refusal_log("sess").since(0, f"https://{authority}/") is None
        proxy.release("sess")
        await tunnel_roundtrip(endpoint, authority)
        assert proxy.stats("sess") == (5, 5)


async def test_endpoints_attribute_traffic_and_refusals_to_their_own_tag(
    echo_server: LoopbackServer, canary: LoopbackServer
) -> None:
    async with running_proxy() as proxy:
        first = await proxy.open_endpoint("s1")
        second = await proxy.open_endpoint("s2")
        assert first != second
        authority = f"allowed.test:{echo_server.port}"
        await tunnel_roundtrip(first, authority)
        client = await open_tunnel(second, authority)
        await echo_once(client, b"0123456789")
        await echo_once(client, b"abc")
        await client.close()
        assert await refused_with(second, f"canary.test:{canary.port}") == "private_address"
        await echo_server.settle()
        assert proxy.stats("s1") == (5, 5)
        assert proxy.stats("s2") == (13, 13)
        assert (proxy.refused("s1"), proxy.last_refusal("s1")) == (0, None)
        assert proxy.refused("s2") == 1
        assert proxy.last_refusal("s2") == ("canary.test", "private_address")
        assert await refused_with(first, f"{CANARY_IP}:{canary.port}") == "private_address"
        assert proxy.last_refusal("s1") == (CANARY_IP, "private_address")
        assert proxy.last_refusal("s2") == ("canary.test", "private_address")
        with pytest.raises(ValueError, match="already open"):
            await proxy.open_endpoint("s1")


async def test_close_endpoint_cuts_its_tunnels_and_stops_listening(
    echo_server: LoopbackServer,
) -> None:
    async with running_proxy() as proxy:
        doomed = await proxy.open_endpoint("doomed")
        kept = await proxy.open_endpoint("kept")
        authority = f"allowed.test:{echo_server.port}"
        tunnel = await open_tunnel(doomed, authority)
        await echo_once(tunnel)
        idle = await ProxyClient.send(doomed, "CONNECT allowed.test:1 HTTP/1.1\r\n")  # unfinished
        survivor = await open_tunnel(kept, authority)
        await echo_once(survivor)
        await proxy.close_endpoint("doomed")
        assert await hung_up(tunnel)  # the client side sees EOF
        assert await hung_up(idle)
        assert proxy.stats("doomed") == (0, 0)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(ALLOWED_IP, endpoint_port(doomed))
        await proxy.close_endpoint("doomed")  # idempotent
        await proxy.close_endpoint("never-opened")
        # The other session is untouched, and the tag can be opened afresh.
        await echo_once(survivor, b"still here")
        assert proxy.stats("kept") == (15, 15)
        reopened = await proxy.open_endpoint("doomed")
        await tunnel_roundtrip(reopened, authority)
        assert proxy.stats("doomed") == (5, 5)
        for client in (tunnel, idle, survivor):
            await client.close()
        await echo_server.settle()


async def test_retag_moves_counters_and_live_connections(
    echo_server: LoopbackServer, canary: LoopbackServer
) -> None:
    async with running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("warm-1")
        authority = f"allowed.test:{echo_server.port}"
        live = await open_tunnel(endpoint, authority)
        await echo_once(live)
        assert await refused_with(endpoint, f"canary.test:{canary.port}") == "private_address"
        proxy.retag("warm-1", "sess-x")
        assert (proxy.stats("warm-1"), proxy.refused("warm-1")) == ((0, 0), 0)
        assert proxy.last_refusal("warm-1") is None
        assert proxy.stats("sess-x") == (5, 5)
        assert proxy.refused("sess-x") == 1
        assert proxy.last_refusal("sess-x") == ("canary.test", "private_address")
        await echo_once(live, b"more")  # a tunnel opened before the retag follows it
        await tunnel_roundtrip(endpoint, authority)  # and so do new connections
        assert proxy.stats("sess-x") == (14, 14)
        proxy.retag("sess-x", "sess-x")  # no-op
        with pytest.raises(KeyError):
            proxy.retag("warm-1", "sess-y")
        await proxy.open_endpoint("taken")
        with pytest.raises(ValueError, match="already open"):
            proxy.retag("sess-x", "taken")
        await proxy.close_endpoint("warm-1")  # the old tag no longer names anything
        await echo_once(live, b"alive")
        await proxy.close_endpoint("sess-x")
        assert await hung_up(live)
        await live.close()
        await echo_server.settle()


async def test_upstream_chaining_is_per_endpoint(
    echo_server: LoopbackServer, canary: LoopbackServer
) -> None:
    async with UpstreamConnectProxy() as upstream, http_server(ALLOWED_IP, b"web") as web:
        url = f"http://up:secret@127.0.0.1:{upstream.port}"
        async with running_proxy(EgressPolicy(ALLOW, HOST_MAP, upstream_proxy=url)) as proxy:
            direct = await proxy.open_endpoint("direct")
            via = await proxy.open_endpoint("via", upstream=True)
            await tunnel_roundtrip(direct, f"allowed.test:{echo_server.port}")
            assert upstream.connections == 0
            await tunnel_roundtrip(via, f"allowed.test:{echo_server.port}")
            client = await ProxyClient.send(
                via, f"GET http://allowed.test:{web.port}/ HTTP/1.1\r\n\r\n"
            )
            assert (await client.head())[0] == 200
            assert await client.reader.read() == b"web"
            await client.close()
            assert await refused_with(via, f"canary.test:{canary.port}") == "private_address"
            await upstream.settle()
            assert proxy.stats("direct") == (5, 5)
            assert proxy.stats("via")[1] > 5
    assert upstream.connections == 2
    tunnel_head, http_head = (head.decode() for head in upstream.heads)
    # The upstream is handed the pinned address, never the name to re-resolve.
    assert tunnel_head.startswith(f"CONNECT 127.0.0.1:{echo_server.port} HTTP/1.1\r\n")
    assert http_head.startswith(f"CONNECT 127.0.0.1:{web.port} HTTP/1.1\r\n")
    assert f"Proxy-Authorization: {basic('up', 'secret')}\r\n" in tunnel_head
    assert web.heads[0].startswith(b"GET / HTTP/1.1\r\n")


async def test_upstream_requested_without_one_configured_is_refused(
    echo_server: LoopbackServer,
) -> None:
    async with running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("u", upstream=True)
        assert await refused_with(endpoint, f"allowed.test:{echo_server.port}") == "no_upstream"
        assert proxy.last_refusal("u") == ("allowed.test", "no_upstream")
        assert echo_server.connections == 0


async def test_lifecycle_errors() -> None:
    proxy = EgressProxy(EgressPolicy(ALLOW, HOST_MAP))
    with pytest.raises(RuntimeError, match="not started"):
        await proxy.open_endpoint("early")
    await proxy.start()
    await proxy.start()  # idempotent
    await proxy.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await proxy.open_endpoint("late")
    with pytest.raises(RuntimeError):
        await proxy.start()


async def test_close_during_open_leaves_nothing_bound() -> None:
    proxy = EgressProxy(EgressPolicy(ALLOW, HOST_MAP))
    await proxy.start()
    opening = asyncio.ensure_future(proxy.open_endpoint("racy"))
    await asyncio.sleep(0)  # the tag is reserved, the bind is in flight
    with pytest.raises(ValueError, match="already open"):
        await proxy.open_endpoint("racy")
    await proxy.close_endpoint("racy")
    with pytest.raises(RuntimeError, match="closed while opening"):
        await opening
    await proxy.aclose()


async def test_aclose_leaves_no_tasks(echo_server: LoopbackServer) -> None:
    before = asyncio.all_tasks()
    proxy = EgressProxy(EgressPolicy(ALLOW, HOST_MAP))
    await proxy.start()
    first = await proxy.open_endpoint("one")
    second = await proxy.open_endpoint("two")
    tunnel = await open_tunnel(first, f"allowed.test:{echo_server.port}")
    await echo_once(tunnel, b"ping")
    idle = await ProxyClient.send(second, "CONNECT allowed.test:1 HTTP/1.1\r\n")  # unfinished
    assert len(asyncio.all_tasks() - before) > 0
    await proxy.aclose()
    await proxy.aclose()  # idempotent
    assert await hung_up(tunnel)
    assert await hung_up(idle)
    await tunnel.close()
    await idle.close()
    await echo_server.settle()
    assert asyncio.all_tasks() == before
    for endpoint in (first, second):
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(ALLOWED_IP, endpoint_port(endpoint))
    with pytest.raises(RuntimeError):
        await proxy.start()


def test_policy_canonicalises_and_freezes_host_map() -> None:
    policy = EgressPolicy((), {"Bücher.Test.": "127.0.0.1"})
    assert dict(policy.host_map) == {"xn--bcher-kva.test": "127.0.0.1"}
    with pytest.raises(TypeError):
        policy.host_map["x"] = "1.1.1.1"  # type: ignore[index]  # writing is what must fail
    with pytest.raises(ValueError):
        EgressPolicy((), {"a.test": "not-an-ip"})
    with pytest.raises(ValueError):
        EgressPolicy((), {}, upstream_proxy="socks5://127.0.0.1:1080")


def make_tls_context(directory: Path) -> ssl.SSLContext:
    """Self-signed server certificate for both test names and both loopback IPs."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "allowed.test")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("allowed.test"),
            x509.DNSName("canary.test"),
            x509.IPAddress(ipaddress.ip_address(ALLOWED_IP)),
            x509.IPAddress(ipaddress.ip_address(CANARY_IP)),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(san, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def probe_page(canary_port: int) -> bytes:
    target = f"https://canary.test:{canary_port}"
    return f"""<!doctype html><title>allowed</title>
<script>window.results = {{}}; function done(k, v) {{ window.results[k] = v; }}</script>
<img src="{target}/img.png" onload="done('img', 'load')" onerror="done('img', 'error')">
<img src="https://{CANARY_IP}:{canary_port}/ip.png"
     onload="done('ip', 'load')" onerror="done('ip', 'error')">
<iframe src="{target}/frame" onload="done('iframe', 'load')"></iframe>
<script>
fetch("{target}/fetch", {{mode: "no-cors"}})
  .then(() => done("fetch", "ok"), (e) => done("fetch", String(e)));
</script>""".encode()


# The service's flags, plus a safety net for the network rule: the browser itself may not
# resolve any name (the proxy address is an IP literal, so proxied traffic is unaffected).
CHROMIUM_ARGS = [*chromium_args(), BROWSER_RESOLVER_FLAG]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: run make install"
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def proxy_requests(monkeypatch: pytest.MonkeyPatch) -> list[ProxyRequest]:
    """Every request head the proxy parses, as the browser sent it."""
    seen: list[ProxyRequest] = []

    async def recording(reader: asyncio.StreamReader) -> ProxyRequest:
        request = await read_request(reader)
        seen.append(request)
        return request

    # A spy, not a fake: the real parser runs and the proxy behaves as in production.
    # The proxy module looks the name up at call time.
    monkeypatch.setattr("sessions.egress.proxy.read_request", recording)
    return seen


def header_names(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {
        n.strip().lower(): v.strip() for n, _, v in (line.partition(":") for line in lines if line)
    }


async def test_chromium_traffic_goes_through_the_guard(
    tmp_path: Path, browser: Any, proxy_requests: list[ProxyRequest]
) -> None:
    from playwright.async_api import Error as PlaywrightError

    tls = make_tls_context(tmp_path)
    async with (
        http_server(CANARY_IP, b"canary", tls) as canary,
        http_server(ALLOWED_IP, probe_page(canary.port), tls) as web,
        running_proxy() as proxy,
    ):
        # A warm context gets its endpoint before the session id is known.
        endpoint = await proxy.open_endpoint("warm-0")
        context = await browser.new_context(
            proxy=context_proxy_settings(endpoint), ignore_https_errors=True
        )
        proxy.retag("warm-0", "chromium-session")
        try:
            page = await context.new_page()
            response = await page.goto(f"https://allowed.test:{web.port}/")
            assert response is not None and response.status == 200
            await page.wait_for_function("Object.keys(window.results).length === 4")
            results = await page.evaluate("window.results")
            assert results["img"] == "error"
            assert results["ip"] == "error"
            assert results["fetch"].startswith("TypeError")
            with pytest.raises(PlaywrightError) as refused:
                await page.goto(f"https://canary.test:{canary.port}/")
            # What the engine maps to TARGET_BLOCKED for https main documents.
            assert "net::ERR_TUNNEL_CONNECTION_FAILED" in refused.value.message
            assert proxy.last_refusal("chromium-session") == ("canary.test", "private_address")
            with pytest.raises(PlaywrightError) as refused_http:
                await page.goto(f"http://canary.test:{canary.port}/")
            # A bodiless 403 from the proxy on an http: main document.
            assert "net::ERR_HTTP_RESPONSE_CODE_FAILURE" in refused_http.value.message
        finally:
            await context.close()
        await web.settle()
        assert web.connections >= 1
        assert proxy.refused("chromium-session") >= 5
        assert proxy.stats("chromium-session")[0] > len(probe_page(canary.port))
        assert proxy.stats("warm-0") == (0, 0)
        # No credentials reach the proxy, and the page request was not intercepted
        # (Playwright's interception disables the cache, which adds Pragma: no-cache).
        assert proxy_requests
        assert all(r.header("proxy-authorization") is None for r in proxy_requests)
        page_head = next(h for h in web.heads if h.startswith(b"GET / "))
        assert "pragma" not in header_names(page_head)
        assert header_names(page_head).get("cache-control") != "no-cache"
    assert canary.connections == 0


async def navigate_twice(browser: Any, proxy_settings: dict[str, str], port: int) -> None:
    context = await browser.new_context(proxy=proxy_settings)
    try:
        page = await context.new_page()
        for path in ("/cached.txt", "/other.html", "/cached.txt"):
            response = await page.goto(f"http://allowed.test:{port}{path}")
            assert response is not None and response.status == 200
            assert await response.body() != b""
    finally:
        await context.close()


async def test_chromium_cache_is_on_without_proxy_credentials(browser: Any) -> None:
    routes = {
        "/cached.txt": ("Content-Type: text/plain\r\nCache-Control: max-age=3600", b"static"),
        "/other.html": ("Content-Type: text/html\r\nCache-Control: no-store", b"<p>other</p>"),
    }
    async with routed_server(ALLOWED_IP, routes) as web, running_proxy() as proxy:
        endpoint = await proxy.open_endpoint("cached")
        await navigate_twice(browser, context_proxy_settings(endpoint), web.port)
        await web.settle()
        cached_heads = [h for h in web.heads if h.startswith(b"GET /cached.txt ")]
        assert len(cached_heads) == 1, "the second navigation should come from the cache"
        assert all("pragma" not in header_names(h) for h in web.heads)

        # Control: the same with (ignored) proxy credentials turns Playwright's
        # interception on, which disables the cache; proves the check above can fail.
        control = await proxy.open_endpoint("control")
        with_credentials = {**context_proxy_settings(control), "username": "u", "password": "p"}
        await navigate_twice(browser, with_credentials, web.port)
        await web.settle()
        cached_heads = [h for h in web.heads if h.startswith(b"GET /cached.txt ")]
        assert len(cached_heads) == 3
        assert header_names(cached_heads[-1]).get("pragma") == "no-cache"
        assert proxy.stats("cached")[0] > 0
        assert proxy.stats("control")[0] > 0
