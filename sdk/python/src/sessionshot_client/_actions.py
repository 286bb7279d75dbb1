"""Every action type as a typed method, shared by the sync and the async session handles."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from sessionshot_client.models import (
    ClickPayload,
    Clip,
    ContentPayload,
    EvaluatePayload,
    FillPayload,
    GotoPayload,
    HistoryPayload,
    HoverPayload,
    PaperFormat,
    PdfMargin,
    PdfPayload,
    PressPayload,
    QueryPayload,
    Redaction,
    ScreenshotPayload,
    ScrollPayload,
    SelectPayload,
    SnapshotPayload,
    TypePayload,
    WaitForSelectorPayload,
    WaitPayload,
)
from sessionshot_client.models.actions import ElementState, NavigationWait
from sessionshot_client.models.base import given

R = TypeVar("R")


class RawPayload(BaseModel):
    """A payload passed through as given (JSON names)."""

    model_config = ConfigDict(extra="allow")


class ActionMethods(Generic[R]):
    """One method per action; ``R`` is ``ActionResult`` (sync) or an awaitable of it.

    Methods taking an element take ``selector=`` (CSS) or ``ref=`` (from the latest
    ``snapshot(mode="ai")``), exactly one of the two.
    """

    def _run(self, type_: str, payload: BaseModel | None) -> R:
        raise NotImplementedError

    def action(self, type_: str, **payload: Any) -> R:
        """Any action by its API name, with its payload's JSON fields."""
        return self._run(type_, RawPayload(**payload) if payload else None)

    def goto(
        self, url: str, *, wait_until: NavigationWait | None = None, timeout: int | None = None
    ) -> R:
        """Navigate to ``url`` (https, on an allowed host)."""
        fields = given(url=url, wait_until=wait_until, timeout=timeout)
        return self._run("goto", GotoPayload.model_validate(fields))

    def click(
        self,
        selector: str | None = None,
        *,
        ref: str | None = None,
        button: Literal["left", "right", "middle"] | None = None,
        click_count: int | None = None,
        timeout: int | None = None,
    ) -> R:
        """Click an element."""
        fields = given(
            selector=selector, ref=ref, button=button, click_count=click_count, timeout=timeout
        )
        return self._run("click", ClickPayload.model_validate(fields))

    def hover(
        self, selector: str | None = None, *, ref: str | None = None, timeout: int | None = None
    ) -> R:
        """Move the mouse over an element."""
        fields = given(selector=selector, ref=ref, timeout=timeout)
        return self._run("hover", HoverPayload.model_validate(fields))

    def type(
        self,
        selector: str | None = None,
        *,
        text: str,
        ref: str | None = None,
        delay_ms: int | None = None,
        timeout: int | None = None,
    ) -> R:
        """Type ``text`` into an element, key by key."""
        fields = given(selector=selector, ref=ref, text=text, delay_ms=delay_ms, timeout=timeout)
        return self._run("type", TypePayload.model_validate(fields))

    def fill(
        self,
        selector: str | None = None,
        *,
        value: str,
        ref: str | None = None,
        timeout: int | None = None,
    ) -> R:
        """Set an input's value."""
        fields = given(selector=selector, ref=ref, value=value, timeout=timeout)
        return self._run("fill", FillPayload.model_validate(fields))

    def press(
        self,
        key: str,
        *,
        selector: str | None = None,
        ref: str | None = None,
        timeout: int | None = None,
    ) -> R:
        """Press a key (``"Enter"``, ``"Control+A"``), on an element or the page."""
        fields = given(key=key, selector=selector, ref=ref, timeout=timeout)
        return self._run("press", PressPayload.model_validate(fields))

    def select(
        self,
        selector: str | None = None,
        *,
        values: list[str],
        ref: str | None = None,
        timeout: int | None = None,
    ) -> R:
        """Choose options of a ``<select>``."""
        fields = given(selector=selector, ref=ref, values=values, timeout=timeout)
        return self._run("select", SelectPayload.model_validate(fields))

    def scroll(
        self,
        y: int | None = None,
        *,
        x: int | None = None,
        selector: str | None = None,
        ref: str | None = None,
        timeout: int | None = None,
    ) -> R:
        """Scroll the page to ``y`` (and ``x``), or an element into view."""
        fields = given(y=y, x=x, selector=selector, ref=ref, timeout=timeout)
        return self._run("scroll", ScrollPayload.model_validate(fields))

    def wait_for_selector(
        self,
        selector: str | None = None,
        *,
        ref: str | None = None,
        state: ElementState | None = None,
        timeout: int | None = None,
    ) -> R:
        """Wait until an element reaches ``state`` (default visible)."""
        fields = given(selector=selector, ref=ref, state=state, timeout=timeout)
        return self._run("waitForSelector", WaitForSelectorPayload.model_validate(fields))

    def wait(self, ms: int) -> R:
        """Wait ``ms`` milliseconds (at most 10000)."""
        return self._run("wait", WaitPayload(ms=ms))

    def query(self, selector: str | None = None, *, ref: str | None = None) -> R:
        """Element info without interaction (``matched=False`` when absent)."""
        return self._run("query", QueryPayload.model_validate(given(selector=selector, ref=ref)))

    def back(self, *, wait_until: NavigationWait | None = None, timeout: int | None = None) -> R:
        """Go back in history."""
        return self._history("back", wait_until, timeout)

    def forward(self, *, wait_until: NavigationWait | None = None, timeout: int | None = None) -> R:
        """Go forward in history."""
        return self._history("forward", wait_until, timeout)

    def reload(self, *, wait_until: NavigationWait | None = None, timeout: int | None = None) -> R:
        """Reload the page."""
        return self._history("reload", wait_until, timeout)

    def _history(self, type_: str, wait_until: NavigationWait | None, timeout: int | None) -> R:
        fields = given(wait_until=wait_until, timeout=timeout)
        return self._run(type_, HistoryPayload.model_validate(fields))

    def content(
        self,
        format: Literal["html", "text", "markdown"] | None = None,
        *,
        selector: str | None = None,
        ref: str | None = None,
    ) -> R:
        """The page (or one element) as HTML, text or Markdown."""
        fields = given(format=format, selector=selector, ref=ref)
        return self._run("content", ContentPayload.model_validate(fields))

    def snapshot(
        self,
        mode: Literal["default", "ai"] | None = None,
        *,
        selector: str | None = None,
        depth: int | None = None,
        max_chars: int | None = None,
    ) -> R:
        """The ARIA snapshot; ``mode="ai"`` gives refs for ``click(ref=...)`` and the rest."""
        fields = given(mode=mode, selector=selector, depth=depth, max_chars=max_chars)
        return self._run("snapshot", SnapshotPayload.model_validate(fields))

    def evaluate(self, expression: str) -> R:
        """Evaluate a JavaScript expression; its JSON value is in ``result``."""
        return self._run("evaluate", EvaluatePayload(expression=expression))

    def screenshot(
        self,
        *,
        format: Literal["png", "jpeg", "webp"] | None = None,
        full_page: bool | None = None,
        quality: int | None = None,
        selector: str | None = None,
        ref: str | None = None,
        device_scale_factor: float | None = None,
        clip: Clip | None = None,
        omit_background: bool | None = None,
        redaction: Redaction | None = None,
        inline: bool | None = None,
    ) -> R:
        """A screenshot: ``result`` is like a capture's (signed link), or base64 if inline."""
        fields = given(
            format=format, full_page=full_page, quality=quality, selector=selector, ref=ref,
            device_scale_factor=device_scale_factor, clip=clip,
            omit_background=omit_background, redaction=redaction, inline=inline,
        )  # fmt: skip
        return self._run("screenshot", ScreenshotPayload.model_validate(fields))

    def pdf(
        self,
        *,
        format: PaperFormat | None = None,
        landscape: bool | None = None,
        print_background: bool | None = None,
        scale: float | None = None,
        margin: PdfMargin | None = None,
        page_ranges: str | None = None,
        redaction: Redaction | None = None,
        inline: bool | None = None,
    ) -> R:
        """The page as a PDF: ``result`` as for ``screenshot``."""
        fields = given(
            format=format, landscape=landscape, print_background=print_background, scale=scale,
            margin=margin, page_ranges=page_ranges, redaction=redaction, inline=inline,
        )  # fmt: skip
        return self._run("pdf", PdfPayload.model_validate(fields))
