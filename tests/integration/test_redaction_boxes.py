"""Redaction covers each element exactly where it is rendered (SPEC section 3, "Redaction
leaks nothing": "an opaque box of its size").

``/redact-table`` is a changelist like Django admin's: auto table layout, width 100%, the
card-number column as wide as its longest value, which sits in a later row. Masking that
column's text in place would change the column's width and move the whole table, so boxes
measured before no longer fit their cells. Here every ``.field-card_number`` cell is measured
in a live session before anything is redacted, then full-page renders (the live
``screenshot`` action, which shares its redaction with captures, and one capture through
the worker) are checked pixel by pixel against those boxes and against the same page
rendered without redaction:

- inside each cell's box: an opaque box (``block``) or no glyph edges left (``blur``);
- everywhere else: the unredacted render, untouched, so nothing moved and nothing spilled.

Pixels a box edge cuts through are left unchecked: cell edges fall between device pixels
(columns share the table's width in fractions of a pixel; a collapsed 1 px border puts row
edges on half pixels) and Chromium snaps a painted box's edge to one side or the other.
That is at most one pixel per edge; everything past it must match exactly in a PNG. A JPEG
codes 16x16 pixel blocks on their own, so beyond one block from a box it must match
exactly too, and within that block the pixels just past each edge must still be the
page's light background, the pixels inside the box dark. The device scale factor is 1, so
CSS pixels are image pixels.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import httpx

from tests.integration.sessions_helpers import Client, new_client
from tests.support.jpeg import decode_jpeg
from tests.support.pixels import luma, sharpest_step
from tests.support.png import Image, decode_png
from tests.support.procs import ServiceProcess
from tests.support.redaction_pages import REDACT_TABLE_CARDS
from tests.support.service import Service
from tests.support.target_site import TargetSite

SELECTOR = ".field-card_number"
# Shorter than the table, so a full-page render is taller than the viewport.
VIEWPORT = {"width": 800, "height": 300}
RECTS_JS = (
    f"Array.from(document.querySelectorAll('{SELECTOR}'), (el) => {{"
    " const r = el.getBoundingClientRect();"
    " return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })"
)
JPEG_QUALITY = 90
# Chromium's JPEGs code 16x16 pixel blocks (8x8 samples, chroma halved) independently: a
# block with no changed pixel decodes exactly as before.
JPEG_BLOCK = 16
WAIT_S = 25

Rect = tuple[float, float, float, float]  # left, top, width, height
Zone = tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive)


# --------------------------------------------------------------------------- geometry


def inside(rect: Rect, shrink: int = 0) -> Zone:
    """Pixels lying wholly inside the rectangle (less ``shrink`` on every side)."""
    left, top, width, height = rect
    return (
        math.ceil(left) + shrink,
        math.ceil(top) + shrink,
        math.floor(left + width) - shrink,
        math.floor(top + height) - shrink,
    )


def reach(rect: Rect, grow: int = 0) -> Zone:
    """Pixels the rectangle touches at all (plus ``grow`` on every side)."""
    left, top, width, height = rect
    return (
        math.floor(left) - grow,
        math.floor(top) - grow,
        math.ceil(left + width) + grow,
        math.ceil(top + height) + grow,
    )


def pixels(zone: Zone) -> list[tuple[int, int]]:
    x0, y0, x1, y1 = zone
    return [(x, y) for y in range(y0, y1) for x in range(x0, x1)]


def ring(rects: list[Rect]) -> list[tuple[int, int]]:
    """The pixels just past the column of cells: left and right of every cell, above the
    first and below the last (between two cells lies the next cell)."""
    out: list[tuple[int, int]] = []
    for rect in rects:
        x0, y0, x1, y1 = reach(rect)
        out += [(x0 - 1, y) for y in range(y0, y1)] + [(x1, y) for y in range(y0, y1)]
    top, bottom = reach(rects[0]), reach(rects[-1])
    out += [(x, top[1] - 1) for x in range(top[0], top[2])]
    out += [(x, bottom[3]) for x in range(bottom[0], bottom[2])]
    return out


def changed_outside(plain: Image, shot: Image, rects: list[Rect], grow: int) -> list[int]:
    """Rows where ``shot`` differs from ``plain`` anywhere outside the boxes' reach."""
    assert (shot.width, shot.height) == (plain.width, plain.height)
    zones = [reach(rect, grow) for rect in rects]
    rows: list[int] = []
    for y in range(plain.height):
        cuts = sorted((x0, x1) for x0, y0, x1, y1 in zones if y0 <= y < y1)
        spans, x = [], 0
        for x0, x1 in cuts:
            spans.append((x, max(x, x0)))
            x = max(x, x1)
        spans.append((x, plain.width))
        a, b = plain.rows[y], shot.rows[y]
        if any(a[3 * s : 3 * e] != b[3 * s : 3 * e] for s, e in spans if s < e):
            rows.append(y)
    return rows


