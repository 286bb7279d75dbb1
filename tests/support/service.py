"""The API served in-process by Hypercorn on a free port, reached over real HTTP."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from hypercorn.asyncio import serve
from quart import Quart

from app.factory import create_app
from app.server import hypercorn_config
from app.settings import Settings
from app.state import STATE_KEY, AppState
from tests.support.procs import free_port
from tests.support.waiting import eventually

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
SECRET_KEY = "secret-key-for-tests-0123456789"


@dataclass
class Service:
    """A running API instance and an HTTP client for it."""

    settings: Settings
    base_url: str
    http: httpx.AsyncClient
    stop: asyncio.Event
    task: asyncio.Task[None]
    app: Quart

    async def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the admin API and return the JSON body (asserting a 2xx)."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    async def new_key(self, domains: tuple[str, ...] = ()) -> tuple[str, str]:
        """A fresh workspace with allowed ``domains``; returns ``(workspace_id, api_key)``."""
        ws = await self.admin("POST", "/admin/workspaces", json={"name": "test"})
        key = await self.admin("POST", f"/admin/workspaces/{ws['id']}/keys", json={})
        for domain in domains:
            await self.admin(
                "POST", f"/admin/workspaces/{ws['id']}/domains", json={"domain": domain}
            )
        return ws["id"], key["key"]

    @property
    def state(self) -> AppState:
        """The running app's state (engine, Redis, storage) for white-box checks."""
        state: AppState = self.app.extensions[STATE_KEY]
        return state

    async def aclose(self) -> None:
        """Stop serving and wait for the lifespan to close."""
        await self.http.aclose()
        self.stop.set()
        await asyncio.wait_for(self.task, 30)


def settings_for_tests(redis_url: str, prefix: str, **overrides: Any) -> Settings:
    """Settings for a test instance (admin on, a private key prefix)."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "redis_prefix": prefix,
        "secret_key": SECRET_KEY,
        "admin_token": ADMIN_TOKEN,
        # No connect browser kept launched unless a test asks for one: a Chromium more per
        # instance would load every test for the few that connect.
        "connect_warm": 0,
    }
    values.update(overrides)
    return Settings(**values)


async def start_service(settings: Settings, *, action_lane: bool = True) -> Service:
    """Serve ``settings`` on a free port and wait until it answers (``action_lane``: see
    :func:`app.factory.create_app`)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"public_url": settings.public_url or base_url})
    stop = asyncio.Event()
    app = create_app(settings, action_lane=action_lane)
    config = hypercorn_config(settings, "127.0.0.1", port)
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def healthy() -> bool:
        if task.done():
            task.result()  # a server that failed to start fails the test with its error
        try:
            return (await http.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(healthy, 15, "the service to start", interval_s=0.025)
    return Service(settings=settings, base_url=base_url, http=http, stop=stop, task=task, app=app)


def settings_env(settings: Settings) -> dict[str, str]:
    """``SESSIONSHOT_*`` variables that reproduce ``settings`` in another process."""
    return settings.as_env()
