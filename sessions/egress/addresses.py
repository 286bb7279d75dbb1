"""Pure address policy helpers for the egress guard (no I/O in this module).

The proxy canonicalises every target host with :func:`canonical_host`, resolves
it, and refuses the connection when :func:`is_blocked_address` is true for any
resolved address. Everything here is deterministic so it can be table-tested.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import urlsplit

from sessions.egress.errors import EgressBlocked

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

ALLOWED_SCHEMES = frozenset({"https", "http", "wss", "ws", "data", "blob"})

# Explicit deny lists on top of the ``is_global`` floor. They pin the policy so it
# does not drift with the special-purpose tables of a given Python release (3.11
# for example reports multicast, 6to4, NAT64 and fec0::/10 as "global").
_V4_BLOCKED: tuple[IPv4Network, ...] = tuple(
    IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes 255.255.255.255
    )
)
_V6_BLOCKED: tuple[IPv6Network, ...] = tuple(
    IPv6Network(n)
    for n in (
        # ::/8 holds ::, ::1, the deprecated IPv4-compatible ::a.b.c.d and the SIIT
        # ::ffff:0:a.b.c.d forms. IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::/96
        # (also inside ::/8) are judged by their embedded IPv4 address instead.
        "::/8",
        "64:ff9b:1::/48",  # local-use NAT64: the embedded address means nothing to us
        "100::/64",  # discard
        "2001::/23",  # IETF special purpose, includes Teredo 2001::/32
        "2001:db8::/32",
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")

UNRESOLVABLE_TLDS = frozenset({"invalid", "onion", "alt"})
"""Special-use top-level names no DNS server answers for (RFC 6761 6.4, RFC 7686, RFC 9476).

