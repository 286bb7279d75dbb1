"""Element refs of ``"ai"`` snapshots (SPEC section 11): which refs a session may use, and
the element each one names.

Playwright's AI snapshot gives each interactable element a ref (``[ref=e12]``, ``f1e3`` in
an iframe); its ``aria-ref=<ref>`` selector finds that element again, looked up in the
latest aria snapshot taken in the element's frame. A session keeps the refs of its latest
``"ai"`` snapshot in a :class:`RefBook`, so a ref it was not given fails at once, with no
round trip to the browser, instead of waiting out a selector timeout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from sessions.action_models import REF_PATTERN
from sessions.errors import RefNotFound, SelectorTimeout, SessionError

_REF_IN_SNAPSHOT = re.compile(r"\[ref=(" + REF_PATTERN.strip("^$") + r")\]")
SNAPSHOT_TIMEOUT_MS = 5000
"""How long a snapshot waits for its root element (an ``"ai"`` one does not wait)."""


def refs_in(snapshot: str) -> frozenset[str]:
    """The refs an AI snapshot's text holds."""
    return frozenset(_REF_IN_SNAPSHOT.findall(snapshot))


@dataclass(frozen=True)
class Target:
    """The element an action is about: a Playwright selector, and the ref it stands for."""

    selector: str
    ref: str | None = None

    @property
    def label(self) -> str:
        """How errors name it: the ref, or the selector."""
        return self.ref or self.selector


@dataclass
class RefBook:
    """The refs of a session's latest ``"ai"`` snapshot, and whether the page still has them.

    The page loses them with its document (a navigation): a new document needs a snapshot
    of its own first. A ``"default"`` snapshot replaces the page's
    own lookup table too (Playwright keeps one per frame, whatever the mode); the book then
    takes the latest ``"ai"`` snapshot again, unseen, before a ref is used.
    """

    issued: frozenset[str] = frozenset()
    scope: tuple[str | None, int | None] = (None, None)
    """The ``selector`` and ``depth`` of the snapshot that issued the refs."""
    bound: bool = True
    """False once a ``"default"`` snapshot has replaced the page's table."""
    _navigations: int = 0
    _issued_at: int = 0

    def issue(self, snapshot: str, selector: str | None, depth: int | None) -> int:
        """Keep the refs of a new ``"ai"`` snapshot (the older ones end); how many."""
        self.issued = refs_in(snapshot)
        self.scope = (selector, depth)
        self.bound = True
        self._issued_at = self._navigations
        return len(self.issued)

    def unbind(self) -> None:
        """A ``"default"`` snapshot replaced the page's table of refs."""
        self.bound = False

    def watch(self, page: Page) -> None:
        """Forget the refs when the page's main frame loads another document (call once)."""
        page.on("framenavigated", self._navigated)
        page.on("domcontentloaded", self._loaded)

    def _navigated(self, frame: Frame) -> None:
        # Every main-frame navigation, same-document ones included (they keep the refs).
        if frame.parent_frame is None:
            self._navigations += 1

    def _loaded(self, _page: Page) -> None:
        # A new document in the main frame, committed after the refs were issued.
        if self._navigations > self._issued_at:
            self.issued = frozenset()


async def aria_snapshot(page: Page, mode: str, selector: str | None, depth: int | None) -> str:
    """Playwright's aria snapshot (``"default"`` or ``"ai"``) of the page, or of the first
    element of ``selector``."""
    try:
        if mode == "ai" and selector is None:  # the page's, iframes included
            return await page.aria_snapshot(mode="ai", depth=depth, timeout=SNAPSHOT_TIMEOUT_MS)
        locator = page.locator(selector or "body").first
        return await locator.aria_snapshot(
            mode="ai" if mode == "ai" else "default", depth=depth, timeout=SNAPSHOT_TIMEOUT_MS
        )
    except PlaywrightTimeout as err:
        raise SelectorTimeout(selector=selector) from err
    except PlaywrightError as err:
        # An AI snapshot does not wait for its element: one that is not there fails at once.
        if "does not match any element" in (err.message or ""):
            raise SelectorTimeout("No element matches the selector.", selector=selector) from err
        raise


async def resolve(page: Page, book: RefBook, selector: str | None, ref: str | None) -> Target:
    """The target of a payload's ``selector`` or ``ref`` (the models allow one of the two).

    A ref the latest ``"ai"`` snapshot did not issue is refused here, before the browser is
    asked anything.
    """
    if ref is None:
        if selector is None:
            raise ValueError("a target needs a selector or a ref")
        return Target(selector)
    if ref not in book.issued:
        raise RefNotFound()
    if not book.bound:
        try:
            await aria_snapshot(page, "ai", *book.scope)
        except (PlaywrightError, SelectorTimeout) as err:
            raise RefNotFound() from err
        book.bound = True
    return Target(f"aria-ref={ref}", ref)


async def resolve_optional(
    page: Page, book: RefBook, selector: str | None, ref: str | None
) -> Target | None:
    """As :func:`resolve`, or None when the payload names no element."""
    if selector is None and ref is None:
        return None
    return await resolve(page, book, selector, ref)


async def missing(page: Page, target: Target) -> SessionError:
    """The error of an action whose element did not show up in time.

    For a ref, it asks the page once whether the element is still there (only on this
    failure path): a ref whose element is gone is ``REF_NOT_FOUND``.
    """
    if target.ref is not None and not await _attached(page, target):
        return RefNotFound()
    return SelectorTimeout(selector=target.label)


async def _attached(page: Page, target: Target) -> bool:
    try:
        handle = await page.query_selector(target.selector)
    except PlaywrightError:  # the ref's iframe is gone
        return False
    if handle is None:
        return False
    await handle.dispose()
    return True
