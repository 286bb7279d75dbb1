"""What the guard refused for one session, so a failed navigation can say why.

Chromium reports every refused CONNECT the same way (``ERR_TUNNEL_CONNECTION_FAILED``)
and a refused plain-http request as a bodiless error answer, so the browser's error
alone cannot tell "the guard said no" from "the site is down". The proxy therefore
writes each refusal into the endpoint's :class:`RefusalLog`, numbered in order; a
navigation takes a :meth:`RefusalLog.mark` before it starts and, when its main document
fails, asks for a refusal of that document's host and port made after the mark. Each
navigation thus gets its own reason, never one left over from an earlier one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from sessions.egress.addresses import canonical_host

MAX_TARGETS = 256
"""Targets remembered per endpoint (the oldest is forgotten first)."""
_DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}

_WHY = {
    "resolve_failed": (
        "the name is not resolvable"
        " (an operator can map it to an address with SESSIONSHOT_HOST_MAP)"
    ),
    "private_address": (
        "it resolves to a private or reserved address"
        " (an operator can allow that range with SESSIONSHOT_TARGET_ALLOW_CIDRS)"
    ),
    "bad_port": "the port is not allowed",
    "bad_host": "the host name is not valid",
    "scheme": "the scheme is not allowed",
    "no_upstream": "the session asks for an upstream proxy and none is configured",
}


@dataclass(frozen=True)
class Refusal:
    """One refused target: canonical ``host``, ``port``, the guard's ``reason``."""

    seq: int
    host: str
    port: int
    reason: str

    def message(self) -> str:
        """A sentence for the client; names the target, never anything it carried."""
        why = _WHY.get(self.reason, "it is not reachable from this service")
        return f"The egress guard refused {self.host}:{self.port}: {why}."


class RefusalLog:
    """The latest refusal per ``(host, port)`` of one endpoint, numbered in order."""

    def __init__(self) -> None:
        self._seq = 0
        self._latest: OrderedDict[tuple[str, int], Refusal] = OrderedDict()

    def mark(self) -> int:
        """A point in the log; :meth:`since` looks only at refusals made after it."""
        return self._seq

    def record(self, host: str, port: int, reason: str) -> Refusal:
        """Note that ``host:port`` (canonical host) was refused for ``reason``."""
        self._seq += 1
        refusal = Refusal(self._seq, host, port, reason)
        self._latest[(host, port)] = refusal
        self._latest.move_to_end((host, port))
        while len(self._latest) > MAX_TARGETS:
            self._latest.popitem(last=False)
        return refusal

    def since(self, mark: int, url: str) -> Refusal | None:
        """The refusal of ``url``'s host and port made after ``mark``, if any."""
        target = url_target(url)
        if target is None:
            return None
        refusal = self._latest.get(target)
        return refusal if refusal is not None and refusal.seq > mark else None


def url_target(url: str) -> tuple[str, int] | None:
    """``(canonical host, port)`` a URL connects to; ``None`` when it names none."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        host = canonical_host(parts.hostname) if parts.hostname else None
    except ValueError:
        return None
    if host is None or port is None:
        return None
    return host, port
