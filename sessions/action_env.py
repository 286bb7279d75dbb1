"""What actions reach around one session, and the allowed-host check of the main frame."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit

from playwright.async_api import Page

from sessions.egress.refusals import RefusalLog
from sessions.errors import LeftAllowedDomains
from sessions.refs import RefBook
from sessions.render import Rendered


class ActionEnv(Protocol):
    """What actions need from the engine around one session."""

    @property
    def page(self) -> Page:
        """The session's page."""

    async def host_allowed(self, host: str) -> bool:
        """Whether the workspace allows ``host`` for the main frame."""

    def refusals(self) -> RefusalLog:
        """The targets the egress guard has refused for this session."""

    async def before_navigation(self, url: str) -> None:
        """Put auth state in place for the target ``url`` (first navigation)."""

    async def publish(self, rendered: Rendered, inline: bool) -> dict[str, Any]:
        """Store a rendered file (or inline it) and describe it as a ``result``."""

    @property
    def max_content_bytes(self) -> int:
        """Cap of ``content`` and ``evaluate`` results."""

    @property
    def refs(self) -> RefBook:
        """The refs of the session's latest ``"ai"`` snapshot."""


def host_of(url: str) -> str:
    """The host of a URL ("" when it has none)."""
    return urlsplit(url).hostname or ""


# Browser-internal pages hold no remote content: a new tab, a network error page.
_INTERNAL_PAGES = ("about:blank", "chrome-error://chromewebdata/")


async def ensure_page_allowed(env: ActionEnv) -> None:
    """Refuse output while the main frame sits on a host that is not allowed."""
    url = env.page.url
    if url in _INTERNAL_PAGES:
        return
    if not await env.host_allowed(host_of(url)):
        raise LeftAllowedDomains()
