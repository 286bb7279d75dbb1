"""Routing between instances as real processes (SPEC section 4 "Routing between instances",
the session object, and section 6 on billing exactly once).

A module-wide pair of ``sessionshot serve`` processes (``a`` and ``b``) shares a private
Redis and one key prefix; tests add instances of their own to that cluster (one to SIGKILL,
one to SIGTERM) and stop them afterwards. The pair runs twice: on one redis-server, then on a
three-primary Redis Cluster (SPEC 17). Placement runs on a separate pair with room
for one session each, on a prefix of its own so the module's pair cannot take its sessions.
Every instance browses the loopback HTTPS target site (``https://app.test:PORT``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sessions.keys import SessionKeys
from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.cluster import Cluster, Instance, usage_totals, wait_gone
from tests.support.hosts import OTHER_HOST
from tests.support.procs import RedisServer, alive
from tests.support.redis_cluster import RedisBackend
from tests.support.target_site import TargetSite
from tests.support.waiting import WaitTimedOut, eventually

# Real instances SIGKILLed, SIGTERMed and restarted under their ids.
pytestmark = pytest.mark.slow

INSTANCE_TIMEOUT_S = 3
FINALISE_WITHIN_S = INSTANCE_TIMEOUT_S + 5
"""SPEC: a lost owner's sessions are finalised within the timeout plus 5 s."""
WORKSPACE_MAX_SESSIONS = 2

Spawn = Callable[..., Awaitable[Instance]]


def _settings(target: TargetSite, canary: CanarySite, workdir: Path, **extra: Any) -> Any:
    return browser_overrides(
        target,
        canary,
        workdir / "storage",
        instance_timeout_s=INSTANCE_TIMEOUT_S,
        **extra,
    )


