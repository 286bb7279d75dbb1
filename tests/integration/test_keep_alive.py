"""An error answered before the request's body was read leaves the connection in a state the
client can tell: either it stays usable once the body is sent, or the answer says
``Connection: close``. A client that reuses a connection (httpx, requests, every SDK) must
never find it dropped under its next request.

The body is held back until the answer has been read, so the server answers with the body
still unread every time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from app.mcp.endpoint import PATH as MCP_PATH
from tests.conftest import ServiceFactory

BODY = b'{"url": "https://app.test/"}'


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """One HTTP/1.1 answer with a Content-Length: its status and headers (lower-cased)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers


@contextlib.asynccontextmanager
async def posted_head(
    base_url: str, path: str, key: str, length: int
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter, str]]:
    """A connection that has sent a POST's head alone (a JSON body of ``length`` bytes
    announced); yields its reader, its writer and the ``Host`` it named."""
    where = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        await writer.drain()
        yield reader, writer, where.netloc
    finally:
        writer.close()


@pytest.mark.parametrize("path", ["/v1/sessions", "/api/captures", MCP_PATH])
async def test_an_error_before_the_body_leaves_the_connection_usable_or_closed(
    make_service: ServiceFactory, path: str
) -> None:
    service = await make_service()
    async with posted_head(service.base_url, path, "ssk_not_a_key", len(BODY)) as head:
        reader, writer, host = head
        status, headers = await asyncio.wait_for(read_answer(reader), 10)
        assert status == 401
        if headers.get("connection", "").lower() == "close":
            return
        writer.write(BODY + f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        try:
            status, _ = await asyncio.wait_for(read_answer(reader), 10)
        except asyncio.IncompleteReadError:
            pytest.fail("the connection was dropped without Connection: close")
        assert status == 200


@pytest.mark.parametrize("path", ["/v1/sessions", "/v1/sessions/sess_x/actions", MCP_PATH])
async def test_a_body_declared_too_large_is_refused_with_connection_close(
    make_service: ServiceFactory, path: str
) -> None:
    service = await make_service()
    _, key = await service.new_key()
    async with posted_head(service.base_url, path, key, 100_000_000) as (reader, _, _):
        status, headers = await asyncio.wait_for(read_answer(reader), 10)
        assert (status, headers.get("connection")) == (413, "close")
