"""Table tests for the pure egress address policy and browser settings (no sockets)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

import pytest

from sessions.egress import (
    BROWSER_RESOLVER_FLAG,
    EgressBlocked,
    canonical_host,
    check_scheme,
    context_proxy_settings,
    is_blocked_address,
    parse_cidrs,
    parse_host_map,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example.", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.0x1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("10.0x10.1", "10.16.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("169.254.43518", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("4294967295", "255.255.255.255"),
        ("\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11", "127.0.0.1"),  # full-width
        ("[::1]", "::1"),
        ("[::FFFF:127.0.0.1]", "::ffff:7f00:1"),
        ("[2606:4700:0000::1111]", "2606:4700::1111"),
        ("2606:4700::1111", "2606:4700::1111"),
    ],
)
def test_canonical_host(raw: str, expected: str) -> None:
    assert canonical_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "a..b",
        "256.0.0.1",
        "1.2.3.4.5",
        "4294967296",
        "1.16777216",
        "08.0.0.1",  # 8 is not an octal digit
        "0x7g.0.0.1",
        "example.123",  # ends in a number, so it must be IPv4, and is not
        "[::1",
        "[fe80::1%eth0]",
        "[not-v6]",
        "exa mple.com",
        "ex/ample.com",
        "a" * 64 + ".com",
    ],
)
def test_canonical_host_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        canonical_host(raw)


BLOCKED = [
    # IPv4 special ranges
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.0.0.9",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.0.1",
    "192.168.255.254",
    "198.18.0.1",
    "198.19.255.254",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "233.252.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.254",
    "255.255.255.255",
    # IPv6 special ranges
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "febf:ffff::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
    "2001:db8::1",
    "3fff::1",
    "5f00::1",
    # IPv4-mapped
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:224.0.0.1",
    # IPv4-compatible (deprecated, blocked whatever it embeds)
    "::127.0.0.1",
    "::10.0.0.1",
    "::8.8.8.8",
    "::ffff:0:127.0.0.1",
    # 6to4 with a blocked embedded address
    "2002:7f00:1::1",
    "2002:a00:1::",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:101::",
    # Teredo: the whole prefix, and whatever server/client it names
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:0:808:808::80ff:fffe",  # client = ~0x80fffffe = 127.0.0.1
    "2001:0:7f00:1::",  # server 127.0.0.1
    # NAT64 with a blocked embedded address, and the local-use prefix entirely
    "64:ff9b::7f00:1",
    "64:ff9b::a00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::e000:1",  # embedded multicast
    "0:1::1",  # rest of the reserved ::/8
    "64:ff9b:1::808:808",
    "64:ff9b:1:ffff::1",
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "2002:808:808::1",  # 6to4 of a public address
    "64:ff9b::808:808",  # NAT64 of a public address
]


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_addresses(address: str) -> None:
    assert is_blocked_address(ip_address(address), ())


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    assert not is_blocked_address(ip_address(address), ())


def test_allow_list_unblocks_only_inside() -> None:
    allow = (IPv4Network("127.0.0.1/32"),)
    assert not is_blocked_address(ip_address("127.0.0.1"), allow)
    assert is_blocked_address(ip_address("127.0.0.2"), allow)
    assert is_blocked_address(ip_address("10.0.0.1"), allow)
    # Mapped IPv6 reaches the same socket target, so the IPv4 entry covers it ...
    assert not is_blocked_address(ip_address("::ffff:127.0.0.1"), allow)
    assert is_blocked_address(ip_address("::ffff:127.0.0.2"), allow)
    # ... but tunnelled forms do not, they go somewhere else entirely.
    assert is_blocked_address(ip_address("2002:7f00:1::"), allow)
    assert is_blocked_address(ip_address("64:ff9b::7f00:1"), allow)
    assert is_blocked_address(ip_address("::1"), allow)


def test_allow_list_ipv6_and_wide_ranges() -> None:
    allow = (IPv6Network("fd00:1::/32"), IPv4Network("10.20.0.0/16"))
    assert not is_blocked_address(ip_address("fd00:1::5"), allow)
    assert is_blocked_address(ip_address("fd00:2::5"), allow)
    assert not is_blocked_address(ip_address("10.20.3.4"), allow)
    assert is_blocked_address(ip_address("10.21.3.4"), allow)
    assert not is_blocked_address(ip_address("8.8.8.8"), allow)


def test_parse_host_map() -> None:
    assert parse_host_map("") == {}
    assert parse_host_map(" A.test = 127.0.0.1 , bücher.test=::1,") == {
        "a.test": "127.0.0.1",
        "xn--bcher-kva.test": "::1",
    }
    assert parse_host_map("a.test=127.0.0.1,A.TEST.=127.0.0.1") == {"a.test": "127.0.0.1"}


@pytest.mark.parametrize(
    "text",
    [
        "a.test",
        "a.test=",
        "=127.0.0.1",
        "a.test=not-an-ip",
        "a..b=127.0.0.1",
        "a=1.2.3.4,a=1.2.3.5",
    ],
)
def test_parse_host_map_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="host map"):
        parse_host_map(text)


def test_parse_cidrs() -> None:
    assert parse_cidrs("") == ()
    assert parse_cidrs(" 127.0.0.1/32, 10.0.0.0/8 ,fd00::/8,") == (
        ip_network("127.0.0.1/32"),
        ip_network("10.0.0.0/8"),
        ip_network("fd00::/8"),
    )
    assert parse_cidrs("192.168.1.1") == (ip_network("192.168.1.1/32"),)


@pytest.mark.parametrize("text", ["10.0.0.1/8", "nope", "10.0.0.0/33", "127.0.0.1/32,,x"])
def test_parse_cidrs_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid network"):
        parse_cidrs(text)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/",
        "HTTP://example.com/",
        "wss://example.com/socket",
        "ws://example.com/socket",
        "data:text/html,hi",
        "blob:https://example.com/uuid",
        "  https://example.com/",
    ],
)
def test_check_scheme_allows_web_schemes(url: str) -> None:
    check_scheme(url)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "chrome://settings",
        "chrome-extension://abc/x.html",
        "ftp://example.com/",
        "javascript:alert(1)",
        " java\tscript:alert(1)",
        "view-source:https://example.com/",
        "about:blank",
        "//example.com/",
        "example.com",
        "",
    ],
)
def test_check_scheme_refuses(url: str) -> None:
    with pytest.raises(EgressBlocked) as info:
        check_scheme(url)
    assert info.value.reason == "scheme"


def test_egress_blocked_fields() -> None:
    exc = EgressBlocked(host="10.0.0.1", reason="private_address")
    assert (exc.host, exc.reason) == ("10.0.0.1", "private_address")
    assert "private_address" in str(exc)


def test_context_proxy_settings_carry_no_credentials() -> None:
    # Credentials would make Playwright intercept every request and disable the cache.
    assert context_proxy_settings("http://127.0.0.1:9") == {
        "server": "http://127.0.0.1:9",
        "bypass": "<-loopback>",
    }


def test_browser_resolver_flag() -> None:
    assert BROWSER_RESOLVER_FLAG == "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
