"""Every exception a request can end with becomes a documented status, code and body.

SPEC section 3 (``/api`` and ``/admin``: ``{"error": {"code", "message"}}``) and section 4
(``/v1``: ``{"success": false, "error", "code"}`` plus the session where one exists). The
mapping is pure: exceptions in, :class:`~app.errors.ApiError` out, no request needed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError
from quart_schema import RequestSchemaValidationError
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug import exceptions as http

from app.error_handlers import api_error_of, to_api_error
from app.errors import (
    ApiError,
    IdempotencyConflict,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
    error_body,
    for_status,
)
from app.tenancy import DomainNotListed, KeyNotFound, TenancyError, WorkspaceNotFound
from sessions import errors as session_errors
from sessions.domains import InvalidDomain
from sessions.registry import SessionRecord
from sessions.timefmt import now_ms
from sessions.usage import BadRange

REDIS_ADDRESS = "Error 111 connecting to 127.0.0.1:6379. Connection refused."


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    count: int


def _validation_error(data: Any) -> ValidationError:
    try:
        _Body.model_validate(data)
    except ValidationError as err:
        return err
    raise AssertionError(f"{data!r} validated")


def _record(status: str = "active", expires_at_ms: int | None = None) -> SessionRecord:
    now = now_ms()
    return SessionRecord(
        {
            "id": "sess_0f8fad5b-d9cb-469f-a165-70867728950e",
            "status": status,
            "keyId": "key_abc",
            "workspaceId": "ws_abc",
            "owner": "api-7",
            "createdAt": str(now - 5000),
            "startedAt": str(now - 5000),
            "expiresAt": str(now + 3_600_000 if expires_at_ms is None else expires_at_ms),
            "options": json.dumps({"maxTtlSeconds": 3600}),
        }
    )


def _shape(err: ApiError) -> tuple[int, str, str]:
    return err.status, err.code, err.message


# --------------------------------------------------------------------------- the two shapes


def test_v1_paths_answer_the_sessions_shape_with_extra_fields() -> None:
    err = ApiError(
        "Session is closed.", status=409, code="SESSION_CLOSED", extra={"expiresInSeconds": 0}
    )
    assert error_body(err, "/v1/sessions/sess_x/actions") == {
        "success": False,
        "error": "Session is closed.",
        "code": "SESSION_CLOSED",
        "expiresInSeconds": 0,
    }


@pytest.mark.parametrize(
    "path", ["/api/captures", "/admin/workspaces", "/healthz", "/", "/v1", "/v10/x", "/api/v1/x"]
)
def test_every_other_path_answers_the_api_shape_without_extras(path: str) -> None:
    err = NotFound(extra={"session": {"id": "sess_x"}})
    assert error_body(err, path) == {"error": {"code": "NOT_FOUND", "message": "Not found."}}


# --------------------------------------------------------------------------- framework errors


@pytest.mark.parametrize(
    ("raised", "status", "code", "message"),
    [
        (http.BadRequest(), 400, "VALIDATION_ERROR", "Malformed request body."),
        (http.Unauthorized(), 401, "UNAUTHENTICATED", "Missing or invalid API key."),
        (http.NotFound(), 404, "NOT_FOUND", "Not found."),
        (http.RequestEntityTooLarge(), 413, "PAYLOAD_TOO_LARGE", "Request body too large."),
        # Any other client error is still a documented 400, never a 500.
        (http.UnsupportedMediaType(), 400, "VALIDATION_ERROR", "Invalid request."),
        (http.RequestTimeout(), 400, "VALIDATION_ERROR", "Invalid request."),
        (http.InternalServerError(), 500, "INTERNAL", "Internal error."),
        (http.BadGateway(), 500, "INTERNAL", "Internal error."),
    ],
)
def test_framework_errors_map_to_documented_codes(
    raised: http.HTTPException, status: int, code: str, message: str
) -> None:
    assert _shape(api_error_of(raised)) == (status, code, message)


def test_a_wrong_method_is_405_naming_the_allowed_ones_in_order() -> None:
    mapped = api_error_of(http.MethodNotAllowed(valid_methods=["POST", "GET", "DELETE"]))
    assert _shape(mapped) == (405, "METHOD_NOT_ALLOWED", "Method not allowed.")
    assert mapped.headers == {"Allow": "DELETE, GET, POST"}


def test_for_status_covers_the_statuses_the_framework_raises() -> None:
    assert [for_status(s).code for s in (400, 401, 404, 405, 413)] == [
        "VALIDATION_ERROR",
        "UNAUTHENTICATED",
        "NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "PAYLOAD_TOO_LARGE",
    ]
    assert for_status(418).code == "VALIDATION_ERROR"
    assert for_status(503).code == for_status(500).code == "INTERNAL"


# --------------------------------------------------------------------------- validation


def test_validation_errors_name_locations_and_never_echo_the_input() -> None:
    err = _validation_error({"name": "hunter2-password", "count": "hunter2-count", "x": 1})
    mapped = api_error_of(err)
    assert (mapped.status, mapped.code) == (400, "VALIDATION_ERROR")
    assert "count:" in mapped.message and "x:" in mapped.message
    assert "hunter2" not in mapped.message


def test_validation_messages_stop_at_five_problems() -> None:
    err = _validation_error({f"extra{n}": n for n in range(8)})
    assert len(err.errors()) == 10  # two missing fields and eight unknown ones
    assert api_error_of(err).message.count("; ") == 4


def test_a_body_that_is_not_an_object_is_400_from_the_schema_layer() -> None:
    wrapped = RequestSchemaValidationError(_validation_error(["name", "count"]))
    assert _shape(api_error_of(wrapped))[:2] == (400, "VALIDATION_ERROR")
    assert api_error_of(wrapped).message.startswith("body:")
    not_a_model = RequestSchemaValidationError(TypeError("list is not a mapping"))
    assert _shape(api_error_of(not_a_model)) == (
        400,
        "VALIDATION_ERROR",
        "Request body must be a JSON object.",
    )


# --------------------------------------------------------------------------- domain errors


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (WorkspaceNotFound("ws_x"), "Workspace not found."),
        (KeyNotFound("key_x"), "API key not found."),
        (DomainNotListed("a.test"), "Domain not found."),
        (TenancyError("no such thing"), "no such thing"),
        (TenancyError(), "Not found."),
    ],
)
def test_tenancy_errors_are_404(raised: Exception, message: str) -> None:
    assert _shape(api_error_of(raised)) == (404, "NOT_FOUND", message)


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        (InvalidDomain("'*.com' covers a public suffix"), "'*.com' covers a public suffix"),
        (BadRange("from must be before to"), "from must be before to"),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            "Malformed request body.",
        ),
    ],
)
def test_bad_input_from_other_packages_is_400_with_its_message(
    raised: Exception, message: str
) -> None:
    assert _shape(api_error_of(raised)) == (400, "VALIDATION_ERROR", message)


def test_a_subclass_maps_as_its_closest_mapped_parent() -> None:
    class EmptyLabel(InvalidDomain):
        pass

    assert _shape(api_error_of(EmptyLabel("empty label"))) == (
        400,
        "VALIDATION_ERROR",
        "empty label",
    )


@pytest.mark.parametrize(
    "raised",
    [
        RedisConnectionError(REDIS_ADDRESS),
        RedisTimeoutError("Timeout reading from 127.0.0.1:6379"),
        BusyLoadingError("Redis is loading the dataset in memory"),
    ],
)
def test_redis_away_is_a_retryable_503_that_names_nothing(raised: Exception) -> None:
    mapped = api_error_of(raised)
    assert (mapped.status, mapped.code) == (503, "SERVICE_UNAVAILABLE")
    assert mapped.headers == {"Retry-After": "1"}
    for leak in ("redis", "127.0.0.1", "6379", "loading", "connect"):
        assert leak not in mapped.message.lower()


def test_api_errors_pass_through_unchanged() -> None:
    raised = RateLimited(headers={"Retry-After": "7"})
    assert to_api_error(raised) is raised
    assert api_error_of(raised) is raised
    conflict = IdempotencyConflict()
    assert _shape(api_error_of(conflict)) == (
        409,
        "IDEMPOTENCY_CONFLICT",
        "Idempotency-Key reused with another body.",
    )


def test_to_api_error_leaves_unmapped_exceptions_to_the_caller() -> None:
    assert to_api_error(ValueError("x")) is None
    assert to_api_error(KeyError("x")) is None


def test_anything_unexpected_is_500_and_logged_by_type_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="sessionshot.errors"):
        mapped = api_error_of(KeyError("sk_live_secret_value"))
    assert _shape(mapped) == (500, "INTERNAL", "Internal error.")
    (logged,) = caplog.records
    assert getattr(logged, "errorType", None) == "KeyError"
    assert "sk_live_secret_value" not in caplog.text


# --------------------------------------------------------------------------- engine errors


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (session_errors.InvalidRequest(), 400, "VALIDATION_ERROR"),
        (session_errors.DomainRefused(), 403, "DOMAIN_NOT_ALLOWED"),
        (session_errors.SessionNotFound(), 404, "NOT_FOUND"),
        (session_errors.SessionClosed(), 409, "SESSION_CLOSED"),
        (session_errors.ActionError(), 422, "ACTION_FAILED"),
        (session_errors.SelectorTimeout(), 422, "SELECTOR_TIMEOUT"),
        (session_errors.NavigationTimeout(), 422, "NAVIGATION_TIMEOUT"),
        (session_errors.NavigationFailed(), 422, "NAVIGATION_FAILED"),
        (session_errors.TargetBlocked(), 422, "TARGET_BLOCKED"),
        (session_errors.LeftAllowedDomains(), 422, "DOMAIN_NOT_ALLOWED"),
        (session_errors.PageCrashed(), 422, "PAGE_CRASHED"),
        (session_errors.RenderFailed(), 422, "RENDER_FAILED"),
        (session_errors.RefNotFound(), 422, "REF_NOT_FOUND"),
        (session_errors.ConcurrencyLimited(), 429, "CONCURRENCY_LIMIT"),
        (session_errors.CapacityExceeded(), 503, "CAPACITY"),
        (session_errors.OwnerUnavailable(), 503, "OWNER_UNAVAILABLE"),
        (session_errors.BrowserUnavailable(), 503, "INTERNAL"),
        (session_errors.SessionError(), 500, "INTERNAL"),
    ],
)
def test_engine_errors_map_to_their_status_and_code(
    raised: session_errors.SessionError, status: int, code: str
) -> None:
    mapped = api_error_of(raised)
    assert (mapped.status, mapped.code) == (status, code)
    assert (mapped.extra, mapped.headers) == ({}, {})


def test_engine_messages_reach_the_caller_except_internal_ones() -> None:
    refused = session_errors.SelectorTimeout("Timed out waiting for #missing to be visible.")
    assert api_error_of(refused).message == "Timed out waiting for #missing to be visible."
    owner = session_errors.OwnerUnavailable("The owner did not answer within 10 s.")
    assert api_error_of(owner).message == "The owner did not answer within 10 s."
    for internal in (
        session_errors.BrowserUnavailable("chromium pid 4242 exited with signal 9"),
        session_errors.SessionError("KeyError: 'sess:abc' in /work/sessions/engine.py"),
    ):
        assert api_error_of(internal).message == "Internal error."


def test_an_error_about_a_session_carries_it_and_its_owner() -> None:
    record = _record()
    mapped = api_error_of(session_errors.SelectorTimeout(record=record, expires_in=42))
    assert mapped.extra == {"expiresInSeconds": 42, "session": record.public()}
    assert mapped.headers == {"X-Session-Owner": "api-7"}
    assert error_body(mapped, "/v1/sessions/x/actions")["session"]["id"] == record.id


def test_without_a_given_lifetime_the_record_says_how_long_is_left() -> None:
    mapped = api_error_of(session_errors.SelectorTimeout(record=_record()))
    assert 3590 <= mapped.extra["expiresInSeconds"] <= 3600
    past = _record(expires_at_ms=now_ms() - 60_000)
    assert api_error_of(session_errors.SessionNotFound(record=past)).extra["expiresInSeconds"] == 0


def test_a_closed_session_has_no_time_left_whatever_the_context_says() -> None:
    record = _record(status="closed")
    mapped = api_error_of(session_errors.SessionClosed(record=record, expires_in=99))
    assert mapped.status == 409
    assert mapped.extra["expiresInSeconds"] == 0
    assert mapped.extra["session"]["status"] == "closed"


def test_an_error_without_a_record_adds_nothing_whatever_else_it_says() -> None:
    mapped = api_error_of(session_errors.SessionClosed(expires_in=99, owner="api-7"))
    assert (mapped.extra, mapped.headers) == ({}, {})


def test_validation_failed_and_service_unavailable_keep_their_defaults() -> None:
    assert _shape(ValidationFailed()) == (400, "VALIDATION_ERROR", "Invalid request.")
    assert _shape(ServiceUnavailable()) == (
        503,
        "SERVICE_UNAVAILABLE",
        "The service is briefly unavailable; retry shortly.",
    )
