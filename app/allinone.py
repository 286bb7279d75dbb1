"""``sessionshot up``: Redis, API and worker on one machine, with state kept under ./var.

``up`` supervises three children: the embedded ``redis-server``, an API instance
(``sessionshot serve``) and a capture worker. Each runs in its own session, so a Ctrl-C or a
SIGTERM to the terminal's process group reaches ``up`` alone; ``up`` then stops the API and
the worker (they close their sessions as ``shutdown``, bill them and leave the instance
table) and Redis only after them, each with a timeout.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from app import eventloop
from app.logs import configure_logging
from app.redisconn import open_redis
from app.server import stop_on_signals
from app.settings import Settings, SettingsError, load_settings
from app.tenancy import make_tenancy
from app.vardir import VarDir
from sessions.redis_types import text

log = logging.getLogger("sessionshot.up")

REDIS_START_TIMEOUT_S = 10.0
REDIS_STOP_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 120.0
"""Longest ``up`` waits for its API to answer before it announces the key anyway."""
READY_PROBE_S = 0.1
READY_PROBE_TIMEOUT_S = 2.0
API_STOP_MARGIN_S = 10.0
"""Above ``serve``'s own stop deadline (``SESSIONSHOT_STOP_DEADLINE_S``): it gives up by
itself first."""
WORKER_STOP_MARGIN_S = 30.0
"""Above the worker's own margin past its grace period (20 s)."""
_PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> Callable[[], object] | None:
    """What a child runs between fork and exec: if ``up`` itself dies (SIGKILL), the
    child gets a SIGTERM instead of living on, holding the socket or the port."""
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    return functools.partial(prctl, _PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised child process and how long its stop may take."""

    name: str
    proc: asyncio.subprocess.Process
    stop_timeout_s: float

    async def stop(self) -> int:
        """SIGTERM it and wait; SIGKILL when it does not stop in time. Its exit status, 0
        when the SIGTERM itself ended it: a child still starting (before it handles signals)
        stops so, and that is the stop that was asked for."""
        asked = False
        if self.proc.returncode is None:
            self.proc.terminate()
            asked = True
            try:
                await asyncio.wait_for(self.proc.wait(), self.stop_timeout_s)
            except TimeoutError:
                log.error(
                    "child did not stop in time; killed",
                    extra={"event": "child_killed", "child": self.name},
                )
                self.proc.kill()
                await self.proc.wait()
        code = await self.proc.wait()
        log.info(
            "child stopped", extra={"event": "child_stopped", "child": self.name, "status": code}
        )
        return 0 if asked and code == -signal.SIGTERM else code


async def spawn(name: str, argv: list[str], stop_timeout_s: float, **kwargs: Any) -> Child:
    """Start a child in its own session: a signal to ``up``'s group does not reach it."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_stop_with_parent(),
        **kwargs,
    )
    log.info("child started", extra={"event": "child_started", "child": name, "pid": proc.pid})
    return Child(name, proc, stop_timeout_s)


async def start_redis(data_dir: Path, sock: Path) -> Child:
    """A private ``redis-server`` child on a unix socket, with AOF on."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SettingsError("redis-server: not installed; run 'make install' first")
    data_dir.mkdir(parents=True, exist_ok=True)
    child = await spawn(
        "redis",
        [
            binary,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(data_dir.resolve()),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str((data_dir / "redis.log").resolve()),
        ],
        REDIS_STOP_TIMEOUT_S,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _wait_for_redis(child, f"unix://{sock}")
    except BaseException:
        await child.stop()
        raise
    return child


async def _wait_for_redis(child: Child, url: str) -> None:
    client = Redis.from_url(url)
    try:
        async with asyncio.timeout(REDIS_START_TIMEOUT_S):
            while True:
                try:
                    await client.ping()
                    return
                except Exception as err:  # not listening yet: refused, no socket file
                    if child.proc.returncode is not None:
                        raise SettingsError("redis-server: exited at start") from err
                    await asyncio.sleep(0.05)
    finally:
        await client.aclose()


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


def _overrides(var: VarDir) -> dict[str, Any]:
    kept = var.load_or_create_secrets()
    overrides: dict[str, Any] = {}
    if "SESSIONSHOT_SECRET_KEY" not in os.environ:
        overrides["secret_key"] = kept["secretKey"]
    if "SESSIONSHOT_ADMIN_TOKEN" not in os.environ:
        overrides["admin_token"] = kept["adminToken"]
    if "SESSIONSHOT_STORAGE_DIR" not in os.environ:
        overrides["storage_dir"] = str(var.storage_dir)
    return overrides


def _child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSHOT_")}
    env.update(settings.as_env())
    return env


async def start_services(settings: Settings, host: str, port: int) -> list[Child]:
    """The API instance and the capture worker, with this process's settings."""
    env = _child_env(settings)
    cli = [sys.executable, "-m", "app.cli"]
    api_timeout_s = settings.stop_deadline_s + API_STOP_MARGIN_S
    api = await spawn(
        "api", [*cli, "serve", "--host", host, "--port", str(port)], api_timeout_s, env=env
    )
    worker_timeout_s = settings.worker_grace_s + WORKER_STOP_MARGIN_S
    try:
        worker = await spawn("worker", [*cli, "worker"], worker_timeout_s, env=env)
    except BaseException:
        await api.stop()
        raise
    return [api, worker]


