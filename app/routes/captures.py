"""One-shot captures API under ``/api/captures`` (SPEC section 3)."""

from __future__ import annotations

import asyncio
import json
import uuid
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
from captures.records import CaptureRecord
from sessions.domains import host_matches
from sessions.timefmt import iso_ms, now_ms

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
    # The request is sealed (encrypted) before it is stored: only a worker reads it.
    state = app_state()
    caller = principal()
    host = urlsplit(data.url).hostname or ""
    if not host_matches(host, await state.tenancy.active_domains(caller.workspace_id)):
        raise DomainNotAllowed(
            f"{host} is not on this workspace's allowed domains; an administrator can add it."
        )
    body = await request.get_json()

    async def run() -> tuple[dict[str, Any], int]:
        capture_id = f"cap_{uuid.uuid4()}"
        created = now_ms()
        record = {
            "id": capture_id,
            "status": "queued",
            "keyId": caller.key_id,
            "workspaceId": caller.workspace_id,
            "createdAt": str(created),
            "updatedAt": str(created),
            "attempts": "0",
        }
        if data.metadata is not None:
            record["metadata"] = json.dumps(data.metadata)
        sealed = state.payload_box.seal(capture_id, data.model_dump_json(by_alias=True).encode())
        await state.captures.create(record, sealed)
        out: dict[str, Any] = {
            "id": capture_id,
            "status": "queued",
            "createdAt": iso_ms(created),
            "statusUrl": f"/api/captures/{capture_id}",
        }
        if data.metadata is not None:
            out["metadata"] = data.metadata
        return out, 202

    out, status = await idempotent(state.redis, state.keys, caller.key_id, "captures", body, run)
    return json_response(out, status)


async def _read(capture_id: str) -> CaptureRecord:
    record = await app_state().captures.get(capture_id) if capture_id.startswith("cap_") else None
    if record is None or record.key_id != principal().key_id:
        raise NotFound("Capture not found.")
    return record


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
    state = app_state()
    record = await _read(capture_id)
    if query_args.wait and not record.status.final:
        with state.capture_events.watch(capture_id) as done:
            record = await _read(capture_id)  # re-read: it may have finished meanwhile
            if not record.status.final:
                try:
                    await asyncio.wait_for(done.wait(), query_args.wait)
                except TimeoutError:
                    pass
                record = await _read(capture_id)
    return json_response(await _public(record))


async def _public(record: CaptureRecord) -> dict[str, Any]:
    state = app_state()
    body = record.public()
    facts = record.result_file()
    if facts is not None:
        link = await state.storage.signed_url(
            facts["key"], state.settings.signed_url_ttl_s, facts["filename"], facts["contentType"]
        )
        body["result"] = {
            "url": link.url,
            "expiresAt": iso_ms(int(link.expires_at.timestamp() * 1000)),
            **{k: v for k, v in facts.items() if k not in ("key", "filename", "contentType")},
        }
    return body
