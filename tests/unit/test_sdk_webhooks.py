"""``verify_webhook``: Standard Webhooks signatures as the service sends them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from sessionshot_client import WebhookVerificationFailed, verify_webhook
from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()
PAYLOAD = json.dumps(
    {"type": "capture.completed", "timestamp": "2026-07-02T10:15:09Z", "data": {"id": "cap_1"}}
)


def _headers(secrets: list[str], when: datetime | None = None) -> dict[str, str]:
    when = when or datetime.now(UTC)
    signatures = [Webhook(secret).sign("msg_1", when, PAYLOAD) for secret in secrets]
    return {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(when.timestamp())),
        "Webhook-Signature": " ".join(signatures),
    }


def test_a_signed_delivery_verifies_and_parses() -> None:
    event = verify_webhook(PAYLOAD.encode(), _headers([SECRET]), SECRET)
    assert event.type == "capture.completed" and event.data == {"id": "cap_1"}


def test_during_a_rotation_either_secret_verifies() -> None:
    headers = _headers([SECRET, OLD_SECRET])
    assert verify_webhook(PAYLOAD, headers, OLD_SECRET).data["id"] == "cap_1"
    assert verify_webhook(PAYLOAD, headers, SECRET).data["id"] == "cap_1"


@pytest.mark.parametrize(
    ("payload", "secret", "age"),
    [
        (PAYLOAD.replace("cap_1", "cap_2"), SECRET, timedelta(0)),
        (PAYLOAD, OLD_SECRET, timedelta(0)),
        (PAYLOAD, SECRET, timedelta(minutes=10)),
    ],
    ids=["altered body", "wrong secret", "old timestamp"],
)
def test_anything_else_is_refused(payload: str, secret: str, age: timedelta) -> None:
    headers = _headers([SECRET], datetime.now(UTC) - age)
    with pytest.raises(WebhookVerificationFailed) as refused:
        verify_webhook(payload, headers, secret)
    assert refused.value.code == "WEBHOOK_SIGNATURE_INVALID"
