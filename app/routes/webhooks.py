"""Signed webhooks under ``/api/webhooks`` (SPEC section 13): any key of the workspace
manages its endpoints."""

from __future__ import annotations

from quart import Blueprint, Response, current_app
from quart_schema import (
    document_response,
    operation_id,
    security_scheme_blueprint,
    tag_blueprint,
    validate_request,
)

from app.errors import NotFound, ValidationFailed
from app.middleware import principal
from app.openapi import API_KEY_AUTH, api_errors, body_required
from app.responses import json_response
from app.schemas import (
    WebhookDeliveries,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookList,
    WebhookWithSecret,
)
from captures.webhooks.endpoints import Endpoint, EndpointRequest, TooManyEndpoints
from captures.webhooks.keys import MAX_ENDPOINTS
from captures.webhooks.service import Webhooks

WEBHOOKS_KEY = "sessionshot.webhooks"
"""Where the lifespan keeps the app's :class:`~captures.webhooks.Webhooks`."""

blueprint = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")
tag_blueprint(blueprint, ["captures"])
security_scheme_blueprint(blueprint, API_KEY_AUTH)


def _webhooks() -> Webhooks:
    hooks: Webhooks = current_app.extensions[WEBHOOKS_KEY]
    return hooks


async def _endpoint(webhook_id: str) -> Endpoint:
    endpoint = None
    if webhook_id.startswith("wh_"):
        endpoint = await _webhooks().endpoints.get(principal().workspace_id, webhook_id)
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


@blueprint.post("")
@validate_request(EndpointRequest)
@document_response(WebhookWithSecret, 201)
@api_errors(400, 401, 413, 429, 503)
@body_required
@operation_id("createWebhook")
async def create_webhook(data: EndpointRequest) -> Response:
    """Add a webhook endpoint.

    Deliveries follow the Standard Webhooks specification: a signed `POST` of
    `{"type", "timestamp", "data"}` for each subscribed event, retried with backoff until a
    2xx answer (7 attempts in all). The signing `secret` is in this answer only.
    """
    try:
        endpoint = await _webhooks().endpoints.create(principal().workspace_id, data)
    except TooManyEndpoints:
        raise ValidationFailed(
            f"A workspace has at most {MAX_ENDPOINTS} webhook endpoints; delete one first."
        ) from None
    return json_response(endpoint.public(with_secret=True), 201)


@blueprint.get("")
@document_response(WebhookList)
@api_errors(401, 429, 503)
@operation_id("listWebhooks")
async def list_webhooks() -> Response:
    """List the workspace's webhook endpoints (without their secrets)."""
    endpoints = await _webhooks().endpoints.list_for(principal().workspace_id)
    return json_response({"webhooks": [e.public() for e in endpoints]})


@blueprint.delete("/<webhook_id>")
@document_response(WebhookEndpoint)
@api_errors(401, 404, 429, 503)
@operation_id("deleteWebhook")
async def delete_webhook(webhook_id: str) -> Response:
    """Delete a webhook endpoint; deliveries still pending to it are dropped."""
    endpoint = await _endpoint(webhook_id)
    removed = await _webhooks().endpoints.delete(principal().workspace_id, endpoint.id)
    if removed is None:
        raise NotFound("Webhook endpoint not found.")
    return json_response(removed.public())


@blueprint.post("/<webhook_id>/rotate")
@document_response(WebhookWithSecret)
@api_errors(401, 404, 429, 503)
@operation_id("rotateWebhookSecret")
async def rotate_webhook_secret(webhook_id: str) -> Response:
    """Give the endpoint a new signing secret.

    For 24 hours the previous secret signs too: `webhook-signature` holds both signatures,
    so receivers can switch without losing a delivery.
    """
    endpoint = await _endpoint(webhook_id)
    rotated = await _webhooks().endpoints.rotate(principal().workspace_id, endpoint.id)
    if rotated is None:
        raise NotFound("Webhook endpoint not found.")
    return json_response(rotated.public(with_secret=True))


@blueprint.get("/<webhook_id>/deliveries")
@document_response(WebhookDeliveries)
@api_errors(401, 404, 429, 503)
@operation_id("listWebhookDeliveries")
async def list_webhook_deliveries(webhook_id: str) -> Response:
    """The endpoint's last 100 deliveries, newest first."""
    endpoint = await _endpoint(webhook_id)
    deliveries = await _webhooks().log.latest(principal().workspace_id, endpoint.id)
    return json_response({"deliveries": deliveries})


@blueprint.post("/<webhook_id>/test")
@document_response(WebhookDelivery, 202)
@api_errors(401, 404, 429, 503)
@operation_id("testWebhook")
async def test_webhook(webhook_id: str) -> Response:
    """Send a `webhook.test` event to the endpoint (delivered and retried like any other)."""
    endpoint = await _endpoint(webhook_id)
    delivery = await _webhooks().events.test(principal().workspace_id, endpoint)
    return json_response(delivery.public(), 202)
