"""A session held in this instance's browser, and what its actions can reach."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Request, Route

from sessions.actions import inline_result
from sessions.contexts import Made
from sessions.domains import host_matches
from sessions.egress.refusals import RefusalLog
from sessions.models import AuthState
from sessions.refs import RefBook
from sessions.render import Rendered
from sessions.timefmt import iso_ms, now_ms
from storage import Storage

DomainSource = Callable[[str], Awaitable[list[str]]]
DOMAIN_CACHE_S = 5.0
"""How long a session trusts its copy of the workspace's allowed domains."""


@dataclass
class Outputs:
    """Where rendered files go."""

    storage: Storage
    link_ttl_s: int


@dataclass
class LiveSession:
    """In-memory state of one session owned here; the Redis record is the truth."""

    id: str
    key_id: str
    workspace_id: str
    kind: str
    made: Made
    started_ms: int
    expires_ms: int
    idle_timeout_s: int | None
    auth: AuthState | None
    domains: DomainSource
    outputs: Outputs
    refused: Callable[[], RefusalLog]
    max_content_bytes: int
    refs: RefBook = field(default_factory=RefBook)
    """The refs of the latest ``"ai"`` snapshot (``sessions/refs.py``)."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_activity: float = field(default_factory=time.monotonic)
    closing: bool = False
    counting: asyncio.Task[bool] | None = None
    """The last action's Redis count, in flight after its answer (``SessionEngine._count``)."""
    _domain_cache: tuple[float, list[str]] | None = None
    _storage_origin: str | None = None
    _target_host: str | None = None
    _headers_routed: bool = False

    def __post_init__(self) -> None:
        self.refs.watch(self.made.page)

    @property
    def page(self) -> Page:
        """The session's page."""
        return self.made.page

    def deadline(self) -> float:
        """Monotonic time of the next expiry or idle timeout."""
        ttl_left_s = (self.expires_ms - now_ms()) / 1000
        deadline = time.monotonic() + ttl_left_s
        if self.idle_timeout_s is not None:
            deadline = min(deadline, self.last_activity + self.idle_timeout_s)
        return deadline

    async def counted(self) -> None:
        """Return once the last action's count has reached Redis (its failure is logged)."""
        if self.counting is not None and not self.counting.done():
            await asyncio.wait([self.counting])

    def expires_in(self) -> int:
        """Whole seconds left."""
        return max(0, (self.expires_ms - now_ms()) // 1000)

    async def title(self) -> str:
        """The page's title; empty when the page is gone or navigating away."""
        if self.page.is_closed():
            return ""
        try:
            return await self.page.title()
        except PlaywrightError:
            return ""

    # ActionEnv ---------------------------------------------------------------------------

    async def host_allowed(self, host: str) -> bool:
        """Main-frame check against the workspace's allowed domains (briefly cached)."""
        cached = self._domain_cache
        if cached is None or time.monotonic() - cached[0] > DOMAIN_CACHE_S:
            cached = (time.monotonic(), await self.domains(self.workspace_id))
            self._domain_cache = cached
        return host_matches(host, cached[1])

    def refusals(self) -> RefusalLog:
        """The targets the egress guard refused for this session."""
        return self.refused()

    async def before_navigation(self, url: str) -> None:
        """Auth state for the target: localStorage on its origin, headers to its host only."""
        auth = self.auth
        if auth is None:
            return
        parts = urlsplit(url)
        self._target_host = parts.hostname
        if auth.local_storage and self._storage_origin is None:
            origin = f"{parts.scheme}://{parts.netloc}"
            self._storage_origin = origin
            entries = {e.key: e.value for e in auth.local_storage}
            script = (
                f"if (location.origin === {json.dumps(origin)}) {{"
                f" const e = {json.dumps(entries)};"
                " for (const k of Object.keys(e)) { try { localStorage.setItem(k, e[k]); }"
                " catch (_) {} } }"
            )
            await self.made.context.add_init_script(script)
        if auth.headers and not self._headers_routed:
            self._headers_routed = True
            await self.made.context.route("**/*", self._add_headers)

    async def _add_headers(self, route: Route, request: Request) -> None:
        # Only the target host gets the custom headers; CDNs and analytics never do. The
        # request is fetched without following redirects and handed back to the browser,
        # so every hop of a redirect chain comes back here and is checked on its own.
        if self.auth is None or urlsplit(request.url).hostname != self._target_host:
            await route.continue_()
            return
        response = await route.fetch(
            headers={**request.headers, **self.auth.headers}, max_redirects=0
        )
        await route.fulfill(response=response)

    async def publish(self, rendered: Rendered, inline: bool) -> dict[str, Any]:
        """Inline the file, or store it privately and return a signed link."""
        if inline:
            return inline_result(rendered)
        ext = "jpg" if rendered.format == "jpeg" else rendered.format
        key = f"{self.workspace_id}/{self.id}/{secrets.token_hex(8)}.{ext}"
        filename = f"{self.id}.{ext}"
        store = self.outputs.storage
        await store.put(key, rendered.data, rendered.content_type, filename)
        link = await store.signed_url(key, self.outputs.link_ttl_s, filename, rendered.content_type)
        expires_at = iso_ms(int(link.expires_at.timestamp() * 1000))
        return {"url": link.url, "expiresAt": expires_at, **rendered.facts()}
