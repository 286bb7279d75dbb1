"""The Python client's pure parts: typed errors from both error shapes, retry decisions,
request bodies as the API spells them."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import pytest
from sessionshot_client import (
    ConcurrencyLimit,
    Conflict,
    DomainNotAllowed,
    NotFound,
    RateLimited,
    SelectorTimeout,
    ServiceUnavailable,
    SessionClosed,
    SessionShotError,
    ValidationFailed,
)
from sessionshot_client._core import Config, retry_after_s, retry_delay
from sessionshot_client._endpoints import capture_request, run_action
from sessionshot_client.errors import error_from_response
from sessionshot_client.models import ClickPayload, ClickStep, Cookie, Output

CONFIG = Config("http://127.0.0.1:1", "ssk_x", 5.0, max_retries=2, max_retry_delay_s=10.0)


def _body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_api_shape_maps_to_its_class() -> None:
    body = _body({"error": {"code": "DOMAIN_NOT_ALLOWED", "message": "not allowed"}})
    error = error_from_response(403, body)
    assert isinstance(error, DomainNotAllowed)
    assert (error.code, error.status, error.message) == ("DOMAIN_NOT_ALLOWED", 403, "not allowed")
    assert str(error) == "DOMAIN_NOT_ALLOWED: not allowed"


def test_v1_shape_keeps_the_session() -> None:
    session = {
        "id": "sess_1", "status": "closed", "closeReason": "closed", "kind": "live",
        "createdAt": "2026-07-02T10:15:00.000Z", "startedAt": "2026-07-02T10:15:00.000Z",
        "expiresAt": "2026-07-02T10:20:00.000Z", "closedAt": "2026-07-02T10:16:00.000Z",
        "durationSeconds": 60, "billedCredits": 1, "actionCount": 0,
        "actionSuccessCount": 0, "actionErrorCount": 0, "actionBreakdown": {},
        "options": {"maxTtlSeconds": 300, "idleTimeoutSeconds": None, "proxy": False,
                    "bypassBotDetection": False},
        "currentUrl": None,
    }  # fmt: skip
    body = {"success": False, "error": "closed", "code": "SESSION_CLOSED", "session": session}
    error = error_from_response(409, _body(body))
    assert isinstance(error, SessionClosed) and isinstance(error, Conflict)
    assert error.session is not None and error.session.billed_credits == 1


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "VALIDATION_ERROR", ValidationFailed),
        (404, "NOT_FOUND", NotFound),
        (422, "SELECTOR_TIMEOUT", SelectorTimeout),
        (429, "CONCURRENCY_LIMIT", ConcurrencyLimit),
        (503, "SOMETHING_NEW", ServiceUnavailable),
        (418, "", SessionShotError),
    ],
)
def test_unknown_codes_fall_back_to_the_status(
    status: int, code: str, cls: type[SessionShotError]
) -> None:
    error = error_from_response(status, _body({"error": {"code": code, "message": "m"}}))
    assert type(error) is cls and error.status == status


def test_a_body_of_no_known_shape_still_raises_by_status() -> None:
    error = error_from_response(429, b"<html>busy</html>", retry_after_s=3)
    assert isinstance(error, RateLimited) and error.retry_after_s == 3
    assert error.code == "RATE_LIMITED"


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_s({"Retry-After": "7"}) == 7
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after_s({"Retry-After": later}) or 0) <= 31
    assert retry_after_s({}) is None
    assert retry_after_s({"Retry-After": "soon"}) is None


def test_only_429_and_503_are_retried_a_bounded_number_of_times() -> None:
    limited = httpx.Response(429, headers={"Retry-After": "3"})
    assert retry_delay(limited, 0, CONFIG) == 3
    assert retry_delay(limited, 1, CONFIG) == 3
    assert retry_delay(limited, 2, CONFIG) is None, "max_retries reached"
    assert retry_delay(httpx.Response(429, headers={"Retry-After": "600"}), 0, CONFIG) == 10
    backoff = retry_delay(httpx.Response(503), 1, CONFIG)
    assert backoff is not None and 1 <= backoff <= 1.25
    for status in (200, 400, 409, 500, 502):
        assert retry_delay(httpx.Response(status), 0, CONFIG) is None


def test_bodies_use_the_api_names_and_only_given_fields() -> None:
    request = capture_request(
        url="https://app.test/",
        output=Output(full_page=True),
        auth={"cookies": [Cookie(name="s", value="v", domain="app.test", http_only=True)]},
        actions=[ClickStep(selector="#b"), {"type": "wait", "ms": 10}],
        redaction=None,
    )
    assert request.to_json() == {
        "url": "https://app.test/",
        "output": {"fullPage": True},
        "auth": {"cookies": [{"name": "s", "value": "v", "domain": "app.test", "httpOnly": True}]},
        "actions": [{"type": "click", "selector": "#b"}, {"type": "wait", "ms": 10}],
    }
    call = run_action("sess_1/../x", "click", ClickPayload(ref="e12", click_count=2))
    assert call.body == {"type": "click", "payload": {"ref": "e12", "clickCount": 2}}
    assert call.path == "/v1/sessions/sess_1%2F..%2Fx/actions"


def test_the_key_is_not_in_the_config_repr() -> None:
    assert "ssk_x" not in repr(CONFIG)
