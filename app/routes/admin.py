"""Admin API under ``/admin`` (SPEC section 2), bearer ``SESSIONSHOT_ADMIN_TOKEN``."""

from __future__ import annotations

import hmac
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint
from quart_schema import (
    operation_id,
    security_scheme_blueprint,
    tag_blueprint,
    validate_request,
    validate_response,
)

from app.errors import NotFound, Unauthenticated
from app.middleware import bearer_token
from app.openapi import ADMIN_AUTH, api_errors, body_required
from app.schemas import Answer, Timestamp
from app.state import app_state

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
tag_blueprint(blueprint, ["admin"])
security_scheme_blueprint(blueprint, ADMIN_AUTH)

_E404 = "NOT_FOUND: no such workspace, or the admin API is off on this service."


class WorkspaceCreate(BaseModel):
    """Body of ``POST /admin/workspaces``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class KeyCreate(BaseModel):
    """Body of ``POST /admin/workspaces/{ws}/keys``."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200, description="A label for people.")


class DomainCreate(BaseModel):
    """Body of ``POST /admin/workspaces/{ws}/domains``."""

    model_config = ConfigDict(extra="forbid")
    domain: str = Field(
        min_length=1,
        max_length=253,
        description="A host name (`example.com`: exactly it) or `*.example.com` (any "
        "subdomain, not the apex); not a public suffix.",
    )


class Workspace(Answer):
    """A workspace: its API keys and allowed domains belong to it."""

    id: str = Field(pattern=r"^ws_")
    name: str
    created_at: Timestamp


class WorkspaceList(Answer):
    """Every workspace, oldest first."""

    workspaces: list[Workspace]


class NewApiKey(Answer):
    """A new API key. `key` is shown here only: it is never stored, nor shown again."""

    id: str = Field(pattern=r"^key_")
    key: str = Field(pattern=r"^ssk_", description="The full key, for Authorization: Bearer.")
    name: str | None
    workspace_id: str
    created_at: Timestamp


class ApiKey(Answer):
    """An API key, without its secret."""

    id: str = Field(pattern=r"^key_")
    name: str | None
    workspace_id: str
    created_at: Timestamp
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None


class ApiKeyList(Answer):
    """A workspace's keys, revoked ones included, oldest first."""

    keys: list[ApiKey]


class DomainAdded(Answer):
    """The allowed domain, as stored (lower case, IDNA)."""

    domain: str
    active: Literal[True]


class AllowedDomain(Answer):
    """An allowed-domain entry; a removed one has `active: false`."""

    domain: str
    active: bool
    created_at: Timestamp


class DomainList(Answer):
    """A workspace's allowed domains, removed ones included."""

    domains: list[AllowedDomain]


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
@validate_response(Workspace, 201)
@api_errors(400, 401, 404, 413, 503, e404=_E404)
@body_required
@operation_id("adminCreateWorkspace")
async def create_workspace(data: WorkspaceCreate) -> tuple[dict[str, Any], int]:
    """Create a workspace."""
    return await app_state().tenancy.create_workspace(data.name), 201


@blueprint.get("/workspaces")
@validate_response(WorkspaceList)
@api_errors(401, 404, 503, e404=_E404)
@operation_id("adminListWorkspaces")
async def list_workspaces() -> dict[str, Any]:
    """List the workspaces."""
    return {"workspaces": await app_state().tenancy.list_workspaces()}


@blueprint.post("/workspaces/<ws_id>/keys")
@validate_request(KeyCreate)
@validate_response(NewApiKey, 201)
@api_errors(400, 401, 404, 413, 503, e404=_E404)
@body_required
@operation_id("adminCreateKey")
async def create_key(ws_id: str, data: KeyCreate) -> tuple[dict[str, Any], int]:
    """Create an API key.

    The answer is the only one that ever holds the full key: keep it.
    """
    return await app_state().tenancy.create_key(ws_id, data.name), 201


@blueprint.get("/workspaces/<ws_id>/keys")
@validate_response(ApiKeyList)
@api_errors(401, 404, 503, e404=_E404)
@operation_id("adminListKeys")
async def list_keys(ws_id: str) -> dict[str, Any]:
    """List a workspace's API keys, without their secrets."""
    return {"keys": await app_state().tenancy.list_keys(ws_id)}


@blueprint.delete("/keys/<key_id>")
@validate_response(ApiKey)
@api_errors(401, 404, 503, e404="NOT_FOUND: no such key, or the admin API is off.")
@operation_id("adminRevokeKey")
async def revoke_key(key_id: str) -> dict[str, Any]:
    """Revoke an API key.

    At once, on every instance: the key answers 401 from then on. Revoking it again
    answers the same key.
    """
    return await app_state().tenancy.revoke_key(key_id)


@blueprint.post("/workspaces/<ws_id>/domains")
@validate_request(DomainCreate)
@validate_response(DomainAdded, 201)
@api_errors(400, 401, 404, 413, 503, e404=_E404)
@body_required
@operation_id("adminAddDomain")
async def add_domain(ws_id: str, data: DomainCreate) -> tuple[dict[str, Any], int]:
    """Allow a domain.

    Captures and `goto` actions of the workspace may then target it (a removed one is
    allowed again).
    """
    return await app_state().tenancy.add_domain(ws_id, data.domain), 201


@blueprint.get("/workspaces/<ws_id>/domains")
@validate_response(DomainList)
@api_errors(401, 404, 503, e404=_E404)
@operation_id("adminListDomains")
async def list_domains(ws_id: str) -> dict[str, Any]:
    """List a workspace's allowed domains, removed ones included."""
    return {"domains": await app_state().tenancy.list_domains(ws_id)}


@blueprint.delete("/workspaces/<ws_id>/domains/<domain>")
@validate_response(AllowedDomain)
@api_errors(400, 401, 404, 503, e404="NOT_FOUND: no such workspace or domain entry.")
@operation_id("adminRemoveDomain")
async def remove_domain(ws_id: str, domain: str) -> dict[str, Any]:
    """Remove an allowed domain.

    The entry stays listed with `active: false`; new captures and `goto` actions to it
    are refused.
    """
    return await app_state().tenancy.remove_domain(ws_id, domain)
