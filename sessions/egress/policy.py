"""What the egress proxy lets through: one immutable policy shared by every endpoint."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sessions.egress.addresses import IPNetwork, canonical_host
from sessions.egress.upstream import Upstream


@dataclass(frozen=True)
class EgressPolicy:
    """What the proxy lets through.

    ``allow_cidrs`` un-block otherwise private ranges; ``host_map`` pins names to
    addresses (checked like resolved ones; keys are canonicalised); ``upstream_proxy``
    is an ``http://[user:pass@]host:port`` proxy for endpoints that ask for it;
    ``allowed_ports`` restricts target ports when set.
    """

    allow_cidrs: tuple[IPNetwork, ...] = ()
    host_map: Mapping[str, str] = field(default_factory=dict)
    upstream_proxy: str | None = None
    allowed_ports: frozenset[int] | None = None

    def __post_init__(self) -> None:
        pinned = {
            canonical_host(name): str(ipaddress.ip_address(ip))
            for name, ip in self.host_map.items()
        }
        # Frozen means frozen: callers cannot mutate the map after the check.
        object.__setattr__(self, "host_map", MappingProxyType(pinned))
        if self.upstream_proxy is not None:
            Upstream.parse(self.upstream_proxy)
