"""Allowed-domain matching rules of SPEC section 2, as a table."""

from __future__ import annotations

import pytest

from sessions.domains import InvalidDomain, host_matches, new_entry, normalize_entry

ENTRIES = [
    normalize_entry(e)
    for e in ("example.com", "*.corp.example", "Bücher.DE", "203.0.113.7", "[2001:db8::1]")
]

CASES = [
    # exact entries match only themselves
    ("example.com", True),
    ("www.example.com", False),
    ("notexample.com", False),
    ("example.com.evil.test", False),
    # case, trailing dot, port
    ("EXAMPLE.Com", True),
    ("example.com.", True),
    ("example.com:8443", True),
    ("Example.COM.:443", True),
    # wildcard: any subdomain, never the apex
    ("a.corp.example", True),
    ("a.b.corp.example", True),
    ("corp.example", False),
    ("xcorp.example", False),
    # IDNA: unicode and punycode forms are one name
    ("bücher.de", True),
    ("xn--bcher-kva.de", True),
    ("BÜCHER.de", True),
    # IP literals match only the exact IP entry
    ("203.0.113.7", True),
    ("203.0.113.7:443", True),
    ("203.0.113.8", False),
    ("[2001:db8::1]", True),
    ("[2001:db8:0::1]:443", True),
    ("2001:db8::1", True),
    ("2001:db8::2", False),
    # junk never matches
    ("", False),
    ("exa mple.com", False),
]


@pytest.mark.parametrize(("host", "allowed"), CASES)
def test_host_matching(host: str, allowed: bool) -> None:
    assert host_matches(host, ENTRIES) is allowed


def test_ip_literal_does_not_match_wildcards() -> None:
    assert not host_matches("1.2.3.4", ["*.3.4"])


@pytest.mark.parametrize(
    ("entry", "normal"),
    [
        ("Example.COM.", "example.com"),
        ("*.Example.com", "*.example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("[::1]", "::1"),
        ("example.com:443", "example.com"),
    ],
)
def test_entries_are_normalised(entry: str, normal: str) -> None:
    assert normalize_entry(entry) == normal


@pytest.mark.parametrize("entry", ["", "*", "a.*.b", "*.1.2.3.4", "-bad.com", "exa mple.com"])
def test_bad_entries_are_refused(entry: str) -> None:
    with pytest.raises(InvalidDomain):
        normalize_entry(entry)


@pytest.mark.parametrize(
    "entry",
    [
        "*.com",
        "*.CO.UK.",
        "*.github.io",  # private section: it would cover everyone's pages there
        "*.blogspot.com",
        "*.foo.kawasaki.jp",  # under the list's own wildcard rule *.kawasaki.jp
        "*.рф",
        "*.internal",  # a top-level name the list does not know is a suffix too
        "com",
        "co.uk",
        "xn--p1ai",
    ],
)
def test_public_suffixes_are_refused_as_new_entries(entry: str) -> None:
    with pytest.raises(InvalidDomain, match="public suffix"):
        new_entry(entry)
    normalize_entry(entry)  # still a well-formed entry: an old one can be matched and removed


@pytest.mark.parametrize(
    ("entry", "normal"),
    [
        ("*.Example.com", "*.example.com"),
        ("*.example.co.uk", "*.example.co.uk"),
        ("*.me.github.io", "*.me.github.io"),
        ("*.app.test", "*.app.test"),
        ("github.io", "github.io"),  # exact private-section suffix: one site, matched alone
        ("intranet", "intranet"),
        ("example.com", "example.com"),
        ("203.0.113.7", "203.0.113.7"),
    ],
)
def test_registered_domains_are_accepted_as_new_entries(entry: str, normal: str) -> None:
    assert new_entry(entry) == normal


@pytest.mark.parametrize("entry", ["", "*", "a.*.b", "*.1.2.3.4", "exa mple.com"])
def test_new_entries_refuse_junk_like_normalize_entry(entry: str) -> None:
    with pytest.raises(InvalidDomain):
        new_entry(entry)
