"""Signed link tokens for local storage, and object key validation. Pure: no I/O, no clock.

A token is ``<payload>.<signature>``, both base64url without padding, so it fits in one URL
path segment. The payload is compact JSON ``{"k": key, "e": expiry (Unix s), "f": filename,
"c": content type}``; the signature is HMAC-SHA-256 over the payload segment's text, keyed by
a sub-key derived from the deployment secret (so the same secret can safely key other things).
Verification compares signatures in constant time before reading anything from the payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.base import (
    InvalidKey,
    LinkExpired,
    SignatureInvalid,
    check_content_type,
    clean_filename,
)

# Separates this use of the secret from any other (payload encryption, key hashing).
_LINK_KEY_LABEL = b"sessionshot/storage/file-link/v1"

# S3's own limit; local storage follows it so keys move between backends unchanged.
MAX_KEY_CHARS = 1024

# No honest token is near this long (key ≤ 1024, filename ≤ 200 chars, escaped 6-12 times at worst);
# rejecting early bounds the work an attacker can make us do.
MAX_TOKEN_CHARS = 8192

# 9999-12-31T23:59:59Z: later expiries cannot be shown as a datetime.
MAX_EXPIRES_AT_S = 253_402_300_799

_KEY_RE = re.compile(r"[A-Za-z0-9._/-]+")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]+")
_PAYLOAD_FIELDS = frozenset({"k", "e", "f", "c", "n"})


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token grants: one file, until ``expires_at_s``, served with these headers."""

    key: str
    expires_at_s: int
    filename: str
    content_type: str

    @property
    def expires_at(self) -> datetime:
        """The expiry as a timezone-aware UTC datetime."""
        return datetime.fromtimestamp(self.expires_at_s, UTC)


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ``InvalidKey``.

    Allowed: ``[A-Za-z0-9._/-]``, at most 1024 characters, relative (no leading ``/``), no
    ``..`` anywhere, no empty segment (``a//b``, trailing ``/``), and no segment starting with
    ``.`` (hidden files, ``.`` itself, and local storage's temporary names).
    """
    if (
        not isinstance(key, str)
        or not key
        or len(key) > MAX_KEY_CHARS
        or _KEY_RE.fullmatch(key) is None
        or ".." in key
        or key.startswith("/")
        or any(not part or part.startswith(".") for part in key.split("/"))
    ):
        raise InvalidKey(key if isinstance(key, str) else repr(key))
    return key


def sign_token(secret: bytes, key: str, expires_at_s: int, filename: str, content_type: str) -> str:
    """Mint a token granting read access to ``key`` until ``expires_at_s`` (Unix seconds)."""
    _check_secret(secret)
    validate_key(key)
    check_content_type(content_type)
    if not _is_expiry(expires_at_s):
        raise ValueError("expires_at_s must be an integer Unix time up to year 9999")
    # "n": a nonce, so every link minted is a new one, even within the same second.
    payload = {
        "k": key,
        "e": expires_at_s,
        "f": clean_filename(filename),
        "c": content_type,
        "n": secrets.token_urlsafe(6),
    }
    # ensure_ascii keeps the payload pure ASCII, so its encoding is unambiguous.
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    payload_b64 = _b64encode(body)
    return f"{payload_b64}.{_signature(secret, payload_b64)}"


def verify_token(secret: bytes, token: str, now_s: float) -> TokenClaims:
    """Check a token and return its claims.

    Raises ``SignatureInvalid`` for anything not minted by ``sign_token`` with this secret
    (including junk of any type or length), and ``LinkExpired`` for a genuine token at or past
    its expiry. The signature is checked first, so an altered expired token is invalid, not
    expired.
    """
    _check_secret(secret)
    payload_b64 = _authentic_payload(secret, token)
    claims = _parse_payload(payload_b64)
    if now_s >= claims.expires_at_s:
        raise LinkExpired(claims.expires_at)
    return claims


def _authentic_payload(secret: bytes, token: object) -> str:
    """The payload segment of a correctly signed token, else ``SignatureInvalid``."""
    if (
        not isinstance(token, str)
        or not token
        or len(token) > MAX_TOKEN_CHARS
        or not token.isascii()
        or token.count(".") != 1
    ):
        raise SignatureInvalid()
    payload_b64, signature = token.split(".")
    if _B64URL_RE.fullmatch(payload_b64) is None or _B64URL_RE.fullmatch(signature) is None:
        raise SignatureInvalid()
    # Comparing the canonical encodings (not decoded bytes) also rejects the non-canonical
    # spellings of the last base64 character, so every altered character is caught.
    if not hmac.compare_digest(_signature(secret, payload_b64), signature):
        raise SignatureInvalid()
    return payload_b64


def _parse_payload(payload_b64: str) -> TokenClaims:
    """Decode an authentic payload; defensive, since a leaked secret must not mean a crash."""
    try:
        raw: Any = json.loads(_b64decode(payload_b64))
    except (ValueError, binascii.Error) as err:
        raise SignatureInvalid() from err
    if not isinstance(raw, dict) or set(raw) != _PAYLOAD_FIELDS:
        raise SignatureInvalid()
    key, expires, filename, content_type = raw["k"], raw["e"], raw["f"], raw["c"]
    if (
        not isinstance(key, str)
        or not isinstance(filename, str)
        or not isinstance(content_type, str)
        or not _is_expiry(expires)
    ):
        raise SignatureInvalid()
    try:
        validate_key(key)
        check_content_type(content_type)
    except ValueError as err:
        raise SignatureInvalid() from err
    return TokenClaims(key, expires, filename, content_type)


def _signature(secret: bytes, payload_b64: str) -> str:
    link_key = hmac.new(secret, _LINK_KEY_LABEL, hashlib.sha256).digest()
    mac = hmac.new(link_key, payload_b64.encode("ascii"), hashlib.sha256).digest()
    return _b64encode(mac)


def _is_expiry(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EXPIRES_AT_S


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or not secret:
        raise ValueError("secret must be non-empty bytes")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
