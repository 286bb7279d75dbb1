"""Browser contexts made to a session's options, and a warm pool of default ones."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from playwright.async_api import BrowserContext, Page

from sessions.browser import BrowserHost
from sessions.egress import EgressProxy, context_proxy_settings
from sessions.models import SessionOptions
from sessions.tasks import TaskSet

log = logging.getLogger(__name__)

# Observable from the page: navigator.webdriver is false for bypassBotDetection sessions.
_STEALTH_JS = """
Object.defineProperty(Navigator.prototype, 'webdriver', {get: () => false, configurable: true});
"""

# Service workers are off (SPEC sections 5 and 18). Playwright's serviceWorkers="block" only
# swaps register() for one that resolves, and Chromium 156 offers no switch or feature that
# turns them off. So, in every realm of the context (frames, iframes, popups and their
# initial about:blank documents alike) and before the page's own scripts: the
# navigator.serviceWorker getter is gone, and register() rejects for a container reached
# another way (say, through another realm's getter). The script is then never fetched.
NO_SERVICE_WORKERS_JS = """
(() => {
  if (typeof ServiceWorkerContainer === "function") {
    Object.defineProperty(ServiceWorkerContainer.prototype, "register", {
      value: function register() {
        return Promise.reject(
          new DOMException("Service workers are disabled.", "NotSupportedError"));
      },
      writable: false, configurable: false,
    });
  }
  if (typeof Navigator === "function") delete Navigator.prototype.serviceWorker;
})();
"""


@dataclass
class Made:
    """A context with its page and its egress endpoint tag."""

    context: BrowserContext
    page: Page
    tag: str
    profile: str | None = None
    """A connect browser's profile folder (``sessions/connect.py``); None for a context."""
    cdp_url: str | None = None
    """A connect browser's DevTools WebSocket URL (loopback); None for a context."""
    pid: int | None = None
    """A connect browser's process id."""


class ContextFactory:
    """Makes contexts: viewport, locale, egress endpoint, stealth; never downloads."""

    def __init__(self, host: BrowserHost, proxy: EgressProxy, ignore_https_errors: bool) -> None:
        self._host = host
        self._proxy = proxy
        self._ignore_https_errors = ignore_https_errors

    async def make(self, options: SessionOptions, tag: str) -> Made:
        """A new context and page for ``options``; its egress endpoint is tagged ``tag``."""
        endpoint = await self._proxy.open_endpoint(tag, upstream=options.proxy)
        kwargs = {"proxy": context_proxy_settings(endpoint), **await self.options_for(options)}
        try:
            context = await self._host.new_context(**kwargs)
            await self.prepare(context, options)
            page = await context.new_page()
        except BaseException:
            await self._proxy.close_endpoint(tag)
            raise
        return Made(context=context, page=page, tag=tag)

    async def options_for(self, options: SessionOptions) -> dict[str, Any]:
        """Playwright's context options for a session's (the proxy aside)."""
        kwargs: dict[str, Any] = {
            "ignore_https_errors": self._ignore_https_errors,
            "service_workers": "block",
            "accept_downloads": False,
        }
        viewport = options.viewport
        kwargs["viewport"] = (
            {"width": viewport.width, "height": viewport.height}
            if viewport
            else {"width": 1280, "height": 800}
        )
        if options.locale:
            kwargs["locale"] = options.locale
        if options.timezone_id:
            kwargs["timezone_id"] = options.timezone_id
        if options.user_agent:
            kwargs["user_agent"] = options.user_agent
        elif options.bypass_bot_detection:
            kwargs["user_agent"] = await self._plain_user_agent()
        return kwargs

    @staticmethod
    async def prepare(context: BrowserContext, options: SessionOptions) -> None:
        """What every context gets before its first page: no service workers, the stealth
        script when asked for, the session's cookies."""
        await context.add_init_script(NO_SERVICE_WORKERS_JS)
        if options.bypass_bot_detection:
            await context.add_init_script(_STEALTH_JS)
        if options.auth is not None and options.auth.cookies:
            await context.add_cookies([c.playwright() for c in options.auth.cookies])  # type: ignore[misc]

    async def _plain_user_agent(self) -> str:
        version = await self._host.browser_version()
        return (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{version} Safari/537.36"
        )

    async def discard(self, made: Made, reason: str) -> None:
        """Close a context and its endpoint (shielded: a close always finishes)."""
        try:
            await asyncio.shield(made.context.close(reason=reason))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.debug("context already gone")
        finally:
            await self._proxy.close_endpoint(made.tag)


class WarmPool:
    """A few ready contexts with default options; taken by default-option sessions.

    Taking one costs no browser round trip; the pool is refilled in the background.
    """

    def __init__(self, factory: ContextFactory, size: int, tasks: TaskSet) -> None:
        self._factory = factory
        self._size = size
        self._tasks = tasks
        self._ready: list[Made] = []
        self._filling = 0
        self._closed = False

    def take(self, refill: bool = True) -> Made | None:
        """A warm context, or None when the pool is empty; the pool refills now, or, with
        ``refill=False``, at the next :meth:`refill` (a session's close)."""
        made = self._ready.pop() if self._ready else None
        if refill:
            self.refill()
        return made

    def refill(self) -> None:
        """Start making contexts until the pool (with those in the making) is full."""
        while not self._closed and len(self._ready) + self._filling < self._size:
            self._filling += 1
            self._tasks.spawn(self._fill_one(), name="warm-context")

    async def _fill_one(self) -> None:
        try:
            made = await self._factory.make(SessionOptions(), f"warm-{secrets.token_hex(6)}")
        finally:
            self._filling -= 1
        if self._closed or not made.context.browser or not made.context.browser.is_connected():
            await self._factory.discard(made, "pool closed")
            return
        self._ready.append(made)

    async def drain(self) -> None:
        """Close every warm context (on shutdown or after a browser crash)."""
        ready, self._ready = self._ready, []
        await asyncio.gather(
            *(self._factory.discard(m, "pool drained") for m in ready), return_exceptions=True
        )

    async def aclose(self) -> None:
        """Stop refilling and close what is ready."""
        self._closed = True
        await self.drain()

    @property
    def filling(self) -> int:
        """Contexts being made right now."""
        return self._filling

    def __len__(self) -> int:
        return len(self._ready)
