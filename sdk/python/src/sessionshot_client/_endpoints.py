"""Every endpoint of the API as a :class:`Call`: path, body and answer model, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from sessionshot_client._core import Call, empty_call, model_call, path_id, text_call
from sessionshot_client.errors import CaptureFailed, SessionShotError, error_class
from sessionshot_client.models import (
    ActionResult,
    Capture,
    CaptureAccepted,
    CaptureBatch,
    CaptureBatchAccepted,
    CaptureList,
    CaptureRequest,
    LiveLink,
    LiveRequest,
    Profile,
    ProfileCreate,
    ProfileList,
    Schedule,
    ScheduleCreate,
    ScheduleList,
    ScheduleUpdate,
    ScopedToken,
    Session,
    SessionCreate,
    SessionList,
    TokenRequest,
    WebhookCreate,
    WebhookDeliveries,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookList,
    WebhookWithSecret,
    WorkspaceUsage,
)
from sessionshot_client.models.base import given

MAX_WAIT_S = 30
"""The longest long-poll the API takes (``?wait=N``, 0-30)."""


def _page(**values: Any) -> dict[str, str]:
    return {name: str(value) for name, value in given(**values).items()}


# Captures (§3, §13)


def create_capture(request: CaptureRequest, idempotency_key: str | None) -> Call[CaptureAccepted]:
    """``POST /api/captures``."""
    return model_call(
        "POST",
        "/api/captures",
        CaptureAccepted,
        body=request,
        create=True,
        idempotency_key=idempotency_key,
    )


def create_batch(batch: CaptureBatch, idempotency_key: str | None) -> Call[CaptureBatchAccepted]:
    """``POST /api/captures/batch``."""
    return model_call(
        "POST",
        "/api/captures/batch",
        CaptureBatchAccepted,
        body=batch,
        create=True,
        idempotency_key=idempotency_key,
    )


def get_capture(capture_id: str, wait_s: int | None = None) -> Call[Capture]:
    """``GET /api/captures/{id}[?wait=N]``; the read timeout grows by the wait."""
    params = {"wait": str(wait_s)} if wait_s else None
    return model_call(
        "GET",
        f"/api/captures/{path_id(capture_id)}",
        Capture,
        params=params,
        extra_timeout_s=float(wait_s or 0),
    )


def list_captures(status: str | None, limit: int | None, cursor: str | None) -> Call[CaptureList]:
    """``GET /api/captures``."""
    params = _page(status=status, limit=limit, cursor=cursor)
    return model_call("GET", "/api/captures", CaptureList, params=params)


# Sessions (§4, §12, §16)


def create_session(options: SessionCreate, idempotency_key: str | None) -> Call[Session]:
    """``POST /v1/sessions``."""
    return model_call(
        "POST",
        "/v1/sessions",
        Session,
        body=options,
        create=True,
        idempotency_key=idempotency_key,
    )


def get_session(session_id: str) -> Call[Session]:
    """``GET /v1/sessions/{id}``."""
    return model_call("GET", f"/v1/sessions/{path_id(session_id)}", Session)


def list_sessions(status: str | None, limit: int | None, cursor: str | None) -> Call[SessionList]:
    """``GET /v1/sessions``."""
    params = _page(status=status, limit=limit, cursor=cursor)
    return model_call("GET", "/v1/sessions", SessionList, params=params)


def close_session(session_id: str) -> Call[Session]:
    """``DELETE /v1/sessions/{id}`` (idempotent)."""
    return model_call("DELETE", f"/v1/sessions/{path_id(session_id)}", Session)


def run_action(session_id: str, type_: str, payload: BaseModel | None) -> Call[ActionResult]:
    """``POST /v1/sessions/{id}/actions``."""
    body: dict[str, Any] = {"type": type_}
    if payload is not None:
        to_json = getattr(payload, "to_json", None)
        body["payload"] = to_json() if callable(to_json) else payload.model_dump(by_alias=True)
    return model_call(
        "POST", f"/v1/sessions/{path_id(session_id)}/actions", ActionResult, body=body
    )


def create_live_link(session_id: str, request: LiveRequest) -> Call[LiveLink]:
    """``POST /v1/sessions/{id}/live``."""
    return model_call("POST", f"/v1/sessions/{path_id(session_id)}/live", LiveLink, body=request)


def revoke_live_links(session_id: str) -> Call[None]:
    """``DELETE /v1/sessions/{id}/live``."""
    return empty_call("DELETE", f"/v1/sessions/{path_id(session_id)}/live")


def create_token(session_id: str, request: TokenRequest) -> Call[ScopedToken]:
    """``POST /v1/sessions/{id}/tokens``."""
    path = f"/v1/sessions/{path_id(session_id)}/tokens"
    return model_call("POST", path, ScopedToken, body=request)


def save_profile(session_id: str, request: ProfileCreate) -> Call[Profile]:
    """``POST /v1/sessions/{id}/profile``."""
    return model_call("POST", f"/v1/sessions/{path_id(session_id)}/profile", Profile, body=request)


# Usage (§6)


def _when(value: date | datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def usage(start: date | datetime | str, end: date | datetime | str) -> Call[WorkspaceUsage]:
    """``GET /v1/usage?from=&to=``."""
    params = {"from": _when(start), "to": _when(end)}
    return model_call("GET", "/v1/usage", WorkspaceUsage, params=params)


def usage_csv(start: date | datetime | str, end: date | datetime | str) -> Call[str]:
    """``GET /v1/usage?from=&to=&format=csv``."""
    return text_call("/v1/usage", {"from": _when(start), "to": _when(end), "format": "csv"})


# Webhooks (§13)


def create_webhook(request: WebhookCreate) -> Call[WebhookWithSecret]:
    """``POST /api/webhooks``."""
    return model_call("POST", "/api/webhooks", WebhookWithSecret, body=request)


def list_webhooks() -> Call[WebhookList]:
    """``GET /api/webhooks``."""
    return model_call("GET", "/api/webhooks", WebhookList)


def delete_webhook(webhook_id: str) -> Call[WebhookEndpoint]:
    """``DELETE /api/webhooks/{id}``."""
    return model_call("DELETE", f"/api/webhooks/{path_id(webhook_id)}", WebhookEndpoint)


def rotate_webhook(webhook_id: str) -> Call[WebhookWithSecret]:
    """``POST /api/webhooks/{id}/rotate``."""
    path = f"/api/webhooks/{path_id(webhook_id)}/rotate"
    return model_call("POST", path, WebhookWithSecret)


def webhook_deliveries(webhook_id: str) -> Call[WebhookDeliveries]:
    """``GET /api/webhooks/{id}/deliveries``."""
    path = f"/api/webhooks/{path_id(webhook_id)}/deliveries"
    return model_call("GET", path, WebhookDeliveries)


def test_webhook(webhook_id: str) -> Call[WebhookDelivery]:
    """``POST /api/webhooks/{id}/test``."""
    return model_call("POST", f"/api/webhooks/{path_id(webhook_id)}/test", WebhookDelivery)


# Profiles and schedules (§16)


def list_profiles() -> Call[ProfileList]:
    """``GET /api/profiles``."""
    return model_call("GET", "/api/profiles", ProfileList)


def get_profile(profile_id: str) -> Call[Profile]:
    """``GET /api/profiles/{id}``."""
    return model_call("GET", f"/api/profiles/{path_id(profile_id)}", Profile)


def delete_profile(profile_id: str) -> Call[Profile]:
    """``DELETE /api/profiles/{id}``."""
    return model_call("DELETE", f"/api/profiles/{path_id(profile_id)}", Profile)


def create_schedule(request: ScheduleCreate, idempotency_key: str | None) -> Call[Schedule]:
    """``POST /api/schedules``."""
    return model_call(
        "POST",
        "/api/schedules",
        Schedule,
        body=request,
        create=True,
        idempotency_key=idempotency_key,
    )


def list_schedules() -> Call[ScheduleList]:
    """``GET /api/schedules``."""
    return model_call("GET", "/api/schedules", ScheduleList)


def get_schedule(schedule_id: str) -> Call[Schedule]:
    """``GET /api/schedules/{id}`` (with ``recent_captures``)."""
    return model_call("GET", f"/api/schedules/{path_id(schedule_id)}", Schedule)


def update_schedule(schedule_id: str, update: ScheduleUpdate) -> Call[Schedule]:
    """``PATCH /api/schedules/{id}``."""
    path = f"/api/schedules/{path_id(schedule_id)}"
    return model_call("PATCH", path, Schedule, body=update)


def delete_schedule(schedule_id: str) -> Call[Schedule]:
    """``DELETE /api/schedules/{id}``."""
    return model_call("DELETE", f"/api/schedules/{path_id(schedule_id)}", Schedule)


def capture_request(**fields: Any) -> CaptureRequest:
    """A capture body from keyword arguments (models or plain dicts; ``None`` = not given)."""
    return CaptureRequest.model_validate(given(**fields))


def session_options(**fields: Any) -> SessionCreate:
    """Session options from keyword arguments (models or plain dicts; ``None`` = not given)."""
    return SessionCreate.model_validate(given(**fields))


def file_url(base_url: str, url: str) -> str:
    """A signed link as an absolute URL (links are absolute; a relative one is the API's)."""
    return base_url + url if url.startswith("/") else url


def body_of(item: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    """A (partial) request body as JSON data."""
    if isinstance(item, BaseModel):
        to_json = getattr(item, "to_json", None)
        data: dict[str, Any] = to_json() if callable(to_json) else item.model_dump(by_alias=True)
        return data
    return dict(item)


def file_link(capture: Capture) -> str:
    """The signed link of a completed capture; a failed one raises its typed error."""
    if capture.status == "failed" and capture.error is not None:
        cls = error_class(capture.error.code)
        if cls is SessionShotError:
            cls = CaptureFailed
        raise cls(capture.error.message, code=capture.error.code)
    if capture.result is None:
        raise CaptureFailed(f"capture {capture.id} is still {capture.status}", code="NOT_READY")
    return capture.result.url
