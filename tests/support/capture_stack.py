"""Real ``sessionshot serve`` and ``sessionshot worker`` processes for the capture e2e tests.

Everything waits without blocking the event loop: the loopback test sites are served by the
test process's own (session) loop, so a ``time.sleep`` here would stall the pages the
browsers are loading.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from app.settings import Settings
from sessions.redis_types import RedisClient, text
from tests.support.procs import ServiceProcess, base_env, free_port
from tests.support.redis_cluster import client_for
from tests.support.service import ADMIN_TOKEN, settings_env, settings_for_tests
from tests.support.waiting import eventually

FINAL = ("completed", "failed")


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line of ``text`` as a JSON object (asserting each one is)."""
    lines: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as err:
            raise AssertionError(f"log line is not JSON: {line!r}") from err
        assert isinstance(data, dict), f"log line is not a JSON object: {line!r}"
        lines.append(data)
    return lines


def output(proc: ServiceProcess) -> str:
    """Everything a process wrote so far, stdout then stderr."""
    return proc.stdout + proc.stderr


class CaptureStack:
    """One ``sessionshot serve`` plus any number of workers on one Redis prefix and storage."""

    def __init__(self, settings: Settings, workdir: Path, port: int) -> None:
        self.settings = settings
        self.workdir = workdir
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = base_env(**settings_env(settings))
        self.prefix = settings.redis_prefix
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=60)
        self.redis: RedisClient = client_for(settings.redis_url)
        self.api = ServiceProcess(
            ["serve", "--host", "127.0.0.1", "--port", str(port)], self.env, self._dir("api")
        )
        self.workers: list[ServiceProcess] = []

    @classmethod
    async def start(
        cls, redis_url: str, prefix: str, workdir: Path, **overrides: Any
    ) -> CaptureStack:
        """Start the API process and wait until it is ready (Redis and browser up)."""
        port = free_port()
        settings = settings_for_tests(
            redis_url, prefix, public_url=f"http://127.0.0.1:{port}", **overrides
        )
        stack = cls(settings, workdir, port)
        try:
            await eventually(stack._ready, 60, "sessionshot serve /readyz")
        except BaseException:
            await stack.aclose()
            raise
        return stack

    def _dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def _ready(self) -> bool:
        assert self.api.proc.poll() is None, f"serve exited: {self.api.stderr[-3000:]}"
        try:
            return (await self.http.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    async def start_worker(self, name: str, **env: str) -> ServiceProcess:
        """A ``sessionshot worker`` on the stack's settings, once it logged ``worker_ready``."""
        worker = ServiceProcess(["worker"], {**self.env, **env}, self._dir(f"worker-{name}"))
        self.workers.append(worker)

        def ready() -> bool:
            assert worker.proc.poll() is None, f"worker exited: {worker.stderr[-3000:]}"
            return '"worker_ready"' in output(worker)

        await eventually(ready, 60, f"worker {name} to log worker_ready")
        return worker

    async def new_key(self, domains: tuple[str, ...] = ("app.test",)) -> tuple[str, str]:
        """A fresh workspace allowed on ``domains``; ``(workspace_id, api_key)``."""
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ws = await self.http.post("/admin/workspaces", headers=admin, json={"name": "e2e"})
        assert ws.status_code == 201, ws.text
        ws_id = ws.json()["id"]
        key = await self.http.post(f"/admin/workspaces/{ws_id}/keys", headers=admin, json={})
        assert key.status_code == 201, key.text
        for domain in domains:
            added = await self.http.post(
                f"/admin/workspaces/{ws_id}/domains", headers=admin, json={"domain": domain}
            )
            assert added.status_code == 201, added.text
        return ws_id, key.json()["key"]

    async def create_capture(
        self, key: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """``POST /api/captures``, asserting 202."""
        response = await self.http.post(
            "/api/captures", headers={**_auth(key), **(headers or {})}, json=body
        )
        assert response.status_code == 202, response.text
        data: dict[str, Any] = response.json()
        return data

    async def get_capture(self, key: str, capture_id: str, wait_s: int = 0) -> dict[str, Any]:
        """``GET /api/captures/{id}[?wait=N]``, asserting 200."""
        params = {"wait": str(wait_s)} if wait_s else None
        response = await self.http.get(
            f"/api/captures/{capture_id}", headers=_auth(key), params=params
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    async def wait_final(self, key: str, capture_id: str, timeout_s: float) -> dict[str, Any]:
        """Long-poll (``?wait=30``) until the capture is final, within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            capture = await self.get_capture(key, capture_id, wait_s=30)
            if capture["status"] in FINAL:
                return capture
            assert time.monotonic() < deadline, f"capture not final in {timeout_s} s: {capture}"

    async def get_session(self, key: str, session_id: str) -> dict[str, Any]:
        """``GET /v1/sessions/{id}``, asserting 200."""
        response = await self.http.get(f"/v1/sessions/{session_id}", headers=_auth(key))
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def logs(self) -> str:
        """Everything the API and every worker wrote so far."""
        return "".join(output(proc) for proc in [self.api, *self.workers])

    async def aclose(self) -> None:
        """Stop every process (SIGTERM, SIGKILL if it hangs) and close the clients."""
        for proc in [*reversed(self.workers), self.api]:
            await stop_process(proc)
        await self.http.aclose()
        await self.redis.aclose()


async def stop_process(proc: ServiceProcess, timeout_s: float = 30) -> int | None:
    """SIGTERM and wait (off the loop); SIGKILL if it hangs. The exit status, or None."""
    try:
        return await asyncio.to_thread(proc.terminate, timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def redis_contents(url: str, prefix: str) -> dict[bytes, bytes]:
    """Every key under ``prefix`` with all it holds, whatever its type, as raw bytes.

    Strings, hashes (fields and values), lists, sets, sorted sets (members) and streams
    (every entry's fields and values) are read; a key that vanished meanwhile is skipped.
    """
    client = client_for(url, decode_responses=False)
    found: dict[bytes, bytes] = {}
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            parts = await _values(client, key)
            if parts is not None:
                found[key] = b"\n".join(parts)
    finally:
        await client.aclose()
    return found


def _raw(reply: object) -> bytes:
    """A reply of this undecoding client as the bytes Redis holds."""
    return reply if isinstance(reply, bytes) else str(reply).encode()


async def _values(client: RedisClient, key: bytes) -> list[bytes] | None:
    kind = text(await client.type(key))
    if kind == "string":
        value = await client.get(key)
        return None if value is None else [_raw(value)]
    if kind == "hash":
        mapping = await client.hgetall(key)
        return [_raw(item) for pair in mapping.items() for item in pair]
    if kind == "list":
        return [_raw(item) for item in await client.lrange(key, 0, -1)]
    if kind == "set":
        return [_raw(item) for item in await client.smembers(key)]
    if kind == "zset":
        return [_raw(item) for item in await client.zrange(key, 0, -1)]
    if kind == "stream":
        entries = await client.xrange(key, "-", "+") or []
        fields = [
            _raw(item) for _, data in entries for pair in (data or {}).items() for item in pair
        ]
        return fields + [_raw(entry_id) for entry_id, _ in entries]
    if kind == "none":
        return None
    raise AssertionError(f"unexpected Redis type {kind} for {key!r}")
