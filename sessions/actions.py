"""Every action type: one function each, the same code for live sessions and captures."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import ElementHandle
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from sessions import refs, render
from sessions.action_env import ActionEnv, ensure_page_allowed
from sessions.action_models import (
    ACTION_TYPES,
    ClickPayload,
    EvaluatePayload,
    FillPayload,
    HoverPayload,
    PdfPayload,
    PressPayload,
    QueryPayload,
    ScreenshotPayload,
    ScrollPayload,
    SelectPayload,
    TypePayload,
    WaitForSelectorPayload,
    WaitPayload,
)
from sessions.elements import ELEMENT_INFO_JS, NOT_MATCHED, center
from sessions.errors import ActionError, PageCrashed, RefNotFound, RenderFailed, SelectorTimeout
from sessions.evaluation import evaluate_json
from sessions.navigation import back, forward, goto, reload
from sessions.reading import cap, content, finding, snapshot

__all__ = ["HANDLERS", "ActionEnv", "ensure_page_allowed", "inline_result", "run"]


async def _target(env: ActionEnv, selector: str | None, ref: str | None) -> refs.Target:
    return await refs.resolve(env.page, env.refs, selector, ref)


async def _info(env: ActionEnv, target: refs.Target, timeout: int) -> dict[str, Any]:
    """The element's info; waiting for it fails inside :func:`finding`."""
    info: dict[str, Any] = await env.page.locator(target.selector).first.evaluate(
        ELEMENT_INFO_JS, timeout=timeout
    )
    return info


async def _with_info(
    env: ActionEnv, target: refs.Target, timeout: int, act: Awaitable[None]
) -> dict[str, Any]:
    """The element's info and an interaction, sent together.

    The browser handles the info request before the interaction's input events (those
    come after Playwright's actionability round trips), so the info describes the element
    as it was clicked, and the action costs one round trip less.
    """
    info, done = await asyncio.gather(_info(env, target, timeout), act, return_exceptions=True)
    for outcome in (info, done):
        if isinstance(outcome, BaseException):
            raise outcome
    assert isinstance(info, dict)
    return info


async def click(env: ActionEnv, p: ClickPayload) -> dict[str, Any]:
    """Click an element."""
    target = await _target(env, p.selector, p.ref)
    act = env.page.locator(target.selector).first.click(
        button=p.button, click_count=p.click_count, timeout=p.timeout
    )
    async with finding(env, target):
        info = await _with_info(env, target, p.timeout, act)
    return {**info, "clickedPoint": center(info)}


async def hover(env: ActionEnv, p: HoverPayload) -> dict[str, Any]:
    """Move the mouse over an element."""
    target = await _target(env, p.selector, p.ref)
    act = env.page.locator(target.selector).first.hover(timeout=p.timeout)
    async with finding(env, target):
        info = await _with_info(env, target, p.timeout, act)
    return {**info, "hoveredPoint": center(info)}


async def type_text(env: ActionEnv, p: TypePayload) -> dict[str, Any]:
    """Type text key by key into an element."""
    target = await _target(env, p.selector, p.ref)
    locator = env.page.locator(target.selector).first
    async with finding(env, target):
        await locator.press_sequentially(p.text, delay=p.delay_ms, timeout=p.timeout)
        return await _info(env, target, p.timeout)


async def fill(env: ActionEnv, p: FillPayload) -> dict[str, Any]:
    """Set an input's value at once."""
    target = await _target(env, p.selector, p.ref)
    async with finding(env, target):
        await env.page.locator(target.selector).first.fill(p.value, timeout=p.timeout)
        return await _info(env, target, p.timeout)


async def press(env: ActionEnv, p: PressPayload) -> dict[str, Any]:
    """Press a key, on an element or on the page."""
    target = await refs.resolve_optional(env.page, env.refs, p.selector, p.ref)
    if target is None:
        await env.page.keyboard.press(p.key)
        return {}
    async with finding(env, target):
        await env.page.locator(target.selector).first.press(p.key, timeout=p.timeout)
    return {}


async def select(env: ActionEnv, p: SelectPayload) -> dict[str, Any]:
    """Select options of a <select>."""
    target = await _target(env, p.selector, p.ref)
    locator = env.page.locator(target.selector).first
    async with finding(env, target):
        selected = await locator.select_option(p.values, timeout=p.timeout)
        return {**await _info(env, target, p.timeout), "selected": selected}


_SCROLL_JS = "([x, y]) => { window.scrollTo(x, y); return [window.scrollX, window.scrollY]; }"
_POSITION_JS = "() => [window.scrollX, window.scrollY]"
EVALUATE_TIMEOUT_S = 15.0
"""Longest an ``evaluate`` waits for its value (a promise may never settle): the longest
selector wait, so a forwarded action stays well inside the forwarding deadline."""


async def scroll(env: ActionEnv, p: ScrollPayload) -> dict[str, Any]:
    """Scroll the page to a position, or an element into view."""
    if p.y is not None:
        x, y = await env.page.evaluate(_SCROLL_JS, [p.x, p.y])
    else:
        target = await _target(env, p.selector, p.ref)
        async with finding(env, target):
            await env.page.locator(target.selector).first.scroll_into_view_if_needed(
                timeout=p.timeout
            )
        x, y = await env.page.evaluate(_POSITION_JS)
    return {"scrollX": x, "scrollY": y}


async def wait_for_selector(env: ActionEnv, p: WaitForSelectorPayload) -> dict[str, Any]:
    """Wait for an element to reach a state."""
    target = await _target(env, p.selector, p.ref)
    async with finding(env, target):
        handle = await env.page.wait_for_selector(target.selector, state=p.state, timeout=p.timeout)
    return await _describe(handle)


