"""The service under load, as real processes: Redis, two API instances, two workers.

Everything binds 127.0.0.1 on free ports. The HTTPS target site (and the canary its pages
link to) are served by the runner's own event loop, so the runner must keep that loop free
(it waits for Locust with ``asyncio``, never blocking).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import subprocess
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import BENCH_DOMAINS, BENCH_RATE_LIMIT, LocalRedis, start_backing
from tests.support.cluster import kill_pids
from tests.support.hosts import host_map
from tests.support.procs import RedisServer, ServiceProcess, base_env, descendants, free_port
from tests.support.service import ADMIN_TOKEN, settings_env, settings_for_tests
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

INSTANCES = ("a", "b")
WORKERS = ("w1", "w2")
PAGE_PATH = "/form"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0
WORKSPACE_MAX_SESSIONS = 500
"""The load opens more sessions at once than the default workspace limit (20) allows."""


def make_redis(kind: str, root: Path) -> LocalRedis:
    """A private ``redis-server`` or, for ``cluster``, a three-primary Redis Cluster."""
    if kind == "single":
        return RedisServer(root)
    try:
        from tests.support.redis_cluster import RedisClusterServer
    except ImportError as err:
        raise SystemExit(
            "--redis cluster needs tests/support/redis_cluster.py, absent from this checkout"
        ) from err
    cluster: LocalRedis = RedisClusterServer(root)
    return cluster


@dataclass
class Process:
    """One real ``sessionshot`` process of the stack and the descendants seen under it."""

    name: str
    proc: ServiceProcess
    port: int | None = None
    children: set[int] = field(default_factory=set)

    def logs(self) -> str:
        """Everything it wrote so far."""
        return self.proc.stdout + self.proc.stderr

    def error_lines(self) -> list[dict[str, Any]]:
        """Its log lines at level error or above (JSON lines; anything else is an error)."""
        found = []
        for line in self.logs().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                found.append({"level": "raw", "message": line[:300]})
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                found.append(entry)
        return found


@dataclass
class LoadStack:
    """What the load talks to; built by :func:`start_stack`."""

    workdir: Path
    redis_kind: str
    site: TargetSite
    api: dict[str, Process]
    workers: list[Process]
    workspace_id: str
    api_key: str

    @property
    def hosts(self) -> dict[str, str]:
        """Instance id -> base URL."""
        return {name: f"http://127.0.0.1:{p.port}" for name, p in self.api.items()}

    @property
    def target_url(self) -> str:
        """The page every session and capture loads."""
        return self.site.url(PAGE_PATH)

    def processes(self) -> list[Process]:
        """Every ``sessionshot`` process."""
        return [*self.api.values(), *self.workers]


async def start_stack(stack: AsyncExitStack, redis_kind: str) -> LoadStack:
    """Start everything on ``stack`` (stopped in reverse order when it closes)."""
    backing = await start_backing(stack, "ssload-", lambda root: make_redis(redis_kind, root))
    workdir, redis, site, canary = backing.workdir, backing.redis, backing.site, backing.canary
    ports = {name: free_port() for name in INSTANCES}
    settings = settings_for_tests(
        redis.url,
        f"load{secrets.token_hex(4)}:",
        host_map=host_map(site, canary),
        target_allow_cidrs="127.0.0.1/32",
        ignore_https_errors=True,
        storage_dir=str(workdir / "storage"),
        rate_limit=BENCH_RATE_LIMIT,
        workspace_max_sessions=WORKSPACE_MAX_SESSIONS,
        public_url=f"http://127.0.0.1:{ports[INSTANCES[0]]}",
    )
    env = base_env(**settings_env(settings))
    started: list[Process] = []
    stack.push_async_callback(stop_all, started)
    api = {}
    for name, port in ports.items():
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = ServiceProcess(args, {**env, "SESSIONSHOT_INSTANCE_ID": name}, _dir(workdir, name))
        api[name] = Process(name, proc, port)
        started.append(api[name])
    workers = []
    for name in WORKERS:
        proc = ServiceProcess(
            ["worker"], {**env, "SESSIONSHOT_INSTANCE_ID": name}, _dir(workdir, name)
        )
        workers.append(Process(name, proc))
        started.append(workers[-1])
    await asyncio.gather(*(_ready(p) for p in started))
    for process in started:
        process.children |= descendants(process.proc.proc.pid)
    ws_id, key = await new_workspace(next(iter(api.values())))
    return LoadStack(workdir, redis_kind, site, api, workers, ws_id, key)


def _dir(root: Path, name: str) -> Path:
    path = root / "procs" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


async def _ready(process: Process) -> None:
    """``/readyz`` answers 200 (an API instance) or ``worker_ready`` was logged (a worker)."""

    async def ready() -> bool:
        if process.proc.proc.poll() is not None:
            raise RuntimeError(f"{process.name} exited: {process.logs()[-3000:]}")
        if process.port is None:
            return '"worker_ready"' in process.logs()
        try:
            async with httpx.AsyncClient() as http:
                url = f"http://127.0.0.1:{process.port}/readyz"
                return (await http.get(url, timeout=2)).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(ready, READY_TIMEOUT_S, f"{process.name} ready", interval_s=0.2)


async def new_workspace(api: Process) -> tuple[str, str]:
    """A fresh workspace (its usage is the load's alone) and a key, allowed on the site."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}", timeout=30) as http:
        ws = await http.post("/admin/workspaces", headers=admin, json={"name": "load"})
        ws.raise_for_status()
        ws_id: str = ws.json()["id"]
        key = await http.post(f"/admin/workspaces/{ws_id}/keys", headers=admin, json={})
        key.raise_for_status()
        for domain in BENCH_DOMAINS:
            added = await http.post(
                f"/admin/workspaces/{ws_id}/domains", headers=admin, json={"domain": domain}
            )
            added.raise_for_status()
        api_key: str = key.json()["key"]
    return ws_id, api_key


async def stop_all(processes: list[Process]) -> None:
    """SIGTERM every process (they close their sessions and drain) and wait off the loop;
    SIGKILL what hangs and whatever browser processes they leave behind."""

    async def stop(process: Process) -> None:
        proc = process.proc.proc
        if proc.poll() is None:
            process.children |= descendants(proc.pid)
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.proc.kill()

    await asyncio.gather(*(stop(p) for p in processes))
    for process in processes:
        kill_pids(process.children)
