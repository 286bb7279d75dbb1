"""Browsers of their own for ``connect`` sessions, and a warm few of them.

A connect session hands its browser's DevTools endpoint to a client (through the relay of
``app/sockets.py``), so it never shares a Chromium with another session: each one is a
Chromium process launched for it, with the engine's flags, its own egress endpoint as the
launch proxy, names resolved by nothing but the guard, downloads denied and service
workers blocked. The session's page is the first page of the browser's default context.

Launching a browser takes a few hundred milliseconds, so ``warm`` browsers with default
options wait launched; a default-option connect session takes one and its endpoint is
retagged to the session, and a new one is launched in the background. A warm browser's
endpoint is held (refuses everything, resolves nothing) until a session takes it: Chromium
calls its vendor's services on its own from a persistent profile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Playwright

from sessions.browser import chromium_args
from sessions.contexts import ContextFactory, Made
from sessions.egress import BROWSER_RESOLVER_FLAG, EgressProxy, context_proxy_settings
from sessions.models import SessionOptions
from sessions.tasks import TaskSet

log = logging.getLogger(__name__)

DEBUGGING_FLAGS = ("--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1")
"""The browser-level DevTools WebSocket the relay connects to: loopback only, a free port."""
PORT_FILE = "DevToolsActivePort"
"""Where Chromium writes its DevTools port and browser path, in its profile folder."""
REFILL_DELAY_S = 0.5
"""A warm browser taken is replaced this long after: launching one costs a core for a few
hundred ms, which would otherwise compete with the new session's first steps."""


class ConnectBrowsers:
    """Launches and closes connect browsers; keeps ``warm`` default ones ready."""

    def __init__(
        self,
        playwright: Callable[[], Playwright],
        proxy: EgressProxy,
        factory: ContextFactory,
        *,
        chromium_path: str,
        warm: int,
        tasks: TaskSet,
    ) -> None:
        self._playwright = playwright
        self._proxy = proxy
        self._factory = factory
        self._chromium_path = chromium_path
        self._size = warm
        self._tasks = tasks
        self._ready: list[Made] = []
        self._filling = 0
        self._closed = False
        self._open: dict[str, Made] = {}
        self._closing: set[asyncio.Future[None]] = set()
        self._refill_timer: asyncio.TimerHandle | None = None

    async def make(self, options: SessionOptions, tag: str) -> Made:
        """A browser for ``options`` whose egress endpoint is tagged ``tag``."""
        if options.is_default:
            warm = self._take()
            if warm is not None:
                self._proxy.retag(warm.tag, tag)
                self._proxy.release(tag)
                warm.tag = tag
                self._open[tag] = warm
                return warm
        made = await self._launch(options, tag)
        self._open[tag] = made
        return made

    def _take(self) -> Made | None:
        self._refill_later()
        while self._ready:
            made = self._ready.pop()
            if made.context.browser is None or made.context.browser.is_connected():
                return made
            self._tasks.spawn(self._close(made, "browser gone"), name="connect-discard")
        return None

    def _refill_later(self) -> None:
        if self._refill_timer is None and not self._closed:
            self._refill_timer = asyncio.get_running_loop().call_later(
                REFILL_DELAY_S, self._refill_due
            )

    def _refill_due(self) -> None:
        self._refill_timer = None
        self.refill()

    async def _launch(self, options: SessionOptions, tag: str, held: bool = False) -> Made:
        endpoint = await self._proxy.open_endpoint(tag, upstream=options.proxy, held=held)
        profile = tempfile.mkdtemp(prefix="sessionshot-connect-")
        kwargs: dict[str, Any] = {
            **await self._factory.options_for(options),
            "executable_path": self._chromium_path,
            "headless": True,
            "args": [*chromium_args(), BROWSER_RESOLVER_FLAG, *DEBUGGING_FLAGS],
            "proxy": context_proxy_settings(endpoint),
            "chromium_sandbox": False,
            "handle_sigint": False,
            "handle_sigterm": False,
            "handle_sighup": False,
        }
        try:
            context = await self._playwright().chromium.launch_persistent_context(profile, **kwargs)
        except BaseException:
            await self._proxy.close_endpoint(tag)
            await asyncio.to_thread(shutil.rmtree, profile, True)
            raise
        made = Made(context=context, page=context.pages[0], tag=tag, profile=profile)
        try:
            await self._factory.prepare(context, options)
            made.cdp_url = await asyncio.to_thread(_devtools_url, Path(profile))
            made.pid = await _browser_pid(context)
        except BaseException:
            await self._close(made, "launch failed")
            raise
        log.info("connect browser launched", extra={"event": "connect_launched", "tag": tag})
        return made

    def refill(self) -> None:
        """Launch default browsers until ``warm`` are ready or being launched."""
        while not self._closed and len(self._ready) + self._filling < self._size:
            self._filling += 1
            self._tasks.spawn(self._fill_one(), name="connect-warm")

    async def _fill_one(self) -> None:
        try:
            made = await self._launch(SessionOptions(), f"cwarm-{secrets.token_hex(6)}", held=True)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not launch a warm connect browser")
            return
        finally:
            self._filling -= 1
        if self._closed:
            await self._close(made, "pool closed")
            return
        self._ready.append(made)

    async def discard(self, made: Made, reason: str) -> None:
        """Close a session's browser, its endpoint and its profile. The session is closed
        and billed already: its browser goes down in the background (the caller's answer
        does not wait for the process to exit), and :meth:`aclose` waits for it."""
        self._open.pop(made.tag, None)
        closing = asyncio.ensure_future(self._close(made, reason))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close(self, made: Made, reason: str) -> None:
        try:
            await made.context.close(reason=reason)
        except Exception:
            log.debug("connect browser already gone")
        finally:
            await self._proxy.close_endpoint(made.tag)
            if made.profile:
                await asyncio.to_thread(shutil.rmtree, made.profile, True)

    def memory_bytes(self) -> int:
        """Resident memory of every connect browser here, warm ones included."""
        pids = [m.pid for m in [*self._ready, *self._open.values()] if m.pid]
        return sum(_tree_rss(pid) for pid in pids)

    def __len__(self) -> int:
        return len(self._ready)

    async def aclose(self) -> None:
        """Stop launching; close the warm browsers and wait for the sessions' ones."""
        self._closed = True
        if self._refill_timer is not None:
            self._refill_timer.cancel()
        ready, self._ready = self._ready, []
        await asyncio.gather(*(self._close(m, "pool closed") for m in ready), *self._closing)


def _devtools_url(profile: Path) -> str:
    """The browser's DevTools WebSocket URL, from the file Chromium writes at start-up."""
    port, path = (profile / PORT_FILE).read_text().split()[:2]
    return f"ws://127.0.0.1:{int(port)}{path}"


async def _browser_pid(context: BrowserContext) -> int | None:
    if context.browser is None:
        return None
    session = await context.browser.new_browser_cdp_session()
    try:
        info = await session.send("SystemInfo.getProcessInfo")
    finally:
        await session.detach()
    return next((int(p["id"]) for p in info["processInfo"] if p["type"] == "browser"), None)


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (Linux ``/proc``; 0 elsewhere)."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    total = 0
    for child in _descendants(pid):
        try:
            total += int(Path(f"/proc/{child}/statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


def _descendants(pid: int) -> list[int]:
    found = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            for child in children:
                found.extend(_descendants(int(child)))
    except OSError:
        pass
    return found
