"""One-shot captures API under ``/api/captures`` (SPEC section 3)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, request
from quart_schema import validate_querystring, validate_request

from app.errors import DomainNotAllowed, NotFound
from app.idempotency import idempotent
from app.middleware import principal
from app.responses import json_response
from app.state import app_state
from captures.models import CaptureRequest
from captures.records import CaptureRecord
from sessions.domains import host_matches
from sessions.timefmt import iso_ms, now_ms

blueprint = Blueprint("captures", __name__, url_prefix="/api/captures")


class StatusQuery(BaseModel):
    """Query of ``GET /api/captures/{id}``."""

    model_config = ConfigDict(extra="forbid")
    wait: int = Field(default=0, ge=0, le=30)


@blueprint.post("")
@validate_request(CaptureRequest)
async def create_capture(data: CaptureRequest) -> Response:
    """Validate, check the domain, seal the payload and queue the capture."""
    state = app_state()
    caller = principal()
    host = urlsplit(data.url).hostname or ""
    if not host_matches(host, await state.tenancy.active_domains(caller.workspace_id)):
        raise DomainNotAllowed(f"{host} is not on this workspace's allowed domains.")
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
async def get_capture(capture_id: str, query_args: StatusQuery) -> Response:
    """The capture's status; ``?wait=N`` answers as soon as it is final or after N s."""
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
