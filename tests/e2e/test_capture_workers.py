"""Capture workers as real processes under faults (SPEC section 3 "Capture pipeline
guarantees", section 4 "Routing" on worker SIGTERM).

One ``sessionshot serve`` per module and ``sessionshot worker`` processes per test, all on a
private Redis, one key prefix and one storage directory, capturing the loopback target site.
The module runs twice: on one redis-server, then on a three-primary Redis Cluster (SPEC 17).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from captures.keys import CaptureKeys
from sessions.keys import SessionKeys
from sessions.redis_types import text_dict
from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import (
    CaptureStack,
    json_lines,
    output,
    redis_contents,
    stop_process,
)
from tests.support.procs import ServiceProcess, alive, descendants
from tests.support.redis_cluster import RedisBackend
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

# Real workers SIGKILLed, SIGTERMed and restarted: the slowest tier.
pytestmark = pytest.mark.slow

CAPTURE_TIMEOUT_S = 10
GRACE_S = 20
VISIBILITY_S = 15
"""``SESSIONSHOT_WORKER_VISIBILITY_S``: a job unacknowledged this long is a dead worker's and
is reclaimed. Above the capture budget, so a live worker's job is never taken from it; far
below the default (budget + 30 s) to keep the crash test short."""

ONE_REDIS_ONLY = pytest.mark.parametrize("redis_backend", ["single"], indirect=True)
"""For the slowest tests whose Redis commands the cluster run already makes elsewhere in the
module (reclaiming a dead worker's job, counting attempts): one Redis is enough."""


@pytest.fixture(scope="module")
async def module_stack(
    redis_backend: RedisBackend,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[CaptureStack]:
    workdir = tmp_path_factory.mktemp("capture-workers")
    stack = await CaptureStack.start(
        redis_backend.url,
        f"w{secrets.token_hex(4)}:",
        workdir,
        **browser_overrides(
            target_site,
            canary_site,
            workdir / "storage",
            capture_timeout_s=CAPTURE_TIMEOUT_S,
            worker_grace_s=GRACE_S,
            worker_visibility_s=VISIBILITY_S,
            worker_concurrency=2,
        ),
    )
    yield stack
    await stack.aclose()


@pytest.fixture
async def stack(module_stack: CaptureStack) -> AsyncIterator[CaptureStack]:
    """The module's stack; the workers a test started are stopped after it."""
    yield module_stack
    while module_stack.workers:
        await stop_process(module_stack.workers.pop())


def slow_url(site: TargetSite, ms: int) -> tuple[str, str]:
    """A ``/slow`` page URL with a tag of its own, and the tag (to find its requests)."""
    tag = secrets.token_hex(6)
    return site.url(f"/slow?ms={ms}&tag={tag}"), tag


def requests_tagged(site: TargetSite, tag: str) -> list[Any]:
    return [r for r in site.requests_to("/slow") if f"tag={tag}" in r.query]


async def wait_mid_flight(
    stack: CaptureStack, key: str, capture_id: str, site: TargetSite, tag: str, attempt: int = 1
) -> dict[str, Any]:
    """Until the capture is ``processing`` and the browser of its ``attempt``-th try waits
    on the slow page."""

    async def in_flight() -> dict[str, Any] | None:
        capture = await stack.get_capture(key, capture_id)
        assert capture["status"] in ("queued", "processing"), capture
        if capture["status"] == "processing" and len(requests_tagged(site, tag)) >= attempt:
            return capture
        return None

    found: dict[str, Any] = await eventually(in_flight, 30, f"{capture_id} mid-flight")
    return found


def kill_with_children(worker: ServiceProcess) -> None:
    """SIGKILL the worker like a crash; then end its browser processes it left behind."""
    children = descendants(worker.proc.pid)
    worker.kill()
    for pid in children:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


async def sessions_of(stack: CaptureStack, **match: str) -> list[dict[str, str]]:
    """Session records in Redis (every workspace's session hashes) whose fields equal ``match``."""
    found = []
    pattern = SessionKeys(stack.prefix).session("*", "*")
    async for key in stack.redis.scan_iter(match=pattern, count=1000):
        if await stack.redis.type(key) != "hash":
            continue
        record = text_dict(await stack.redis.hgetall(key))
        if all(record.get(name) == value for name, value in match.items()):
            found.append(record)
    return found


async def usage_totals(stack: CaptureStack, ws_id: str) -> tuple[int, int]:
    """``(credits, sessions)`` summed over the workspace's daily usage hashes."""
    credits = sessions = 0
    pattern = SessionKeys(stack.prefix).usage_day(ws_id, "*")
    async for key in stack.redis.scan_iter(match=pattern, count=1000):
        credits += int(await stack.redis.hget(key, "credits") or 0)
        sessions += int(await stack.redis.hget(key, "sessions") or 0)
    return credits, sessions


async def final_counts(stack: CaptureStack) -> dict[str, int]:
    stats = await stack.redis.hgetall(CaptureKeys(stack.prefix).stats())
    return {name: int(stats.get(name, 0)) for name in ("completed", "failed")}


async def test_capture_survives_a_sigkilled_worker(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    ws_id, key = await stack.new_key()
    worker_a = await stack.start_worker("a")
    finals_before = await final_counts(stack)
    url, tag = slow_url(target_site, 4000)
    capture_id = (await stack.create_capture(key, {"url": url}))["id"]

    mid = await wait_mid_flight(stack, key, capture_id, target_site, tag)
    kill_with_children(worker_a)
    first_session_id = mid.get("sessionId")

    worker_b = await stack.start_worker("b")
    bound = VISIBILITY_S + CAPTURE_TIMEOUT_S + 60
    final = await stack.wait_final(key, capture_id, bound)
    assert final["status"] == "completed", (final, worker_b.stderr[-3000:])
    assert len(requests_tagged(target_site, tag)) >= 2, "the job was retried from the start"

    # Exactly one final state: it does not change, and it was reached once.
    again = await stack.get_capture(key, capture_id)
    assert (again["status"], again["completedAt"]) == ("completed", final["completedAt"])
    finals_after = await final_counts(stack)
    assert finals_after["completed"] - finals_before["completed"] == 1
    assert finals_after["failed"] == finals_before["failed"]

    session = await stack.get_session(key, final["sessionId"])
    assert session["status"] == "closed", session
    assert session["kind"] == "capture", session
    assert session["billedCredits"] >= 1, session

    attempts = await sessions_of(stack, captureId=capture_id)
    attempt_ids = {record["id"] for record in attempts}
    assert len(attempts) == 2, attempts
    assert final["sessionId"] in attempt_ids
    if first_session_id is not None:
        assert first_session_id in attempt_ids and first_session_id != final["sessionId"]
    for record in attempts:
        seen = await stack.get_session(key, record["id"])
        assert seen["status"] == "closed", seen
        assert seen["kind"] == "capture", seen
        assert seen["billedCredits"] >= 1, seen
        finished = record["id"] == final["sessionId"]
        assert seen["closeReason"] == ("closed" if finished else "instance_lost"), seen

    # Billed once each: the usage counters are exactly the sum over the closed sessions.
    workspace_sessions = await sessions_of(stack, workspaceId=ws_id)
    closed = [record for record in workspace_sessions if record["status"] == "closed"]
    assert len(closed) == len(workspace_sessions) == 2, workspace_sessions
    credits, counted = await usage_totals(stack, ws_id)
    assert credits == sum(int(record["billedCredits"]) for record in closed)
    assert counted == len(closed)


@ONE_REDIS_ONLY
async def test_a_capture_whose_workers_keep_dying_fails_after_three_attempts(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    ws_id, key = await stack.new_key()
    # Shorter than the module's: long enough for each worker to be killed before its claim
    # looks abandoned, short enough for the next one to reclaim soon after it starts.
    quick = {"SESSIONSHOT_WORKER_VISIBILITY_S": "6"}
    url, tag = slow_url(target_site, 6000)
    capture_id = (await stack.create_capture(key, {"url": url}))["id"]
    for attempt in (1, 2, 3):
        worker = await stack.start_worker(f"doomed-{attempt}", **quick)
        await wait_mid_flight(stack, key, capture_id, target_site, tag, attempt)
        kill_with_children(worker)

    last = await stack.start_worker("last", **quick)
    final = await stack.wait_final(key, capture_id, 60)
    assert final["status"] == "failed", (final, last.stderr[-3000:])
    assert final["error"]["code"] == "INTERNAL", final
    assert len(requests_tagged(target_site, tag)) == 3, "no fourth attempt ran"

    attempts = await sessions_of(stack, captureId=capture_id)
    assert len(attempts) == 3, attempts
    for record in attempts:
        seen = await stack.get_session(key, record["id"])
        assert (seen["status"], seen["closeReason"]) == ("closed", "instance_lost"), seen
        assert seen["billedCredits"] >= 1, seen
    credits, counted = await usage_totals(stack, ws_id)
    assert credits == sum(int(record["billedCredits"]) for record in attempts)
    assert counted == 3


async def test_sigterm_drains_in_flight_capture_and_leaves_the_rest(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    _, key = await stack.new_key()
    worker = await stack.start_worker("draining", SESSIONSHOT_WORKER_CONCURRENCY="1")
    url, tag = slow_url(target_site, 3000)
    running_id = (await stack.create_capture(key, {"url": url}))["id"]
    await wait_mid_flight(stack, key, running_id, target_site, tag)
    waiting_id = (await stack.create_capture(key, {"url": target_site.url("/form")}))["id"]

    worker.proc.send_signal(signal.SIGTERM)
    await eventually(
        lambda: worker.proc.poll() is not None, GRACE_S + 15, "the worker to exit after SIGTERM"
    )
    assert worker.proc.returncode == 0, worker.stderr[-3000:]

    done = await stack.get_capture(key, running_id)
    assert done["status"] == "completed", (done, worker.stderr[-3000:])
    left = await stack.get_capture(key, waiting_id)
    assert left["status"] == "queued", "a stopping worker claims nothing new"

    logs = json_lines(output(worker))
    assert any(line.get("event") == "worker_ready" for line in logs)

    await stack.start_worker("successor")
    picked_up = await stack.wait_final(key, waiting_id, 60)
    assert picked_up["status"] == "completed", picked_up


@ONE_REDIS_ONLY
async def test_sigterm_past_the_grace_period_leaves_the_capture_to_be_reclaimed(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    ws_id, key = await stack.new_key()
    # Visibility above one attempt's run time (a 3 s page), so only the cut-off job is taken.
    short = {"SESSIONSHOT_WORKER_GRACE_S": "1", "SESSIONSHOT_WORKER_VISIBILITY_S": "8"}
    worker = await stack.start_worker("cut-off", **short)
    url, tag = slow_url(target_site, 3000)
    capture_id = (await stack.create_capture(key, {"url": url}))["id"]
    await wait_mid_flight(stack, key, capture_id, target_site, tag)

    worker.proc.send_signal(signal.SIGTERM)
    await eventually(lambda: worker.proc.poll() is not None, 30, "the worker to exit")
    assert worker.proc.returncode == 0, worker.stderr[-3000:]
    json_lines(output(worker))
    cut_off = await stack.get_capture(key, capture_id)
    assert cut_off["status"] == "processing", "not final: left to be reclaimed"
    first = await stack.get_session(key, cut_off["sessionId"])
    assert (first["status"], first["closeReason"]) == ("closed", "shutdown"), first

    successor = await stack.start_worker("reclaimer", **short)
    final = await stack.wait_final(key, capture_id, 60)
    assert final["status"] == "completed", (final, successor.stderr[-3000:])
    attempts = await sessions_of(stack, captureId=capture_id)
    assert len(attempts) == 2, attempts
    assert all(record["status"] == "closed" for record in attempts), attempts
    credits, counted = await usage_totals(stack, ws_id)
    assert credits == sum(int(record["billedCredits"]) for record in attempts)
    assert counted == 2


async def test_a_live_worker_never_reclaims_its_own_running_capture(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    """One healthy worker, no fault: a capture running longer than the visibility timeout
    must still complete once, on one session. (A visibility timeout tells dead workers' jobs
    apart; the worker holding the job is alive and knows it is still running it.)"""
    ws_id, key = await stack.new_key()
    worker = await stack.start_worker("alone", SESSIONSHOT_WORKER_VISIBILITY_S="2")
    url, tag = slow_url(target_site, 5000)
    capture_id = (await stack.create_capture(key, {"url": url}))["id"]

    final = await stack.wait_final(key, capture_id, 60)
    attempts = await sessions_of(stack, captureId=capture_id)
    assert final["status"] == "completed", (final, attempts, worker.stderr[-3000:])
    assert len(attempts) == 1, attempts
    assert len(requests_tagged(target_site, tag)) == 1, "the page was loaded once"
    _, counted = await usage_totals(stack, ws_id)
    assert counted == 1


SECRETS = ("COOKIE-PLAINTEXT-1", "HEADER-PLAINTEXT-2", "LS-PLAINTEXT-3")


def leaked(contents: dict[bytes, bytes]) -> list[tuple[bytes, str]]:
    return [
        (key, secret)
        for key, value in contents.items()
        for secret in SECRETS
        if secret.encode() in key or secret.encode() in value
    ]


async def test_auth_state_never_rests_in_redis_or_logs_in_plaintext(
    stack: CaptureStack, target_site: TargetSite
) -> None:
    _, key = await stack.new_key()
    await stack.start_worker("secrets")
    url, tag = slow_url(target_site, 3000)
    body = {
        "url": url,
        "auth": {
            "cookies": [{"name": "sid", "value": SECRETS[0], "domain": "app.test"}],
            "headers": {"X-E2E-Token": SECRETS[1]},
            "localStorage": [{"key": "token", "value": SECRETS[2]}],
        },
    }
    # With an Idempotency-Key too: what is kept to replay the response must not hold it either.
    created = await stack.create_capture(key, body, {"Idempotency-Key": secrets.token_hex(8)})
    capture_id = created["id"]
    payload_key = CaptureKeys(stack.prefix).payload(capture_id).encode()
    responses = [json.dumps(created)]

    scans = 0
    saw_payload = False
    deadline = time.monotonic() + 60
    while True:
        contents = await redis_contents(stack.settings.redis_url, stack.prefix)
        scans += 1
        saw_payload = saw_payload or payload_key in contents
        assert leaked(contents) == [], f"plaintext auth state in Redis (scan {scans})"
        capture = await stack.get_capture(key, capture_id)
        responses.append(json.dumps(capture))
        if capture["status"] in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, f"capture not final in 60 s: {capture}"

    assert capture["status"] == "completed", capture
    assert saw_payload, "the sealed payload was in Redis while the capture ran"
    contents = await redis_contents(stack.settings.redis_url, stack.prefix)
    assert payload_key not in contents, "the payload is deleted when the capture ends"
    assert leaked(contents) == []

    # The auth state did reach the target: the scan above was looking at a live payload.
    seen = requests_tagged(target_site, tag)
    assert seen and seen[0].cookies.get("sid") == SECRETS[0]
    assert seen[0].headers.get("x-e2e-token") == SECRETS[1]

    session = await stack.get_session(key, capture["sessionId"])
    responses.append(json.dumps(session))
    for secret in SECRETS:
        assert secret not in "\n".join(responses), f"{secret} in an API response"
        assert secret not in stack.logs(), f"{secret} in a log line"
    json_lines(stack.logs())