async def supervise(children: list[Child], stop: asyncio.Event) -> int:
    """Wait for a stop request or for a child to exit on its own, then stop the children
    together; 0 when each stopped cleanly after a stop request."""
    waits = {asyncio.ensure_future(child.proc.wait()): child for child in children}
    stopped = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([stopped, *waits], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    status = 0
    for task in done:
        child = waits.get(task)
        if child is not None:
            log.error(
                "child exited; stopping the others",
                extra={"event": "child_exited", "child": child.name, "status": task.result()},
            )
            status = 1
    codes = await asyncio.gather(*(child.stop() for child in children))
    for task in waits:
        task.cancel()
    return status or int(any(codes))


async def _run(var: VarDir, host: str, port: int, domains: list[str]) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)  # from the start: a Ctrl-C while starting stops in order too
    base = load_settings(**_overrides(var))
    update: dict[str, Any] = {}
    redis: Child | None = None
    try:
        if "SESSIONSHOT_REDIS_URL" not in os.environ:
            if var.redis_answers():  # a second Redis would share the first one's data
                raise SettingsError(f"sessionshot up: already running in {var.root}")
            redis = await start_redis(var.redis_dir, var.redis_socket)
            update["redis_url"] = f"unix://{var.redis_socket}"
        if not base.public_url:
            update["public_url"] = f"http://{host}:{port}"
        settings = base.model_copy(update=update)
        created = await ensure_default_workspace(settings, domains)
        if stop.is_set():
            if created is not None:
                _announce_key(created)  # shown once: never lost, even on a stop
            return 0
        children = await start_services(settings, host, port)
        # The key is announced once the API answers, so a client can use it at once.
        await _until_serving(host, port, stop, children)
        if created is not None:
            _announce_key(created)
        return await supervise(children, stop)
    finally:
        # Last: the API and the worker need Redis to close, bill and leave the table.
        if redis is not None:
            await redis.stop()


async def _until_serving(host: str, port: int, stop: asyncio.Event, children: list[Child]) -> None:
    """Wait (bounded) until the API answers ``/healthz``, then log where it serves; a stop
    request or a child that exited ends the wait (supervision takes it from there)."""
    address = "127.0.0.1" if host in ("0.0.0.0", "") else host.strip("[]")
    deadline = time.monotonic() + READY_TIMEOUT_S

    def waiting() -> bool:
        running = all(child.proc.returncode is None for child in children)
        return running and not stop.is_set() and time.monotonic() < deadline

    while waiting():
        if await _answers_health(address, port):
            log.info("ready", extra={"event": "ready", "url": f"http://{host}:{port}"})
            return
        await asyncio.sleep(READY_PROBE_S)
    if time.monotonic() >= deadline:
        log.warning("the API is not answering yet", extra={"event": "not_ready_yet"})


async def _answers_health(address: str, port: int) -> bool:
    """True when ``GET /healthz`` answers 200."""
    try:
        async with asyncio.timeout(READY_PROBE_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(address, port)
            try:
                writer.write(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
                status = await reader.readline()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False
    return status.split(b" ")[1:2] == [b"200"]


def _announce_key(created: dict[str, Any]) -> None:
    # The one deliberate exception to "no secret in output": the key is shown once, here.
    # Field names as in the admin API's key object.
    line = {
        "event": "default_workspace_created",
        "workspaceId": created["workspaceId"],
        "keyId": created["id"],
        "key": created["key"],
        "message": "Keep this API key now: it is shown only once.",
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def run_all_in_one(var: VarDir, host: str, port: int, domains: list[str]) -> int:
    """Run everything until SIGTERM / SIGINT; 0 after a clean stop, else 1."""
    configure_logging(os.environ.get("SESSIONSHOT_LOG_LEVEL", "INFO"))
    return eventloop.run(_run(var, host, port, domains))
