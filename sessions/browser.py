"""One Chromium per process, relaunched when it dies; contexts made to measure.

The browser is Debian's Chromium (``SESSIONSHOT_CHROMIUM_PATH``) driven by Playwright;
``playwright install`` is never needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from sessions.egress import BROWSER_RESOLVER_FLAG
from sessions.errors import BrowserUnavailable

log = logging.getLogger(__name__)

# Playwright's own --disable-features list (Chromium keeps only the last such switch), plus
# the omnibox popups that Debian's full Chromium starts a renderer for in every context.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
OMNIBOX_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "WebUIOmniboxFullPopup")
# Background calls of Chromium's own (autofill server) must not reach the egress guard at all.
BACKGROUND_FEATURES = ("AutofillServerCommunication",)

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # WebRTC may only use proxied TCP, so ICE/TURN traffic meets the egress guard too.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features="
    + ",".join(PLAYWRIGHT_DISABLED_FEATURES + OMNIBOX_FEATURES + BACKGROUND_FEATURES),
)


def chromium_args() -> list[str]:
    """Launch flags for this machine; benchmarks give the raw side the same ones."""
    return list(CHROMIUM_FLAGS)


@dataclass(frozen=True)
class BrowserConfig:
    """How to launch the browser."""

    executable_path: str
    # Per-context proxies need a global one on some platforms; every context sets its own.
    launch_proxy: str | None = None


CrashHandler = Callable[[], Awaitable[None]]


async def _browser_process_id(browser: Browser) -> int | None:
    """The browser process's pid, as Chromium reports it (Playwright does not expose it)."""
    session = await browser.new_browser_cdp_session()
    try:
        info = await session.send("SystemInfo.getProcessInfo")
    finally:
        await session.detach()
    return next((int(p["id"]) for p in info["processInfo"] if p["type"] == "browser"), None)


class BrowserHost:
    """Owns Playwright and one Chromium; relaunches it after a crash.

    ``on_crash`` runs after a disconnect that was not asked for, before the relaunch, so the
    engine can close the sessions that lived in the dead browser.
    """

    def __init__(self, config: BrowserConfig, on_crash: CrashHandler) -> None:
        self._config = config
        self._on_crash = on_crash
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._closing = False
        self._ready = asyncio.Event()
        self._relaunch_task: asyncio.Task[None] | None = None
        self._pid: int | None = None
        self.generation = 0

    async def start(self) -> None:
        """Start Playwright and launch the browser."""
        self._playwright = await async_playwright().start()
        await self._launch()

    async def _launch(self) -> None:
        assert self._playwright is not None
        kwargs: dict[str, Any] = {
            "executable_path": self._config.executable_path,
            "headless": True,
            "args": [*chromium_args(), BROWSER_RESOLVER_FLAG],
            "chromium_sandbox": False,
            "handle_sigint": False,
            "handle_sigterm": False,
            "handle_sighup": False,
        }
        if self._config.launch_proxy:
            kwargs["proxy"] = {"server": self._config.launch_proxy}
        browser = await self._playwright.chromium.launch(**kwargs)
        self._pid = await _browser_process_id(browser)
        generation = self.generation + 1
        browser.on("disconnected", lambda _b: self._disconnected(generation))
        self._browser = browser
        self.generation = generation
        self._ready.set()
        log.info("browser launched", extra={"event": "browser_launched", "generation": generation})

    def _disconnected(self, generation: int) -> None:
        if self._closing or generation != self.generation:
            return
        self._ready.clear()
        self._browser = None
        log.error("browser disconnected", extra={"event": "browser_crashed"})
        self._relaunch_task = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        try:
            await self._on_crash()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("closing crashed sessions failed")
        if not self._closing:
            await self._launch()

    def playwright(self) -> Playwright:
        """The running Playwright (after :meth:`start`): connect browsers launch with it."""
        assert self._playwright is not None
        return self._playwright

    @property
    def connected(self) -> bool:
        """True while the browser is up."""
        return self._browser is not None and self._browser.is_connected()

    async def is_ready(self) -> bool:
        """Readiness probe."""
        return self.connected

    async def new_context(self, **options: Any) -> BrowserContext:
        """A fresh context in the current browser (waits briefly during a relaunch)."""
        try:
            await asyncio.wait_for(self._ready.wait(), 30)
        except TimeoutError as err:
            raise BrowserUnavailable() from err
        assert self._browser is not None
        return await self._browser.new_context(**options)

    async def browser_version(self) -> str:
        """The browser's version string, e.g. ``156.0.8078.73``."""
        await asyncio.wait_for(self._ready.wait(), 30)
        assert self._browser is not None
        return self._browser.version

    def context_count(self) -> int:
        """Open contexts in the current browser (sessions plus the warm pool)."""
        return len(self._browser.contexts) if self._browser is not None else 0

    def browser_pid(self) -> int | None:
        """The browser process id, for crash tests and leak checks."""
        return self._pid if self._browser is not None else None

    async def aclose(self) -> None:
        """Close the browser and Playwright (idempotent)."""
        self._closing = True
        if self._relaunch_task is not None:
            self._relaunch_task.cancel()
            await asyncio.gather(self._relaunch_task, return_exceptions=True)
        if self._browser is not None:
            browser, self._browser = self._browser, None
            await asyncio.shield(browser.close())
        if self._playwright is not None:
            playwright, self._playwright = self._playwright, None
            await asyncio.shield(playwright.stop())