The guard refuses them as not resolvable without a lookup, so such a name never leaves
the machine as a DNS query.
"""

_HOSTNAME_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_DECIMAL_RE = re.compile(r"[0-9]+")
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]*")
_OCTAL_RE = re.compile(r"0[0-7]+")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))


def canonical_host(host: str) -> str:
    """Return the canonical form of a URL/CONNECT host, or raise ``ValueError``.

    IPv6 literals (bracketed or not) come back compressed without brackets; IPv4 in
    any legacy notation that browsers and ``inet_aton`` accept (``2130706433``,
    ``0x7f000001``, ``0177.0.0.1``, ``127.1``, ``0x7f.1``) comes back as a dotted
    quad; names come back lower-case, IDNA-encoded, without one trailing dot.
    """
    name = host.lower()
    if name.startswith("[") and name.endswith("]"):
        return _canonical_ipv6(name[1:-1])
    if ":" in name:
        return _canonical_ipv6(name)
    try:
        # The codec also applies nameprep, which folds full-width digits and dots
        # (U+FF10.., U+3002) to ASCII so they cannot dodge the IPv4 check below.
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"invalid host name {host!r}: {exc}") from None
    ascii_name = ascii_name.lower().removesuffix(".")
    if not ascii_name or len(ascii_name) > 253:
        raise ValueError(f"invalid host name {host!r}")
    if _ends_in_number(ascii_name):
        # Same rule as the WHATWG URL parser: a host whose last label is numeric
        # is an IPv4 address or invalid, never a DNS name.
        return str(_parse_legacy_ipv4(ascii_name))
    if not _HOSTNAME_RE.fullmatch(ascii_name):
        raise ValueError(f"invalid host name {host!r}")
    return ascii_name


def never_resolves(host: str) -> bool:
    """True for a canonical name under one of :data:`UNRESOLVABLE_TLDS`."""
    return host.rsplit(".", 1)[-1] in UNRESOLVABLE_TLDS


def _canonical_ipv6(text: str) -> str:
    if "%" in text:
        raise ValueError(f"IPv6 zone identifiers are not accepted: {text!r}")
    try:
        return str(IPv6Address(text))
    except ValueError:
        raise ValueError(f"invalid IPv6 address {text!r}") from None


def _ends_in_number(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return bool(_DECIMAL_RE.fullmatch(last) or _HEX_RE.fullmatch(last))


def _parse_ipv4_number(part: str) -> int:
    if _HEX_RE.fullmatch(part):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        # A leading zero means octal, so "08" is invalid rather than eight.
        if not _OCTAL_RE.fullmatch(part):
            raise ValueError(f"invalid octal IPv4 component {part!r}")
        return int(part[1:], 8)
    if _DECIMAL_RE.fullmatch(part):
        return int(part, 10)
    raise ValueError(f"invalid IPv4 component {part!r}")


def _parse_legacy_ipv4(name: str) -> IPv4Address:
    parts = name.split(".")
    if len(parts) > 4:
        raise ValueError(f"invalid IPv4 address {name!r}")
    numbers = [_parse_ipv4_number(p) for p in parts]
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"IPv4 address out of range {name!r}")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def is_blocked_address(ip: IPAddress, allow: Sequence[IPNetwork] = ()) -> bool:
    """True unless ``ip`` is globally routable or inside one of ``allow``.

    ``is_global`` is the floor; explicit lists add multicast and other ranges that
    some Python versions call global. IPv6 forms that embed an IPv4 address
    (mapped, 6to4, Teredo, NAT64 64:ff9b::/96) are blocked when the embedded
    address is. ``allow`` un-blocks only addresses inside it, plus IPv4-mapped
    IPv6 addresses whose IPv4 part is inside an IPv4 entry (same socket target).
    """
    if _is_allowed(ip, allow):
        return False
    if isinstance(ip, IPv4Address):
        return _ipv4_unsafe(ip)
    return _ipv6_unsafe(ip)


def _is_allowed(ip: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(
        candidate in network
        for candidate in candidates
        for network in allow
        if network.version == candidate.version
    )


def _ipv4_unsafe(ip: IPv4Address) -> bool:
    return ip.is_multicast or not ip.is_global or any(ip in n for n in _V4_BLOCKED)


def _ipv6_unsafe(ip: IPv6Address) -> bool:
    mapped = ip.ipv4_mapped
    if mapped is not None:
        # A socket connect to ::ffff:a.b.c.d reaches a.b.c.d: judge that address.
        return _ipv4_unsafe(mapped)
    if ip in _NAT64_WELL_KNOWN:
        # The NAT64 gateway connects to the embedded address. Checked before the
        # lists because 64:ff9b::/96 sits inside the reserved ::/8.
        return _ipv4_unsafe(IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_multicast or not ip.is_global or any(ip in n for n in _V6_BLOCKED):
        return True
    return any(_ipv4_unsafe(v4) for v4 in _embedded_ipv4(ip))


def _embedded_ipv4(ip: IPv6Address) -> list[IPv4Address]:
    found: list[IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client); client is already un-inverted
    return found


def parse_host_map(text: str) -> dict[str, str]:
    """Parse ``name=ip,name=ip`` into ``{canonical name: normalised ip}``.

    Blank entries are ignored; anything else malformed raises ``ValueError``
    naming the offending entry.
    """
    result: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, value = entry.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"host map entry {entry!r} is not of the form name=ip")
        try:
            host = canonical_host(name.strip())
        except ValueError as exc:
            raise ValueError(f"host map entry {entry!r}: {exc}") from None
        try:
            address = str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(f"host map entry {entry!r}: {value.strip()!r} is not an IP") from None
        if result.get(host, address) != address:
            raise ValueError(f"host map maps {host!r} twice to different addresses")
        result[host] = address
    return result


def parse_cidrs(text: str) -> tuple[IPNetwork, ...]:
    """Parse a comma-separated list of networks (``""`` gives ``()``).

    Host bits must be zero (``10.0.0.1/8`` is rejected) so that a typo in an
    allow-list cannot silently widen or narrow it.
    """
    networks: list[IPNetwork] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as exc:
            raise ValueError(f"invalid network {entry!r}: {exc}") from None
    return tuple(networks)


def check_scheme(url: str) -> None:
    """Raise :class:`EgressBlocked` unless the URL scheme is web content.

    Allowed: https, http, wss, ws, data, blob (case-insensitive). The URL is first
    cleaned the way browsers do (outer C0/space stripped, tab/CR/LF removed), so
    ``" java\\tscript:"`` is seen as ``javascript:``. Relative URLs are refused.
    """
    cleaned = url.strip(_C0_AND_SPACE)
    for char in "\t\r\n":
        cleaned = cleaned.replace(char, "")
    scheme, sep, _ = cleaned.partition(":")
    if sep and _SCHEME_RE.fullmatch(scheme) and scheme.lower() in ALLOWED_SCHEMES:
        return
    raise EgressBlocked(host=_host_for_error(cleaned), reason="scheme")


def _host_for_error(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""
