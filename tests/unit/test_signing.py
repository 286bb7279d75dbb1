"""Signed file links (SPEC section 3, "Files"): tokens, key rules and the served headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import (
    InvalidKey,
    LinkExpired,
    SignatureInvalid,
    content_disposition,
    sign_token,
    validate_key,
    verify_token,
)

SECRET = b"unit-test-secret-0123456789abcdef"
KEY = "ws_abc/sess_123/shot_456.png"
NOW = 1_780_000_000
EXPIRES = NOW + 600
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def make_token(**overrides: object) -> str:
    args: dict[str, Any] = {
        "secret": SECRET,
        "key": KEY,
        "expires_at_s": EXPIRES,
        "filename": "shot_456.png",
        "content_type": "image/png",
    }
    args.update(overrides)
    return sign_token(**args)


# --- round trip -------------------------------------------------------------------------


def test_round_trip_returns_the_signed_claims() -> None:
    claims = verify_token(SECRET, make_token(), NOW)
    assert claims.key == KEY
    assert claims.expires_at_s == EXPIRES
    assert claims.expires_at == datetime.fromtimestamp(EXPIRES, UTC)
    assert claims.filename == "shot_456.png"
    assert claims.content_type == "image/png"


def test_token_is_one_url_safe_path_segment() -> None:
    token = make_token(filename='rapport "final" été/2026.pdf', content_type="application/pdf")
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    claims = verify_token(SECRET, token, NOW)
    # Path separators are neutralised; everything else of the name survives the trip.
    assert claims.filename == 'rapport "final" été_2026.pdf'


def test_control_characters_never_reach_the_filename() -> None:
    claims = verify_token(SECRET, make_token(filename="a\r\nSet-Cookie: x\x00.png"), NOW)
    assert claims.filename == "aSet-Cookie: x.png"


# --- expiry -----------------------------------------------------------------------------


@pytest.mark.parametrize("now", [EXPIRES, EXPIRES + 0.001, EXPIRES + 86_400])
def test_expired_token_is_link_expired(now: float) -> None:
    with pytest.raises(LinkExpired) as info:
        verify_token(SECRET, make_token(), now)
    assert info.value.expires_at == datetime.fromtimestamp(EXPIRES, UTC)


def test_token_is_valid_until_just_before_expiry() -> None:
    assert verify_token(SECRET, make_token(), EXPIRES - 0.001).key == KEY


def test_altered_expired_token_is_invalid_not_expired() -> None:
    token = make_token()
    altered = ("B" if token[0] == "A" else "A") + token[1:]
    with pytest.raises(SignatureInvalid):
        verify_token(SECRET, altered, EXPIRES + 10)


# --- tampering --------------------------------------------------------------------------


def test_every_single_character_alteration_is_rejected() -> None:
    token = make_token()
    alphabet = B64URL + ".=+/ é"
    checked = 0
    for position, original in enumerate(token):
        for replacement in alphabet:
            if replacement == original:
                continue
            altered = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(SignatureInvalid):
                verify_token(SECRET, altered, NOW)
            checked += 1
    assert checked > len(token) * 60


def test_every_truncation_and_extension_is_rejected() -> None:
    token = make_token()
    for cut in range(len(token)):
        with pytest.raises(SignatureInvalid):
            verify_token(SECRET, token[:cut], NOW)
    for suffix in ("A", "=", "==", ".", "\n", " "):
        with pytest.raises(SignatureInvalid):
            verify_token(SECRET, token + suffix, NOW)


def test_swapped_segments_from_another_token_are_rejected() -> None:
    payload_a, signature_a = make_token().split(".")
    payload_b, signature_b = make_token(key="ws_abc/sess_123/other.png").split(".")
    for token in (f"{payload_a}.{signature_b}", f"{payload_b}.{signature_a}"):
        with pytest.raises(SignatureInvalid):
            verify_token(SECRET, token, NOW)


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify_token(b"another-secret", make_token(), NOW)


JUNK = [
    "",
    ".",
    "..",
    "a.b",
    "a.b.c",
    "abc",
    "====.====",
    "YQ==.YQ==",
    "%41.%42",
    "é.é",
    "\u202e.\u202e",
    "\x00.\x00",
    "a" * 100_000 + "." + "b" * 100_000,
    "A" * 20 + "." + "A" * 43,
]


@pytest.mark.parametrize("token", JUNK, ids=lambda t: repr(t[:20]))
def test_junk_tokens_are_signature_invalid(token: str) -> None:
    with pytest.raises(SignatureInvalid):
        verify_token(SECRET, token, NOW)


@given(st.text(max_size=300))
def test_arbitrary_text_is_signature_invalid(token: str) -> None:
    with pytest.raises(SignatureInvalid):
        verify_token(SECRET, token, NOW)


def test_padded_spelling_of_a_genuine_token_is_rejected() -> None:
    payload, signature = make_token().split(".")
    for token in (f"{payload}=.{signature}", f"{payload}.{signature}=", f"{payload}==.{signature}"):
        with pytest.raises(SignatureInvalid):
            verify_token(SECRET, token, NOW)


# --- keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["ws_abc/sess_123/shot_456.png", "a", "A-Z_a-z.0-9", "x/y/z/file.tar.gz", "k" * 1024]
)
def test_good_keys_are_accepted(key: str) -> None:
    assert validate_key(key) == key
    assert verify_token(SECRET, make_token(key=key), NOW).key == key


BAD_KEYS = [
    "",
    "/abs/file.png",
    "..",
    "a/../b",
    "a/..",
    "../a",
    "a..b",
    "a//b",
    "a/",
    "./a",
    "a/./b",
    ".hidden",
    "a/.hidden",
    "a b",
    "a\\b",
    "a\x00b",
    "a\nb",
    "ünï.png",
    "%2e%2e/x",
    "a:b",
    "k" * 1025,
]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_bad_keys_are_rejected(key: str) -> None:
    with pytest.raises(InvalidKey):
        validate_key(key)
    with pytest.raises(InvalidKey):
        make_token(key=key)


# --- signing arguments ------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["", "image", "text/html\r\nX-Evil: 1", "image/pñg"])
def test_unsafe_content_types_are_refused(content_type: str) -> None:
    with pytest.raises(ValueError, match="content_type"):
        make_token(content_type=content_type)


@pytest.mark.parametrize("expires", [-1, True, 10**20])
def test_out_of_range_expiry_is_refused(expires: object) -> None:
    with pytest.raises(ValueError, match="expires_at_s"):
        make_token(expires_at_s=expires)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        make_token(secret=b"")
    with pytest.raises(ValueError, match="secret"):
        verify_token(b"", make_token(), NOW)


# --- Content-Disposition of a served file -----------------------------------------------

_SAFE_HEADER = re.compile(r"[\x20-\x7e]+")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("shot.png", 'inline; filename="shot.png"'),
        ("my shot (1).png", 'inline; filename="my shot (1).png"'),
        (
            'a "quoted"\\name.png',
            """inline; filename="a _quoted__name.png"; """
            """filename*=UTF-8''a%20%22quoted%22_name.png""",
        ),
        ("été.pdf", """inline; filename="ete.pdf"; filename*=UTF-8''%C3%A9t%C3%A9.pdf"""),
        (
            "截图.png",
            """inline; filename="download.png"; filename*=UTF-8''%E6%88%AA%E5%9B%BE.png""",
        ),
        ("", 'inline; filename="download"'),
        ("\r\n", 'inline; filename="download"'),
    ],
)
def test_content_disposition(filename: str, expected: str) -> None:
    assert content_disposition(filename) == expected


@given(st.text(max_size=400))
def test_content_disposition_is_a_safe_header_for_any_name(filename: str) -> None:
    value = content_disposition(filename)
    assert _SAFE_HEADER.fullmatch(value)
    assert value.startswith('inline; filename="')
    fallback = value.split('filename="', 1)[1].split('"', 1)[0]
    assert "\\" not in fallback
    assert value.count('"') == 2


def test_every_link_is_new_even_within_one_second() -> None:
    secret = b"k" * 32
    first = sign_token(secret, "ws/a.png", 4_000_000_000, "a.png", "image/png")
    second = sign_token(secret, "ws/a.png", 4_000_000_000, "a.png", "image/png")
    assert first != second
    assert verify_token(secret, first, 0).key == verify_token(secret, second, 0).key
