"""Screenshots of the dashboard for docs/dashboard.md, taken by SessionShot itself.

It starts a private redis-server, an API instance served over HTTPS as ``app.test`` (a
throwaway certificate made at run time) and a ``sessionshot worker``; fills a workspace
with a little activity; signs in to the dashboard; then captures each page of it through
``POST /api/captures`` with the dashboard's sign-in cookie in ``auth.cookies``. Every
address is on 127.0.0.1. Run from the repository root:

    .venv/bin/python docs/images/make_dashboard_shots.py
"""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypercorn.asyncio import serve

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.factory import create_app  # noqa: E402
from app.server import hypercorn_config  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.support.hosts import BROWSER_SERVICE_HOSTS, UNROUTABLE  # noqa: E402
from tests.support.procs import RedisServer, base_env, free_port, sessionshot_bin  # noqa: E402
from tests.support.tls import generate_tls_material  # noqa: E402

OUT = Path(__file__).resolve().parent
PAGES = ("usage", "captures", "sessions", "keys", "domains", "webhooks")
ADMIN = "admin-token-for-dashboard-shots"


def settings_for(redis_url: str, port: int, storage: Path) -> Settings:
    """The instance's settings: app.test is this machine, its certificate is accepted."""
    pinned = ",".join(f"{name}={UNROUTABLE}" for name in BROWSER_SERVICE_HOSTS)
    return Settings(
        redis_url=redis_url,
        redis_prefix=f"shots{secrets.token_hex(3)}:",
        secret_key=secrets.token_urlsafe(32),
        admin_token=ADMIN,
        public_url=f"https://app.test:{port}",
        host_map=f"app.test=127.0.0.1,{pinned}",
        target_allow_cidrs="127.0.0.1/32",
        ignore_https_errors=True,
        storage_dir=str(storage),
        connect_warm=0,
        warm_contexts=1,
    )


async def fill_workspace(http: httpx.AsyncClient, public_url: str) -> str:
    """A workspace with keys, domains, a webhook and closed sessions; its API key.

    The webhook points at this very instance (a path it answers 404), so its deliveries
    stay on 127.0.0.1 and show failed attempts."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    ws = (await http.post("/admin/workspaces", headers=admin, json={"name": "Acme"})).json()
    made = await http.post(f"/admin/workspaces/{ws['id']}/keys", headers=admin, json={})
    key = made.json()["key"]
    await http.post(f"/admin/workspaces/{ws['id']}/keys", headers=admin, json={"name": "ci"})
    for domain in ("app.test", "*.reports.example.com", "old.example.com"):
        await http.post(
            f"/admin/workspaces/{ws['id']}/domains", headers=admin, json={"domain": domain}
        )
    await http.delete(f"/admin/workspaces/{ws['id']}/domains/old.example.com", headers=admin)
    auth = {"Authorization": f"Bearer {key}"}
    await http.post(
        "/api/webhooks",
        headers=auth,
        json={"url": f"{public_url}/hooks/sessionshot", "events": ["capture.completed"]},
    )
    for _ in range(3):
        session = (await http.post("/v1/sessions", headers=auth, json={})).json()
        await http.delete(f"/v1/sessions/{session['id']}", headers=auth)
    await http.post("/v1/sessions", headers=auth, json={"maxTtlSeconds": 900})  # stays active
    return str(key)


async def sign_in(http: httpx.AsyncClient, key: str) -> str:
    """The dashboard cookie of a sign-in with ``key``."""
    form = await http.get("/dashboard/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    data = {"api_key": key, "csrf_token": token.group(1)}
    done = await http.post("/dashboard/signin", data=data)
    assert done.status_code == 303, done.text
    return str(done.cookies["sessionshot_dashboard"])


async def shoot(http: httpx.AsyncClient, key: str, base: str, cookie: str, name: str) -> None:
    """Capture one dashboard page into docs/images/dashboard-NAME.png."""
    auth = {"Authorization": f"Bearer {key}"}
    dashboard_cookie = {
        "name": "sessionshot_dashboard",
        "value": cookie,
        "domain": "app.test",
        "path": "/dashboard",
        "secure": True,
        "httpOnly": True,
        "sameSite": "Lax",
    }
    body: dict[str, Any] = {
        "url": f"{base}/dashboard/{name}",
        "output": {"format": "png", "width": 1280, "height": 800},
        "auth": {"cookies": [dashboard_cookie] if cookie else []},
    }
    accepted = (await http.post("/api/captures", headers=auth, json=body)).json()
    assert "id" in accepted, accepted
    while True:
        capture = (await http.get(f"/api/captures/{accepted['id']}?wait=30", headers=auth)).json()
        if capture["status"] in ("completed", "failed"):
            break
    assert capture["status"] == "completed", capture
    # The link is on the public URL (app.test); fetch it from the same address by IP.
    link = capture["result"]["url"].replace(base, str(http.base_url).rstrip("/"))
    png = (await http.get(link)).content
    (OUT / f"dashboard-{name}.png").write_bytes(png)
    print(f"dashboard-{name}.png {len(png)} bytes")  # noqa: T201


async def ready(http: httpx.AsyncClient) -> None:
    """Wait until the instance answers /readyz (browser and Redis up)."""
    for _ in range(600):
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the instance did not get ready")


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "redis").mkdir()
        redis = RedisServer(work / "redis")
        redis.start()
        port = free_port()
        settings = settings_for(redis.url, port, work / "storage")
        tls = generate_tls_material(work / "tls")
        config = hypercorn_config(settings, "127.0.0.1", port)
        config.certfile, config.keyfile = str(tls.cert_path), str(tls.key_path)
        stop = asyncio.Event()
        app = create_app(settings)
        server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
        env = base_env(**settings.as_env())
        worker = subprocess.Popen([sessionshot_bin(), "worker"], env=env, cwd=work)
        try:
            base = f"https://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, verify=False, timeout=60) as http:
                await ready(http)
                key = await fill_workspace(http, settings.public_url)
                cookie = await sign_in(http, key)
                await shoot(http, key, settings.public_url, cookie, "captures")  # one to list
                for name in PAGES:
                    await shoot(http, key, settings.public_url, cookie, name)
                await shoot(http, key, settings.public_url, "", "signin")  # signed out
        finally:
            worker.terminate()
            worker.wait(30)
            stop.set()
            await server
            redis.stop()


if __name__ == "__main__":
    asyncio.run(main())
