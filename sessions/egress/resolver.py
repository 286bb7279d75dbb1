"""Where the egress proxy may connect for a host: resolved once, every address checked.

The proxy connects to the addresses returned here, never to the name, so a DNS answer
cannot change between the check and the connect (no rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket

from sessions.egress.addresses import IPAddress, is_blocked_address, never_resolves
from sessions.egress.errors import EgressBlocked
from sessions.egress.policy import EgressPolicy

RESOLVE_TIMEOUT_S = 10.0


async def checked_addresses(policy: EgressPolicy, host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host`` the policy lets a session reach on ``port``, IPv4 first.

    Raises :class:`EgressBlocked` (``bad_port``, ``private_address``, ``resolve_failed``).
    """
    ports = policy.allowed_ports
    if ports is not None and port not in ports:
        raise EgressBlocked(host, "bad_port")
    addresses = await resolve(policy, host, port)
    # One bad address poisons the whole answer: a mixed answer is exactly what
    # a rebinding attacker would serve.
    if any(is_blocked_address(ip, policy.allow_cidrs) for ip in addresses):
        raise EgressBlocked(host, "private_address")
    return addresses


async def resolve(policy: EgressPolicy, host: str, port: int) -> list[IPAddress]:
    """An IP literal as itself, a mapped host as its pin, anything else through DNS."""
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_address(host)]
    pinned = policy.host_map.get(host)
    if pinned is not None:
        return [ipaddress.ip_address(pinned)]
    if never_resolves(host):
        raise EgressBlocked(host, "resolve_failed")
    loop = asyncio.get_running_loop()
    try:
        # getaddrinfo runs in the loop's executor; the timeout bounds our wait.
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError):
        raise EgressBlocked(host, "resolve_failed") from None
    found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not found:
        raise EgressBlocked(host, "resolve_failed")
    # IPv4 first: containers often have no IPv6 route, and every entry is checked.
    return sorted(found, key=lambda ip: ip.version)
