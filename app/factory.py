"""The composition root: ``create_app(settings)`` wires everything, one lifespan opens it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncGenerator

from quart import Quart
from quart_schema import Info, QuartSchema
from redis.asyncio import Redis

from app import error_handlers, middleware
from app.keys import AppKeys
from app.metrics import Metrics
from app.ratelimit import RateLimiter
from app.routes import admin, health
from app.settings import Settings
from app.state import STATE_KEY, AppState
from app.tenancy import Tenancy

VERSION = "0.1.0"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the service secret."""
    return hmac.new(secret, b"sessionshot:" + purpose.encode(), hashlib.sha256).digest()


def open_redis(settings: Settings) -> Redis:
    """A Redis client from settings (decoded strings, bounded timeouts)."""
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=2,
        health_check_interval=10,
    )


def build_state(settings: Settings, redis: Redis) -> AppState:
    """The state objects every handler uses, on an open Redis client."""
    keys = AppKeys(settings.redis_prefix)
    limit, period_s = settings.rate
    secret = settings.require_secret()
    state = AppState(
        settings=settings,
        redis=redis,
        keys=keys,
        tenancy=Tenancy(redis, keys, derive_key(secret, "api-key-pepper")),
        limiter=RateLimiter(redis, keys, limit, period_s),
        metrics=Metrics(),
    )
    state.checks["redis"] = redis.ping
    return state


def create_app(settings: Settings) -> Quart:
    """Build the Quart app for ``settings``; resources open when it starts serving."""
    settings.require_secret()
    app = Quart("sessionshot", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    QuartSchema(
        app,
        info=Info(title="SessionShot", version=VERSION),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
        redoc_ui_path=None,
        scalar_ui_path=None,
    )
    middleware.install(app)
    error_handlers.install(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(admin.blueprint)

    @app.while_serving
    async def lifespan() -> AsyncGenerator[None, None]:
        redis = open_redis(settings)
        try:
            app.extensions[STATE_KEY] = build_state(settings, redis)
            yield
        finally:
            app.extensions.pop(STATE_KEY, None)
            await redis.aclose()

    return app
