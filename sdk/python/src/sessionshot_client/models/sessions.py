"""Live sessions (SPEC §4, §12): options, the session object, live links and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sessionshot_client.models.base import RequestModel, ResponseModel
from sessionshot_client.models.captures import AuthState

SessionStatus = Literal["active", "closed"]
LiveMode = Literal["view", "interact"]
TokenScope = Literal["cdp", "live-view", "live-interact"]


class Viewport(RequestModel):
    """The page's size in CSS pixels (default 1280 x 800)."""

    width: int | None = None
    height: int | None = None


class SessionCreate(RequestModel):
    """The body of ``POST /v1/sessions`` (every field optional)."""

    max_ttl_seconds: int | None = None
    idle_timeout_seconds: int | None = None
    proxy: bool | None = None
    bypass_bot_detection: bool | None = None
    connect: bool | None = None
    viewport: Viewport | None = None
    user_agent: str | None = None
    locale: str | None = None
    timezone_id: str | None = None
    auth: AuthState | None = None
    persist_profile: bool | None = None
    metadata: dict[str, Any] | None = None


class SessionOptionsView(ResponseModel):
    """The options a session runs with."""

    max_ttl_seconds: int
    idle_timeout_seconds: int | None = None
    proxy: bool
    bypass_bot_detection: bool
    connect: bool = False


class ActionTally(ResponseModel):
    """Counters of one action type in a session."""

    total: int
    success: int
    error: int


class Session(ResponseModel):
    """The session object; ``expires_in_seconds`` is the whole seconds left (0 when closed)."""

    id: str
    status: SessionStatus
    close_reason: str | None = None
    kind: Literal["live", "capture"]
    created_at: datetime
    started_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None
    duration_seconds: int
    billed_credits: int
    action_count: int
    action_success_count: int
    action_error_count: int
    action_breakdown: dict[str, ActionTally]
    options: SessionOptionsView
    current_url: str | None = None
    connect_url: str | None = None
    capture_id: str | None = None
    metadata: dict[str, Any] | None = None
    expires_in_seconds: int | None = None


class SessionList(ResponseModel):
    """One page of ``GET /v1/sessions``."""

    sessions: list[Session]
    next_cursor: str | None = None


class LiveRequest(RequestModel):
    """The body of ``POST /v1/sessions/{id}/live``."""

    mode: LiveMode
    ttl_seconds: int | None = None


class LiveLink(ResponseModel):
    """A live-view link: the link is the credential, until ``expires_at``."""

    url: str
    mode: LiveMode
    expires_at: datetime


class TokenRequest(RequestModel):
    """The body of ``POST /v1/sessions/{id}/tokens``."""

    scope: TokenScope
    ttl_seconds: int | None = None


class ScopedToken(ResponseModel):
    """A short-lived credential for one session and one scope."""

    token: str
    scope: TokenScope
    expires_at: datetime
