"""Connections the egress proxy opens: chained through an upstream proxy, and bytes pumped
between two streams with per-endpoint counters."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sessions.egress.addresses import IPAddress
from sessions.egress.http_head import format_authority

CHUNK_BYTES = 64 * 1024
"""Largest read of one pump step."""


@dataclass(frozen=True)
class Upstream:
    """An upstream HTTP proxy that checked connections are chained through."""

    host: str
    port: int
    authorization: str | None

    @classmethod
    def parse(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise ValueError(f"upstream proxy must be http://host:port, got {url!r}")
        authorization = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        return cls(parts.hostname, parts.port or 80, authorization)


class UpstreamError(Exception):
    """The upstream proxy answered the chained CONNECT with a non-200 status."""


async def pump(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, counters: list[int], index: int
) -> None:
    try:
        while data := await source.read(CHUNK_BYTES):
            sink.write(data)
            counters[index] += len(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except OSError:
        pass  # reset or broken pipe: this direction is over, the other side notices


async def open_via_upstream(
    upstream: Upstream, address: IPAddress, port: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
    try:
        authority = format_authority(str(address), port)
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if upstream.authorization is not None:
            lines.append(f"Proxy-Authorization: {upstream.authorization}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise UpstreamError(f"no CONNECT answer: {exc!r}") from None
        status_line = head.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or status_line[1] != b"200":
            raise UpstreamError(head[:200].decode("latin-1"))
    except BaseException:
        writer.close()
        raise
    return reader, writer
