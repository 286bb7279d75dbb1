"""A capture worker runs one browser: captures never use connect browsers, so it keeps none
launched (each would be a whole idle Chromium next to the one the captures use)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.conftest import browser_overrides
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import CaptureStack
from tests.support.procs import RedisServer, descendants
from tests.support.target_site import TargetSite
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(180)


def browser_processes(pid: int) -> list[int]:
    """Chromium main processes below ``pid`` (its helpers carry ``--type=``)."""
    found = []
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        # Chromium rewrites its helpers' command lines (one string): search the whole line.
        program = Path(cmdline.split(b"\0")[0].split(b" ")[0].decode()).name
        if "chrom" in program and b"--type=" not in cmdline:
            found.append(child)
    return found


async def test_the_worker_keeps_no_connect_browser(
    redis_server: RedisServer,
    target_site: TargetSite,
    canary_site: CanarySite,
    tmp_path: Path,
) -> None:
    # Connect browsers kept warm, as in production (the tests' default keeps none).
    stack = await CaptureStack.start(
        redis_server.url,
        f"wb{secrets.token_hex(4)}:",
        tmp_path,
        **browser_overrides(target_site, canary_site, tmp_path / "storage", connect_warm=1),
    )
    try:
        worker = await stack.start_worker("only")
        _, key = await stack.new_key()
        created = await stack.create_capture(key, {"url": target_site.url("/")})
        # The capture ran on this worker, well after it started (a warm browser would be
        # launched at once): the shared browser alone is there.
        assert (await stack.wait_final(key, created["id"], 90))["status"] == "completed"
        browsers = await eventually(
            lambda: browser_processes(worker.proc.pid), 30, "the worker's browser"
        )
        assert len(browsers) == 1, browsers
    finally:
        await stack.aclose()
