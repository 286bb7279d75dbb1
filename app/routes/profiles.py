"""Profiles (SPEC section 16): save a session's logged-in state once, use it many times.

``POST /v1/sessions/{id}/profile`` saves; ``/api/profiles`` lists, reads and deletes. Any key
of the workspace uses and manages its profiles.
"""

from __future__ import annotations

from pydantic import Field
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
from app.openapi import API_KEY_AUTH, api_errors, body_required, v1_errors
from app.responses import json_response
from app.schemas import Profile, ProfileList
from app.state import session_service
from sessions.models import AuthState, Strict
from sessions.profiles import MAX_PROFILES, ProfileVault, TooManyProfiles

PROFILES_KEY = "sessionshot.profiles"
"""Where the lifespan keeps the app's :class:`~sessions.profiles.ProfileVault`."""

blueprint = Blueprint("profiles", __name__)
tag_blueprint(blueprint, ["sessions"])
security_scheme_blueprint(blueprint, API_KEY_AUTH)


class ProfileRequest(Strict):
    """Body of ``POST /v1/sessions/{id}/profile``."""

    name: str = Field(min_length=1, max_length=200, description="A name to know it by.")


def profiles() -> ProfileVault:
    """The profiles of the app handling the current request."""
    vault: ProfileVault = current_app.extensions[PROFILES_KEY]
    return vault


@blueprint.post("/v1/sessions/<session_id>/profile")
@validate_request(ProfileRequest)
@document_response(Profile, 201)
@v1_errors(400, 401, 404, 409, 413, 429, 503)
@body_required
@operation_id("saveProfile")
async def save_profile(session_id: str, data: ProfileRequest) -> Response:
    """Save the session's state as a profile.

    The session's cookies and the localStorage of the origins it visited are sealed
    (AES-256-GCM) and stored; they are never returned. Pass the profile's id as
    `auth.profile` to a capture, a schedule's capture or a new session to start logged in.
    """
    caller = principal()
    try:
        body = await session_service().save_profile(caller.key_id, session_id, data.name)
    except TooManyProfiles:
        raise ValidationFailed(
            f"A workspace has at most {MAX_PROFILES} profiles; delete one first."
        ) from None
    return json_response(body, 201)


@blueprint.get("/api/profiles")
@document_response(ProfileList)
@api_errors(401, 429, 503)
@operation_id("listProfiles")
async def list_profiles() -> Response:
    """List the workspace's profiles (never their cookies or localStorage)."""
    return json_response({"profiles": await profiles().list_for(principal().workspace_id)})


@blueprint.get("/api/profiles/<profile_id>")
@document_response(Profile)
@api_errors(401, 404, 429, 503)
@operation_id("getProfile")
async def get_profile(profile_id: str) -> Response:
    """Read a profile: its name, times, cookie count, cookie domains and origins."""
    found = await profiles().get(principal().workspace_id, profile_id)
    if found is None:
        raise NotFound("Profile not found.")
    return json_response(found)


@blueprint.delete("/api/profiles/<profile_id>")
@document_response(Profile)
@api_errors(401, 404, 429, 503)
@operation_id("deleteProfile")
async def delete_profile(profile_id: str) -> Response:
    """Delete a profile: its sealed state is erased. Captures and sessions naming it are
    refused from then on; a session writing back to it (`persistProfile`) writes nothing."""
    workspace_id = principal().workspace_id
    found = await profiles().get(workspace_id, profile_id)
    if found is None or not await profiles().delete(workspace_id, profile_id):
        raise NotFound("Profile not found.")
    return json_response(found)


async def profile_refusal(workspace_id: str, auth: AuthState | None, field: str) -> str | None:
    """Why a capture's ``auth.profile`` is refused (it is not one of the workspace's
    profiles: deleted, unknown or another workspace's), or None when it is fine."""
    profile = auth.profile if auth is not None else None
    if profile is None or await profiles().exists(workspace_id, profile):
        return None
    return f"{field}: no such profile in this workspace."
