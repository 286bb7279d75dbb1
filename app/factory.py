"""The composition root: ``create_app(settings)`` wires everything, one lifespan opens it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, Callable
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

from quart import Quart
from quart_schema import Info, QuartSchema

from app import error_handlers, middleware, openapi
from app.admission import Admission
from app.dashboard.views import blueprint as dashboard_blueprint
from app.front import Front
from app.jsonbody import bound_request_json
from app.keys import AppKeys
from app.lane import ActionLane
from app.mcp.endpoint import PATH as MCP_PATH
from app.mcp.endpoint import McpEndpoint
from app.metrics import Metrics
from app.redisconn import open_redis
from app.routes import (
    admin,
    captures,
    docs,
    files,
    health,
    live,
    profiles,
    schedules,
    sessions,
    usage,
    webhooks,
)
from app.routes.profiles import PROFILES_KEY
from app.routes.schedules import SCHEDULES_KEY
from app.routes.webhooks import WEBHOOKS_KEY
from app.scoped import Signer
from app.settings import Settings, derive_key
from app.sockets import SOCKETS
from app.state import STATE_KEY, AppState
from app.tenancy import Tenancy, TenancyError, make_tenancy
from captures.keys import CaptureKeys
from captures.schedules.scheduler import Scheduler, Tenants
from captures.schedules.store import ScheduleStore
from captures.service import CaptureService
from captures.webhooks.events import SessionEvents, WebhookEvents
from captures.webhooks.service import Webhooks, event_recorder, open_webhooks
from sessions.cluster import SessionService
from sessions.config import EngineConfig
from sessions.credits import CreditPolicy
from sessions.crypto import PayloadBox, payload_key
from sessions.egress import EgressPolicy, parse_cidrs, parse_host_map
from sessions.engine import SessionEngine
from sessions.instances import Instances
from sessions.keys import SessionKeys
from sessions.profiles import ProfileVault
from sessions.redis_types import RedisClient, ping
from sessions.router import Router
from sessions.supervisor import LoopGroup, RedisLink
from storage import Storage, open_storage

VERSION = "0.1.0"


def instance_id(settings: Settings) -> str:
    """This process's id in routing."""
    return settings.instance_id or f"inst_{secrets.token_hex(6)}"


def engine_config(settings: Settings, instance: str) -> EngineConfig:
    """The sessions engine's view of settings."""
    return EngineConfig(
        instance_id=instance,
        chromium_path=settings.chromium_path,
        prefix=settings.redis_prefix,
        egress=EgressPolicy(
            allow_cidrs=parse_cidrs(settings.target_allow_cidrs),
            host_map=parse_host_map(settings.host_map),
            upstream_proxy=settings.upstream_proxy,
        ),
        max_sessions=settings.max_sessions,
        session_max_ttl_s=settings.session_max_ttl_s,
        workspace_max_sessions=settings.workspace_max_sessions,
        warm_contexts=settings.warm_contexts,
        connect_warm=settings.connect_warm,
        public_url=settings.public_url,
        internal_url=settings.internal_url,
        ignore_https_errors=settings.ignore_https_errors,
        max_content_bytes=settings.max_content_bytes,
        link_ttl_s=settings.signed_url_ttl_s,
        credits=CreditPolicy(settings.credits_min, settings.credit_seconds),
        ledger_retention_s=settings.ledger_retention_days * 86400,
    )


def make_storage(settings: Settings) -> Storage:
    """The configured storage backend."""
    return open_storage(
        settings.storage,
        root=Path(settings.storage_dir),
        public_url=settings.public_url,
        secret=derive_key(settings.require_secret(), "file-links"),
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
    )


def heartbeat_s(settings: Settings) -> float:
    """Heartbeat period: a lost instance is noticed well within the timeout plus 5 s."""
    return max(0.2, min(2.0, settings.instance_timeout_s / 5))


