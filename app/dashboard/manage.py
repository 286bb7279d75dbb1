"""The pages that change the workspace: API keys, allowed domains, webhook endpoints.

Each change goes through the service the API and the admin API use (tenancy, webhook
endpoints), with the same validation. A new key's or endpoint's secret is shown in the
answer to the form that made it, and never again.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from quart import Response, current_app, request

from app.dashboard.web import blueprint, form_field, page, problem, signed_in, signin, to
from app.error_handlers import describe_validation
from app.routes.webhooks import WEBHOOKS_KEY
from app.state import app_state
from app.tenancy import TenancyError
from captures.webhooks.endpoints import EVENTS, EndpointRequest, TooManyEndpoints
from captures.webhooks.keys import MAX_ENDPOINTS
from captures.webhooks.service import Webhooks
from sessions.domains import InvalidDomain

MAX_KEY_NAME = 100
DELIVERIES_SHOWN = 10
_NOTICES = {
    "revoked": "Key revoked: requests with it now get 401.",
    "removed": "Domain removed.",
    "added": "Domain added.",
    "deleted": "Webhook endpoint deleted.",
}


def _notice() -> str:
    return _NOTICES.get(request.args.get("done", ""), "")


# API keys ----------------------------------------------------------------------------------


async def _keys_page(status: int = 200, **extra: Any) -> Response:
    keys = await app_state().tenancy.list_keys(signin().workspace_id)
    keys.reverse()  # newest first
    return await page("keys.html", status, keys=keys, notice=_notice(), nav="keys", **extra)


@blueprint.get("/keys")
@signed_in
async def keys_page() -> Response:
    """The workspace's keys (ids, labels, dates; never a secret)."""
    return await _keys_page()


@blueprint.post("/keys")
@signed_in
async def create_key() -> Response:
    """Create a key and show it this once."""
    name = (await form_field("name")).strip()
    if len(name) > MAX_KEY_NAME:
        return await _keys_page(400, error=f"A label has at most {MAX_KEY_NAME} characters.")
    created = await app_state().tenancy.create_key(signin().workspace_id, name or None)
    return await _keys_page(201, created=created)


@blueprint.post("/keys/<key_id>/revoke")
@signed_in
async def revoke_key(key_id: str) -> Response:
    """Revoke a key of the workspace at once (the dashboard's own key too: that signs out)."""
    state = app_state()
    ids = {key["id"] for key in await state.tenancy.list_keys(signin().workspace_id)}
    if key_id not in ids:
        return await problem(404, "Key not found", "This workspace has no key with that id.")
    await state.tenancy.revoke_key(key_id)
    return to("/dashboard/keys?done=revoked")


# Allowed domains ---------------------------------------------------------------------------


async def _domains_page(status: int = 200, **extra: Any) -> Response:
    domains = await app_state().tenancy.list_domains(signin().workspace_id)
    domains.sort(key=lambda d: (not d["active"], d["domain"]))
    return await page(
        "domains.html", status, domains=domains, notice=_notice(), nav="domains", **extra
    )


@blueprint.get("/domains")
@signed_in
async def domains_page() -> Response:
    """The allowed domains, active first."""
    return await _domains_page()


@blueprint.post("/domains")
@signed_in
async def add_domain() -> Response:
    """Allow a domain (validated as the admin API validates it)."""
    domain = await form_field("domain")
    try:
        await app_state().tenancy.add_domain(signin().workspace_id, domain)
    except InvalidDomain as err:
        return await _domains_page(400, error=str(err), typed=domain[:300])
    return to("/dashboard/domains?done=added")


@blueprint.post("/domains/remove")
@signed_in
async def remove_domain() -> Response:
    """Stop allowing a domain (the entry stays listed as removed)."""
    domain = await form_field("domain")
    try:
        await app_state().tenancy.remove_domain(signin().workspace_id, domain)
    except (InvalidDomain, TenancyError):
        return await _domains_page(404, error="That domain is not on this workspace's list.")
    return to("/dashboard/domains?done=removed")


# Webhooks ----------------------------------------------------------------------------------


def _webhooks() -> Webhooks:
    hooks: Webhooks = current_app.extensions[WEBHOOKS_KEY]
    return hooks


async def _webhooks_page(status: int = 200, **extra: Any) -> Response:
    hooks = _webhooks()
    ws_id = signin().workspace_id
    endpoints = []
    for endpoint in await hooks.endpoints.list_for(ws_id):
        deliveries = (await hooks.log.latest(ws_id, endpoint.id))[:DELIVERIES_SHOWN]
        endpoints.append({**endpoint.public(), "deliveries": deliveries})
    return await page(
        "webhooks.html",
        status,
        endpoints=endpoints,
        events=EVENTS,
        notice=_notice(),
        nav="webhooks",
        **extra,
    )


@blueprint.get("/webhooks")
@signed_in
async def webhooks_page() -> Response:
    """Webhook endpoints and their latest deliveries."""
    return await _webhooks_page()


@blueprint.post("/webhooks")
@signed_in
async def create_webhook() -> Response:
    """Add an endpoint and show its signing secret this once."""
    url = await form_field("url")
    events = (await request.form).getlist("events")
    try:
        wanted = EndpointRequest.model_validate({"url": url, "events": events})
        endpoint = await _webhooks().endpoints.create(signin().workspace_id, wanted)
    except ValidationError as err:
        return await _webhooks_page(400, error=describe_validation(err), typed=url[:2048])
    except TooManyEndpoints:
        error = f"A workspace has at most {MAX_ENDPOINTS} webhook endpoints; delete one first."
        return await _webhooks_page(400, error=error)
    return await _webhooks_page(201, created=endpoint.public(with_secret=True))


@blueprint.post("/webhooks/<webhook_id>/delete")
@signed_in
async def delete_webhook(webhook_id: str) -> Response:
    """Delete an endpoint; its pending deliveries are dropped."""
    removed = None
    if webhook_id.startswith("wh_") and len(webhook_id) <= 64:
        removed = await _webhooks().endpoints.delete(signin().workspace_id, webhook_id)
    if removed is None:
        return await problem(404, "Endpoint not found", "This workspace has no such endpoint.")
    return to("/dashboard/webhooks?done=deleted")
