"""Bounded parsing of the proxy request head and the few answers the proxy writes."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sessions.egress.errors import EgressBlocked

MAX_HEAD_BYTES = 16 * 1024
MAX_HEADER_LINES = 100
HEAD_TIMEOUT_S = 10.0

_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PORT_RE = re.compile(r"[0-9]{1,5}")
# Dropped when forwarding: proxy-only and per-hop headers; Host is rebuilt.
_DROPPED = frozenset({"connection", "keep-alive", "host", "upgrade", "te", "trailer"})


@dataclass(frozen=True)
class ProxyRequest:
    """Request line and headers of one client request to the proxy."""

    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True)
class Target:
    """Where a request goes: ``tunnel`` for CONNECT, else an absolute-form http URL."""

    host: str
    port: int
    tunnel: bool
    authority: str = ""
    path: str = "/"


async def read_request(reader: asyncio.StreamReader) -> ProxyRequest:
    """Read and parse one request head; ``ValueError`` when malformed or too big.

    The reader's ``limit`` must be :data:`MAX_HEAD_BYTES` so that ``readuntil``
    gives up instead of buffering an endless head.
    """
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise ValueError("request head too large") from None
    lines = raw[:-4].decode("latin-1").split("\r\n")
    if len(lines) - 1 > MAX_HEADER_LINES:
        raise ValueError("too many header lines")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN_RE.fullmatch(parts[0]):
        raise ValueError("malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise ValueError("unsupported HTTP version")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        # Rejects obsolete line folding too (a name that starts with whitespace).
        if not sep or not _TOKEN_RE.fullmatch(name):
            raise ValueError("malformed header line")
        headers.append((name, value.strip(" \t")))
    return ProxyRequest(method, target, version, tuple(headers))


def split_authority(authority: str, default_port: int | None) -> tuple[str, int]:
    """Split ``host[:port]`` (host may be ``[v6]``); ``ValueError`` on junk."""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise ValueError("unterminated IPv6 literal")
        host, rest = authority[: end + 1], authority[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("junk after IPv6 literal")
        port_text = rest[1:]
    else:
        host, sep, port_text = authority.rpartition(":")
        if not sep:
            host, port_text = authority, ""
    if not host or "@" in host:
        raise ValueError("missing host or userinfo present")
    if not port_text and default_port is not None:
        return host, default_port
    if not _PORT_RE.fullmatch(port_text) or not 0 < int(port_text) < 65536:
        raise ValueError("bad port")
    return host, int(port_text)


def parse_target(request: ProxyRequest) -> Target:
    """Target of a CONNECT or absolute-form ``http://`` request.

    Raises :class:`~sessions.egress.errors.EgressBlocked` (``bad_request``) for
    anything else, such as origin-form requests or other URL schemes.
    """
    try:
        if request.method == "CONNECT":
            host, port = split_authority(request.target, None)
            return Target(host, port, tunnel=True)
        if request.target[:7].lower() != "http://":
            raise ValueError("only absolute-form http:// URLs are proxied")
        rest = request.target[7:]
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        authority, path = rest[:cut], rest[cut:].split("#", 1)[0]
        host, port = split_authority(authority, 80)
    except ValueError:
        raise EgressBlocked(request.target[:200], "bad_request") from None
    if not path.startswith("/"):
        path = "/" + path
    return Target(host, port, tunnel=False, authority=authority, path=path)


def format_authority(host: str, port: int) -> str:
    """``host:port`` with IPv6 hosts bracketed."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def origin_form_head(request: ProxyRequest, target: Target) -> bytes:
    """Rewrite an absolute-form request head for the origin server.

    Proxy-* and hop-by-hop headers are dropped, ``Host`` is taken from the URL
    (RFC 9112 3.2.2: a proxy ignores the client's Host for absolute-form), and the
    request asks for ``Connection: close`` so one connection carries one exchange,
    except WebSocket upgrades, which keep ``Upgrade`` and then become a raw pipe.
    """
    upgrade = request.header("upgrade")
    lines = [f"{request.method} {target.path} {request.version}", f"Host: {target.authority}"]
    for name, value in request.headers:
        lower = name.lower()
        if lower.startswith("proxy-") or lower in _DROPPED:
            continue
        lines.append(f"{name}: {value}")
    if upgrade is not None:
        lines += [f"Upgrade: {upgrade}", "Connection: Upgrade"]
    else:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def respond(
    writer: asyncio.StreamWriter, status: int, phrase: str, extra: Iterable[str] = ()
) -> None:
    """Write a bodiless final answer; the caller closes the connection."""
    lines = [f"HTTP/1.1 {status} {phrase}", *extra, "Content-Length: 0", "Connection: close"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    with contextlib.suppress(OSError):
        await writer.drain()