async def wait(env: ActionEnv, p: WaitPayload) -> dict[str, Any]:
    """Wait a fixed time."""
    await asyncio.sleep(p.ms / 1000)
    return {}


async def query(env: ActionEnv, p: QueryPayload) -> dict[str, Any]:
    """Describe the first matching element without touching it (a ref's must be there)."""
    target = await _target(env, p.selector, p.ref)
    async with finding(env, target):
        handle = await env.page.query_selector(target.selector)
    if handle is None and target.ref is not None:
        raise RefNotFound()
    return await _describe(handle)


async def _describe(handle: ElementHandle | None) -> dict[str, Any]:
    """The element's info (``matched: false`` for none); the handle is released."""
    if handle is None:
        return dict(NOT_MATCHED)
    try:
        info: dict[str, Any] = await handle.evaluate(ELEMENT_INFO_JS)
    finally:
        await handle.dispose()
    return info


async def evaluate(env: ActionEnv, p: EvaluatePayload) -> dict[str, Any]:
    """Evaluate a JavaScript expression and return its value as strict JSON.

    Values JSON has no place for get the substitutes of :mod:`sessions.evaluation`. A result
    whose compact JSON is over the cap comes back as that JSON text, cut at the cap.
    """
    await ensure_page_allowed(env)
    limit = env.max_content_bytes
    try:
        # A promise that never settles would hold the session's lock for good.
        async with asyncio.timeout(EVALUATE_TIMEOUT_S):
            value, truncated = await evaluate_json(env.page, p.expression, limit)
    except TimeoutError as err:
        raise ActionError(f"Evaluation did not settle within {EVALUATE_TIMEOUT_S:g} s.") from err
    except PlaywrightError as err:
        first = (err.message or "").splitlines()[0][:300] if err.message else ""
        raise ActionError(f"Evaluation failed: {first}" if first else "Evaluation failed.") from err
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if len(encoded.encode()) <= limit:
        return {"result": value, "truncated": truncated}
    capped, _ = cap(encoded, limit)
    return {"result": capped, "truncated": True}


async def screenshot(env: ActionEnv, p: ScreenshotPayload) -> dict[str, Any]:
    """Render the page (or an element, or a clip of it) to PNG, JPEG or WebP."""
    await ensure_page_allowed(env)
    target = await refs.resolve_optional(env.page, env.refs, p.selector, p.ref)
    spec = render.RenderSpec(
        format=p.format,
        full_page=p.full_page,
        quality=p.quality,
        scale=p.device_scale_factor,
        clip=p.clip,
        selector=None if target is None else target.selector,
        omit_background=p.omit_background,
        redaction=p.redaction,
    )
    if target is None:
        rendered = await render.screenshot(env.page, spec)
    else:
        async with finding(env, target):
            rendered = await render.screenshot(env.page, spec)
    return {"result": await env.publish(rendered, p.inline)}


async def pdf(env: ActionEnv, p: PdfPayload) -> dict[str, Any]:
    """Print the page to PDF."""
    await ensure_page_allowed(env)
    spec = render.RenderSpec(format="pdf", pdf=p.options(), redaction=p.redaction)
    rendered = await render.pdf(env.page, spec)
    return {"result": await env.publish(rendered, p.inline)}


def inline_result(rendered: render.Rendered) -> dict[str, Any]:
    """A ``result`` carrying the file itself, base64-encoded."""
    return {"data": base64.b64encode(rendered.data).decode(), **rendered.facts()}


Handler = Callable[[ActionEnv, Any], Awaitable[dict[str, Any]]]

HANDLERS: dict[str, Handler] = {
    "goto": goto,
    "click": click,
    "hover": hover,
    "type": type_text,
    "fill": fill,
    "press": press,
    "select": select,
    "scroll": scroll,
    "waitForSelector": wait_for_selector,
    "wait": wait,
    "query": query,
    "back": back,
    "forward": forward,
    "reload": reload,
    "content": content,
    "snapshot": snapshot,
    "evaluate": evaluate,
    "screenshot": screenshot,
    "pdf": pdf,
}
"""One handler per action type of :data:`sessions.action_models.ACTION_TYPES`."""

_unmatched = set(HANDLERS) ^ set(ACTION_TYPES)
if _unmatched:  # a valid request would fail at run time: refuse to start instead
    raise RuntimeError(f"action types without both a model and a handler: {sorted(_unmatched)}")


async def run(env: ActionEnv, action: str, payload: Any) -> dict[str, Any]:
    """Run one action; Playwright failures become documented errors."""
    try:
        return await HANDLERS[action](env, payload)
    except PlaywrightTimeout as err:
        raise SelectorTimeout() from err
    except PlaywrightError as err:
        first = (err.message or "").splitlines()[0][:300] if err.message else ""
        if "crashed" in first.lower():
            raise PageCrashed() from err
        raise ActionError(f"Action failed: {first}" if first else "Action failed.") from err


async def render_page(env: ActionEnv, spec: render.RenderSpec) -> render.Rendered:
    """The session's page rendered to a file in memory, once the guard allows its URL.

    An element that never shows is ``SELECTOR_TIMEOUT``; a clip off the page and any other
    browser failure is ``RENDER_FAILED``.
    """
    await ensure_page_allowed(env)
    try:
        if spec.format == "pdf":
            return await render.pdf(env.page, spec)
        return await render.screenshot(env.page, spec)
    except PlaywrightError as err:
        raise RenderFailed() from err
