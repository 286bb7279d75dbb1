"""Redis going away and coming back, with its data or without (SPEC section 18, first item).

One ``sessionshot serve`` and one ``sessionshot worker`` on a private Redis with an
append-only file: one redis-server, or a three-primary Redis Cluster whose every node keeps
one (SPEC 17). Redis is SIGKILLed twice (on the cluster: all three nodes): restarted empty the
first time (everything it held is lost; the cluster keeps its slot map), with its AOF the
second (it all comes back). Both processes must live through both outages (same pids, still
running), answer 503 on ``/readyz`` while Redis is away and 200 after, and go on working: a
capture queued after the return completes, a live session takes actions.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from sessions.keys import SessionKeys
from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import CaptureStack, json_lines, output
from tests.support.procs import RedisServer, ServiceProcess
from tests.support.redis_cluster import RedisClusterServer
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

INSTANCE_TIMEOUT_S = 3
OUTAGE_S = INSTANCE_TIMEOUT_S + 1.5
"""Each outage lasts longer than the instance timeout: when Redis is back, every heartbeat
it holds is stale, and no process may take the others for lost because of that."""


class KillableRedis(Protocol):
    """A Redis of the test's own that it kills and brings back, with its data or without."""

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...
    def start_empty(self) -> None: ...
    def kill(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class SingleRedis:
    """One redis-server with an AOF; it comes back empty on a fresh directory."""

    server: RedisServer
    root: Path

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self.server.start()

    def start_empty(self) -> None:
        self.server.data_dir = self.root / "redis-2"
        self.server.start()

    def kill(self) -> None:
        self.server.kill()

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(params=["single", "cluster"])
async def aof_redis(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KillableRedis]:
    """A Redis of this test with an AOF, which the test kills and restarts."""
    redis: KillableRedis
    if request.param == "cluster":
        redis = RedisClusterServer(tmp_path / "redis-cluster", aof=True)
    else:
        redis = SingleRedis(RedisServer(tmp_path / "redis-1", aof=True), tmp_path)
    await asyncio.to_thread(redis.start)
    yield redis
    await asyncio.to_thread(redis.stop)


@pytest.fixture
def instance_timeout_s() -> float:
    """The stack's ``SESSIONSHOT_INSTANCE_TIMEOUT`` (a test may parametrize it)."""
    return INSTANCE_TIMEOUT_S


@pytest.fixture
async def stack(
    aof_redis: KillableRedis,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
    instance_timeout_s: float,
) -> AsyncIterator[CaptureStack]:
    stack = await CaptureStack.start(
        aof_redis.url,
        f"f{secrets.token_hex(4)}:",
        tmp_path,
        **browser_overrides(
            target_site,
            canary_site,
            tmp_path / "storage",
            instance_timeout_s=instance_timeout_s,
            capture_timeout_s=20,
        ),
    )
    yield stack
    await stack.aclose()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _ready_status(stack: CaptureStack) -> int:
    return (await stack.http.get("/readyz", timeout=10)).status_code


async def _outage(
    stack: CaptureStack, redis: KillableRedis, worker: ServiceProcess, key: str
) -> None:
    """SIGKILL Redis; ``/readyz`` must say 503 for the whole outage, requests that need Redis
    a retryable 503 (never a 500), and the processes live on."""
    redis.kill()
    await eventually(lambda: _is(stack, 503), 20, "/readyz 503 while Redis is away")
    body = (await stack.http.get("/readyz", timeout=10)).json()
    assert body["status"] == "unavailable" and body["checks"]["redis"] == "error", body
    for path in ("/v1/sessions", "/api/captures/cap_x"):
        away = await stack.http.get(path, headers=_auth(key), timeout=20)
        assert away.status_code == 503, away.text
        assert away.headers["Retry-After"] == "1"
        code = away.json()["code"] if path.startswith("/v1/") else away.json()["error"]["code"]
        assert code == "SERVICE_UNAVAILABLE", away.text
    await asyncio.sleep(OUTAGE_S)
    assert await _ready_status(stack) == 503
    _assert_running(stack, worker)


async def _is(stack: CaptureStack, status: int) -> bool:
    return await _ready_status(stack) == status


def _assert_running(stack: CaptureStack, worker: ServiceProcess) -> None:
    for proc in (stack.api, worker):
        assert proc.proc.poll() is None, f"a process exited: {output(proc)[-3000:]}"


async def _session_works(stack: CaptureStack, key: str, sid: str, target: TargetSite) -> None:
    """A goto and a click on session ``sid`` answer 200 and land in the page."""
    base = f"/v1/sessions/{sid}/actions"
    goto = {"type": "goto", "payload": {"url": target.url("/form")}}
    answered = await stack.http.post(base, headers=_auth(key), json=goto)
    assert answered.status_code == 200, answered.text
    click = {"type": "click", "payload": {"selector": "#btn"}}
    answered = await stack.http.post(base, headers=_auth(key), json=click)
    assert answered.status_code == 200, answered.text
    counted = await stack.http.post(
        base, headers=_auth(key), json={"type": "evaluate", "payload": {"expression": "clicks"}}
    )
    assert counted.json().get("result") == 1, counted.text


async def _new_session(stack: CaptureStack, key: str) -> str:
    created = await stack.http.post("/v1/sessions", headers=_auth(key), json={})
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    return sid


async def _capture_completes(stack: CaptureStack, key: str, target: TargetSite) -> None:
    capture = await stack.create_capture(key, {"url": target.url("/form")})
    final = await stack.wait_final(key, capture["id"], 90)
    assert final["status"] == "completed", (final, stack.logs()[-3000:])


def _events(proc: ServiceProcess, name: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(output(proc)) if line.get("event") == name]


async def test_serve_and_worker_live_through_redis_lost_empty_then_with_its_aof(
    aof_redis: KillableRedis, stack: CaptureStack, target_site: TargetSite
) -> None:
    worker = await stack.start_worker("w")
    pids = (stack.api.proc.pid, worker.proc.pid)
    _, key = await stack.new_key()
    lost_sid = await _new_session(stack, key)
    await _session_works(stack, key, lost_sid, target_site)

    # 1. Redis comes back empty: no workspaces, no sessions, no capture group.
    await _outage(stack, aof_redis, worker, key)
    await asyncio.to_thread(aof_redis.start_empty)
    await eventually(lambda: _is(stack, 200), 30, "/readyz 200 once Redis is back")
    assert (stack.api.proc.pid, worker.proc.pid) == pids
    instances = SessionKeys(stack.prefix).instances()
    await eventually(
        lambda: _zcard_is(stack, instances, 2), 20, "both processes back in the instance table"
    )
    _, key = await stack.new_key()  # the old key went with the data
    await _capture_completes(stack, key, target_site)  # the consumer group was made again
    sid = await _new_session(stack, key)
    await _session_works(stack, key, sid, target_site)
    # The session whose record Redis lost is closed by its owner, unbilled (nothing to
    # bill it against): for clients it no longer exists.
    gone = await stack.http.get(f"/v1/sessions/{lost_sid}", headers=_auth(key))
    assert gone.status_code == 404, gone.text
    await eventually(
        lambda: any(e.get("sessionId") == lost_sid for e in _events(stack.api, "record_lost")),
        10,
        "the owner to drop the session Redis lost",
    )

    # 2. Redis comes back with its AOF: the session and its key are still there.
    await _outage(stack, aof_redis, worker, key)
    await asyncio.to_thread(aof_redis.start)
    await eventually(lambda: _is(stack, 200), 30, "/readyz 200 once Redis is back")
    assert (stack.api.proc.pid, worker.proc.pid) == pids
    session = await stack.get_session(key, sid)
    assert session["status"] == "active", "not taken for lost after the long outage"
    click = {"type": "click", "payload": {"selector": "#btn"}}
    answered = await stack.http.post(f"/v1/sessions/{sid}/actions", headers=_auth(key), json=click)
    assert answered.status_code == 200, answered.text
    await _capture_completes(stack, key, target_site)
    session = await stack.get_session(key, sid)
    assert session["status"] == "active" and session["actionCount"] == 4, session

    _assert_running(stack, worker)
    for proc in (stack.api, worker):
        # Each outage is told once, with its end, not once per failed command or loop.
        downs, ups = _events(proc, "redis_unavailable"), _events(proc, "redis_available")
        assert 2 <= len(downs) <= 4 and len(ups) == len(downs), (downs, ups)
        assert not _events(proc, "loop_gave_up")


async def _zcard_is(stack: CaptureStack, key: str, count: int) -> bool:
    return int(await stack.redis.zcard(key)) == count


async def _answers(stack: CaptureStack, key: str, path: str, status: int) -> bool:
    return (await stack.http.get(path, headers=_auth(key), timeout=30)).status_code == status


# The other nodes serve their own slots until the cluster has marked the stopped primary
# failed (its node timeout, 2 s here, and the gossip that follows); meanwhile an instance
# whose inbox slot is on the stopped node stops beating while the others can still sweep.
# An instance timeout well above the cluster's node timeout (docs/operations.md) keeps that
# window from taking it for lost.
@pytest.mark.parametrize("instance_timeout_s", [12])
@pytest.mark.parametrize("aof_redis", ["cluster"], indirect=True)
async def test_a_cluster_missing_one_primary_is_away_until_it_returns(
    aof_redis: KillableRedis, stack: CaptureStack, target_site: TargetSite
) -> None:
    """No replicas: a primary that is away takes its slots, and the cluster refuses every
    command (CLUSTERDOWN). Both processes wait it out like any outage of Redis."""
    assert isinstance(aof_redis, RedisClusterServer)
    worker = await stack.start_worker("w")
    _, key = await stack.new_key()
    sid = await _new_session(stack, key)
    await _session_works(stack, key, sid, target_site)

    await asyncio.to_thread(aof_redis.stop_node, 1)
    await eventually(lambda: _is(stack, 503), 20, "/readyz 503 while a primary is away")
    body = (await stack.http.get("/readyz", timeout=10)).json()
    assert body["checks"]["redis"] == "error", body
    await eventually(lambda: _answers(stack, key, "/v1/sessions", 503), 30, "requests answer 503")
    _assert_running(stack, worker)

    await asyncio.to_thread(aof_redis.start)
    await eventually(lambda: _is(stack, 200), 30, "/readyz 200 once the primary is back")
    await _session_works(stack, key, sid, target_site)
    await _capture_completes(stack, key, target_site)
    _assert_running(stack, worker)
