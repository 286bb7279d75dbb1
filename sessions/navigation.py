"""Navigation actions: goto, back, forward, reload, and what a failed navigation means."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from sessions.action_env import ActionEnv, host_of
from sessions.action_models import GotoPayload, HistoryPayload
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


async def _navigate(
    env: ActionEnv, run: Callable[[], Awaitable[Any]], timeout_ms: float
) -> dict[str, Any]:
    refused_before = env.refusals()
    try:
        response = await _run_navigation(env, run, timeout_ms)
    except PlaywrightTimeout as err:
        await _settle(env.page, timed_out=True)
        raise NavigationTimeout() from err
    except PlaywrightError as err:
        await _settle(env.page, timed_out=False)
        if env.refusals() > refused_before:
            raise TargetBlocked() from err
        raise NavigationFailed(_net_error(err)) from err
    if not await env.host_allowed(host_of(env.page.url)):
        raise LeftAllowedDomains()
    status = response.status if response is not None else None
    if status is not None and status >= 400:
        raise NavigationFailed(f"The page answered HTTP {status}.", status=status)
    return {"status": status}


def _net_error(err: PlaywrightError) -> str:
    first = str(err.message).splitlines()[0] if err.message else ""
    code = next((part for part in first.split() if part.startswith("net::ERR_")), None)
    return f"Navigation failed: {code}." if code else "Navigation failed."


async def goto(env: ActionEnv, p: GotoPayload) -> dict[str, Any]:
    """Navigate the main frame to an allowed HTTPS URL."""
    if not await env.host_allowed(host_of(p.url)):
        raise DomainRefused()
    await env.before_navigation(p.url)
    return await _navigate(
        env, lambda: env.page.goto(p.url, wait_until=p.wait_until, timeout=p.timeout), p.timeout
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
