"""The output actions that read the page as text: ``content`` (HTML, text or Markdown) and
``snapshot`` (the ARIA snapshot; in ``"ai"`` mode with refs, SPEC section 11)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from html_to_markdown import ConversionError, ConversionOptions
from html_to_markdown import convert as html_to_markdown
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from sessions import refs
from sessions.action_env import ActionEnv, ensure_page_allowed
from sessions.action_models import ContentPayload, SnapshotPayload
from sessions.errors import ActionError, RefNotFound

ELEMENT_TIMEOUT_MS = 5000
"""How long ``content`` waits for the element of its ``selector`` or ``ref``."""
MARKDOWN_INPUT_FACTOR = 8
"""The HTML converted to Markdown is cut at this many times the content cap: scripts, styles
and markup take most of a page's HTML, and the conversion's time grows with its input."""
MARKDOWN_OPTIONS = ConversionOptions(
    heading_style="atx",
    extract_metadata=False,  # no front matter: the page's content only
    inline_data_media="alt_text_only",  # a data: image is its alt text, not its base64
    hidden_content="drop",
)

# The element's HTML with absolute link and image addresses (a copy's href resolves against
# the page's base URL as the original's does), so the Markdown's links work off the page.
_ABSOLUTE_HTML_JS = """
(el) => {
  const copy = el.cloneNode(true);
  for (const node of [copy, ...copy.querySelectorAll('a[href], img[src]')]) {
    if (node.matches('a[href]')) node.setAttribute('href', node.href);
    else if (node.matches('img[src]')) node.setAttribute('src', node.src);
  }
  return copy.outerHTML;
}
"""


def clean(text: str) -> str:
    """A page's text with each lone UTF-16 surrogate (JavaScript strings may hold one) as
    U+FFFD, as anything written as UTF-8 must."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def cap(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` bytes of UTF-8 (never inside a character), and whether it
    was cut."""
    text = clean(text)
    data = text.encode()
    if len(data) <= limit:
        return text, False
    return data[:limit].decode(errors="ignore"), True


@asynccontextmanager
async def finding(env: ActionEnv, target: refs.Target) -> AsyncIterator[None]:
    """Playwright's failure to find the target's element becomes the documented error."""
    try:
        yield
    except PlaywrightTimeout as err:
        raise await refs.missing(env.page, target) from err
    except PlaywrightError as err:
        if target.ref is not None and "aria-ref" in (err.message or ""):
            raise RefNotFound() from err  # the ref's iframe is gone
        raise


async def to_markdown(html: str, limit: int) -> tuple[str, bool]:
    """The Markdown of ``html`` (its input bounded by ``limit``), and whether it was cut.

    The conversion runs in a thread: the library's Rust core releases the GIL, so a large
    page does not hold up the event loop.
    """
    bound = MARKDOWN_INPUT_FACTOR * limit
    cut = len(html) > bound
    try:
        result = await asyncio.to_thread(html_to_markdown, clean(html[:bound]), MARKDOWN_OPTIONS)
    except ConversionError as err:  # a failure of the library itself (a panic in its core)
        raise ActionError("The page could not be converted to Markdown.") from err
    return result.content or "", cut


async def content(env: ActionEnv, p: ContentPayload) -> dict[str, Any]:
    """The page's (or an element's) HTML, visible text or Markdown."""
    await ensure_page_allowed(env)
    page = env.page
    target = await refs.resolve_optional(page, env.refs, p.selector, p.ref)
    if target is None:
        if p.format == "markdown":
            text = await page.evaluate(f"({_ABSOLUTE_HTML_JS})(document.documentElement)")
        else:
            text = await page.inner_text("body") if p.format == "text" else await page.content()
    else:
        locator = page.locator(target.selector).first
        async with finding(env, target):
            if p.format == "text":
                text = await locator.inner_text(timeout=ELEMENT_TIMEOUT_MS)
            elif p.format == "markdown":  # the element itself: a table needs its <table>
                text = await locator.evaluate(_ABSOLUTE_HTML_JS, timeout=ELEMENT_TIMEOUT_MS)
            else:
                text = await locator.inner_html(timeout=ELEMENT_TIMEOUT_MS)
    cut = False
    if p.format == "markdown":
        text, cut = await to_markdown(text, env.max_content_bytes)
    capped, truncated = cap(text, env.max_content_bytes)
    return {"content": capped, "truncated": truncated or cut}


def _shorten(text: str, max_chars: int) -> tuple[str, bool]:
    """At most ``max_chars`` characters: cut after a whole line when one ends in the second
    half (so no ref is cut in two), else at the limit."""
    if len(text) <= max_chars:
        return text, False
    head = text[:max_chars]
    line_end = head.rfind("\n")
    return (head[:line_end] if line_end >= max_chars // 2 else head), True


async def snapshot(env: ActionEnv, p: SnapshotPayload) -> dict[str, Any]:
    """The ARIA snapshot as YAML-like text for agents; in ``"ai"`` mode with element refs,
    which become the session's refs (``refCount`` counts those of the whole snapshot)."""
    await ensure_page_allowed(env)
    if p.mode == "default":
        env.refs.unbind()  # the page keeps one table of refs, which this snapshot replaces
    text = await refs.aria_snapshot(env.page, p.mode, p.selector, p.depth)
    ref_count = env.refs.issue(text, p.selector, p.depth) if p.mode == "ai" else 0
    shown, truncated = _shorten(clean(text), p.max_chars)
    return {"snapshot": shown, "truncated": truncated, "refCount": ref_count}
