"""Workspace-level resources: usage (§6), webhooks (§13), profiles and schedules (§16)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from sessionshot_client.models.base import RequestModel, ResponseModel
from sessionshot_client.models.captures import CaptureRequest, CaptureStatus
from sessionshot_client.models.sessions import Session

WebhookEventType = Literal["capture.completed", "capture.failed", "session.closed"]


class Counters(ResponseModel):
    """Closed sessions, captures among them, their duration and credits."""

    sessions: int
    captures: int
    duration_seconds: int
    credits: int


class DayUsage(Counters):
    """The counters of one UTC day."""

    date: date


class KeyUsage(Counters):
    """The counters of one API key."""

    key_id: str


class WorkspaceUsage(ResponseModel):
    """``GET /v1/usage``: the workspace's billing report over ``[from, to)``."""

    workspace_id: str
    from_: datetime = Field(alias="from")
    to: datetime
    totals: Counters
    daily: list[DayUsage]
    by_key: list[KeyUsage]


class WebhookCreate(RequestModel):
    """The body of ``POST /api/webhooks``."""

    url: str
    events: list[WebhookEventType]


class WebhookEndpoint(ResponseModel):
    """A webhook endpoint of the workspace."""

    id: str
    url: str
    events: list[str]
    created_at: datetime


class WebhookWithSecret(WebhookEndpoint):
    """An endpoint with its signing secret: only on creation and rotation."""

    secret: str


class WebhookList(ResponseModel):
    """``GET /api/webhooks``."""

    webhooks: list[WebhookEndpoint]


class WebhookDelivery(ResponseModel):
    """One delivery of an event to an endpoint."""

    id: str
    event: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    last_status_code: int | None = None
    next_attempt_at: datetime | None = None


class WebhookDeliveries(ResponseModel):
    """``GET /api/webhooks/{id}/deliveries``: the last 100."""

    deliveries: list[WebhookDelivery]


class WebhookEvent(ResponseModel):
    """A verified webhook delivery: ``data`` is the capture or the final session object."""

    type: str
    timestamp: datetime
    data: dict[str, Any]


class ProfileCreate(RequestModel):
    """The body of ``POST /v1/sessions/{id}/profile``."""

    name: str


class Profile(ResponseModel):
    """A saved login state (sealed at rest, never returned): what it covers."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    cookie_count: int
    origins: list[str]
    domains: list[str]


class ProfileList(ResponseModel):
    """``GET /api/profiles``."""

    profiles: list[Profile]


class ScheduleCreate(RequestModel):
    """The body of ``POST /api/schedules``."""

    name: str
    cron: str
    timezone: str | None = None
    capture: CaptureRequest
    paused: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The body, the capture's steps with their ``type``."""
        data = super().to_json()
        data["capture"] = self.capture.to_json()
        return data


class ScheduleUpdate(RequestModel):
    """The body of ``PATCH /api/schedules/{id}``."""

    name: str | None = None
    cron: str | None = None
    timezone: str | None = None
    paused: bool | None = None


class RecentCapture(ResponseModel):
    """A capture a schedule made."""

    id: str
    status: CaptureStatus
    created_at: datetime


class Schedule(ResponseModel):
    """A scheduled capture."""

    id: str
    name: str
    cron: str
    timezone: str
    key_id: str
    paused: bool
    paused_reason: str | None = None
    next_run_at: datetime | None = None
    last_run_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    recent_captures: list[RecentCapture] | None = None
    """Only when read one by one: its last 20 captures, newest first."""


class ScheduleList(ResponseModel):
    """``GET /api/schedules``."""

    schedules: list[Schedule]


class ApiErrorDetail(ResponseModel):
    """``{"code", "message"}`` of an ``/api/`` error."""

    code: str
    message: str


class ApiErrorBody(ResponseModel):
    """The ``/api/`` error shape: ``{"error": {"code", "message"}}``."""

    error: ApiErrorDetail


class V1ErrorBody(ResponseModel):
    """The ``/v1/`` error shape, with the session when it exists."""

    success: bool
    error: str
    code: str
    expires_in_seconds: int | None = None
    session: Session | None = None
