"""Scheduled captures on real ``sessionshot serve`` processes and the real clock (SPEC 16).

Cron has minute granularity, so these take minutes; the two scenarios run side by side in
one test, each on its own Redis prefix:

- two instances and a schedule due every minute: one capture per minute for three minutes,
  then none once paused;
- a schedule whose key is revoked pauses itself at its next due time, saying why;
- one instance stopped across due times: started again, it runs exactly one catch-up
  capture, then waits for the next due time.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.cluster import Cluster, Instance
from tests.support.procs import RedisServer
from tests.support.service import ADMIN_TOKEN
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

EVERY_MINUTE = "* * * * *"


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _next_minute_ms(ms: int) -> int:
    return (ms // 60_000 + 1) * 60_000


async def _until(ms: int) -> None:
    """Return once the wall clock has passed ``ms``."""
    await eventually(lambda: time.time() * 1000 > ms, (ms / 1000 - time.time()) + 30, "time")


async def _create(inst: Instance, key: str, target: TargetSite) -> dict[str, Any]:
    body = {"name": "each minute", "cron": EVERY_MINUTE, "capture": {"url": target.url("/")}}
    created = await inst.request("POST", "/api/schedules", key, json=body)
    assert created.status_code == 201, created.text
    schedule: dict[str, Any] = created.json()
    return schedule


async def _captures(inst: Instance, key: str) -> list[dict[str, Any]]:
    listed = await inst.request("GET", "/api/captures?limit=100", key)
    assert listed.status_code == 200, listed.text
    captures: list[dict[str, Any]] = listed.json()["captures"]
    return captures


async def _every_minute_on_two_instances(shared: Cluster, target: TargetSite) -> None:
    a, b = shared.instances["a"], shared.instances["b"]
    _, key = await shared.new_key()
    schedule = await _create(a, key, target)
    path = f"/api/schedules/{schedule['id']}"

    async def three() -> list[dict[str, Any]] | None:
        runs: list[dict[str, Any]] = (await b.request("GET", path, key)).json()["recentCaptures"]
        return runs if len(runs) >= 3 else None

    await eventually(three, 240, "three scheduled captures")
    paused = await b.request("PATCH", path, key, json={"paused": True})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    runs = (await a.request("GET", path, key)).json()["recentCaptures"]
    captures = await _captures(a, key)
    # One capture per due time: each in a minute of its own, and no other capture made.
    minutes = [_ms(r["createdAt"]) // 60_000 for r in runs]
    assert len(set(minutes)) == len(minutes) == len(captures), (runs, captures)
    assert {c["id"] for c in captures} == {r["id"] for r in runs}
    assert sorted(minutes) == list(range(min(minutes), min(minutes) + len(minutes)))

    # Paused across a due time: nothing more.
    await _until(_next_minute_ms(int(time.time() * 1000)) + 5_000)
    assert len(await _captures(b, key)) == len(captures)
    detail = (await a.request("GET", path, key)).json()
    assert len(detail["recentCaptures"]) == len(runs) and detail["nextRunAt"] is None


async def _revoked_key_pauses_it(shared: Cluster, target: TargetSite) -> None:
    a, b = shared.instances["a"], shared.instances["b"]
    ws_id, key = await shared.new_key()
    schedule = await _create(a, key, target)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    key_id = "key_" + key.split("_")[1]
    revoked = await a.http.delete(f"/admin/keys/{key_id}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    other = await b.http.post(f"/admin/workspaces/{ws_id}/keys", headers=admin, json={})
    reader = other.json()["key"]
    path = f"/api/schedules/{schedule['id']}"

    async def paused() -> dict[str, Any] | None:
        detail: dict[str, Any] = (await b.request("GET", path, reader)).json()
        return detail if detail["paused"] else None

    detail = await eventually(paused, 120, "the schedule pausing itself")
    assert detail["pausedReason"] == "KEY_REVOKED" and detail["recentCaptures"] == []
    assert detail["nextRunAt"] is None


async def _catch_up_after_a_stop(shared: Cluster, target: TargetSite) -> None:
    a = shared.instances["a"]
    _, key = await shared.new_key()
    schedule = await _create(a, key, target)
    path = f"/api/schedules/{schedule['id']}"
    # Stopped before its first due time, and kept down across two more.
    assert await shared.terminate(a) == 0
    stopped_ms = int(time.time() * 1000)
    await _until(_ms(schedule["nextRunAt"]) + 60_000 + 2_000)
    a = await shared.restart(a)

    async def made() -> list[dict[str, Any]] | None:
        runs: list[dict[str, Any]] = (await a.request("GET", path, key)).json()["recentCaptures"]
        return runs or None

    first = (await eventually(made, 30, "the catch-up capture"))[-1]
    boundary = _next_minute_ms(_ms(first["createdAt"]))
    # Let the scheduler look again (it would burst now, if it were to) before the next
    # due time, then count what came after the stop and before that due time.
    await _until(min(boundary - 1_000, int(time.time() * 1000) + 3_000))
    captures = await _captures(a, key)
    early = [c for c in captures if stopped_ms <= _ms(c["createdAt"]) < boundary]
    assert len(early) == 1, captures
    # And the schedule runs on: the next due time makes the next one.
    detail = (await a.request("GET", path, key)).json()
    assert _ms(detail["nextRunAt"]) == boundary


async def test_schedules_on_real_processes(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
) -> None:
    def cluster(name: str) -> Cluster:
        return Cluster(
            redis_server.url,
            f"s{name}{secrets.token_hex(4)}:",
            tmp_path / name,
            **browser_overrides(target_site, canary_site, tmp_path / name / "storage"),
        )

    two, one = cluster("two"), cluster("one")
    try:
        await asyncio.gather(two.start("a", "b"), one.start("a"))
        await asyncio.gather(
            _every_minute_on_two_instances(two, target_site),
            _revoked_key_pauses_it(two, target_site),
            _catch_up_after_a_stop(one, target_site),
        )
    finally:
        await asyncio.gather(two.aclose(), one.aclose())