def make_session_service(
    settings: Settings, redis: RedisClient, engine: SessionEngine, box: PayloadBox, link: RedisLink
) -> SessionService:
    """The engine behind routing and the instance table."""
    keys = SessionKeys(settings.redis_prefix)
    instances = Instances(redis, keys, settings.instance_timeout_s)
    router = Router(
        redis, keys, engine.config.instance_id, instances, box, settings.forward_timeout_s
    )
    return SessionService(engine, router, instances, heartbeat_s(settings), link)


def make_payload_box(settings: Settings) -> PayloadBox:
    """The AES-GCM box for capture payloads."""
    explicit = settings.payload_key.get_secret_value() if settings.payload_key else None
    return PayloadBox(payload_key(settings.require_secret(), explicit))


def make_capture_service(
    settings: Settings,
    redis: RedisClient,
    storage: Storage,
    events: WebhookEvents | None = None,
) -> CaptureService:
    """Capture records, payloads and the job queue on ``redis``; a capture's final state
    becomes its webhook deliveries (recorded by ``events``, which wakes this process's
    delivery loop, when given)."""
    box = make_payload_box(settings)
    service = CaptureService(
        redis, CaptureKeys(settings.redis_prefix), box, storage, settings.signed_url_ttl_s
    )
    if events is None:
        events = event_recorder(redis, settings.redis_prefix, box, settings.webhook_backoff)
    service.on_final = events.capture_final
    return service


def make_webhooks(settings: Settings, redis: RedisClient, storage: Storage) -> Webhooks:
    """Webhook endpoints, events and the delivery loop of one process (through an egress
    guard with the sessions' policy)."""
    return open_webhooks(
        redis,
        settings.redis_prefix,
        make_payload_box(settings),
        make_capture_service(settings, redis, storage),
        engine_config(settings, "webhooks").egress,
        verify_tls=not settings.ignore_https_errors,
        backoff_s=settings.webhook_backoff,
    )


def make_scheduler(
    settings: Settings,
    redis: RedisClient,
    tenancy: Tenancy,
    vault: ProfileVault,
    captures: CaptureService,
) -> Scheduler:
    """The scheduled captures' loop of one API process: its captures are queued by the
    same service as ``POST /api/captures``."""

    async def key_active(ws_id: str, key_id: str) -> bool:
        try:
            keys = await tenancy.list_keys(ws_id)
        except TenancyError:
            return False  # the workspace is gone
        return any(k["id"] == key_id and not k.get("revokedAt") for k in keys)

    tenants = Tenants(
        key_active=key_active,
        domains=tenancy.active_domains,
        profile_exists=vault.exists,
        submit=captures.submit,
    )
    store = ScheduleStore(redis, settings.redis_prefix, make_payload_box(settings))
    return Scheduler(store, tenants)


def open_backends(
    stack: AsyncExitStack, settings: Settings
) -> tuple[RedisClient, Storage, Tenancy]:
    """Redis, the file storage and tenancy of a long-running process, closed by ``stack``."""
    redis = open_redis(settings)
    stack.push_async_callback(redis.aclose)
    storage = make_storage(settings)
    stack.push_async_callback(storage.aclose)
    return redis, storage, make_tenancy(settings, redis)


def build_state(
    settings: Settings,
    redis: RedisClient,
    tenancy: Tenancy,
    engine: SessionEngine,
    storage: Storage,
    metrics: Metrics,
) -> AppState:
    """The state objects every handler uses."""
    keys = AppKeys(settings.redis_prefix)
    limit, period_s = settings.rate
    state = AppState(
        settings=settings,
        redis=redis,
        keys=keys,
        tenancy=tenancy,
        admission=Admission(redis, keys, tenancy, limit, period_s),
        metrics=metrics,
        engine=engine,
        storage=storage,
        captures=make_capture_service(settings, redis, storage),
        payload_box=make_payload_box(settings),
        tokens=Signer(derive_key(settings.require_secret(), "scoped-tokens")),
        live_links=Signer(derive_key(settings.require_secret(), "live-links")),
    )
    state.checks["redis"] = partial(ping, redis)  # on a cluster: every primary
    state.checks["browser"] = engine.is_ready
    return state


