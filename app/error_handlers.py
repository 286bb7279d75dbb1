"""Maps every exception to the documented error shapes, by class, in one place."""

from __future__ import annotations

import logging

from pydantic import ValidationError
from quart import Quart, Response
from quart_schema import RequestSchemaValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from app.errors import (
    ApiError,
    Internal,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    error_response,
    for_status,
)
from app.tenancy import DomainNotListed, KeyNotFound, TenancyError, WorkspaceNotFound
from sessions import errors as session_errors
from sessions.domains import InvalidDomain
from sessions.registry import SessionRecord
from sessions.timefmt import now_ms
from sessions.usage import BadRange

log = logging.getLogger("sessionshot.errors")


def describe_validation(err: ValidationError) -> str:
    """A short, safe description of pydantic errors: locations and messages, never input."""
    parts = []
    for item in err.errors(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{loc}: {item['msg']}")
    return "; ".join(parts) or "Invalid request."


# Domain errors of the other packages, by class (most specific first in the MRO walk).
_DOMAIN_ERRORS: dict[type[Exception], tuple[type[ApiError], str | None]] = {
    WorkspaceNotFound: (NotFound, "Workspace not found."),
    KeyNotFound: (NotFound, "API key not found."),
    DomainNotListed: (NotFound, "Domain not found."),
    TenancyError: (NotFound, None),
    InvalidDomain: (ValidationFailed, None),
    BadRange: (ValidationFailed, None),
    # A JSON body that is not UTF-8 fails while it is decoded, before any validation.
    UnicodeDecodeError: (ValidationFailed, "Malformed request body."),
    # Redis away (down, restarting, still loading its data: BusyLoadingError is one of
    # these): retryable, not a server fault.
    RedisConnectionError: (ServiceUnavailable, None),
    RedisTimeoutError: (ServiceUnavailable, None),
}


def to_api_error(err: Exception) -> ApiError | None:
    """The documented error for a domain exception, or None when it has no mapping."""
    if isinstance(err, ApiError):
        return err
    for cls in type(err).__mro__:
        mapped = _DOMAIN_ERRORS.get(cls)
        if mapped is not None:
            api_cls, message = mapped
            if api_cls is ServiceUnavailable:  # its own words would name internals
                return ServiceUnavailable(headers={"Retry-After": "1"})
            return api_cls(message or str(err) or None)
    return None


# HTTP status of each engine error class; the code comes from the class itself.
_SESSION_STATUS: dict[type[session_errors.SessionError], int] = {
    session_errors.InvalidRequest: 400,
    session_errors.SessionNotFound: 404,
    session_errors.SessionClosed: 409,
    session_errors.DomainRefused: 403,
    session_errors.ConcurrencyLimited: 429,
    session_errors.CapacityExceeded: 503,
    session_errors.OwnerUnavailable: 503,
    session_errors.ActionError: 422,
    session_errors.BrowserUnavailable: 503,
}


def session_api_error(err: session_errors.SessionError) -> ApiError:
    """The documented error for an engine exception, with the session where it exists."""
    status = next((_SESSION_STATUS[c] for c in type(err).__mro__ if c in _SESSION_STATUS), 500)
    message = err.message if status < 500 or err.code != "INTERNAL" else None
    mapped = ApiError(message, status=status, code=err.code)
    record = err.context.get("record")
    if isinstance(record, SessionRecord):
        closed = isinstance(err, session_errors.SessionClosed)
        expires = 0 if closed else err.context.get("expires_in", record.expires_in(now_ms()))
        mapped.extra = {"expiresInSeconds": expires, "session": record.public()}
        mapped.headers = {"X-Session-Owner": record.owner}
    return mapped


def _schema_error(err: RequestSchemaValidationError) -> ApiError:
    cause = err.validation_error
    if isinstance(cause, ValidationError):
        return ValidationFailed(describe_validation(cause))
    return ValidationFailed("Request body must be a JSON object.")


def _http_error(err: HTTPException) -> ApiError:
    status = err.code or 500
    if status >= 500:
        return Internal()
    messages = {400: "Malformed request body.", 404: "Not found."}
    allow = getattr(err, "valid_methods", None)
    headers = {"Allow": ", ".join(sorted(allow))} if allow else None
    return for_status(status)(messages.get(status), headers=headers)


def api_error_of(err: Exception) -> ApiError:
    """The documented error for any exception a request can end with (unexpected ones are
    logged, by type only, and answered as INTERNAL)."""
    if isinstance(err, session_errors.SessionError):
        return session_api_error(err)
    if isinstance(err, RequestSchemaValidationError):
        return _schema_error(err)
    if isinstance(err, ValidationError):
        return ValidationFailed(describe_validation(err))
    if isinstance(err, HTTPException):
        return _http_error(err)
    mapped = to_api_error(err)
    if mapped is not None:
        return mapped
    log.error("unhandled error", extra={"errorType": type(err).__name__})
    return Internal()


async def _render(err: Exception) -> Response:
    return error_response(api_error_of(err))


def install(app: Quart) -> None:
    """Register the handlers on ``app``."""
    handled: tuple[type[Exception], ...] = (
        ApiError,
        session_errors.SessionError,
        *_DOMAIN_ERRORS,
        RequestSchemaValidationError,
        ValidationError,
        HTTPException,
        Exception,
    )
    for cls in handled:
        app.register_error_handler(cls, _render)