# --------------------------------------------------------------------------- the page


async def open_table(client: Client, target_site: TargetSite) -> tuple[str, list[Rect]]:
    """A live session on ``/redact-table`` and its cells' boxes in document coordinates."""
    session = await client.create(viewport=VIEWPORT)
    sid = str(session["id"])
    await client.ok(sid, "goto", url=target_site.url("/redact-table"))
    rects = await measure(client, sid)
    assert len(rects) == len(REDACT_TABLE_CARDS)
    # query reports the same box (viewport coordinates; the page is not scrolled).
    box = (await client.ok(sid, "query", selector=SELECTOR))["boundingBox"]
    assert (box["x"], box["y"], box["width"], box["height"]) == rects[0]
    # The fractions that make the one-pixel allowance necessary are really there.
    assert any(not float(v).is_integer() for rect in rects for v in rect), rects
    return sid, rects


async def measure(client: Client, sid: str) -> list[Rect]:
    result = (await client.ok(sid, "evaluate", expression=RECTS_JS))["result"]
    return [(r[0], r[1], r[2], r[3]) for r in result]


async def shoot(client: Client, sid: str, fmt: str, mode: str | None) -> Image:
    payload: dict[str, Any] = {"format": fmt, "fullPage": True, "inline": True}
    if fmt == "jpeg":
        payload["quality"] = JPEG_QUALITY
    if mode is not None:
        payload["redaction"] = {"selectors": [SELECTOR], "mode": mode}
    data = base64.b64decode((await client.ok(sid, "screenshot", **payload))["result"]["data"])
    image = decode_png(data) if fmt == "png" else decode_jpeg(data)
    assert image.width == VIEWPORT["width"] and image.height > VIEWPORT["height"]
    return image


# --------------------------------------------------------------------------- checks


def check_block_png(plain: Image, shot: Image, rects: list[Rect]) -> None:
    for rect in rects:
        area = pixels(inside(rect))
        assert any(plain.pixel(x, y) != (0, 0, 0) for x, y in area), rect  # control
        stray = {shot.pixel(x, y) for x, y in area} - {(0, 0, 0)}
        assert not stray, (rect, sorted(stray)[:5])
    assert changed_outside(plain, shot, rects, grow=0) == []


def check_blur_png(plain: Image, shot: Image, rects: list[Rect]) -> None:
    for rect in rects:
        # The cells' outer pixel rows carry the table's collapsed borders, which the table
        # paints (not the hidden cell) and which show through the blur; glyphs lie within
        # the cell's 8 px padding.
        zone = inside(rect, shrink=2)
        box = (zone[0], zone[1], zone[2] - zone[0], zone[3] - zone[1])
        assert sharpest_step(plain, box) > 128, rect  # control: crisp glyphs
        assert sharpest_step(shot, box) <= 16, (rect, sharpest_step(shot, box))
    assert changed_outside(plain, shot, rects, grow=0) == []


