"""An action's answer, the one call both edges of ``POST /v1/sessions/{id}/actions`` make.

The served app answers the route in front of Quart (:mod:`app.lane`); the Quart view
(:mod:`app.routes.sessions`) documents it and answers when the lane is off.
Both call :func:`answer_action`, so they run the same engine call and attach the same
session context to its errors.
"""

from __future__ import annotations

from typing import Any

from app.tenancy import Principal
from sessions.action_models import ActionRequest
from sessions.cluster import SessionService
from sessions.errors import SessionError, SessionNotFound


async def answer_action(
    service: SessionService,
    caller: Principal,
    session_id: str,
    data: ActionRequest,
    *,
    title: bool = False,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The action's answer (body and headers); engine errors carry the session's record.
    ``title``: the body names the page's title too (for MCP tool results)."""
    try:
        outcome = await service.act(caller.key_id, session_id, data, title=title)
    except SessionNotFound as err:
        # Another key's session must look exactly like one that never existed.
        err.record = None
        raise
    except SessionError as err:
        if err.record is None:
            record = await service.engine.registry.get(session_id)
            if record is not None and record.key_id == caller.key_id:
                err.record = record
        raise
    body = {"success": True, "expiresInSeconds": outcome.expires_in, **outcome.body}
    return body, {"X-Session-Owner": outcome.owner}
