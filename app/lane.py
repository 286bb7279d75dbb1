"""The action lane: ``POST /v1/sessions/{id}/actions`` answered by the front, not Quart.

Agents drive a session one action at a time, so an action's round trip is time they wait.
The lane is a route of the front (:mod:`app.front`): it skips Quart's per-request machinery
and overlaps admission with reading the body, and it answers from the same parts as the
Quart route it stands in front of: the same pydantic model and the same call
(:func:`app.actions.answer_action`).

The Quart route stays the documented one (``/openapi.json``) and answers when the lane is
off (``create_app(settings, action_lane=False)``); the tests hold the two to the same
answers.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any

from hypercorn.typing import ASGIFramework
from quart import Quart

from app.actions import answer_action
from app.front import Front
from app.state import AppState
from app.tenancy import Principal
from sessions.action_models import ActionRequest

ACTION_PATH = r"/v1/sessions/([^/]+)/actions"


def _act(
    state: AppState, match: re.Match[str], caller: Principal, data: ActionRequest
) -> Awaitable[tuple[dict[str, Any], dict[str, str]]]:
    # A plain function handing back answer_action's coroutine: no frame of its own to await.
    assert state.sessions is not None  # set before the lifespan publishes the state
    return answer_action(state.sessions, caller, match[1], data)


class ActionLane(Front):
    """The front with the action route: what :func:`app.factory.create_app` serves."""

    def __init__(self, app: Quart, inner: ASGIFramework) -> None:
        super().__init__(app, inner)
        self.route("POST", ACTION_PATH, ActionRequest, _act)