@pytest.fixture(scope="module")
async def cluster(
    redis_backend: RedisBackend,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    """Instances ``a`` and ``b`` for the whole module (workspace limit 2 sessions), on one
    Redis and on a Redis Cluster (forwarding, finalising and billing: SPEC 17)."""
    workdir = tmp_path_factory.mktemp("routing")
    shared = Cluster(
        redis_backend.url,
        f"r{secrets.token_hex(4)}:",
        workdir,
        **_settings(
            target_site, canary_site, workdir, workspace_max_sessions=WORKSPACE_MAX_SESSIONS
        ),
    )
    try:
        await shared.start("a", "b")
        yield shared
    finally:
        leaked = await shared.aclose()
    assert not leaked, f"browser processes left after SIGTERM: {leaked}"


@pytest.fixture
async def spawn(cluster: Cluster) -> AsyncIterator[Spawn]:
    """Start extra instances in the module's cluster; stopped (and reaped) after the test."""
    mine: list[Instance] = []

    async def start(instance_id: str, **env: str) -> Instance:
        (inst,) = await cluster.start(f"{instance_id}-{secrets.token_hex(3)}", **env)
        mine.append(inst)
        return inst

    yield start
    for inst in mine:
        if inst.proc.proc.poll() is None:
            await cluster.terminate(inst)
        left = await wait_gone(inst.leftovers(), 5.0)
        if left:
            cluster.kill(inst)


@pytest.fixture
def a(cluster: Cluster) -> Instance:
    return cluster.instances["a"]


@pytest.fixture
def b(cluster: Cluster) -> Instance:
    return cluster.instances["b"]


def _data(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    data: dict[str, Any] = response.json()
    return data


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _assert_v1_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body = _data(response, status)
    assert body["success"] is False and body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"], body
    return body


async def _open_on(inst: Instance, key: str, target: TargetSite) -> str:
    """A session created through ``inst``, on the target's ``/form`` page."""
    created = _data(await inst.create_session(key), 201)
    sid: str = created["id"]
    _data(await inst.act(key, sid, "goto", url=target.url("/form")))
    return sid


# --------------------------------------------------------------------------- forwarding


async def test_actions_through_any_instance_run_on_the_owner(
    cluster: Cluster, a: Instance, b: Instance, target_site: TargetSite
) -> None:
    _, key = await cluster.new_key()
    created = await a.create_session(key)
    sid = _data(created, 201)["id"]
    assert created.headers["X-Session-Owner"] == "a"
    goto = await b.act(key, sid, "goto", url=target_site.url("/form"))
    assert _data(goto)["status"] == 200
    assert goto.headers["X-Session-Owner"] == "a"

    clicks = await asyncio.gather(
        *(inst.act(key, sid, "click", selector="#btn") for inst in [a, b] * 10)
    )
    for response in clicks:
        assert _data(response)["success"] is True
        assert response.headers["X-Session-Owner"] == "a", response.headers
    evaluated = await b.act(key, sid, "evaluate", expression="window.clicks")
    assert _data(evaluated)["result"] == 20, "every click, local or forwarded, landed once"

    via_b = await b.get_session(key, sid)
    session = _data(via_b)
    assert via_b.headers["X-Session-Owner"] == "a"
    assert session["status"] == "active"
    assert session["actionCount"] == 1 + 20 + 1
    assert session["actionSuccessCount"] == 22 and session["actionErrorCount"] == 0
    assert session["actionBreakdown"]["click"] == {"total": 20, "success": 20, "error": 0}
    assert session["actionBreakdown"]["goto"]["total"] == 1
    assert session["actionBreakdown"]["evaluate"]["total"] == 1
    assert _data(await a.get_session(key, sid)) | {"expiresInSeconds": 0} == session | {
        "expiresInSeconds": 0
    }, "every instance reads the same record"

    for index, char in enumerate("0123456789"):
        typed = await (a if index % 2 == 0 else b).act(
            key, sid, "type", selector="#name", text=char
        )
        assert _data(typed)["success"] is True
        assert typed.headers["X-Session-Owner"] == "a"
    value = await a.act(key, sid, "evaluate", expression="document.querySelector('#name').value")
    assert _data(value)["result"] == "0123456789", "actions applied in arrival order"

    # The owner's errors come back through the hop with their status, code and session.
    missing = await b.act(key, sid, "click", selector="#missing", timeout=300)
    body = _assert_v1_error(missing, 422, "SELECTOR_TIMEOUT")
    assert body["session"]["id"] == sid and body["expiresInSeconds"] > 0
    assert missing.headers["X-Session-Owner"] == "a"
    refused = await b.act(key, sid, "goto", url=target_site.url("/form", host=OTHER_HOST))
    _assert_v1_error(refused, 403, "DOMAIN_NOT_ALLOWED")
    assert refused.headers["X-Session-Owner"] == "a"
    counted = _data(await b.get_session(key, sid))
    assert counted["actionCount"] == 22 + 10 + 1 + 2
    assert counted["actionErrorCount"] == 2
    assert counted["actionBreakdown"]["click"] == {"total": 21, "success": 20, "error": 1}

    closed = await b.request("DELETE", f"/v1/sessions/{sid}", key)
    assert _data(closed)["status"] == "closed" and closed.headers["X-Session-Owner"] == "a"
    after = await b.act(key, sid, "click", selector="#btn")
    body = _assert_v1_error(after, 409, "SESSION_CLOSED")
    assert body["session"]["closeReason"] == "closed" and body["expiresInSeconds"] == 0
    assert after.headers["X-Session-Owner"] == "a"


# --------------------------------------------------------------------------- owner lost


async def _all_closed(
    reader: Instance, key: str, sids: list[str], final: dict[str, dict[str, Any]]
) -> bool:
    """Read every session, keeping the latest read of each closed one in ``final``; True
    once all of them are closed."""
    for sid in sids:
        session = _data(await reader.get_session(key, sid))
        if session["status"] == "closed":
            final[sid] = session
    return len(final) == len(sids)


async def _race_until_finalised(
    readers: list[Instance], key: str, sids: list[str]
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, httpx.Response]]]:
    """Until every session reads ``closed`` (bounded), sending actions through the readers.

    Returns the final sessions and every action answer seen meanwhile.
    """
    final: dict[str, dict[str, Any]] = {}
    answers: list[tuple[str, httpx.Response]] = []
    done = asyncio.Event()

    async def poll() -> None:
        try:
            await eventually(
                lambda: _all_closed(readers[0], key, sids, final),
                FINALISE_WITHIN_S,
                "every session finalised after the kill",
                interval_s=0.2,
            )
        except WaitTimedOut as err:
            raise AssertionError(
                f"not finalised within {FINALISE_WITHIN_S} s of the kill: {sorted(final)}"
            ) from err
        finally:
            done.set()

    async def act(inst: Instance, sid: str) -> None:
        while not done.is_set():
            answers.append((sid, await inst.act(key, sid, "query", selector="#btn")))
            await asyncio.sleep(0.25)

    await asyncio.gather(poll(), *(act(inst, sid) for inst in readers for sid in sids))
    return final, answers


