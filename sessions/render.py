"""Rendering to PNG / JPEG / PDF and reading the sizes of what was rendered."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

from sessions.action_models import Redaction
from sessions.redaction import apply, restore


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
        return {"png": "image/png", "jpeg": "image/jpeg", "pdf": "application/pdf"}[self.format]

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


def image_size(data: bytes) -> tuple[int, int]:
    """Pixel size of a PNG or JPEG."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
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
    raise ValueError("not a PNG or JPEG")


def pdf_pages(data: bytes) -> int:
    """Number of pages of a PDF written by Chromium."""
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


async def screenshot(
    page: Page,
    *,
    fmt: str,
    full_page: bool,
    quality: int | None,
    selector: str | None,
    redaction: Redaction | None,
) -> Rendered:
    """Redact, shoot, restore."""
    await apply(page, redaction)
    try:
        if selector is not None:
            data = await page.locator(selector).first.screenshot(
                type=fmt,  # type: ignore[arg-type]
                quality=quality,
                timeout=5000,
            )
        else:
            data = await page.screenshot(
                type=fmt,  # type: ignore[arg-type]
                quality=quality,
                full_page=full_page,
            )
    finally:
        await restore(page, redaction)
    width, height = image_size(data)
    return Rendered(data=data, format=fmt, width=width, height=height)


async def pdf(page: Page, redaction: Redaction | None) -> Rendered:
    """Redact, print to PDF at the viewport width, restore."""
    viewport = page.viewport_size or {"width": 1280, "height": 800}
    await apply(page, redaction)
    try:
        data = await page.pdf(
            width=f"{viewport['width']}px",
            height=f"{viewport['height']}px",
            print_background=True,
        )
    finally:
        await restore(page, redaction)
    return Rendered(
        data=data,
        format="pdf",
        width=viewport["width"],
        height=viewport["height"],
        pages=pdf_pages(data),
    )
