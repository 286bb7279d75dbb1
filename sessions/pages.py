"""Where a session's page comes from: the shared browser or a browser of its own.

A session with default options takes a warm context of the shared Chromium; other options
get a context made to measure; a ``connect`` session gets a Chromium process of its own
(``sessions/connect.py``). Whichever it was, :meth:`PageSource.discard` closes it the same
way.
"""

from __future__ import annotations

from sessions.browser import BrowserConfig, BrowserHost, CrashHandler
from sessions.config import EngineConfig
from sessions.connect import ConnectBrowsers
from sessions.contexts import ContextFactory, Made, WarmPool
from sessions.egress import EgressProxy
from sessions.models import SessionOptions
from sessions.tasks import TaskSet


class PageSource:
    """The shared browser with its warm contexts, and the connect browsers."""

    def __init__(
        self, config: EngineConfig, proxy: EgressProxy, tasks: TaskSet, on_crash: CrashHandler
    ) -> None:
        self._proxy = proxy
        self.host = BrowserHost(BrowserConfig(config.chromium_path), on_crash)
        """The shared browser (relaunched after a crash; ``on_crash`` runs first)."""
        self._factory = ContextFactory(self.host, proxy, config.ignore_https_errors)
        self.warm = WarmPool(self._factory, config.warm_contexts, tasks)
        """Contexts of the shared browser made ahead for default-option sessions."""
        self._connect = ConnectBrowsers(
            self.host.playwright,
            proxy,
            self._factory,
            chromium_path=config.chromium_path,
            warm=config.connect_warm,
            tasks=tasks,
        )

    async def start(self) -> None:
        """Launch the shared browser and start filling both warm pools."""
        await self.host.start()
        self.warm.refill()
        self._connect.refill()

    async def make(self, options: SessionOptions, session_id: str, *, refill: bool = True) -> Made:
        """A page for a new session, its egress endpoint tagged with the session's id.

        A warm context taken is replaced at once, or with ``refill=False`` once a session
        closes: a capture's page then renders without a new context being made beside it
        (on a small machine the two compete for the same cores)."""
        if options.connect:
            return await self._connect.make(options, session_id)
        made = self.warm.take(refill) if options.is_default else None
        if made is not None and made.context.browser and made.context.browser.is_connected():
            self._proxy.retag(made.tag, session_id)
            made.tag = session_id
            return made
        return await self._factory.make(options, session_id)

    async def discard(self, made: Made, reason: str) -> None:
        """Close a session's page: its context, or its own browser (shielded)."""
        if made.cdp_url is not None:
            await self._connect.discard(made, reason)
        else:
            await self._factory.discard(made, reason)
            self.warm.refill()

    def counts(self) -> dict[str, int]:
        """Open contexts of the shared browser, the warm contexts (ready and being made) and
        the warm connect browsers."""
        return {
            "contexts": self.host.context_count(),
            "warm": len(self.warm),
            "warmFilling": self.warm.filling,
            "connectWarm": len(self._connect),
        }

    def connect_memory_bytes(self) -> int:
        """Resident memory of the connect browsers (their own processes)."""
        return self._connect.memory_bytes()

    async def close_pools(self) -> None:
        """Stop refilling; close what waits in both warm pools."""
        await self.warm.aclose()
        await self._connect.aclose()
