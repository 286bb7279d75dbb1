"""What becomes a delivery: a capture reaching its final state, a live session closed and
billed, and a test on demand."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from captures.records import CaptureRecord, CaptureStatus
from captures.webhooks.endpoints import Endpoint, EndpointStore
from captures.webhooks.schedule import Delivery, Schedule
from sessions.observer import Counters
from sessions.registry import SessionRecord

log = logging.getLogger(__name__)

TEST_EVENT = "webhook.test"
_IDS = uuid.UUID("6d1f7c1e-52b1-4f7e-9a43-5d0f3b0b7a21")
"""Namespace of delivery ids: one event for one endpoint always gets the same id."""


def delivery_id(endpoint_id: str, event: str, subject: str) -> str:
    """The ``webhook-id`` of ``event`` about ``subject`` (a capture or session id) for one
    endpoint: the same whoever records it and however often."""
    return f"msg_{uuid.uuid5(_IDS, f'{endpoint_id}/{event}/{subject}').hex}"


class WebhookEvents:
    """Records one delivery per subscribed endpoint of the subject's workspace."""

    def __init__(
        self, endpoints: EndpointStore, schedule: Schedule, wake: Callable[[], None] | None = None
    ) -> None:
        self._endpoints = endpoints
        self._schedule = schedule
        self._wake = wake or (lambda: None)

    async def capture_final(self, record: CaptureRecord, status: CaptureStatus) -> None:
        """``capture.completed`` / ``capture.failed``; the capture object is read when each
        attempt is made, so its link is freshly signed."""
        event = "capture.completed" if status is CaptureStatus.COMPLETED else "capture.failed"
        ws_id = record.workspace_id
        for endpoint in await self._subscribed(ws_id, event):
            await self._schedule.add(
                ws_id, delivery_id(endpoint.id, event, record.id), endpoint.id, event, ref=record.id
            )
        self._wake()

    async def session_closed(self, record: SessionRecord) -> None:
        """``session.closed`` with the final session object (live sessions only: a capture's
        session ends in a capture event)."""
        if record.kind != "live":
            return
        event, ws_id, data = "session.closed", record.workspace_id, record.public()
        for endpoint in await self._subscribed(ws_id, event):
            await self._schedule.add(
                ws_id, delivery_id(endpoint.id, event, record.id), endpoint.id, event, data=data
            )
        self._wake()

    async def test(self, ws_id: str, endpoint: Endpoint) -> Delivery:
        """A ``webhook.test`` delivery to ``endpoint``, as recorded (not attempted yet)."""
        test_id = f"msg_{uuid.uuid4().hex}"
        data = {"endpointId": endpoint.id, "message": "A test event from SessionShot."}
        delivery = await self._schedule.add(ws_id, test_id, endpoint.id, TEST_EVENT, data=data)
        self._wake()
        return delivery

    async def _subscribed(self, ws_id: str, event: str) -> list[Endpoint]:
        return [e for e in await self._endpoints.list_for(ws_id) if event in e.events]


class SessionEvents:
    """The engine's observer: counters go on to ``counters`` (the metrics), and each live
    session closed and billed here becomes a ``session.closed`` delivery."""

    def __init__(self, counters: Counters, events: WebhookEvents) -> None:
        self._counters = counters
        self._events = events

    def session_started(self, kind: str) -> None:
        """Counted."""
        self._counters.session_started(kind)

    def session_closed(self, kind: str, credits: int) -> None:
        """Counted."""
        self._counters.session_closed(kind, credits)

    def action_done(self, action: str, seconds: float) -> None:
        """Counted."""
        self._counters.action_done(action, seconds)

    def request_routed(self) -> None:
        """Counted."""
        self._counters.request_routed()

    async def session_final(self, record: SessionRecord) -> None:
        """Deliveries of ``session.closed``. The session is closed and billed already: a
        failure to record them is logged, never the close's failure."""
        try:
            await self._events.session_closed(record)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.error(
                "webhook events not recorded",
                extra={"sessionId": record.id, "errorType": type(err).__name__},
            )
