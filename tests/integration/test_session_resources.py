"""No leaks after many sessions; a crashed browser is relaunched and its sessions billed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from tests.conftest import ServiceFactory, browser_overrides
from tests.integration.sessions_helpers import new_client
from tests.support.canary_site import CanarySite
from tests.support.procs import alive, descendants
from tests.support.service import Service
from tests.support.target_site import TargetSite
from tests.support.waiting import WaitTimedOut, eventually


async def _browser_service(
    make_service: ServiceFactory, target: TargetSite, canary: CanarySite, tmp_path: Path
) -> Service:
    return await make_service(**browser_overrides(target, canary, tmp_path / "storage"))


async def _settled(service: Service) -> dict[str, int]:
    engine = service.state.engine

    def settled() -> bool:
        counts = engine.resource_counts()
        return counts["warm"] == service.settings.warm_contexts and counts["tasks"] == 0

    # Best effort: each caller asserts what must hold of the figures read below.
    with contextlib.suppress(WaitTimedOut):
        await eventually(settled, 5, "the warm pool refilled, no task left", interval_s=0.05)
    pid = engine.browser_pid()
    assert pid is not None
    return {
        **engine.resource_counts(),
        "processes": len(descendants(pid)),
        "loop_tasks": len(asyncio.all_tasks()),
    }


PROCESS_SLACK = 1
"""Browser processes above the baseline that may stay: Chromium keeps one spare renderer
ready for the next navigation, made or not depending on timing. A process left behind per
session would be 200 over (20 for the sessions that loaded a page)."""
LOOP_TASKS_SLACK = 5
"""Tasks of the test process's loop that may come and go meanwhile: the loop also runs the
test sites and the other in-process instances' background loops. A task left behind per
session would be 200 over."""


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_two_hundred_sessions_leave_nothing_behind(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> None:
    service = await _browser_service(make_service, target_site, canary_site, tmp_path)
    client = await new_client(service)
    for _ in range(3):  # warm-up: first renderers, caches
        sid = (await client.create())["id"]
        await client.ok(sid, "goto", url=target_site.url("/form"))
        await client.delete(sid)
    baseline = await _settled(service)

    for index in range(200):
        body = {} if index % 2 else {"viewport": {"width": 1000, "height": 700}}
        sid = (await client.create(**body))["id"]
        if index % 10 == 0:
            await client.ok(sid, "goto", url=target_site.url("/form"))
        assert (await client.delete(sid)).status_code == 200

    # Renderers of the last closed contexts exit asynchronously, and a connection the test
    # sites' server saw close winds its tasks down within about a second.
    last: dict[str, int] = {}

    async def back_to_baseline() -> dict[str, int] | None:
        last.update(await _settled(service))
        processes_back = last["processes"] <= baseline["processes"] + PROCESS_SLACK
        tasks_back = last["loop_tasks"] <= baseline["loop_tasks"] + LOOP_TASKS_SLACK
        return dict(last) if processes_back and tasks_back else None

    try:
        after = await eventually(back_to_baseline, 100, "processes and loop tasks back")
    except WaitTimedOut as err:
        raise AssertionError(f"not back to {baseline}: last seen {last}") from err
    assert after["sessions"] == 0
    assert after["contexts"] == baseline["contexts"]
    assert after["tasks"] == baseline["tasks"] == 0
    assert await _warm_gauge(service) == service.settings.warm_contexts


async def _warm_gauge(service: Service) -> int:
    metrics = (await service.http.get("/metrics")).text
    (line,) = [x for x in metrics.splitlines() if x.startswith("sessionshot_warm_contexts ")]
    return int(float(line.split()[1]))


async def test_metrics_show_the_warm_pool_being_used_and_refilled(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> None:
    overrides = browser_overrides(target_site, canary_site, tmp_path / "storage")
    service = await make_service(**{**overrides, "warm_contexts": 2})
    client = await new_client(service)
    await _settled(service)
    assert await _warm_gauge(service) == 2
    sid = (await client.create())["id"]
    assert await _warm_gauge(service) < 2, "a default session took a pre-made context"
    await client.delete(sid)
    await _settled(service)
    assert await _warm_gauge(service) == 2


async def test_crashed_browser_closes_and_bills_its_sessions(
    make_service: ServiceFactory, target_site: TargetSite, canary_site: CanarySite, tmp_path: Path
) -> None:
    service = await _browser_service(make_service, target_site, canary_site, tmp_path)
    client = await new_client(service)
    sid = (await client.create())["id"]
    await client.ok(sid, "goto", url=target_site.url("/form"))
    engine = service.state.engine
    old_pid = engine.browser_pid()
    assert old_pid is not None
    old_children = descendants(old_pid)
    os.kill(old_pid, signal.SIGKILL)

    session = await client.wait_closed(sid)
    assert session["closeReason"] == "browser_crashed" and session["billedCredits"] == 1
    late = await client.act(sid, "click", selector="#btn")
    assert late.status_code == 409

    fresh = (await client.create())["id"]
    await client.ok(fresh, "goto", url=target_site.url("/form"))
    new_pid = engine.browser_pid()
    assert new_pid not in (None, old_pid)
    old_pids = old_children | {old_pid}
    await eventually(lambda: not any(alive(pid) for pid in old_pids), 10, "no orphaned Chromium")

    children = descendants(new_pid)
    await service.aclose()
    assert not any(alive(pid) for pid in children | {new_pid}), "no Chromium outlives the app"
