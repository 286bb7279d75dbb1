"""Live sessions API under ``/v1/sessions`` (SPEC section 4)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response, request
from quart_schema import (
    document_request,
    document_response,
    operation_id,
    security_scheme_blueprint,
    tag_blueprint,
    validate_querystring,
    validate_request,
)

from app.actions import answer_action
from app.errors import ValidationFailed
from app.front import answered_by_front
from app.idempotency import idempotent
from app.jsonbody import loads_body
from app.middleware import principal
from app.openapi import (
    API_KEY_AUTH,
    body_required,
    idempotent_route,
    session_header,
    v1_errors,
)
from app.responses import json_response
from app.schemas import ActionResult, Session, SessionList
from app.state import app_state, session_service
from sessions.action_models import ActionRequest
from sessions.models import SessionOptions
from sessions.registry import SessionRecord, Status
from sessions.timefmt import now_ms

blueprint = Blueprint("sessions", __name__, url_prefix="/v1/sessions")
tag_blueprint(blueprint, ["sessions"])
security_scheme_blueprint(blueprint, API_KEY_AUTH)

_E429 = (
    "RATE_LIMITED: over the key's rate limit (Retry-After says when to retry), or "
    "CONCURRENCY_LIMIT: the workspace has its maximum of active sessions."
)
_E503 = (
    "OWNER_UNAVAILABLE: the instance holding the session does not answer (retry), or "
    "SERVICE_UNAVAILABLE: a backend is briefly away."
)


class ListQuery(BaseModel):
    """Query of ``GET /v1/sessions``."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["active", "closed"] | None = Field(
        default=None, description="Only sessions in this state (default: both)."
    )
    limit: int = Field(default=20, ge=1, le=100, description="Most sessions on the page.")
    cursor: str | None = Field(
        default=None,
        max_length=1024,
        description="The `nextCursor` of the previous page; none for the first page.",
    )


def _owner_header(record: SessionRecord) -> dict[str, str]:
    return {"X-Session-Owner": record.owner}


def session_body(record: SessionRecord) -> dict[str, Any]:
    """A session object with ``expiresInSeconds``."""
    return {**record.public(), "expiresInSeconds": record.expires_in(now_ms())}


async def _options_from_body() -> tuple[SessionOptions, Any]:
    raw = await request.get_data(as_text=False)
    if not raw.strip():
        return SessionOptions(), {}
    try:
        body = loads_body(raw)
    except ValueError as err:
        raise ValidationFailed("Request body must be JSON.") from err
    if not isinstance(body, dict):
        raise ValidationFailed("Request body must be a JSON object.")
    return SessionOptions.model_validate(body), body


@blueprint.post("")
@document_request(SessionOptions)
@document_response(Session, 201)
@v1_errors(
    400,
    401,
    404,
    409,
    413,
    429,
    503,
    e404="NOT_FOUND: `auth.profile` is not a profile of this workspace (unknown or deleted).",
    e429=_E429,
    e503="CAPACITY: no instance has room for another session, or SERVICE_UNAVAILABLE.",
)
@idempotent_route
@session_header
@operation_id("createSession")
async def create_session() -> Response:
    """Create a live session.

    Opens a browser page of its own (cookies, storage and cache isolated) and answers the
    session object. The body is optional: none or `{}` takes the defaults. The session
    closes at `expiresAt`, after `idleTimeoutSeconds` without an action, or on DELETE, and
    is billed once, by its duration.
    """
    state = app_state()
    caller = principal()
    options, body = await _options_from_body()

    created: list[SessionRecord] = []

    async def run() -> tuple[dict[str, Any], int]:
        record = await session_service().create(caller.key_id, caller.workspace_id, options)
        created.append(record)
        return session_body(record), 201

    out, status = await idempotent(state.redis, state.keys, caller.key_id, "sessions", body, run)
    record = created[0] if created else await session_service().get(caller.key_id, out["id"])
    return json_response(out, status, _owner_header(record))


@blueprint.get("")
@validate_querystring(ListQuery)
@document_response(SessionList)
@v1_errors(400, 401, 429, 503)
@operation_id("listSessions")
async def list_sessions(query_args: ListQuery) -> Response:
    """List your sessions.

    The sessions of the calling key, optionally only `active` or `closed` ones, newest
    first, a page at a time: pass `nextCursor` back as `cursor` until it is null. Sessions
    created while you page come before the first page, so the pages still to come hold
    neither repeats nor gaps.
    """
    status = Status(query_args.status) if query_args.status else None
    caller = principal()
    # A read of Redis alone: any instance answers it, whoever owns the sessions.
    records, next_cursor = await app_state().engine.registry.page_for_key(
        caller.workspace_id, caller.key_id, status, query_args.limit, query_args.cursor
    )
    body = {"sessions": [session_body(r) for r in records], "nextCursor": next_cursor}
    return json_response(body)


@blueprint.get("/<session_id>")
@document_response(Session)
@v1_errors(401, 404, 429, 503)
@session_header
@operation_id("getSession")
async def get_session(session_id: str) -> Response:
    """Read a session.

    Its state, counters and credits, from any instance. A session of another key answers
    404, as one that never existed.
    """
    record = await session_service().get(principal().key_id, session_id)
    return json_response(session_body(record), 200, _owner_header(record))


# The served app answers this route in front of Quart (app.lane), which calls answer_action
# as this view does; the view documents the route and answers when the lane is off.
@blueprint.post("/<session_id>/actions")
@answered_by_front
@validate_request(ActionRequest)
@document_response(ActionResult)
@v1_errors(
    400,
    401,
    403,
    404,
    409,
    413,
    422,
    429,
    503,
    e403="DOMAIN_NOT_ALLOWED: a goto to a host that is not allowed, refused before navigating.",
    e409="SESSION_CLOSED: the session is closed; `session` holds its final state.",
    e503=_E503,
)
@body_required
@session_header
@operation_id("runAction")
async def run_action(session_id: str, data: ActionRequest) -> Response:
    """Run an action on the session's page.

    One action, `{"type", "payload"}`: navigate, interact, wait, read the page, or render
    it. Actions on one session run one at a time, in arrival order. Every action that
    reaches an active session is counted in its counters, failed ones included. Output
    actions (content, snapshot, evaluate, screenshot, pdf) refuse with DOMAIN_NOT_ALLOWED
    while the page is on a host that is not allowed.
    """
    answer = answer_action(session_service(), principal(), session_id, data)
    # Quart cancels a view whose client hangs up; the lane runs the action to its end (it
    # may have changed the page already, and it is counted), so this route does too.
    outcome = await asyncio.shield(app_state().tasks.spawn(_outcome(answer), name="action"))
    if isinstance(outcome, Exception):
        raise outcome
    body, headers = outcome
    return json_response(body, 200, headers)


async def _outcome(
    answer: Awaitable[tuple[dict[str, Any], dict[str, str]]],
) -> tuple[dict[str, Any], dict[str, str]] | Exception:
    """The answer, or the error to map: nobody is left to log it when the caller hung up."""
    try:
        return await answer
    except Exception as err:  # mapped by the view that awaits it
        return err


@blueprint.delete("/<session_id>")
@document_response(Session)
@v1_errors(401, 404, 429, 503, e503=_E503)
@session_header
@operation_id("closeSession")
async def close_session(session_id: str) -> Response:
    """Close a session.

    Closes the browser page and bills the session's duration, once. Closing a closed
    session answers the same final object and charges nothing.
    """
    record = await session_service().close(principal().key_id, session_id)
    return json_response(session_body(record), 200, _owner_header(record))
