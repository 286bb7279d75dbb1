"""Typed exceptions: one base class carrying the API's error code, a subclass per code."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from sessionshot_client.models.sessions import Session


class SessionShotError(Exception):
    """An error answered by the API (or met on the way to it).

    ``code`` is the API's error code (``"DOMAIN_NOT_ALLOWED"``), ``status`` the HTTP status
    (0 when no answer came back), ``message`` the API's message. On the ``/v1/`` endpoints
    ``session`` is the session's state when it exists (for example once it closed).
    """

    default_code = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int = 0,
        session: Session | None = None,
        retry_after_s: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status = status
        self.session = session
        self.retry_after_s = retry_after_s
        self.body = body

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationFailed(SessionShotError):
    """400 ``VALIDATION_ERROR``: the body or a parameter is invalid."""

    default_code = "VALIDATION_ERROR"


class Unauthenticated(SessionShotError):
    """401: missing, unknown or revoked API key."""

    default_code = "UNAUTHENTICATED"


class DomainNotAllowed(SessionShotError):
    """403 (or 422 after a redirect): the host is not on the workspace's allowed domains."""

    default_code = "DOMAIN_NOT_ALLOWED"


class NotFound(SessionShotError):
    """404: unknown id, or one that belongs to another key."""

    default_code = "NOT_FOUND"


class Conflict(SessionShotError):
    """409: the request conflicts with the resource's state."""

    default_code = "CONFLICT"


class IdempotencyConflict(Conflict):
    """409: the same ``Idempotency-Key`` came with a different body."""

    default_code = "IDEMPOTENCY_CONFLICT"


class SessionClosed(Conflict):
    """409: the session is closed; ``session`` holds its final state."""

    default_code = "SESSION_CLOSED"


class ConnectNotEnabled(Conflict):
    """409: the session was not created with ``connect=True``."""

    default_code = "CONNECT_NOT_ENABLED"


class PayloadTooLarge(SessionShotError):
    """413: the body is over the service's size limit."""

    default_code = "PAYLOAD_TOO_LARGE"


class ActionError(SessionShotError):
    """422: the action ran and failed."""

    default_code = "ACTION_FAILED"


class SelectorTimeout(ActionError):
    """422: the selector did not appear in time."""

    default_code = "SELECTOR_TIMEOUT"


class NavigationTimeout(ActionError):
    """422: the page did not load in time."""

    default_code = "NAVIGATION_TIMEOUT"


class NavigationFailed(ActionError):
    """422: DNS, TLS, connection or HTTP >= 400 on the main document."""

    default_code = "NAVIGATION_FAILED"


class ActionFailed(ActionError):
    """422: the action itself failed (an ``evaluate`` that throws, for example)."""

    default_code = "ACTION_FAILED"


class TargetBlocked(ActionError):
    """422: the egress guard refused the target address."""

    default_code = "TARGET_BLOCKED"


class RefNotFound(ActionError):
    """422: the ref is not in the latest ``ai`` snapshot, or its element is gone."""

    default_code = "REF_NOT_FOUND"


class RateLimited(SessionShotError):
    """429 ``RATE_LIMITED`` after the client's retries; ``retry_after_s`` says when to retry."""

    default_code = "RATE_LIMITED"


class ConcurrencyLimit(RateLimited):
    """429: the workspace has its maximum of active sessions."""

    default_code = "CONCURRENCY_LIMIT"


class ServiceUnavailable(SessionShotError):
    """503 after the client's retries (Redis away, no capacity, owner unavailable)."""

    default_code = "UNAVAILABLE"


class OwnerUnavailable(ServiceUnavailable):
    """503: the instance that owns the session does not answer."""

    default_code = "OWNER_UNAVAILABLE"


class Capacity(ServiceUnavailable):
    """503: no instance has room for a new session."""

    default_code = "CAPACITY"


class InternalError(SessionShotError):
    """500: a server-side failure."""

    default_code = "INTERNAL"


class LinkExpired(SessionShotError):
    """410: a signed file link expired; read the capture again for a fresh one."""

    default_code = "LINK_EXPIRED"


class SignatureInvalid(SessionShotError):
    """403: an altered signed link."""

    default_code = "SIGNATURE_INVALID"


class CaptureFailed(SessionShotError):
    """A capture ended ``failed``; ``code`` is its error code (``SELECTOR_TIMEOUT`` ...)."""

    default_code = "CAPTURE_FAILED"


class WaitTimeout(SessionShotError):
    """A capture was not final within the client's own deadline."""

    default_code = "WAIT_TIMEOUT"


class ConnectionFailed(SessionShotError):
    """The service could not be reached (connection refused, timeout ...)."""

    default_code = "CONNECTION_FAILED"


class ConfigurationError(SessionShotError):
    """The client is missing what it needs (an API key)."""

    default_code = "CONFIGURATION"


class WebhookVerificationFailed(SessionShotError):
    """A webhook delivery's signature or timestamp did not verify."""

    default_code = "WEBHOOK_SIGNATURE_INVALID"


_BY_CODE: dict[str, type[SessionShotError]] = {
    cls.default_code: cls
    for cls in (
        ValidationFailed, Unauthenticated, DomainNotAllowed, NotFound, IdempotencyConflict,
        SessionClosed, ConnectNotEnabled, PayloadTooLarge, SelectorTimeout, NavigationTimeout,
        NavigationFailed, ActionFailed, TargetBlocked, RefNotFound, RateLimited,
        ConcurrencyLimit, OwnerUnavailable, Capacity, InternalError, LinkExpired,
        SignatureInvalid,
    )
}  # fmt: skip
_BY_STATUS: dict[int, type[SessionShotError]] = {
    400: ValidationFailed,
    401: Unauthenticated,
    403: DomainNotAllowed,
    404: NotFound,
    409: Conflict,
    410: LinkExpired,
    413: PayloadTooLarge,
    422: ActionError,
    429: RateLimited,
    500: InternalError,
    503: ServiceUnavailable,
}


def error_class(code: str, status: int = 0) -> type[SessionShotError]:
    """The exception class of an error code, else of the HTTP status, else the base."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    return _BY_STATUS.get(status, SessionShotError)


def error_from_response(
    status: int, content: bytes, retry_after_s: float | None = None
) -> SessionShotError:
    """The typed error of an error response, from either documented shape.

    ``/api/``: ``{"error": {"code", "message"}}``; ``/v1/``: ``{"success": false, "error":
    "<message>", "code", "session"?}``. A body of neither shape keeps the HTTP status.
    """
    try:
        body: Any = json.loads(content)
    except ValueError:
        body = None
    code, message, session = "", f"HTTP {status}", None
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            code = str(inner.get("code") or "")
            message = str(inner.get("message") or message)
        elif isinstance(inner, str):
            code = str(body.get("code") or "")
            message = inner
            session = _session(body.get("session"))
    cls = error_class(code, status)
    return cls(
        message,
        code=code or None,
        status=status,
        session=session,
        retry_after_s=retry_after_s,
        body=body,
    )


def _session(data: Any) -> Session | None:
    """The session of a ``/v1/`` error body, when there is a readable one."""
    if not isinstance(data, dict):
        return None
    try:
        return Session.model_validate(data)
    except ValidationError:
        return None