async def test_sigkilled_owner_is_finalised_once_by_the_survivors(
    cluster: Cluster, a: Instance, b: Instance, spawn: Spawn, target_site: TargetSite
) -> None:
    victim = await spawn("victim")
    ws_id, key = await cluster.new_key()
    sids = [await _open_on(victim, key, target_site) for _ in range(2)]
    before = [_data(await a.get_session(key, sid)) for sid in sids]
    assert all(s["status"] == "active" for s in before)
    routed = await b.act(key, sids[0], "query", selector="#btn")
    assert routed.headers["X-Session-Owner"] == victim.id

    cluster.kill(victim)  # returns once the process is gone: no heartbeat after this
    killed_ms = time.time_ns() // 1_000_000

    final, answers = await _race_until_finalised([a, b], key, sids)
    assert any(r.status_code == 503 for _, r in answers), "503 OWNER_UNAVAILABLE before"
    for sid, response in answers:  # each one answered (none hung): 503 before, 409 after
        assert response.status_code in (503, 409), response.text
        code = "OWNER_UNAVAILABLE" if response.status_code == 503 else "SESSION_CLOSED"
        body = _assert_v1_error(response, response.status_code, code)
        assert body["session"]["id"] == sid, "the error carries the session"
        if response.status_code == 409:
            assert body["session"]["closeReason"] == "instance_lost", body
        assert response.headers["X-Session-Owner"] == victim.id

    for sid, started in zip(sids, before, strict=True):
        session = final[sid]
        assert session["closeReason"] == "instance_lost", session
        assert session["billedCredits"] >= 1 and session["closedAt"]
        assert session["expiresInSeconds"] == 0
        billed_to_ms = _ms(session["startedAt"]) + session["durationSeconds"] * 1000
        assert billed_to_ms <= killed_ms + 1000, "billed up to the last heartbeat, not later"
        assert session["startedAt"] == started["startedAt"]
        for inst in (a, b):
            refused = await inst.act(key, sid, "click", selector="#btn")
            body = _assert_v1_error(refused, 409, "SESSION_CLOSED")
            assert body["expiresInSeconds"] == 0
            assert body["session"] == {k: v for k, v in session.items() if k != "expiresInSeconds"}
            assert refused.headers["X-Session-Owner"] == victim.id
        again = _data(await b.get_session(key, sid))
        assert again == session, "counters and bill no longer change once closed"

    totals = await usage_totals(cluster.redis, cluster.prefix, ws_id)
    assert totals["sessions"] == len(sids), totals
    assert totals["credits"] == sum(final[sid]["billedCredits"] for sid in sids), totals
    assert totals["durationSeconds"] == sum(final[sid]["durationSeconds"] for sid in sids)
    keys = SessionKeys(cluster.prefix)
    assert not await cluster.redis.smembers(keys.instance_sessions(victim.id))


# --------------------------------------------------------------------------- graceful stop


async def test_sigterm_closes_sessions_as_shutdown_and_stops_the_browser(
    cluster: Cluster, b: Instance, spawn: Spawn, target_site: TargetSite
) -> None:
    leaving = await spawn("leaving")
    ws_id, key = await cluster.new_key()
    sids = [await _open_on(leaving, key, target_site) for _ in range(2)]
    browser = leaving.remember_children()
    assert browser, "the instance runs its browser as child processes"

    assert await cluster.terminate(leaving) == 0, leaving.logs()[-3000:]

    for sid in sids:
        session = _data(await b.get_session(key, sid))
        assert session["status"] == "closed", session
        assert session["closeReason"] == "shutdown"
        assert session["billedCredits"] >= 1
        refused = await b.act(key, sid, "query", selector="#btn")
        _assert_v1_error(refused, 409, "SESSION_CLOSED")
    totals = await usage_totals(cluster.redis, cluster.prefix, ws_id)
    assert totals["sessions"] == 2
    left = await wait_gone(browser, 5.0)
    assert not left, f"browser processes outlived a graceful stop: {sorted(left)}"
    assert all(not alive(pid) for pid in browser)
    instances = SessionKeys(cluster.prefix).instances()
    assert await cluster.redis.zscore(instances, leaving.id) is None, "it left the table"


# --------------------------------------------------------------------------- placement


