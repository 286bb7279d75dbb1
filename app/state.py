"""What the lifespan opens and the handlers use, reachable from the current app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from quart import current_app

from app.admission import Admission
from app.keys import AppKeys
from app.metrics import Metrics
from app.scoped import Signer
from app.settings import Settings
from app.tenancy import Tenancy
from captures.service import CaptureService
from sessions.cluster import SessionService
from sessions.crypto import PayloadBox
from sessions.engine import SessionEngine
from sessions.redis_types import RedisClient
from sessions.tasks import TaskSet
from storage import Storage

ReadinessCheck = Callable[[], Awaitable[bool]]


@dataclass
class AppState:
    """The live resources of one API instance."""

    settings: Settings
    redis: RedisClient
    keys: AppKeys
    tenancy: Tenancy
    admission: Admission
    metrics: Metrics
    engine: SessionEngine
    storage: Storage
    captures: CaptureService
    payload_box: PayloadBox
    tokens: Signer
    """Scoped tokens (``POST /v1/sessions/{id}/tokens``)."""
    live_links: Signer
    """Live view links (``POST /v1/sessions/{id}/live``)."""
    sessions: SessionService | None = None
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    tasks: TaskSet = field(default_factory=TaskSet)
    """Work a request started that outlives it (an action whose caller hung up)."""


STATE_KEY = "sessionshot"


def session_service() -> SessionService:
    """The sessions service of the app handling the current request."""
    service = app_state().sessions
    assert service is not None
    return service


def app_state() -> AppState:
    """The state of the app handling the current request."""
    state: AppState = current_app.extensions[STATE_KEY]
    return state
