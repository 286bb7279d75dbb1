"""Scoped tokens and live links: short-lived credentials for one session and one use.

Both are ``v1.<claims>.<signature>``: base64url JSON claims (session, scope, expiry in ms,
and for a live link the session's live-link generation) and an HMAC-SHA256 over them, with
a key derived from ``SESSIONSHOT_SECRET_KEY`` for each kind, so a token is never a valid
link nor the reverse. What a signature cannot say - the session still open, its live
links not revoked since - is checked against the session's record by the caller.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

from app.errors import ApiError
from sessions.timefmt import now_ms

Scope = Literal["cdp", "live-view", "live-interact"]
SCOPES: tuple[Scope, ...] = ("cdp", "live-view", "live-interact")
MAX_CREDENTIAL_CHARS = 1024
"""Longer than any credential this module signs: refused unread."""


class CredentialRefused(ApiError):
    """A token or link that is not one of ours, or not for this use (403)."""

    status, code, default_message = 403, "FORBIDDEN", "This credential is not valid here."


class CredentialExpired(ApiError):
    """A token or link past its expiry (410 for links, 401 for tokens: see the callers)."""

    status, code, default_message = 410, "EXPIRED", "This credential has expired."


@dataclass(frozen=True)
class Grant:
    """What a valid credential allows."""

    session_id: str
    scope: Scope
    expires_ms: int
    generation: int = 0
    """A live link's generation: revoking a session's live links moves it on."""


class Signer:
    """Signs and reads one kind of credential (tokens, or live links)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self, grant: Grant) -> str:
        """The credential for ``grant``."""
        claims = {
            "s": grant.session_id,
            "c": grant.scope,
            "e": grant.expires_ms,
            "g": grant.generation,
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"v1.{payload}.{self._sign(payload)}"

    def read(self, value: str) -> Grant:
        """The grant of a credential signed here and not expired; :class:`CredentialRefused`
        for anything altered or foreign, :class:`CredentialExpired` after its expiry."""
        parts = value.split(".") if len(value) <= MAX_CREDENTIAL_CHARS else []
        if len(parts) != 3 or parts[0] != "v1":
            raise CredentialRefused()
        payload, signature = parts[1], parts[2]
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise CredentialRefused()
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            grant = Grant(
                session_id=str(claims["s"]),
                scope=claims["c"] if claims["c"] in SCOPES else "cdp",
                expires_ms=int(claims["e"]),
                generation=int(claims["g"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError) as err:
            raise CredentialRefused() from err  # signed by us, so never in practice
        if grant.expires_ms <= now_ms():
            raise CredentialExpired()
        return grant

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
