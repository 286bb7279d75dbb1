"""Signed webhooks (SPEC section 13): endpoints per workspace, events, at-least-once delivery.

:mod:`.endpoints` keeps the endpoints and their secrets, :mod:`.schedule` the deliveries
and their Redis schedule, :mod:`.events` turns capture and session endings into deliveries,
:mod:`.sender` signs and posts one attempt through the egress guard, and
:mod:`.deliverer` is the loop that claims due deliveries and runs them.
"""

from captures.webhooks.endpoints import EVENTS, Endpoint, EndpointStore, TooManyEndpoints
from captures.webhooks.events import SessionEvents, WebhookEvents
from captures.webhooks.keys import WebhookKeys
from captures.webhooks.schedule import DeliveryLog, Schedule, parse_backoff
from captures.webhooks.service import Webhooks, event_recorder, open_webhooks

__all__ = [
    "EVENTS",
    "DeliveryLog",
    "Endpoint",
    "EndpointStore",
    "Schedule",
    "SessionEvents",
    "TooManyEndpoints",
    "WebhookEvents",
    "WebhookKeys",
    "Webhooks",
    "event_recorder",
    "open_webhooks",
    "parse_backoff",
]
