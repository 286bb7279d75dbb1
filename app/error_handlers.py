"""Maps every exception to the documented error shapes, by class, in one place.

One table gives each error class its answer; an exception takes the entry of the first
class of its MRO that has one (so a new subclass answers as its closest listed parent).
The errors of this service's packages (one tree each: ``sessions.errors.SessionError``,
``captures.errors.CaptureError``, ``storage.StorageError``, ``app.tenancy.TenancyError``)
bring their own code and message, and the table gives their HTTP status; the framework's
and the libraries' errors get a function that builds the answer. Anything else is
``INTERNAL`` with a fixed message, and only its type is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response
from quart_schema import RequestSchemaValidationError
from redis.exceptions import (
    ClusterDownError,
    RedisClusterUnreachableError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from app.errors import (
    ApiError,
    Internal,
    ServiceUnavailable,
    ValidationFailed,
    error_response,
    for_status,
)
from app.tenancy import TenancyError
from captures.errors import CaptureError
from sessions.errors import (
    ActionError,
    BrowserUnavailable,
    CapacityExceeded,
    ConcurrencyLimited,
    DomainRefused,
    InvalidRequest,
    OwnerUnavailable,
    SessionClosed,
    SessionError,
    SessionNotFound,
)
from sessions.timefmt import now_ms
from storage import FileNotFound, LinkExpired, SignatureInvalid, StorageError

log = logging.getLogger("sessionshot.errors")

TREES = (SessionError, CaptureError, StorageError, TenancyError)
"""The bases of this service's exception trees: their errors carry ``code`` and ``message``."""

TreeError = SessionError | CaptureError | StorageError | TenancyError

Rule = int | Callable[[Any], ApiError]
"""An HTTP status (for an error of the trees), or what builds the answer (for the rest)."""


def describe_validation(err: ValidationError) -> str:
    """A short, safe description of pydantic errors: locations and messages, never input."""
    parts = []
    for item in err.errors(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{loc}: {item['msg']}")
    return "; ".join(parts) or "Invalid request."


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


def _redis_away(_: Exception) -> ApiError:
    # Retryable, not a server fault; its own words would name internals.
    return ServiceUnavailable(headers={"Retry-After": "1"})


RULES: dict[type[Exception], Rule] = {
    # The edge's own errors are already answers.
    ApiError: lambda err: err,
    # The sessions engine; a forwarded error has the status of its kind (sessions/router.py),
    # so every class of one kind must have the same status here.
    SessionError: 500,
    InvalidRequest: 400,  # InvalidDomain, BadRange too
    DomainRefused: 403,
    SessionNotFound: 404,
    SessionClosed: 409,
    ActionError: 422,
    ConcurrencyLimited: 429,
    CapacityExceeded: 503,
    OwnerUnavailable: 503,
    BrowserUnavailable: 503,
    # Captures: only faults reach a request (a failed capture is a record, not an answer).
    CaptureError: 500,
    # Storage: signed file links.
    StorageError: 500,
    SignatureInvalid: 403,
    FileNotFound: 404,
    LinkExpired: 410,
    # Tenancy: an administrator named something that does not exist.
    TenancyError: 404,
    # The framework and the libraries.
    RequestSchemaValidationError: _schema_error,
    ValidationError: lambda err: ValidationFailed(describe_validation(err)),
    HTTPException: _http_error,
    # A JSON body that is not UTF-8 fails while it is decoded, before any validation.
    UnicodeDecodeError: lambda _: ValidationFailed("Malformed request body."),
    # Redis away (down, restarting, still loading its data: BusyLoadingError is one of these).
    RedisConnectionError: _redis_away,
    RedisTimeoutError: _redis_away,
    # A Redis Cluster missing a primary, moving a slot, or with none of its nodes answering.
    ClusterDownError: _redis_away,
    TryAgainError: _redis_away,
    SlotNotCoveredError: _redis_away,
    RedisClusterUnreachableError: _redis_away,
}


def _rule_of(cls: type[Exception]) -> Rule | None:
    return next((RULES[c] for c in cls.__mro__ if c in RULES), None)


def _tree_error(err: TreeError, status: int) -> ApiError:
    """The answer to an error of the trees: its code, its message unless it is INTERNAL (an
    internal message may name internals), and the session it is about where there is one."""
    message = None if err.code == Internal.code else err.message
    mapped = ApiError(message, status=status, code=err.code)
    if isinstance(err, SessionError) and err.record is not None:
        record = err.record
        if isinstance(err, SessionClosed):
            expires = 0
        elif err.expires_in is not None:
            expires = err.expires_in
        else:
            expires = record.expires_in(now_ms())
        mapped.extra = {"expiresInSeconds": expires, "session": record.public()}
        mapped.headers = {"X-Session-Owner": record.owner}
    return mapped


def to_api_error(err: Exception) -> ApiError | None:
    """The documented error for ``err``, or None when no rule covers it."""
    rule = _rule_of(type(err))
    if isinstance(rule, int):
        return _tree_error(err, rule) if isinstance(err, TREES) else None
    return None if rule is None else rule(err)


def api_error_of(err: Exception) -> ApiError:
    """The documented error for any exception a request can end with (unexpected ones, and
    faults of our own, are logged by type only; unexpected ones are answered as INTERNAL)."""
    mapped = to_api_error(err)
    if mapped is None or (mapped.status == 500 and not isinstance(err, ApiError)):
        log.error("unhandled error", extra={"errorType": type(err).__name__})
    return Internal() if mapped is None else mapped


async def _render(err: Exception) -> Response:
    return error_response(api_error_of(err))


def install(app: Quart) -> None:
    """Register the handlers on ``app``."""
    for cls in (*RULES, Exception):
        app.register_error_handler(cls, _render)
