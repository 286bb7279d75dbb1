"""Verifying webhook deliveries (Standard Webhooks signatures)."""

from __future__ import annotations

from collections.abc import Mapping

from standardwebhooks import Webhook, WebhookVerificationError

from sessionshot_client.errors import WebhookVerificationFailed
from sessionshot_client.models import WebhookEvent


def verify_webhook(payload: bytes | str, headers: Mapping[str, str], secret: str) -> WebhookEvent:
    """Check a delivery's ``webhook-signature`` against the endpoint's ``whsec_`` secret.

    ``payload`` is the raw request body as received (not re-serialised JSON), ``headers``
    the request's headers (any case). Also refused: a timestamp more than five minutes off.
    While a secret is being rotated the service signs with both; either secret verifies.
    Raises :class:`WebhookVerificationFailed`; returns the parsed event.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        Webhook(secret).verify(payload, lowered, json_parse=False)
    except WebhookVerificationError as err:
        raise WebhookVerificationFailed(str(err) or "signature mismatch", status=0) from err
    return WebhookEvent.model_validate_json(payload)