def check_block_jpeg(plain: Image, shot: Image, rects: list[Rect]) -> None:
    for rect in rects:
        dark = [luma(shot.pixel(x, y)) for x, y in pixels(inside(rect))]
        assert max(dark) <= 24, (rect, max(dark))
    # Just past every edge the page shows, light as it was, not the box.
    for x, y in ring(rects):
        assert luma(plain.pixel(x, y)) >= 200, (x, y)  # control
        assert luma(shot.pixel(x, y)) >= 200, (x, y, shot.pixel(x, y))
    assert changed_outside(plain, shot, rects, grow=JPEG_BLOCK) == []


def check_blur_jpeg(plain: Image, shot: Image, rects: list[Rect]) -> None:
    for rect in rects:
        zone = inside(rect, shrink=2)
        box = (zone[0], zone[1], zone[2] - zone[0], zone[3] - zone[1])
        assert sharpest_step(plain, box) > 128, rect
        assert sharpest_step(shot, box) <= 16, (rect, sharpest_step(shot, box))
    for x, y in ring(rects):
        diff = abs(luma(shot.pixel(x, y)) - luma(plain.pixel(x, y)))
        assert diff <= 16, (x, y, diff)
    assert changed_outside(plain, shot, rects, grow=JPEG_BLOCK) == []


CHECKS = {
    ("png", "block"): check_block_png,
    ("png", "blur"): check_blur_png,
    ("jpeg", "block"): check_block_jpeg,
    ("jpeg", "blur"): check_blur_jpeg,
}


# --------------------------------------------------------------------------- tests


async def _live(browser_service: Service, target_site: TargetSite, fmt: str, mode: str) -> None:
    client = await new_client(browser_service)
    sid, rects = await open_table(client, target_site)
    plain = await shoot(client, sid, fmt, None)
    shot = await shoot(client, sid, fmt, mode)
    assert await measure(client, sid) == rects  # the live page is back as it was
    CHECKS[(fmt, mode)](plain, shot, rects)


async def test_block_png_boxes_are_the_cells_as_rendered(
    browser_service: Service, target_site: TargetSite
) -> None:
    await _live(browser_service, target_site, "png", "block")


async def test_blur_png_stays_inside_the_cells_as_rendered(
    browser_service: Service, target_site: TargetSite
) -> None:
    await _live(browser_service, target_site, "png", "blur")


async def test_block_jpeg_boxes_are_the_cells_as_rendered(
    browser_service: Service, target_site: TargetSite
) -> None:
    await _live(browser_service, target_site, "jpeg", "block")


async def test_blur_jpeg_stays_inside_the_cells_as_rendered(
    browser_service: Service, target_site: TargetSite
) -> None:
    await _live(browser_service, target_site, "jpeg", "blur")


async def _capture(client: Client, body: dict[str, Any]) -> bytes:
    """Run a capture through the worker and download its file."""
    http = client.service.http
    created = await http.post("/api/captures", headers=client.headers, json=body)
    assert created.status_code == 202, created.text
    url = f"{created.json()['statusUrl']}?wait={WAIT_S}"
    for _ in range(4):
        status = (await http.get(url, headers=client.headers, timeout=WAIT_S + 15)).json()
        if status["status"] in ("completed", "failed"):
            break
    assert status["status"] == "completed", status
    async with httpx.AsyncClient(timeout=30) as files:
        response = await files.get(status["result"]["url"])
    assert response.status_code == 200
    return response.content


async def test_capture_block_boxes_are_the_cells_as_rendered(
    browser_service: Service, capture_worker: ServiceProcess, target_site: TargetSite
) -> None:
    client = await new_client(browser_service)
    sid, rects = await open_table(client, target_site)
    plain = await shoot(client, sid, "png", None)
    data = await _capture(
        client,
        {
            "url": target_site.url("/redact-table"),
            "output": {"format": "png", "fullPage": True, **VIEWPORT},
            "redaction": {"selectors": [SELECTOR], "mode": "block"},
        },
    )
    check_block_png(plain, decode_png(data), rects)
