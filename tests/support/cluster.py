"""Several real ``sessionshot serve`` processes sharing one Redis prefix (SPEC 4, "Routing").

Used by the routing end-to-end tests and ``bench/routing.py``. Every instance is a child
process with its own ``SESSIONSHOT_INSTANCE_ID``, port and working directory; they share the
secret, the key prefix and every other setting. Waiting never blocks the event loop: the
loopback test sites the browsers load are served by the caller's own loop.

NETWORK RULE: everything here binds and dials 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from sessions.keys import SessionKeys
from sessions.redis_types import RedisClient
from tests.support.procs import ServiceProcess, alive, base_env, descendants, free_port
from tests.support.redis_cluster import client_for
from tests.support.service import ADMIN_TOKEN, settings_env, settings_for_tests
from tests.support.waiting import WaitTimedOut, eventually

REQUEST_TIMEOUT_S = 10.0
"""Every request to an instance is bounded: a hang is a failure, never a stuck test."""
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


class RequestHung(AssertionError):
    """A request to an instance did not answer within :data:`REQUEST_TIMEOUT_S`."""


@dataclass
class Instance:
    """One running ``sessionshot serve`` and a keep-alive HTTP client for it."""

    id: str
    port: int
    proc: ServiceProcess
    http: httpx.AsyncClient
    children: set[int] = field(default_factory=set)
    """Descendant processes seen so far (Playwright's driver, Chromium and its helpers)."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The serve process's id."""
        return self.proc.proc.pid

    def logs(self) -> str:
        """Everything it wrote so far."""
        return self.proc.stdout + self.proc.stderr

    def remember_children(self) -> set[int]:
        """Record the current descendants (they are killed if left behind); return them."""
        now = descendants(self.pid) if self.proc.proc.poll() is None else set()
        self.children |= now
        return now

    def leftovers(self) -> set[int]:
        """Recorded descendants that are still alive."""
        return {pid for pid in self.children if alive(pid)}

    async def request(
        self, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request, bounded by :data:`REQUEST_TIMEOUT_S` (a timeout fails the test)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            return await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException as err:
            raise RequestHung(
                f"{method} {path} on {self.id} did not answer within {REQUEST_TIMEOUT_S} s"
            ) from err

    async def act(self, key: str, session_id: str, kind: str, **payload: Any) -> httpx.Response:
        """``POST /v1/sessions/{id}/actions``."""
        return await self.request(
            "POST",
            f"/v1/sessions/{session_id}/actions",
            key,
            json={"type": kind, "payload": payload},
        )

    async def get_session(self, key: str, session_id: str) -> httpx.Response:
        """``GET /v1/sessions/{id}``."""
        return await self.request("GET", f"/v1/sessions/{session_id}", key)

    async def create_session(self, key: str, **body: Any) -> httpx.Response:
        """``POST /v1/sessions``."""
        return await self.request("POST", "/v1/sessions", key, json=body)


class Cluster:
    """Instances on one Redis prefix with the same settings (per-instance env on top)."""

    def __init__(self, redis_url: str, prefix: str, workdir: Path, **overrides: Any) -> None:
        self.settings: Settings = settings_for_tests(redis_url, prefix, **overrides)
        self.prefix = prefix
        self.workdir = workdir
        self.env = base_env(**settings_env(self.settings))
        self.redis: RedisClient = client_for(redis_url)
        self.instances: dict[str, Instance] = {}
        self._spawned = 0

    async def start(self, *ids: str, **env: str) -> list[Instance]:
        """Start one instance per id (at once) with ``env`` on top; wait until all are ready."""
        started = [self._spawn(instance_id, env) for instance_id in ids]
        await asyncio.gather(*(self._wait_ready(inst) for inst in started))
        for inst in started:
            inst.remember_children()
        return started

    async def restart(self, inst: Instance, **env: str) -> Instance:
        """Start a new process under the id of ``inst``, which must have exited (a crashed
        instance brought back by its supervisor); wait until it is ready."""
        assert inst.proc.proc.poll() is not None, f"{inst.id} is still running"
        await inst.http.aclose()
        del self.instances[inst.id]
        (again,) = await self.start(inst.id, **env)
        again.children |= inst.children  # so whatever the old one left is reaped too
        return again

    def _spawn(self, instance_id: str, env: dict[str, str]) -> Instance:
        assert instance_id not in self.instances, instance_id
        port = free_port()
        self._spawned += 1
        workdir = self.workdir / f"{instance_id}.{self._spawned}"
        workdir.mkdir(parents=True, exist_ok=True)
        proc = ServiceProcess(
            ["serve", "--host", "127.0.0.1", "--port", str(port)],
            {**self.env, "SESSIONSHOT_INSTANCE_ID": instance_id, **env},
            workdir,
        )
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=REQUEST_TIMEOUT_S)
        inst = Instance(instance_id, port, proc, http)
        self.instances[instance_id] = inst
        return inst

    async def _wait_ready(self, inst: Instance) -> None:
        async def ready() -> bool:
            assert inst.proc.proc.poll() is None, f"{inst.id} exited: {inst.logs()[-3000:]}"
            try:
                return (await inst.http.get("/readyz", timeout=2)).status_code == 200
            except httpx.TransportError:
                return False

        try:
            await eventually(ready, READY_TIMEOUT_S, f"{inst.id} /readyz")
        except WaitTimedOut as err:
            raise AssertionError(f"{inst.id} not ready: {inst.logs()[-3000:]}") from err

    async def new_key(self, domains: tuple[str, ...] = ("app.test",)) -> tuple[str, str]:
        """A fresh workspace allowed on ``domains`` (admin API); ``(workspace_id, api_key)``."""
        inst = next(iter(self.instances.values()))
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ws = await inst.http.post("/admin/workspaces", headers=admin, json={"name": "routing"})
        assert ws.status_code == 201, ws.text
        ws_id: str = ws.json()["id"]
        key = await inst.http.post(f"/admin/workspaces/{ws_id}/keys", headers=admin, json={})
        assert key.status_code == 201, key.text
        for domain in domains:
            added = await inst.http.post(
                f"/admin/workspaces/{ws_id}/domains", headers=admin, json={"domain": domain}
            )
            assert added.status_code == 201, added.text
        return ws_id, key.json()["key"]

    async def terminate(self, inst: Instance, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM and wait off the loop (SIGKILL if it hangs); the exit status or None."""
        inst.remember_children()
        if inst.proc.proc.poll() is None:
            inst.proc.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(inst.proc.proc.wait, timeout_s)
        except subprocess.TimeoutExpired:
            inst.proc.kill()
            return None

    def kill(self, inst: Instance) -> None:
        """SIGKILL the instance like a crashed host: its browser processes die with it."""
        inst.remember_children()
        inst.proc.kill()
        kill_pids(inst.children)

    async def aclose(self) -> dict[str, set[int]]:
        """Stop every instance still running; close the clients. Returns the descendants a
        graceful stop left alive, per instance (they are killed here, whatever happened)."""
        leaked: dict[str, set[int]] = {}
        running = [i for i in self.instances.values() if i.proc.proc.poll() is None]
        await asyncio.gather(*(self.terminate(inst) for inst in running))
        for inst in self.instances.values():
            left = await wait_gone(inst.leftovers(), 5.0)
            if left:
                leaked[inst.id] = left
                kill_pids(left)
            await inst.http.aclose()
        await self.redis.aclose()
        return {k: v for k, v in leaked.items() if k in {i.id for i in running}}


def kill_pids(pids: set[int]) -> None:
    """SIGKILL every pid of ``pids`` still alive (only processes this test started)."""
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


async def wait_gone(pids: set[int], timeout_s: float) -> set[int]:
    """Wait (bounded) until none of ``pids`` is alive; those still alive at the end."""
    with contextlib.suppress(WaitTimedOut):  # the caller decides what leftovers mean
        await eventually(lambda: not any(alive(pid) for pid in pids), timeout_s, "exits")
    return {pid for pid in pids if alive(pid)}


async def usage_totals(redis: RedisClient, prefix: str, ws_id: str) -> dict[str, int]:
    """Sums of the workspace's per-day usage hashes (its own fields, not the per-key ones).

    The hashes are found with the product's own key builder (``SessionKeys.usage_day`` with
    a ``*`` day), so this follows the key layout wherever it lives.
    """
    totals = {"sessions": 0, "captures": 0, "durationSeconds": 0, "credits": 0}
    pattern = SessionKeys(prefix).usage_day(ws_id, "*")
    async for key in redis.scan_iter(match=pattern, count=1000):
        row = await redis.hgetall(key)
        for name in totals:
            totals[name] += int(row.get(name) or 0)
    return totals
