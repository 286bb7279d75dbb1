"""Capture payloads at rest in Redis: AES-256-GCM, bound to the capture id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sessions.errors import SessionError

NONCE_BYTES = 12
VERSION = b"v1"


class PayloadError(SessionError):
    """A payload that cannot be decrypted (wrong key, altered, or not ours): INTERNAL, its
    message is never shown to a caller."""


def payload_key(secret: bytes, explicit: str | None = None) -> bytes:
    """The 32-byte AES key: ``SESSIONSHOT_PAYLOAD_KEY`` (base64 of 32 bytes) or derived."""
    if explicit:
        try:
            key = base64.b64decode(explicit, validate=True)
        except ValueError as err:
            raise PayloadError("SESSIONSHOT_PAYLOAD_KEY: not base64") from err
        if len(key) != 32:
            raise PayloadError("SESSIONSHOT_PAYLOAD_KEY: must decode to 32 bytes")
        return key
    return hmac.new(secret, b"sessionshot:capture-payload", hashlib.sha256).digest()


class PayloadBox:
    """Seals and opens capture payloads; the capture id is authenticated data."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, capture_id: str, plaintext: bytes) -> bytes:
        """``v1 || nonce || ciphertext+tag``."""
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, capture_id.encode())

    def open(self, capture_id: str, sealed: bytes) -> bytes:
        """The plaintext, or :class:`PayloadError`."""
        if not sealed.startswith(VERSION) or len(sealed) < len(VERSION) + NONCE_BYTES + 16:
            raise PayloadError("not a sealed payload")
        nonce = sealed[len(VERSION) : len(VERSION) + NONCE_BYTES]
        body = sealed[len(VERSION) + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, capture_id.encode())
        except InvalidTag as err:
            raise PayloadError("payload failed authentication") from err
