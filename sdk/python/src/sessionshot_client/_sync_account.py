"""The synchronous client's workspace resources: usage, webhooks, profiles, schedules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sessionshot_client import _endpoints as api
from sessionshot_client.models import (
    CaptureRequest,
    Profile,
    ProfileList,
    Schedule,
    ScheduleCreate,
    ScheduleList,
    ScheduleUpdate,
    WebhookCreate,
    WebhookDeliveries,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
    WebhookList,
    WebhookWithSecret,
    WorkspaceUsage,
)
from sessionshot_client.models.base import given

if TYPE_CHECKING:
    from sessionshot_client._sync import SessionShot

When = date | datetime | str


class Usage:
    """The workspace's billing report (§6)."""

    def __init__(self, client: SessionShot) -> None:
        self._client = client

    def get(self, start: When, end: When) -> WorkspaceUsage:
        """Credits, sessions and captures over ``[start, end)`` (UTC, ``end`` exclusive)."""
        return self._client.send(api.usage(start, end))

    def csv(self, start: When, end: When) -> str:
        """The same range as CSV, one row per closed session."""
        return self._client.send(api.usage_csv(start, end))


class Webhooks:
    """The workspace's webhook endpoints (verify deliveries with ``verify_webhook``)."""

    def __init__(self, client: SessionShot) -> None:
        self._client = client

    def create(self, url: str, *, events: Sequence[WebhookEventType]) -> WebhookWithSecret:
        """Add an endpoint; its ``secret`` is only in this answer."""
        request = WebhookCreate(url=url, events=list(events))
        return self._client.send(api.create_webhook(request))

    def list(self) -> WebhookList:
        """Every endpoint of the workspace."""
        return self._client.send(api.list_webhooks())

    def delete(self, webhook_id: str) -> WebhookEndpoint:
        """Remove an endpoint."""
        return self._client.send(api.delete_webhook(webhook_id))

    def rotate(self, webhook_id: str) -> WebhookWithSecret:
        """A new secret (the old one still signs for 24 h)."""
        return self._client.send(api.rotate_webhook(webhook_id))

    def deliveries(self, webhook_id: str) -> WebhookDeliveries:
        """The endpoint's last 100 deliveries."""
        return self._client.send(api.webhook_deliveries(webhook_id))

    def test(self, webhook_id: str) -> WebhookDelivery:
        """Send a ``webhook.test`` event."""
        return self._client.send(api.test_webhook(webhook_id))


class Profiles:
    """Saved login states of the workspace (save one with ``session.save_profile``)."""

    def __init__(self, client: SessionShot) -> None:
        self._client = client

    def list(self) -> ProfileList:
        """Every profile of the workspace."""
        return self._client.send(api.list_profiles())

    def get(self, profile_id: str) -> Profile:
        """One profile."""
        return self._client.send(api.get_profile(profile_id))

    def delete(self, profile_id: str) -> Profile:
        """Delete a profile; its sealed state is erased."""
        return self._client.send(api.delete_profile(profile_id))


class Schedules:
    """Scheduled captures of the workspace."""

    def __init__(self, client: SessionShot) -> None:
        self._client = client

    def create(
        self,
        name: str,
        *,
        cron: str,
        capture: CaptureRequest | Mapping[str, Any],
        timezone: str | None = None,
        paused: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Schedule:
        """Capture ``capture`` (a ``POST /api/captures`` body) at every ``cron`` time."""
        fields = given(name=name, cron=cron, capture=capture, timezone=timezone, paused=paused)
        request = ScheduleCreate.model_validate(fields)
        return self._client.send(api.create_schedule(request, idempotency_key))

    def list(self) -> ScheduleList:
        """Every schedule of the workspace."""
        return self._client.send(api.list_schedules())

    def get(self, schedule_id: str) -> Schedule:
        """One schedule, with its ``recent_captures``."""
        return self._client.send(api.get_schedule(schedule_id))

    def update(
        self,
        schedule_id: str,
        *,
        name: str | None = None,
        cron: str | None = None,
        timezone: str | None = None,
        paused: bool | None = None,
    ) -> Schedule:
        """Change a schedule (pause or resume it with ``paused``)."""
        fields = given(name=name, cron=cron, timezone=timezone, paused=paused)
        return self._client.send(api.update_schedule(schedule_id, ScheduleUpdate(**fields)))

    def delete(self, schedule_id: str) -> Schedule:
        """Delete a schedule."""
        return self._client.send(api.delete_schedule(schedule_id))
