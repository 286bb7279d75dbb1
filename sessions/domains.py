"""Allowed-domain matching (SPEC section 2): pure functions, no I/O.

An entry ``example.com`` matches only that host; ``*.example.com`` matches any subdomain but
not the apex. Matching is case-insensitive, IDNA-normalised, ignores a trailing dot and a
port; an IP-literal host matches only an entry that is that exact IP.

New entries must also stay clear of public suffixes (:func:`new_entry`): a wildcard over
one would allow every site registered under it. The Public Suffix List comes with the
``publicsuffixlist`` package; nothing is fetched.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import cache

from publicsuffixlist import PublicSuffixList

from sessions.errors import InvalidRequest

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidDomain(InvalidRequest):
    """An allowed-domain entry or a hostname that cannot be normalised (400)."""


def _ip_literal(host: str) -> str | None:
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return None


def _strip_port(host: str) -> str:
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def normalize_host(host: str) -> str:
    """Canonical form of a hostname: lower case, IDNA, no trailing dot, no port."""
    text = _strip_port(host.strip())
    ip = _ip_literal(text)
    if ip is not None:
        return ip
    text = text.rstrip(".") if text.endswith(".") and not text.endswith("..") else text
    if not text:
        raise InvalidDomain("empty hostname")
    try:
        ascii_name = text.encode("idna").decode("ascii").lower()
    except UnicodeError as err:
        raise InvalidDomain(f"not a valid hostname: {host!r}") from err
    labels = ascii_name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidDomain(f"not a valid hostname: {host!r}")
    return ascii_name


def normalize_entry(entry: str) -> str:
    """Canonical form of an allowed-domain entry (``host``, ``*.host`` or an IP literal)."""
    text = entry.strip()
    if text.startswith("*."):
        base = normalize_host(text[2:])
        if _ip_literal(base) is not None:
            raise InvalidDomain("a wildcard entry needs a hostname, not an IP")
        return "*." + base
    if "*" in text:
        raise InvalidDomain("a wildcard is only allowed as the leading '*.' label")
    return normalize_host(text)


@cache
def _suffixes(icann_only: bool) -> PublicSuffixList:
    # Parsed once per process (about 30 ms) when the first entry is added, not at import.
    return PublicSuffixList(only_icann=icann_only, accept_unknown=not icann_only)


def new_entry(entry: str) -> str:
    """:func:`normalize_entry` for an entry being added, refusing public suffixes.

    Refused: a wildcard whose base is a public suffix of either section of the list
    (``*.com``, ``*.co.uk``, and private-section ones like ``*.github.io``, which would
    cover everyone's sites there) or a top-level name the list does not know
    (``*.internal``); and an exact entry that is an ICANN suffix (``com``, ``co.uk``),
    where no site lives: it is almost always a mistaken ``*.com``. A private-section
    suffix such as ``github.io`` is a site of its own and stays allowed as an exact entry.
    Entries added before these rules can still be matched and removed.
    """
    normal = normalize_entry(entry)
    if normal.startswith("*."):
        base = normal[2:]
        if _suffixes(icann_only=False).is_public(base):
            raise InvalidDomain(
                f"'{normal}' would allow every site under the public suffix '{base}'; "
                f"use a domain registered under it, such as '*.example.{base}'"
            )
    elif _ip_literal(normal) is None and _suffixes(icann_only=True).is_public(normal):
        raise InvalidDomain(
            f"'{normal}' is a public suffix, not a site; "
            f"use a domain registered under it, such as 'example.{normal}'"
        )
    return normal


def host_matches(host: str, entries: Iterable[str]) -> bool:
    """True when ``host`` is allowed by one of the (normalised) ``entries``."""
    try:
        name = normalize_host(host)
    except InvalidDomain:
        return False
    is_ip = _ip_literal(name) is not None
    for entry in entries:
        if entry == name:
            return True
        if not is_ip and entry.startswith("*.") and name.endswith(entry[1:]):
            return True
    return False
