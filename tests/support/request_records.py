"""What the test sites saw: each request's method, host, path, headers and cookies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from werkzeug.http import parse_cookie


def _hostname(host: str) -> str:
    """``host`` (a Host header or authority) without its port, lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rsplit(":", 1)[0] if ":" in host else host


def header_dict(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with lower-case names; repeats are joined (``; `` for cookies)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in merged:
            merged[key] += ("; " if key == "cookie" else ", ") + value
        else:
            merged[key] = value
    return merged


def cookie_dict(headers: Mapping[str, str]) -> dict[str, str]:
    """Cookies from a :func:`header_dict` result (first value wins for a repeated name)."""
    parsed = parse_cookie(headers.get("cookie", ""))
    return {name: parsed[name] for name in parsed}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the target site received (HTTP or WebSocket)."""

    method: str
    scheme: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    cookies: dict[str, str]
    http_version: str
    websocket: bool = False

    @property
    def hostname(self) -> str:
        """The Host header without the port (``app.test``)."""
        return _hostname(self.host)


@dataclass(frozen=True)
class CanaryRequest:
    """One HTTP request head the canary parsed."""

    method: str
    target: str
    host: str
    headers: dict[str, str]
    tls: bool

    @property
    def hostname(self) -> str:
        """The Host header without the port."""
        return _hostname(self.host)


def parse_request_head(head: bytes, tls: bool) -> CanaryRequest:
    """A :class:`CanaryRequest` from a raw HTTP/1.x head (lenient: never raises)."""
    request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, _, rest = request_line.partition(" ")
    target = rest.rpartition(" ")[0] or rest
    pairs = []
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            pairs.append((name.strip(), value.strip()))
    headers = header_dict(pairs)
    return CanaryRequest(
        method=method, target=target, host=headers.get("host", ""), headers=headers, tls=tls
    )
