"""``sessionshot up``: Redis, API and worker on one machine, with secrets kept under ./var."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from app import eventloop
from app.factory import make_tenancy, open_redis
from app.logs import configure_logging
from app.server import serve_api, stop_on_signals
from app.settings import Settings, SettingsError, load_settings
from sessions.redis_types import text

log = logging.getLogger("sessionshot.up")

VAR_DIR = Path("var")
REDIS_START_TIMEOUT_S = 10.0


def load_or_create_secrets(var_dir: Path) -> dict[str, str]:
    """Secrets of this installation, generated on first start and kept (mode 0600)."""
    path = var_dir / "secrets.json"
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    var_dir.mkdir(parents=True, exist_ok=True)
    data = {"secretKey": secrets.token_urlsafe(32), "adminToken": secrets.token_urlsafe(32)}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    return data


async def start_redis(data_dir: Path) -> tuple[asyncio.subprocess.Process, str]:
    """A private ``redis-server`` child on a unix socket, with AOF on."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SettingsError("redis-server: not installed; run 'make install' first")
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = (data_dir / "redis.sock").resolve()
    proc = await asyncio.create_subprocess_exec(
        binary,
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(data_dir.resolve()),
        "--appendonly", "yes",
        "--save", "",
        "--logfile", str((data_dir / "redis.log").resolve()),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"unix://{sock}"
    client = Redis.from_url(url)
    try:
        async with asyncio.timeout(REDIS_START_TIMEOUT_S):
            while True:
                try:
                    await client.ping()
                    break
                except (OSError, ConnectionError, Exception) as err:
                    if proc.returncode is not None:
                        raise SettingsError("redis-server: exited at start") from err
                    await asyncio.sleep(0.05)
    finally:
        await client.aclose()
    return proc, url


async def stop_process(proc: asyncio.subprocess.Process, timeout_s: float = 10.0) -> None:
    """SIGTERM a child and wait for it; SIGKILL when it does not stop in time."""
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def ensure_default_workspace(settings: Settings, domains: list[str]) -> dict[str, Any] | None:
    """Create the default workspace and its key on first start; add ``domains``."""
    redis = open_redis(settings)
    try:
        tenancy = make_tenancy(settings, redis)
        marker = f"{settings.redis_prefix}up:default_workspace"
        stored = await redis.get(marker)
        ws_id = text(stored) if stored is not None else None
        created = None
        if ws_id is None:
            workspace = await tenancy.create_workspace("default")
            ws_id = workspace["id"]
            created = await tenancy.create_key(ws_id, "default")
            await redis.set(marker, ws_id)
        for domain in domains:
            await tenancy.add_domain(ws_id, domain)
        return created
    finally:
        await redis.aclose()


def _overrides(var_dir: Path) -> dict[str, Any]:
    kept = load_or_create_secrets(var_dir)
    overrides: dict[str, Any] = {}
    if "SESSIONSHOT_SECRET_KEY" not in os.environ:
        overrides["secret_key"] = kept["secretKey"]
    if "SESSIONSHOT_ADMIN_TOKEN" not in os.environ:
        overrides["admin_token"] = kept["adminToken"]
    if "SESSIONSHOT_STORAGE_DIR" not in os.environ:
        overrides["storage_dir"] = str((var_dir / "storage").resolve())
    return overrides


async def _run(host: str, port: int, domains: list[str]) -> int:
    base = load_settings(**_overrides(VAR_DIR))
    async with AsyncExitStack() as stack:
        update: dict[str, Any] = {}
        if "SESSIONSHOT_REDIS_URL" not in os.environ:
            proc, url = await start_redis(VAR_DIR / "redis")
            stack.push_async_callback(stop_process, proc)
            update["redis_url"] = url
        if not base.public_url:
            update["public_url"] = f"http://{host}:{port}"
        settings = base.model_copy(update=update)
        created = await ensure_default_workspace(settings, domains)
        if created is not None:
            _announce_key(created)
        worker = await start_worker(settings)
        stack.push_async_callback(stop_process, worker, settings.worker_grace_s + 10)
        stop = asyncio.Event()
        stop_on_signals(stop, deadline_s=settings.worker_grace_s + 60)
        return await serve_api(settings, host, port, stop)


async def start_worker(settings: Settings) -> asyncio.subprocess.Process:
    """``sessionshot worker`` as a child process with this process's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSHOT_")}
    env.update(settings.as_env())
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "app.cli", "worker", env=env)


def _announce_key(created: dict[str, Any]) -> None:
    # The one deliberate exception to "no secret in output": the key is shown once, here.
    line = {
        "event": "default_workspace_created",
        "workspaceId": created["workspaceId"],
        "keyId": created["id"],
        "apiKey": created["key"],
        "message": "Keep this API key now: it is shown only once.",
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def run_all_in_one(host: str, port: int, domains: list[str]) -> int:
    """Run everything until SIGTERM / SIGINT; the API's exit status."""
    configure_logging(os.environ.get("SESSIONSHOT_LOG_LEVEL", "INFO"))
    return eventloop.run(_run(host, port, domains))
