"""Admin API under ``/admin`` (SPEC section 2), bearer ``SESSIONSHOT_ADMIN_TOKEN``."""

from __future__ import annotations

import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint
from quart_schema import validate_request

from app.errors import NotFound, Unauthenticated
from app.middleware import bearer_token
from app.state import app_state

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


class WorkspaceCreate(BaseModel):
    """Body of ``POST /admin/workspaces``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class KeyCreate(BaseModel):
    """Body of ``POST /admin/workspaces/{ws}/keys``."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)


class DomainCreate(BaseModel):
    """Body of ``POST /admin/workspaces/{ws}/domains``."""

    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=1, max_length=253)


@blueprint.before_request
async def _require_admin() -> None:
    configured = app_state().settings.admin_token
    if configured is None:
        raise NotFound()
    token = bearer_token()
    expected = configured.get_secret_value().encode()
    if token is None or not hmac.compare_digest(token.encode(), expected):
        raise Unauthenticated("Missing or invalid admin token.")


@blueprint.post("/workspaces")
@validate_request(WorkspaceCreate)
async def create_workspace(data: WorkspaceCreate) -> tuple[dict[str, Any], int]:
    """Create a workspace."""
    return await app_state().tenancy.create_workspace(data.name), 201


@blueprint.get("/workspaces")
async def list_workspaces() -> dict[str, Any]:
    """List workspaces."""
    return {"workspaces": await app_state().tenancy.list_workspaces()}


@blueprint.post("/workspaces/<ws_id>/keys")
@validate_request(KeyCreate)
async def create_key(ws_id: str, data: KeyCreate) -> tuple[dict[str, Any], int]:
    """Create an API key; the only response that ever holds the full key."""
    return await app_state().tenancy.create_key(ws_id, data.name), 201


@blueprint.get("/workspaces/<ws_id>/keys")
async def list_keys(ws_id: str) -> dict[str, Any]:
    """List a workspace's keys, without secrets."""
    return {"keys": await app_state().tenancy.list_keys(ws_id)}


@blueprint.delete("/keys/<key_id>")
async def revoke_key(key_id: str) -> dict[str, Any]:
    """Revoke a key (idempotent)."""
    return await app_state().tenancy.revoke_key(key_id)


@blueprint.post("/workspaces/<ws_id>/domains")
@validate_request(DomainCreate)
async def add_domain(ws_id: str, data: DomainCreate) -> tuple[dict[str, Any], int]:
    """Add an allowed domain."""
    return await app_state().tenancy.add_domain(ws_id, data.domain), 201


@blueprint.get("/workspaces/<ws_id>/domains")
async def list_domains(ws_id: str) -> dict[str, Any]:
    """List allowed domains, removed ones included."""
    return {"domains": await app_state().tenancy.list_domains(ws_id)}


@blueprint.delete("/workspaces/<ws_id>/domains/<domain>")
async def remove_domain(ws_id: str, domain: str) -> dict[str, Any]:
    """Deactivate an allowed domain."""
    return await app_state().tenancy.remove_domain(ws_id, domain)
