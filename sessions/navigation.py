"""Navigation actions: goto, back, forward, reload, and what a failed navigation means."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Request
from playwright.async_api import TimeoutError as PlaywrightTimeout

from sessions.action_env import ActionEnv, host_of
from sessions.action_models import GotoPayload, HistoryPayload
from sessions.egress.refusals import Refusal
from sessions.errors import (
    DomainRefused,
    LeftAllowedDomains,
    NavigationFailed,
    NavigationTimeout,
    TargetBlocked,
)

SETTLE_TIMEOUT_MS = 1500
"""How long a failed navigation may take to commit its error page."""


def _on_error_page(url: str) -> bool:
    return url.startswith("chrome-error:")


async def _settle(page: Page, timed_out: bool) -> None:
    """Leave no navigation pending that would interrupt the session's next one.

    Playwright reports a failed navigation before Chromium commits the error page, and a
    timed-out one keeps loading; either would later cut short whatever comes next.
    """
    try:
        if timed_out:
            # window.stop() in the old document does not cancel a browser-initiated load.
            cdp = await page.context.new_cdp_session(page)
            try:
                await cdp.send("Page.stopLoading")
            finally:
                await cdp.detach()
        else:
            await page.wait_for_url(_on_error_page, wait_until="commit", timeout=SETTLE_TIMEOUT_MS)
    except PlaywrightError:
        pass


_INTERRUPTED = "interrupted by another navigation"
_STALE_ERROR_PAGE = _INTERRUPTED + ' to "chrome-error://'


_INTERRUPTING_URL = re.compile(_INTERRUPTED + r' to "([^"]+)"')


async def _wait_for_takeover(page: Page, target: str, timeout_ms: float) -> None:
    await page.wait_for_url(lambda url: url == target, wait_until="load", timeout=timeout_ms)


async def _run_navigation(
    env: ActionEnv, run: Callable[[], Awaitable[Any]], timeout_ms: float
) -> Any:
    """The navigation's response; None when another navigation took over and finished."""
    for attempt in range(2):
        try:
            return await run()
        except PlaywrightTimeout:
            raise
        except PlaywrightError as err:
            message = err.message or ""
            if _STALE_ERROR_PAGE in message and attempt == 0:
                # A previous failed navigation's error page committed late and cut this
                # one short: not this navigation's outcome, so it runs once more.
                await _settle(env.page, timed_out=False)
                continue
            taken_over = _INTERRUPTING_URL.search(message)
            if taken_over is None:
                raise
            # Another navigation took over (a redirect the browser restarted, a script):
            # the outcome is that navigation's load, within the same time budget.
            await _wait_for_takeover(env.page, taken_over.group(1), timeout_ms)
            return None
    return None


class _FailedDocuments:
    """URLs of the main frame's document requests that fail while a navigation runs.

    With a redirect the failed request is a later hop, so this, not the URL asked for,
    names the target the guard may have refused. Listening only during the navigation
    keeps Playwright from sending every failed request of the session otherwise.
    """

    def __init__(self, page: Page) -> None:
        self._page = page
        self.urls: list[str] = []

    def __enter__(self) -> _FailedDocuments:
        self._page.on("requestfailed", self._on_failed)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._page.remove_listener("requestfailed", self._on_failed)

    def _on_failed(self, request: Request) -> None:
        if request.is_navigation_request() and request.frame == self._page.main_frame:
            self.urls.append(request.url)


def _refusal(env: ActionEnv, mark: int, urls: list[str]) -> Refusal | None:
    """The guard's refusal, made after ``mark``, of the last of ``urls`` it refused."""
    log = env.refusals()
    return next((r for url in reversed(urls) if (r := log.since(mark, url)) is not None), None)


async def _navigate(
    env: ActionEnv, run: Callable[[], Awaitable[Any]], timeout_ms: float, url: str | None = None
) -> dict[str, Any]:
    """Run a navigation and map its outcome; ``url`` is the target when it is known."""
    mark = env.refusals().mark()
    with _FailedDocuments(env.page) as failed:
        try:
            response = await _run_navigation(env, run, timeout_ms)
        except PlaywrightTimeout as err:
            await _settle(env.page, timed_out=True)
            raise NavigationTimeout() from err
        except PlaywrightError as err:
            # Settling also lets the failed request's event arrive before it is read.
            await _settle(env.page, timed_out=False)
            refusal = _refusal(env, mark, [*([url] if url else []), *failed.urls])
            if refusal is not None:
                raise TargetBlocked(refusal.message()) from err
            raise NavigationFailed(_net_error(err)) from err
    if not await env.host_allowed(host_of(env.page.url)):
        raise LeftAllowedDomains()
    status = response.status if response is not None else None
    if status is not None and status >= 400:
        raise NavigationFailed(f"The page answered HTTP {status}.", page_status=status)
    return {"status": status}


_NET_HINTS = {
    # The guard's CONNECT answered 502 without refusing the target: it could not connect.
    "net::ERR_TUNNEL_CONNECTION_FAILED": "could not connect to the target (nothing answered "
    "there, or the connection was refused)",
    "net::ERR_CONNECTION_REFUSED": "nothing accepted the connection",
    "net::ERR_CONNECTION_TIMED_OUT": "the target did not answer",
}
_CERT_HINT = (
    "the site's certificate is not trusted (for a staging server with a self-signed "
    "certificate, an operator can set SESSIONSHOT_IGNORE_HTTPS_ERRORS=true)"
)


def _net_error(err: PlaywrightError) -> str:
    """The browser's network error code, with what it means where that helps."""
    first = str(err.message).splitlines()[0] if err.message else ""
    code = next((part for part in first.split() if part.startswith("net::ERR_")), None)
    if code is None:
        return "Navigation failed."
    hint = _CERT_HINT if code.startswith("net::ERR_CERT_") else _NET_HINTS.get(code)
    return f"Navigation failed: {code}: {hint}." if hint else f"Navigation failed: {code}."


async def goto(env: ActionEnv, p: GotoPayload) -> dict[str, Any]:
    """Navigate the main frame to an allowed HTTPS URL."""
    if not await env.host_allowed(host_of(p.url)):
        raise DomainRefused()
    await env.before_navigation(p.url)
    return await _navigate(
        env,
        lambda: env.page.goto(p.url, wait_until=p.wait_until, timeout=p.timeout),
        p.timeout,
        p.url,
    )


async def back(env: ActionEnv, p: HistoryPayload) -> dict[str, Any]:
    """Go back in history."""
    await _navigate(
        env, lambda: env.page.go_back(wait_until=p.wait_until, timeout=p.timeout), p.timeout
    )
    return {}


async def forward(env: ActionEnv, p: HistoryPayload) -> dict[str, Any]:
    """Go forward in history."""
    await _navigate(
        env, lambda: env.page.go_forward(wait_until=p.wait_until, timeout=p.timeout), p.timeout
    )
    return {}


async def reload(env: ActionEnv, p: HistoryPayload) -> dict[str, Any]:
    """Reload the page."""
    await _navigate(
        env, lambda: env.page.reload(wait_until=p.wait_until, timeout=p.timeout), p.timeout
    )
    return {}
