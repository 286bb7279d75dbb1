"""The HTTP edge's error tree and the one place that renders errors.

Two documented shapes: ``{"error": {"code", "message"}}`` everywhere except under ``/v1/``,
which answers ``{"success": false, "error": message, "code": code}`` (plus extra fields such
as ``session`` and ``expiresInSeconds`` where a session exists).
"""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify, request


class ApiError(Exception):
    """An error with a documented code; subclasses fix the status and code."""

    status: int = 500
    code: str = "INTERNAL"
    default_message: str = "Internal error."

    def __init__(
        self,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.message = message or self.default_message
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.message)


class ValidationFailed(ApiError):
    """The request is malformed or breaks a documented limit."""

    status, code, default_message = 400, "VALIDATION_ERROR", "Invalid request."


class Unauthenticated(ApiError):
    """Missing, malformed, unknown or revoked credentials."""

    status, code, default_message = 401, "UNAUTHENTICATED", "Missing or invalid API key."


class DomainNotAllowed(ApiError):
    """The target host is not on the workspace's active allowed domains."""

    status, code, default_message = 403, "DOMAIN_NOT_ALLOWED", "Domain is not allowed."


class NotFound(ApiError):
    """Unknown resource, or one that belongs to another key."""

    status, code, default_message = 404, "NOT_FOUND", "Not found."


class MethodNotAllowed(ApiError):
    """The path exists but not with this method."""

    status, code, default_message = 405, "METHOD_NOT_ALLOWED", "Method not allowed."


class Conflict(ApiError):
    """The request conflicts with the resource's state."""

    status, code, default_message = 409, "CONFLICT", "Conflict."


class IdempotencyConflict(Conflict):
    """An ``Idempotency-Key`` was reused with a different body."""

    code, default_message = "IDEMPOTENCY_CONFLICT", "Idempotency-Key reused with another body."


class PayloadTooLarge(ApiError):
    """The body is over ``SESSIONSHOT_MAX_BODY_BYTES``."""

    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "Request body too large."


class RateLimited(ApiError):
    """Over the key's rate limit."""

    status, code, default_message = 429, "RATE_LIMITED", "Rate limit exceeded."


class ServiceUnavailable(ApiError):
    """A backend the request needs (Redis) is away for now; the same request can succeed
    once it is back."""

    status, code, default_message = (
        503,
        "SERVICE_UNAVAILABLE",
        "The service is briefly unavailable; retry shortly.",
    )


class Internal(ApiError):
    """Anything unexpected; the message never reveals internals."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationFailed,
    401: Unauthenticated,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def for_status(status: int) -> type[ApiError]:
    """The error class used for a bare HTTP status raised by the framework."""
    return _BY_STATUS.get(status, Internal if status >= 500 else ValidationFailed)


def error_body(err: ApiError, path: str) -> dict[str, Any]:
    """``err`` in the documented shape of ``path``."""
    if path.startswith("/v1/"):
        return {"success": False, "error": err.message, "code": err.code, **err.extra}
    return {"error": {"code": err.code, "message": err.message}}


def error_response(err: ApiError) -> Response:
    """Render ``err`` in the shape of the path it answers."""
    response = jsonify(error_body(err, request.path))
    response.status_code = err.status
    response.headers.update(err.headers)
    return response