def create_app(
    settings: Settings,
    *,
    action_lane: bool = True,
    on_fatal: Callable[[], None] | None = None,
) -> Quart:
    """Build the Quart app for ``settings``; resources open when it starts serving.

    The server calls the front door (:class:`app.front.Front`), which hands Quart whatever
    it does not answer itself. ``action_lane``: actions are answered by the front's action
    route (:class:`app.lane.ActionLane`; off: by the Quart route, the reference the tests
    hold the lane to). ``on_fatal``: told when a background loop keeps failing (its loops
    are stopped by then, the heartbeat first); the server should stop and exit non-zero.
    """
    settings.require_secret()
    app = Quart("sessionshot", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    QuartSchema(
        app,
        info=Info(title="SessionShot", version=VERSION, description=openapi.DESCRIPTION),
        tags=openapi.TAGS,
        servers=openapi.servers(settings),
        # Each route names its own scheme (none for health, files and the docs).
        security_schemes=openapi.SECURITY_SCHEMES,
        openapi_provider_class=openapi.document_provider(settings),
        # Its UIs load from CDNs; app.routes.docs serves them from this origin instead.
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
    )
    bound_request_json(app)
    middleware.install(app)
    error_handlers.install(app)
    blueprints = (health, docs, admin, sessions, live, captures, files, usage, webhooks)
    for module in (*blueprints, profiles, schedules):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(live.pages)
    app.register_blueprint(dashboard_blueprint)
    mcp = McpEndpoint(VERSION)

    @app.while_serving
    async def lifespan() -> AsyncGenerator[None, None]:
        async with AsyncExitStack() as stack:
            redis, storage, tenancy = open_backends(stack, settings)
            metrics = Metrics()
            hooks = make_webhooks(settings, redis, storage)
            vault = ProfileVault(redis, settings.redis_prefix, make_payload_box(settings))
            engine = SessionEngine(
                engine_config(settings, instance_id(settings)),
                redis,
                storage,
                tenancy.active_domains,
                observer=SessionEvents(metrics, hooks.events),
                profiles=vault,
            )
            state = build_state(settings, redis, tenancy, engine, storage, metrics)
            metrics.watch_warm_pool(lambda: engine.resource_counts()["warm"])
            metrics.watch_connect(
                lambda: engine.resource_counts()["connectWarm"], engine.connect_memory_bytes
            )
            # Every background loop in one supervised group (closed after the sessions).
            loops = LoopGroup(RedisLink(redis), on_fatal)
            stack.push_async_callback(loops.aclose)
            await engine.start(loops)
            sessions_service = make_session_service(
                settings, redis, engine, state.payload_box, loops.link
            )
            await sessions_service.start(loops)
            stack.push_async_callback(sessions_service.aclose)
            state.sessions = sessions_service
            stack.push_async_callback(state.tasks.aclose)
            loops.add("capture-events", state.captures.events.run)
            loops.add("webhook-deliveries", hooks.deliverer.run)
            app.extensions[WEBHOOKS_KEY] = hooks
            stack.callback(app.extensions.pop, WEBHOOKS_KEY, None)
            scheduler = make_scheduler(settings, redis, tenancy, vault, state.captures)
            loops.add("schedules", scheduler.run)
            app.extensions[PROFILES_KEY] = vault
            app.extensions[SCHEDULES_KEY] = scheduler
            stack.callback(app.extensions.pop, PROFILES_KEY, None)
            stack.callback(app.extensions.pop, SCHEDULES_KEY, None)
            await stack.enter_async_context(mcp.running(state))
            app.extensions[STATE_KEY] = state
            stack.callback(app.extensions.pop, STATE_KEY, None)
            yield

    # Endpoints Quart does not answer are registered on the front (route or mount).
    front = (ActionLane if action_lane else Front)(app, app.asgi_app)
    front.mount(MCP_PATH, mcp)
    for pattern, socket in SOCKETS:
        front.socket(pattern, socket)
    app.asgi_app = front  # type: ignore[method-assign]
    return app
