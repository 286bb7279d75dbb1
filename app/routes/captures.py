"""One-shot captures API under ``/api/captures`` (SPEC section 3)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, request
from quart_schema import (
    document_response,
    operation_id,
    security_scheme_blueprint,
    tag_blueprint,
    validate_querystring,
    validate_request,
)

from app.errors import DomainNotAllowed, NotFound
from app.idempotency import idempotent
from app.middleware import principal
from app.openapi import API_KEY_AUTH, api_errors, body_required, idempotent_route
from app.responses import json_response
from app.schemas import Capture, CaptureAccepted
from app.state import app_state
from captures.models import CaptureRequest
from sessions.domains import host_matches

blueprint = Blueprint("captures", __name__, url_prefix="/api/captures")
tag_blueprint(blueprint, ["captures"])
security_scheme_blueprint(blueprint, API_KEY_AUTH)


class StatusQuery(BaseModel):
    """Query of ``GET /api/captures/{id}``."""

    model_config = ConfigDict(extra="forbid")
    wait: int = Field(
        default=0,
        ge=0,
        le=30,
        description="Seconds to wait for a final status before answering (long poll).",
    )


@blueprint.post("")
@validate_request(CaptureRequest)
@document_response(CaptureAccepted, 202)
@api_errors(400, 401, 403, 409, 413, 429, 503)
@body_required
@idempotent_route
@operation_id("createCapture")
async def create_capture(data: CaptureRequest) -> Response:
    """Queue a capture.

    A worker opens the page in a real browser with the given cookies, localStorage and
    headers in place, runs the actions, masks the redacted elements, renders the file and
    stores it privately. Checks run in this order: key (401), body size (413), body (400),
    target host allowed (403, nothing queued).
    """
    state = app_state()
    caller = principal()
    host = urlsplit(data.url).hostname or ""
    if not host_matches(host, await state.tenancy.active_domains(caller.workspace_id)):
        raise DomainNotAllowed(
            f"{host} is not on this workspace's allowed domains; an administrator can add it."
        )
    body = await request.get_json()

    async def run() -> tuple[dict[str, Any], int]:
        return await state.captures.submit(caller.key_id, caller.workspace_id, data), 202

    out, status = await idempotent(state.redis, state.keys, caller.key_id, "captures", body, run)
    return json_response(out, status)


@blueprint.get("/<capture_id>")
@validate_querystring(StatusQuery)
@document_response(Capture)
@api_errors(400, 401, 404, 429, 503)
@operation_id("getCapture")
async def get_capture(capture_id: str, query_args: StatusQuery) -> Response:
    """Read a capture.

    Its status (`queued`, `processing`, `completed` or `failed`) and, once completed, a
    freshly signed link to the file. With `?wait=N` the answer comes as soon as the status
    is final, or after N seconds.
    """
    captures = app_state().captures
    record = await captures.read(capture_id, principal().key_id, query_args.wait)
    if record is None:
        raise NotFound("Capture not found.")
    return json_response(await captures.public(record))
