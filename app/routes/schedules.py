"""Scheduled captures under ``/api/schedules`` (SPEC section 16): any key of the workspace
manages them; their captures belong to the key that made the schedule."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app
from quart_schema import (
    document_response,
    operation_id,
    security_scheme_blueprint,
    tag_blueprint,
    validate_request,
)

from app.errors import DomainNotAllowed, NotFound, ValidationFailed
from app.middleware import principal
from app.openapi import API_KEY_AUTH, api_errors, body_required
from app.responses import json_response
from app.routes.profiles import profile_refusal
from app.schemas import Schedule, ScheduleDetail, ScheduleList
from app.state import app_state
from captures.models import CaptureRequest
from captures.schedules.keys import MAX_SCHEDULES
from captures.schedules.models import SchedulePatch, ScheduleRequest
from captures.schedules.scheduler import Scheduler
from captures.schedules.store import ScheduleRecord, TooManySchedules
from sessions.domains import host_matches
from sessions.timefmt import iso_ms

SCHEDULES_KEY = "sessionshot.schedules"
"""Where the lifespan keeps the app's :class:`~captures.schedules.scheduler.Scheduler`."""

blueprint = Blueprint("schedules", __name__, url_prefix="/api/schedules")
tag_blueprint(blueprint, ["captures"])
security_scheme_blueprint(blueprint, API_KEY_AUTH)


def _scheduler() -> Scheduler:
    scheduler: Scheduler = current_app.extensions[SCHEDULES_KEY]
    return scheduler


async def check_capture(workspace_id: str, capture: CaptureRequest, field: str) -> None:
    """What ``POST /api/captures`` checks beyond the body: its host is allowed (403), its
    ``auth.profile`` is one of the workspace's (400 naming ``field``)."""
    host = urlsplit(capture.url).hostname or ""
    if not host_matches(host, await app_state().tenancy.active_domains(workspace_id)):
        raise DomainNotAllowed(
            f"{host} is not on this workspace's allowed domains; an administrator can add it."
        )
    refusal = await profile_refusal(workspace_id, capture.auth, field)
    if refusal is not None:
        raise ValidationFailed(refusal)


async def _schedule(schedule_id: str) -> ScheduleRecord:
    record = await _scheduler().store.get(principal().workspace_id, schedule_id)
    if record is None:
        raise NotFound("Schedule not found.")
    return record


@blueprint.post("")
@validate_request(ScheduleRequest)
@document_response(Schedule, 201)
@api_errors(400, 401, 403, 413, 429, 503)
@body_required
@operation_id("createSchedule")
async def create_schedule(data: ScheduleRequest) -> Response:
    """Schedule a capture.

    At each due time of `cron` (five fields, read in `timezone`) one capture of the
    `capture` body is queued, owned by the calling key, whatever the number of instances.
    The body is checked now as a capture (400, 403 when its host is not allowed) and kept
    sealed. A due time missed while the service was down runs once when it is back.
    """
    caller = principal()
    await check_capture(caller.workspace_id, data.capture, "capture.auth.profile")
    try:
        record = await _scheduler().store.create(caller.workspace_id, caller.key_id, data)
    except TooManySchedules:
        raise ValidationFailed(
            f"A workspace has at most {MAX_SCHEDULES} schedules; delete one first."
        ) from None
    _scheduler().poke()
    return json_response(record.public(), 201)


@blueprint.get("")
@document_response(ScheduleList)
@api_errors(401, 429, 503)
@operation_id("listSchedules")
async def list_schedules() -> Response:
    """List the workspace's schedules (never their capture bodies)."""
    records = await _scheduler().store.list_for(principal().workspace_id)
    return json_response({"schedules": [r.public() for r in records]})


@blueprint.get("/<schedule_id>")
@document_response(ScheduleDetail)
@api_errors(401, 404, 429, 503)
@operation_id("getSchedule")
async def get_schedule(schedule_id: str) -> Response:
    """Read a schedule, with its last 20 captures (newest first)."""
    record = await _schedule(schedule_id)
    captures = app_state().captures
    recent: list[dict[str, Any]] = []
    for capture_id, created_ms in await _scheduler().store.runs(record):
        capture = await captures.store.get(capture_id)
        if capture is not None:  # captures expire with their records
            status = capture.status.value
            recent.append({"id": capture_id, "status": status, "createdAt": iso_ms(created_ms)})
    return json_response({**record.public(), "recentCaptures": recent})


@blueprint.patch("/<schedule_id>")
@validate_request(SchedulePatch)
@document_response(Schedule)
@api_errors(400, 401, 404, 413, 429, 503)
@body_required
@operation_id("updateSchedule")
async def update_schedule(schedule_id: str, data: SchedulePatch) -> Response:
    """Pause, resume, rename or reschedule.

    A resume, or a new `cron` or `timezone`, counts the next due time from now (runs missed
    while paused are not made up); a resume clears `pausedReason`.
    """
    record = await _schedule(schedule_id)
    updated = await _scheduler().store.patch(record, data)
    if updated is None:
        raise NotFound("Schedule not found.")
    _scheduler().poke()
    return json_response(updated.public())


@blueprint.delete("/<schedule_id>")
@document_response(Schedule)
@api_errors(401, 404, 429, 503)
@operation_id("deleteSchedule")
async def delete_schedule(schedule_id: str) -> Response:
    """Delete a schedule; captures it already made stay."""
    record = await _schedule(schedule_id)
    if not await _scheduler().store.delete(record.workspace_id, record.id):
        raise NotFound("Schedule not found.")
    return json_response(record.public())
