"""Actions on a live session (SPEC §4 actions table, §11 refs, §13 render options)."""

from __future__ import annotations

from typing import Any, Literal

from sessionshot_client.models.base import RequestModel, ResponseModel
from sessionshot_client.models.captures import Clip, PaperFormat, PdfMargin, Redaction

NavigationWait = Literal["load", "domcontentloaded", "networkidle", "commit"]
ElementState = Literal["attached", "detached", "visible", "hidden"]


class GotoPayload(RequestModel):
    """``goto``: navigate to an allowed https URL."""

    url: str
    wait_until: NavigationWait | None = None
    timeout: int | None = None


class Target(RequestModel):
    """An element, by CSS ``selector`` or by a ``ref`` of the latest ``ai`` snapshot."""

    selector: str | None = None
    ref: str | None = None


class ClickPayload(Target):
    """``click``."""

    button: Literal["left", "right", "middle"] | None = None
    click_count: int | None = None
    timeout: int | None = None


class HoverPayload(Target):
    """``hover``."""

    timeout: int | None = None


class TypePayload(Target):
    """``type``: key by key, ``text`` ≤ 1000 characters."""

    text: str
    delay_ms: int | None = None
    timeout: int | None = None


class FillPayload(Target):
    """``fill``: set an input's value at once."""

    value: str
    timeout: int | None = None


class PressPayload(Target):
    """``press``: a key (``"Enter"``), on an element or the page."""

    key: str
    timeout: int | None = None


class SelectPayload(Target):
    """``select``: choose options of a ``<select>``."""

    values: list[str]
    timeout: int | None = None


class ScrollPayload(Target):
    """``scroll``: to ``y`` (and ``x``), or an element into view."""

    y: int | None = None
    x: int | None = None
    timeout: int | None = None


class WaitForSelectorPayload(Target):
    """``waitForSelector``: ``timeout`` ≤ 15000 ms."""

    state: ElementState | None = None
    timeout: int | None = None


class WaitPayload(RequestModel):
    """``wait``: ``ms`` ≤ 10000."""

    ms: int


class QueryPayload(Target):
    """``query``: element info without interaction."""


class HistoryPayload(RequestModel):
    """``back`` / ``forward`` / ``reload``."""

    wait_until: NavigationWait | None = None
    timeout: int | None = None


class ContentPayload(Target):
    """``content``: the page (or one element) as HTML, text or Markdown."""

    format: Literal["html", "text", "markdown"] | None = None


class SnapshotPayload(RequestModel):
    """``snapshot``: the ARIA snapshot; ``mode="ai"`` gives refs (``[ref=e12]``)."""

    mode: Literal["default", "ai"] | None = None
    selector: str | None = None
    depth: int | None = None
    max_chars: int | None = None


class EvaluatePayload(RequestModel):
    """``evaluate``: a JavaScript expression (≤ 10000 characters)."""

    expression: str


class ScreenshotPayload(Target):
    """``screenshot``: stored privately (a signed link), or inline base64."""

    format: Literal["png", "jpeg", "webp"] | None = None
    full_page: bool | None = None
    quality: int | None = None
    device_scale_factor: float | None = None
    clip: Clip | None = None
    omit_background: bool | None = None
    redaction: Redaction | None = None
    inline: bool | None = None


class PdfPayload(RequestModel):
    """``pdf``: the page as a PDF, with the paper options of ``output.pdf``."""

    format: PaperFormat | None = None
    landscape: bool | None = None
    print_background: bool | None = None
    scale: float | None = None
    margin: PdfMargin | None = None
    page_ranges: str | None = None
    redaction: Redaction | None = None
    inline: bool | None = None


class Action(RequestModel):
    """The body of ``POST /v1/sessions/{id}/actions``: ``{"type", "payload"}``."""

    type: str
    payload: dict[str, Any] | None = None


class Point(ResponseModel):
    """A point in CSS pixels."""

    x: float
    y: float


class BoundingBox(ResponseModel):
    """An element's box in CSS pixels."""

    x: float
    y: float
    width: float
    height: float


class ActionResult(ResponseModel):
    """What an action answers; which fields are there depends on the action type."""

    success: bool
    expires_in_seconds: int
    url: str
    status: int | None = None
    matched: bool | None = None
    visible: bool | None = None
    element_text: str | None = None
    tag_name: str | None = None
    attributes: dict[str, str] | None = None
    bounding_box: BoundingBox | None = None
    clicked_point: Point | None = None
    hovered_point: Point | None = None
    selected: list[str] | None = None
    scroll_x: float | None = None
    scroll_y: float | None = None
    content: str | None = None
    truncated: bool | None = None
    snapshot: str | None = None
    ref_count: int | None = None
    result: Any = None
