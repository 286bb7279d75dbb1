"""Everything about webhooks one process needs, built in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from captures.service import CaptureService
from captures.webhooks.deliverer import Deliverer
from captures.webhooks.endpoints import EndpointStore
from captures.webhooks.events import WebhookEvents
from captures.webhooks.keys import WebhookKeys
from captures.webhooks.schedule import DeliveryLog, Schedule
from sessions.crypto import PayloadBox
from sessions.egress import EgressPolicy
from sessions.redis_types import RedisClient


@dataclass(frozen=True)
class Webhooks:
    """Endpoints, the delivery log, the event recorder and this process's delivery loop."""

    endpoints: EndpointStore
    log: DeliveryLog
    events: WebhookEvents
    deliverer: Deliverer


def open_webhooks(
    redis: RedisClient,
    prefix: str,
    box: PayloadBox,
    captures: CaptureService,
    egress: EgressPolicy,
    *,
    verify_tls: bool,
    backoff_s: Sequence[float],
) -> Webhooks:
    """Webhooks on ``redis``; deliveries go through an egress guard with ``egress``."""
    keys = WebhookKeys(prefix)
    endpoints = EndpointStore(redis, keys, box)
    schedule = Schedule(redis, keys, backoff_s)
    deliverer = Deliverer(schedule, endpoints, captures, egress, verify_tls)
    events = WebhookEvents(endpoints, schedule, deliverer.wake)
    return Webhooks(endpoints, DeliveryLog(redis, keys), events, deliverer)


def event_recorder(
    redis: RedisClient, prefix: str, box: PayloadBox, backoff_s: Sequence[float]
) -> WebhookEvents:
    """Only the recording side (for a capture service's final-state hook)."""
    keys = WebhookKeys(prefix)
    return WebhookEvents(EndpointStore(redis, keys, box), Schedule(redis, keys, backoff_s))
