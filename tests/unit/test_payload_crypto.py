"""Capture payload encryption: AES-256-GCM bound to the capture id."""

from __future__ import annotations

import base64

import pytest

from sessions.crypto import PayloadBox, PayloadError, payload_key


def test_round_trip_and_no_plaintext() -> None:
    box = PayloadBox(payload_key(b"secret-key-0123456789"))
    sealed = box.seal("cap_1", b'{"cookie": "s3cr3t-value"}')
    assert b"s3cr3t-value" not in sealed
    assert box.open("cap_1", sealed) == b'{"cookie": "s3cr3t-value"}'
    assert box.seal("cap_1", b"x") != box.seal("cap_1", b"x"), "fresh nonce each time"


def test_tampering_wrong_id_and_wrong_key_fail() -> None:
    box = PayloadBox(payload_key(b"secret-key-0123456789"))
    sealed = box.seal("cap_1", b"data")
    with pytest.raises(PayloadError):
        box.open("cap_2", sealed)
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(PayloadError):
        box.open("cap_1", flipped)
    with pytest.raises(PayloadError):
        PayloadBox(payload_key(b"another-secret-0123")).open("cap_1", sealed)
    with pytest.raises(PayloadError):
        box.open("cap_1", b"v1short")


def test_explicit_key() -> None:
    raw = bytes(range(32))
    assert payload_key(b"ignored", base64.b64encode(raw).decode()) == raw
    with pytest.raises(PayloadError):
        payload_key(b"x", base64.b64encode(b"short").decode())
    with pytest.raises(PayloadError):
        payload_key(b"x", "not base64 !!")