@pytest.fixture
async def small_pair(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Instances ``p1`` and ``p2`` with room for one session each, on a prefix of their own."""
    pair = Cluster(
        redis_server.url,
        f"p{secrets.token_hex(4)}:",
        tmp_path,
        **_settings(target_site, canary_site, tmp_path, max_sessions=1),
    )
    try:
        await pair.start("p1", "p2")
        yield pair
    finally:
        leaked = await pair.aclose()
    assert not leaked, f"browser processes left after SIGTERM: {leaked}"


async def test_full_instance_places_the_session_on_another_or_refuses(
    small_pair: Cluster, target_site: TargetSite
) -> None:
    p1, p2 = small_pair.instances["p1"], small_pair.instances["p2"]
    _, key = await small_pair.new_key()
    first = await p1.create_session(key)
    assert _data(first, 201)["status"] == "active"
    assert first.headers["X-Session-Owner"] == "p1"

    second = await p1.create_session(key)
    placed = _data(second, 201)
    assert second.headers["X-Session-Owner"] == "p2"
    sid = placed["id"]
    goto = await p1.act(key, sid, "goto", url=target_site.url("/form"))
    assert _data(goto)["status"] == 200 and goto.headers["X-Session-Owner"] == "p2"
    click = await p1.act(key, sid, "click", selector="#btn")
    assert _data(click)["success"] is True and click.headers["X-Session-Owner"] == "p2"
    counted = await p1.act(key, sid, "evaluate", expression="window.clicks")
    assert _data(counted)["result"] == 1

    for inst in (p1, p2):
        refused = await inst.create_session(key)
        _assert_v1_error(refused, 503, "CAPACITY")
    listed = _data(await p2.request("GET", "/v1/sessions?status=active", key))
    assert len(listed["sessions"]) == 2, "a refused create leaves nothing behind"


async def test_workspace_limit_counts_sessions_on_every_instance(
    cluster: Cluster, a: Instance, b: Instance
) -> None:
    _, key = await cluster.new_key()
    on_a = await a.create_session(key)
    on_b = await b.create_session(key)
    assert on_a.headers["X-Session-Owner"] == "a" and on_b.headers["X-Session-Owner"] == "b"
    for inst in (a, b):
        _assert_v1_error(await inst.create_session(key), 429, "CONCURRENCY_LIMIT")
    _data(await a.request("DELETE", f"/v1/sessions/{_data(on_b, 201)['id']}", key))
    again = await a.create_session(key)
    assert _data(again, 201)["status"] == "active", "a closed session frees its slot"
    for response in (on_a, again):
        _data(await b.request("DELETE", f"/v1/sessions/{response.json()['id']}", key))


# --------------------------------------------------------------------------- restart


@pytest.fixture
async def solo(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """One instance ``api-1`` (a fixed id, as in docker-compose.yml) on a prefix of its own."""
    alone = Cluster(
        redis_server.url,
        f"s{secrets.token_hex(4)}:",
        tmp_path,
        **_settings(
            target_site, canary_site, tmp_path, workspace_max_sessions=WORKSPACE_MAX_SESSIONS
        ),
    )
    try:
        await alone.start("api-1")
        yield alone
    finally:
        leaked = await alone.aclose()
    assert not leaked, f"browser processes left after SIGTERM: {leaked}"


async def test_instance_restarted_under_its_id_finalises_the_sessions_it_lost(
    solo: Cluster,
) -> None:
    """A crashed instance brought back under the same ``SESSIONSHOT_INSTANCE_ID`` (a
    supervisor's restart) cannot hold the sessions its previous process had: once it is
    back, they must be finalised as ``instance_lost`` like any lost owner's, not stay
    ``active`` answering 503 for ever (holding workspace slots, never billed)."""
    crashed = solo.instances["api-1"]
    ws_id, key = await solo.new_key()
    sids = [_data(await crashed.create_session(key), 201)["id"] for _ in range(2)]
    solo.kill(crashed)
    # No heartbeat for longer than the timeout: by any reading, the owner was lost.
    await asyncio.sleep(INSTANCE_TIMEOUT_S + 0.5)
    back = await solo.restart(crashed)

    final: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(WaitTimedOut):  # the assertion below says what is stuck, and how
        await eventually(
            lambda: _all_closed(back, key, sids, final),
            FINALISE_WITHIN_S,
            "the crashed process's sessions finalised",
            interval_s=0.2,
        )
    states = {sid: _data(await back.get_session(key, sid))["status"] for sid in sids}
    stuck = await back.act(key, sids[0], "query", selector="#btn")
    fresh = await back.create_session(key)
    assert len(final) == len(sids), (
        f"sessions of the crashed process still {states} {FINALISE_WITHIN_S} s after its "
        f"restart; an action on one answers {stuck.status_code} {stuck.json().get('code')}; "
        f"a new session (workspace limit {WORKSPACE_MAX_SESSIONS}) answers "
        f"{fresh.status_code} {fresh.json().get('code')}"
    )
    for session in final.values():
        assert session["closeReason"] == "instance_lost" and session["billedCredits"] >= 1
    totals = await usage_totals(solo.redis, solo.prefix, ws_id)
    assert totals["sessions"] == len(sids), totals
    assert _data(fresh, 201)["status"] == "active", "the lost sessions freed their slots"
