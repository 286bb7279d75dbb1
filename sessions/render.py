"""Rendering to PNG / JPEG / WebP / PDF and reading the sizes of what was rendered.

Images are shot with the DevTools protocol's ``Page.captureScreenshot`` (Playwright's own
screenshot knows no WebP): one path for every image format, the clip (an element's box, a
given rectangle, the whole page or the viewport) worked out here. PNG is shot with
``optimizeForSpeed``: the pixels are exactly those of a default shot (the file is larger,
as its compression is lighter), at about two thirds of the browser's CPU time.
"""

from __future__ import annotations

import base64
import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from sessions.action_models import Redaction
from sessions.errors import RenderFailed, SelectorTimeout
from sessions.redaction import apply, restore
from sessions.render_options import Clip, PdfOptions

CONTENT_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
SELECTOR_WAIT_MS = 5000
"""How long a shot of one element waits for it to be visible."""
FONTS_WAIT_MS = 3000
"""How long a shot waits for the page's web fonts (a slow font server delays, never hangs)."""
_NEXT_FRAME_JS = "() => new Promise((done) => requestAnimationFrame(() => done(null)))"
"""Resolves once the page has drawn its next frame."""
_FONTS_JS = """(ms) => Promise.race([
  document.fonts.ready.then(() => true),
  new Promise((resolve) => setTimeout(() => resolve(false), ms)),
])"""


@dataclass(frozen=True)
class Rendered:
    """A rendered file and its facts."""

    data: bytes
    format: str
    width: int
    height: int
    pages: int | None = None

    @property
    def content_type(self) -> str:
        """The MIME type of ``data``."""
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        """The file name extension of ``data`` (no dot)."""
        return "jpg" if self.format == "jpeg" else self.format

    def facts(self) -> dict[str, Any]:
        """``format``, ``bytes``, ``width``, ``height`` and, for a PDF, ``pages``: what every
        result describing the file carries."""
        facts: dict[str, Any] = {
            "format": self.format,
            "bytes": len(self.data),
            "width": self.width,
            "height": self.height,
        }
        if self.pages is not None:
            facts["pages"] = self.pages
        return facts


@dataclass(frozen=True)
class RenderSpec:
    """Everything about one render: the format and its options, what part of the page, and
    what is changed on the page just before (redaction, extra CSS, hidden elements)."""

    format: str = "png"
    full_page: bool = False
    quality: int | None = None
    scale: float = 1
    """Device pixels per CSS pixel of an image."""
    clip: Clip | None = None
    selector: str | None = None
    omit_background: bool = False
    pdf: PdfOptions | None = None
    """Paper, margins...; None prints pages of the viewport's size, backgrounds included."""
    redaction: Redaction | None = None
    css: str | None = None
    hide_selectors: tuple[str, ...] = field(default=())


def image_size(data: bytes) -> tuple[int, int]:
    """Pixel size of a PNG, JPEG or WebP."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + length
    raise ValueError("not a PNG, JPEG or WebP")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: 24-bit canvas size minus one
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":  # lossless: 14 bits each after the signature byte
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: after the frame tag and start code
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise ValueError("not a WebP this reader knows")


def pdf_pages(data: bytes) -> int:
    """Number of pages of a PDF written by Chromium."""
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


_HIDE_JS = """(selectors) => {
  for (const selector of selectors) {
    let found = [];
    try { found = document.querySelectorAll(selector); } catch (_) { continue; }
    for (const el of found) el.style.setProperty("visibility", "hidden", "important");
  }
}"""


async def _prepare(page: Page, spec: RenderSpec) -> None:
    """The capture's own CSS and hidden elements (kept: a capture's page ends with it)."""
    if spec.css:
        await page.add_style_tag(content=spec.css)
    if spec.hide_selectors:
        await page.evaluate(_HIDE_JS, list(spec.hide_selectors))


async def screenshot(page: Page, spec: RenderSpec) -> Rendered:
    """Prepare, redact, shoot, restore."""
    await _prepare(page, spec)
    await apply(page, spec.redaction)
    try:
        data = await _shoot(page, spec)
    finally:
        await restore(page, spec.redaction)
    width, height = image_size(data)
    return Rendered(data=data, format=spec.format, width=width, height=height)


async def _shoot(page: Page, spec: RenderSpec) -> bytes:
    cdp = await page.context.new_cdp_session(page)
    viewport = page.viewport_size or {"width": 1280, "height": 800}
    # Set here even when the page already has this ratio through another DevTools session
    # (a capture's, from before it loaded): Chromium shoots with the shooting session's own
    # metrics.
    rescale = spec.scale != 1
    try:
        if rescale:
            await scale_page(cdp, viewport["width"], viewport["height"], spec.scale)
        if spec.omit_background:
            await cdp.send(
                "Emulation.setDefaultBackgroundColorOverride",
                {"color": {"r": 0, "g": 0, "b": 0, "a": 0}},
            )
        await page.evaluate(_FONTS_JS, FONTS_WAIT_MS)
        params: dict[str, Any] = {
            "format": spec.format,
            "optimizeForSpeed": spec.format == "png",
        }
        if spec.quality is not None:
            params["quality"] = spec.quality
        clip = await _clip(page, cdp, spec)
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
            params["captureBeyondViewport"] = True
        shot = await _capture(page, cdp, params)
    finally:
        if not page.is_closed():
            await _unset(page, cdp, spec.omit_background, viewport if rescale else None)
    return base64.b64decode(shot["data"])


async def _capture(page: Page, cdp: CDPSession, params: dict[str, Any]) -> dict[str, Any]:
    """``Page.captureScreenshot``, tried again once after the next frame when Chromium
    answers "Unable to capture screenshot" (now and then, right after a navigation, when no
    frame is ready to copy yet)."""
    try:
        shot: dict[str, Any] = await cdp.send("Page.captureScreenshot", params)
    except PlaywrightError as err:
        if "Unable to capture screenshot" not in err.message:
            raise
        await page.evaluate(_NEXT_FRAME_JS)
        shot = await cdp.send("Page.captureScreenshot", params)
    return shot


async def scale_page(cdp: CDPSession, width: int, height: int, scale: float) -> None:
    """Emulate ``scale`` device pixels per CSS pixel (``devicePixelRatio``) on the page of
    ``cdp``, for as long as that DevTools session stays attached."""
    await cdp.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
    )


async def _unset(page: Page, cdp: CDPSession, background: bool, viewport: Any) -> None:
    """Undo the shot's overrides: the page goes on as it was."""
    if background:
        await cdp.send("Emulation.setDefaultBackgroundColorOverride", {})
    await cdp.detach()
    if viewport is not None:
        # Detaching cleared every metrics override, Playwright's too, and Chromium ignores
        # a session repeating its own last override: a different size first makes
        # Playwright's count again.
        await page.set_viewport_size({"width": viewport["width"], "height": viewport["height"] + 1})
        await page.set_viewport_size(viewport)


