"""The asynchronous client's workspace resources: usage, webhooks, profiles, schedules."""

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
    from sessionshot_client._async import AsyncSessionShot

When = date | datetime | str


class AsyncUsage:
    """The workspace's billing report (§6)."""

    def __init__(self, client: AsyncSessionShot) -> None:
        self._client = client

    async def get(self, start: When, end: When) -> WorkspaceUsage:
        """Credits, sessions and captures over ``[start, end)`` (UTC, ``end`` exclusive)."""
        return await self._client.send(api.usage(start, end))

    async def csv(self, start: When, end: When) -> str:
        """The same range as CSV, one row per closed session."""
        return await self._client.send(api.usage_csv(start, end))


class AsyncWebhooks:
    """The workspace's webhook endpoints (verify deliveries with ``verify_webhook``)."""

    def __init__(self, client: AsyncSessionShot) -> None:
        self._client = client

    async def create(self, url: str, *, events: Sequence[WebhookEventType]) -> WebhookWithSecret:
        """Add an endpoint; its ``secret`` is only in this answer."""
        request = WebhookCreate(url=url, events=list(events))
        return await self._client.send(api.create_webhook(request))

    async def list(self) -> WebhookList:
        """Every endpoint of the workspace."""
        return await self._client.send(api.list_webhooks())

    async def delete(self, webhook_id: str) -> WebhookEndpoint:
        """Remove an endpoint."""
        return await self._client.send(api.delete_webhook(webhook_id))

    async def rotate(self, webhook_id: str) -> WebhookWithSecret:
        """A new secret (the old one still signs for 24 h)."""
        return await self._client.send(api.rotate_webhook(webhook_id))

    async def deliveries(self, webhook_id: str) -> WebhookDeliveries:
        """The endpoint's last 100 deliveries."""
        return await self._client.send(api.webhook_deliveries(webhook_id))

    async def test(self, webhook_id: str) -> WebhookDelivery:
        """Send a ``webhook.test`` event."""
        return await self._client.send(api.test_webhook(webhook_id))


class AsyncProfiles:
    """Saved login states of the workspace (save one with ``session.save_profile``)."""

    def __init__(self, client: AsyncSessionShot) -> None:
        self._client = client

    async def list(self) -> ProfileList:
        """Every profile of the workspace."""
        return await self._client.send(api.list_profiles())

    async def get(self, profile_id: str) -> Profile:
        """One profile."""
        return await self._client.send(api.get_profile(profile_id))

    async def delete(self, profile_id: str) -> Profile:
        """Delete a profile; its sealed state is erased."""
        return await self._client.send(api.delete_profile(profile_id))


class AsyncSchedules:
    """Scheduled captures of the workspace."""

    def __init__(self, client: AsyncSessionShot) -> None:
        self._client = client

    async def create(
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
        return await self._client.send(api.create_schedule(request, idempotency_key))

    async def list(self) -> ScheduleList:
        """Every schedule of the workspace."""
        return await self._client.send(api.list_schedules())

    async def get(self, schedule_id: str) -> Schedule:
        """One schedule, with its ``recent_captures``."""
        return await self._client.send(api.get_schedule(schedule_id))

    async def update(
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
        return await self._client.send(api.update_schedule(schedule_id, ScheduleUpdate(**fields)))

    async def delete(self, schedule_id: str) -> Schedule:
        """Delete a schedule."""
        return await self._client.send(api.delete_schedule(schedule_id))
