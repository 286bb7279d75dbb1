"""Forwarded requests when the owner misbehaves, and the supervision of an instance's loops
(SPEC section 18: a background loop that fails is restarted or stops the instance; an
instance never keeps beating while it cannot answer; a forwarded request is answered within
30 s whatever happens to the owner).

Two ``sessionshot serve`` processes (``a`` and ``b``) share a private Redis: one
redis-server, then a three-primary Redis Cluster (SPEC 17). The
instance timeout is long (an owner only looks lost after it), the forward timeout short: a
forwarded request must be answered within the forward timeout although its owner still
counts as alive.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from sessions.keys import SessionKeys
from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import json_lines
from tests.support.cluster import Cluster, Instance, wait_gone
from tests.support.redis_cluster import RedisBackend
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

INSTANCE_TIMEOUT_S = 20
FORWARD_TIMEOUT_S = 3
"""Well below the test client's bound (``REQUEST_TIMEOUT_S``, 10 s) and the instance timeout:
only the forward timeout can make a frozen owner's request end in time."""
SECRET = "SECRET-IN-GARBAGE-7f3a"

Spawn = Callable[..., Awaitable[Instance]]


@pytest.fixture(scope="module")
async def cluster(
    redis_backend: RedisBackend,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    workdir = tmp_path_factory.mktemp("forwarding")
    shared = Cluster(
        redis_backend.url,
        f"ff{secrets.token_hex(4)}:",
        workdir,
        **browser_overrides(
            target_site,
            canary_site,
            workdir / "storage",
            instance_timeout_s=INSTANCE_TIMEOUT_S,
            forward_timeout_s=FORWARD_TIMEOUT_S,
        ),
    )
    try:
        await shared.start("a", "b")
        yield shared
    finally:
        await shared.aclose()


@pytest.fixture
async def spawn(cluster: Cluster) -> AsyncIterator[Spawn]:
    """Extra instances of the test; stopped (and their browsers reaped) afterwards."""
    mine: list[Instance] = []

    async def start(name: str) -> Instance:
        (inst,) = await cluster.start(f"{name}-{secrets.token_hex(3)}")
        mine.append(inst)
        return inst

    yield start
    for inst in mine:
        if inst.proc.proc.poll() is None:
            await cluster.terminate(inst)
        if await wait_gone(inst.leftovers(), 5.0):
            cluster.kill(inst)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"{response.status_code} {response.text}"
    data: dict[str, Any] = response.json()
    return data


async def _session_on(owner: Instance, key: str, target: TargetSite) -> str:
    created = await owner.create_session(key)
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    _ok(await owner.act(key, sid, "goto", url=target.url("/form")))
    return sid


def _events(inst: Instance, name: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(inst.logs()) if line.get("event") == name]


async def test_malformed_inbox_messages_are_skipped(
    cluster: Cluster, target_site: TargetSite
) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    _, key = await cluster.new_key()
    sid = await _session_on(a, key, target_site)
    inbox = SessionKeys(cluster.prefix).inbox("a")
    garbage: list[str | bytes] = [
        f"garbage {SECRET}",
        b"\xff\xfe not utf-8",
        '{"id": 1}',
        f'{{"id": "x", "op": "act", "key_id": "{SECRET}", "extra": [',
        "[]",
    ]
    await cluster.redis.rpush(inbox, *garbage)

    clicked = await b.act(key, sid, "click", selector="#btn")
    assert _ok(clicked)["success"] is True
    assert clicked.headers["X-Session-Owner"] == "a"
    assert _ok(await b.act(key, sid, "evaluate", expression="clicks"))["result"] == 1
    assert len(_events(a, "inbox_skip")) >= len(garbage)
    assert SECRET not in a.logs(), "a skipped message's content is never logged"


async def test_frozen_owner_yields_503_within_the_forward_timeout(
    cluster: Cluster, target_site: TargetSite
) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    _, key = await cluster.new_key()
    sid = await _session_on(a, key, target_site)

    os.kill(a.pid, signal.SIGSTOP)  # alive to the instance table for 20 s more
    try:
        # Bounded by the test client (RequestHung after 10 s): no hang allowed.
        refused = await b.act(key, sid, "click", selector="#btn")
    finally:
        os.kill(a.pid, signal.SIGCONT)
    assert refused.status_code == 503, refused.text
    body = refused.json()
    assert body["success"] is False and body["code"] == "OWNER_UNAVAILABLE", body
    assert refused.headers["X-Session-Owner"] == "a"

    # Woken up, the owner answers again; the click given up on never ran late.
    _ok(await b.act(key, sid, "query", selector="#btn"))
    session = _ok(await b.get_session(key, sid))
    assert "click" not in session["actionBreakdown"], session
    assert _ok(await a.act(key, sid, "evaluate", expression="window.clicks || 0"))["result"] == 0


async def test_a_failing_inbox_loop_is_restarted(cluster: Cluster, target_site: TargetSite) -> None:
    a, b = cluster.instances["a"], cluster.instances["b"]
    _, key = await cluster.new_key()
    sid = await _session_on(a, key, target_site)
    inbox = SessionKeys(cluster.prefix).inbox("a")
    # A key of the wrong type fails a's inbox reads (WRONGTYPE) until it expires.
    await cluster.redis.set(inbox, "not a list", px=1200)
    await eventually(lambda: _gone(cluster, inbox), 10, "the key to expire")

    _ok(await b.act(key, sid, "click", selector="#btn"))
    failures = _events(a, "loop_failed")
    assert failures and {e["loop"] for e in failures} == {"inbox"}, "the fault did happen"
    assert not _events(a, "loop_gave_up")


async def _gone(cluster: Cluster, key: str) -> bool:
    return not await cluster.redis.exists(key)


async def test_a_loop_that_keeps_failing_stops_the_instance(cluster: Cluster, spawn: Spawn) -> None:
    doomed = await spawn("doomed")
    inbox = SessionKeys(cluster.prefix).inbox(doomed.id)
    instances = SessionKeys(cluster.prefix).instances()
    await cluster.redis.set(inbox, "not a list")  # for good: every restart fails
    try:
        await eventually(lambda: doomed.proc.proc.poll() is not None, 60, "doomed to exit")
    finally:
        await cluster.redis.delete(inbox)
    assert doomed.proc.proc.returncode == 1, doomed.logs()[-3000:]
    (gave_up,) = _events(doomed, "loop_gave_up")
    assert gave_up["loop"] == "inbox"
    assert await cluster.redis.zscore(instances, doomed.id) is None, "it no longer beats"