_SCROLL_JS = "() => [window.scrollX, window.scrollY]"


async def _clip(page: Page, cdp: CDPSession, spec: RenderSpec) -> dict[str, float] | None:
    """The part of the page to shoot, in page CSS pixels; None for the viewport."""
    if spec.selector is not None:
        return await _element_box(page, spec.selector)
    if spec.clip is None and not spec.full_page:
        return None
    metrics = await cdp.send("Page.getLayoutMetrics")
    size = metrics["cssContentSize"]
    page_w, page_h = size["width"], size["height"]
    if spec.full_page:
        return {"x": 0, "y": 0, "width": page_w, "height": page_h}
    clip = spec.clip
    assert clip is not None
    if clip.x + clip.width > page_w + 0.5 or clip.y + clip.height > page_h + 0.5:
        raise RenderFailed(
            f"clip lies outside the page, which is {page_w:g} x {page_h:g} CSS pixels."
        )
    return {"x": clip.x, "y": clip.y, "width": clip.width, "height": clip.height}


async def _element_box(page: Page, selector: str) -> dict[str, float]:
    """The first visible match's box, scrolled into view; SELECTOR_TIMEOUT when none is."""
    locator = page.locator(selector).first
    try:
        await locator.wait_for(state="visible", timeout=SELECTOR_WAIT_MS)
        await locator.scroll_into_view_if_needed(timeout=SELECTOR_WAIT_MS)
        box = await locator.bounding_box(timeout=SELECTOR_WAIT_MS)
    except PlaywrightTimeout as err:
        raise SelectorTimeout(f"No visible element matches {json.dumps(selector)[:200]}.") from err
    if box is None or box["width"] < 1 or box["height"] < 1:
        raise SelectorTimeout(f"The element of {json.dumps(selector)[:200]} has no size.")
    scroll_x, scroll_y = await page.evaluate(_SCROLL_JS)
    return {
        "x": box["x"] + scroll_x,
        "y": box["y"] + scroll_y,
        "width": box["width"],
        "height": box["height"],
    }


async def pdf(page: Page, spec: RenderSpec) -> Rendered:
    """Prepare, redact, print to PDF, restore. Without print options: pages of the
    viewport's size, backgrounds printed."""
    viewport = page.viewport_size or {"width": 1280, "height": 800}
    await _prepare(page, spec)
    await apply(page, spec.redaction)
    try:
        data = await page.pdf(**_pdf_arguments(spec.pdf, viewport["width"], viewport["height"]))
    finally:
        await restore(page, spec.redaction)
    return Rendered(
        data=data,
        format="pdf",
        width=viewport["width"],
        height=viewport["height"],
        pages=pdf_pages(data),
    )


def _pdf_arguments(options: PdfOptions | None, width: int, height: int) -> dict[str, Any]:
    if options is None:
        return {
            "width": f"{width}px",
            "height": f"{height}px",
            "print_background": True,
        }
    arguments: dict[str, Any] = {
        "format": options.format,
        "landscape": options.landscape,
        "print_background": options.print_background,
        "scale": options.scale,
    }
    if options.margin is not None:
        arguments["margin"] = options.margin.model_dump()
    if options.page_ranges is not None:
        arguments["page_ranges"] = options.page_ranges.replace(" ", "")
    return arguments
