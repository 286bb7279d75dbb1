"""One-shot captures API under ``/api/captures`` (SPEC section 3)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from quart import Blueprint, Response, request
from quart_schema import (
    document_response,
    operation_id,
    security_scheme_blueprint,
    tag_blueprint,
    validate_querystring,
    validate_request,
)

from app.error_handlers import describe_validation
from app.errors import DomainNotAllowed, NotFound, ValidationFailed
from app.idempotency import idempotent
from app.middleware import principal
from app.openapi import API_KEY_AUTH, api_errors, body_required, idempotent_route
from app.responses import json_response
from app.routes.profiles import profile_refusal
from app.schemas import Capture, CaptureAccepted, CaptureBatchAccepted, CaptureList
from app.state import AppState, app_state
from app.tenancy import Principal
from captures.batch import CaptureBatch, item_request
from captures.models import CaptureRequest
from captures.records import CaptureStatus
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


class ListQuery(BaseModel):
    """Query of ``GET /api/captures``."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["queued", "processing", "completed", "failed"] | None = Field(
        default=None, description="Only captures in this state (default: all)."
    )
    limit: int = Field(default=20, ge=1, le=100, description="Most captures on the page.")
    cursor: str | None = Field(
        default=None,
        max_length=1024,
        description="The `nextCursor` of the previous page; none for the first page.",
    )


def _not_allowed(host: str) -> str:
    return f"{host} is not on this workspace's allowed domains; an administrator can add it."


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
        raise DomainNotAllowed(_not_allowed(host))
    refusal = await profile_refusal(caller.workspace_id, data.auth, "auth.profile")
    if refusal is not None:
        raise ValidationFailed(refusal)
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


@blueprint.get("")
@validate_querystring(ListQuery)
@document_response(CaptureList)
@api_errors(400, 401, 429, 503)
@operation_id("listCaptures")
async def list_captures(query_args: ListQuery) -> Response:
    """List your captures.

    The captures of the calling key, newest first, a page at a time: pass `nextCursor` back
    as `cursor` until it is null. Captures created while you page come before the first
    page, so the pages still to come hold neither repeats nor gaps. Each capture reads as
    `GET /api/captures/{id}` answers it, but without a signed link: read one for its link.
    """
    status = CaptureStatus(query_args.status) if query_args.status else None
    captures, next_cursor = await app_state().captures.list(
        principal().key_id, status, query_args.limit, query_args.cursor
    )
    return json_response({"captures": captures, "nextCursor": next_cursor})


@blueprint.post("/batch")
@validate_request(CaptureBatch)
@document_response(CaptureBatchAccepted, 202)
@api_errors(400, 401, 409, 413, 429, 503)
@body_required
@idempotent_route
@operation_id("createCaptureBatch")
async def create_capture_batch(data: CaptureBatch) -> Response:
    """Queue up to 100 captures.

    Each item is `defaults` deep-merged with the item (objects merge key by key; any other
    value of the item replaces the default's) and is checked as one capture of `POST
    /api/captures`. An invalid item or one whose host is not allowed is answered with its
    `error` (VALIDATION_ERROR or DOMAIN_NOT_ALLOWED) and queues nothing; the others are
    queued. The answer lists one result per item, in order. A malformed envelope (not an
    object, `captures` not an array or over 100 items, `defaults` not an object, another
    field) is a 400 for the whole batch.
    """
    state = app_state()
    caller = principal()
    domains = await state.tenancy.active_domains(caller.workspace_id)
    body = await request.get_json()

    async def run() -> tuple[dict[str, Any], int]:
        items = [await _batch_item(state, caller, data, item, domains) for item in data.captures]
        return {"captures": items}, 202

    out, status = await idempotent(
        state.redis, state.keys, caller.key_id, "captures-batch", body, run
    )
    return json_response(out, status)


async def _batch_item(
    state: AppState, caller: Principal, batch: CaptureBatch, item: Any, domains: list[str]
) -> dict[str, Any]:
    """The answer to one item: queued, or refused with its error."""
    try:
        capture = item_request(batch.defaults, item)
    except ValidationError as err:
        return {"error": {"code": "VALIDATION_ERROR", "message": describe_validation(err)}}
    host = urlsplit(capture.url).hostname or ""
    if not host_matches(host, domains):
        return {"error": {"code": "DOMAIN_NOT_ALLOWED", "message": _not_allowed(host)}}
    refusal = await profile_refusal(caller.workspace_id, capture.auth, "auth.profile")
    if refusal is not None:
        return {"error": {"code": "VALIDATION_ERROR", "message": refusal}}
    accepted = await state.captures.submit(caller.key_id, caller.workspace_id, capture)
    return {"id": accepted["id"], "status": accepted["status"]}
