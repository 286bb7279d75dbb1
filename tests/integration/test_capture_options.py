"""The output and page options of captures (SPEC section 13), rendered for real.

Captures go through the public HTTP API of the in-process ``browser_service`` and a real
``sessionshot worker`` process, against ``/opt/...`` pages of the target site that lay out
coloured boxes at fixed CSS pixels (``tests/support/option_pages.py``): an option's effect is
read from the pixels, from ``pdfinfo`` or from the requests the site recorded.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.integration.test_capture_render import Client, client, download, fetch_file, pdf_info
from tests.support.image_facts import is_webp, png_alpha, webp_has_alpha, webp_size
from tests.support.jpeg import jpeg_size
from tests.support.option_pages import (
    BLACK,
    BLUE,
    BOX,
    GREEN,
    HIDE,
    LATE,
    LOADED,
    LOGGED_IN_SID,
    MAGENTA,
    MOTION,
    NET,
    PAGE_HEIGHT,
    PROBE,
    RED,
    WHITE,
)
from tests.support.png import Image, decode_png, png_size
from tests.support.target_site import TargetSite

__all__ = ["client"]  # the fixture, shared with test_capture_render

Box = tuple[int, int, int, int]


def layout(site: TargetSite, **query: Any) -> str:
    suffix = f"?{urlencode(query)}" if query else ""
    return site.url(f"/opt/layout{suffix}")


def colour_of(image: Image, box: Box, scale: int = 1) -> tuple[int, int, int]:
    """The colour in the middle of a CSS box (``scale`` device pixels per CSS pixel)."""
    left, top, width, height = box
    return image.pixel((left + width // 2) * scale, (top + height // 2) * scale)


def near(a: tuple[int, int, int], b: tuple[int, int, int], by: int = 8) -> bool:
    return all(abs(x - y) <= by for x, y in zip(a, b, strict=True))


async def png_of(client: Client, body: dict[str, Any]) -> tuple[dict[str, Any], Image]:
    status, data = await client.completed(body)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return status, decode_png(data)


async def failed(client: Client, body: dict[str, Any]) -> dict[str, str]:
    status = await client.finish(body)
    assert status["status"] == "failed", status
    error: dict[str, str] = status["error"]
    return error


# --------------------------------------------------------------------------- formats


async def test_webp_is_a_webp_of_the_asked_size(client: Client, target_site: TargetSite) -> None:
    output = {"format": "webp", "quality": 60, "width": 1000, "height": 700}
    status, data = await client.completed({"url": layout(target_site), "output": output})
    assert is_webp(data), data[:16]
    assert webp_size(data) == (1000, 700)
    result = status["result"]
    assert (result["format"], result["width"], result["height"]) == ("webp", 1000, 700)
    response = await fetch_file(result["url"])
    assert response.headers["content-type"].startswith("image/webp")
    assert ".webp" in response.headers["content-disposition"]


async def test_webp_quality_changes_the_file(client: Client, target_site: TargetSite) -> None:
    url = target_site.url("/article")
    _, low = await client.completed({"url": url, "output": {"format": "webp", "quality": 5}})
    _, high = await client.completed({"url": url, "output": {"format": "webp", "quality": 100}})
    assert is_webp(low) and is_webp(high)
    assert len(low) < len(high)


# --------------------------------------------------------------------------- device scale


async def test_device_scale_factor_doubles_the_pixels(
    client: Client, target_site: TargetSite
) -> None:
    output = {"width": 640, "height": 480, "deviceScaleFactor": 2}
    status, image = await png_of(client, {"url": layout(target_site, dpr=2), "output": output})
    assert (image.width, image.height) == (1280, 960)
    assert (status["result"]["width"], status["result"]["height"]) == (1280, 960)
    assert near(colour_of(image, BOX, 2), RED)
    assert near(colour_of(image, HIDE, 2), BLUE)
    assert near(colour_of(image, PROBE, 2), GREEN)  # the page loaded at devicePixelRatio 2


async def test_device_scale_factor_on_jpeg_and_full_page(
    client: Client, target_site: TargetSite
) -> None:
    output = {"format": "jpeg", "width": 640, "height": 480, "deviceScaleFactor": 1.5}
    _, data = await client.completed({"url": layout(target_site), "output": output})
    assert jpeg_size(data) == (960, 720)
    output = {"width": 1280, "height": 480, "deviceScaleFactor": 2, "fullPage": True}
    _, image = await png_of(client, {"url": layout(target_site), "output": output})
    assert (image.width, image.height) == (2560, 2 * PAGE_HEIGHT)
    assert near(image.pixel(20, 2 * PAGE_HEIGHT - 20), BLUE)  # the footer, at the very end


# --------------------------------------------------------------------------- selector, clip


async def test_selector_captures_the_element_box(client: Client, target_site: TargetSite) -> None:
    _, image = await png_of(client, {"url": layout(target_site), "output": {"selector": "#box"}})
    assert (image.width, image.height) == (BOX[2], BOX[3])
    assert all(near(p, RED) for p in image.region(0, 0, image.width, image.height))
    output = {"selector": "#footer", "deviceScaleFactor": 2}
    _, image = await png_of(client, {"url": layout(target_site), "output": output})
    assert (image.width, image.height) == (2 * 1280, 2 * 100)
    assert near(image.pixel(10, 10), BLUE)


async def test_selector_absent_fails_with_selector_timeout(
    client: Client, target_site: TargetSite
) -> None:
    body = {"url": layout(target_site), "output": {"selector": "#never-there"}}
    error = await failed(client, body)
    assert error["code"] == "SELECTOR_TIMEOUT", error
    assert "#never-there" in error["message"], error


async def test_clip_captures_that_rectangle(client: Client, target_site: TargetSite) -> None:
    clip = {"x": HIDE[0], "y": HIDE[1], "width": HIDE[2], "height": HIDE[3]}
    _, image = await png_of(client, {"url": layout(target_site), "output": {"clip": clip}})
    assert (image.width, image.height) == (100, 100)
    assert all(near(p, BLUE) for p in image.region(0, 0, 100, 100))
    # Below the viewport but inside the page: the footer.
    clip = {"x": 10, "y": PAGE_HEIGHT - 90, "width": 50, "height": 40}
    output = {"clip": clip, "deviceScaleFactor": 2}
    _, image = await png_of(client, {"url": layout(target_site), "output": output})
    assert (image.width, image.height) == (100, 80)
    assert near(image.pixel(50, 40), BLUE)


async def test_clip_outside_the_page_fails_with_render_failed(
    client: Client, target_site: TargetSite
) -> None:
    clip = {"x": 0, "y": PAGE_HEIGHT - 50, "width": 100, "height": 200}
    error = await failed(client, {"url": layout(target_site), "output": {"clip": clip}})
    assert error["code"] == "RENDER_FAILED", error
    assert "clip" in error["message"] and "outside the page" in error["message"]


# --------------------------------------------------------------------------- background


async def test_omit_background_gives_transparent_pixels(
    client: Client, target_site: TargetSite
) -> None:
    url = layout(target_site)
    _, data = await client.completed({"url": url, "output": {"omitBackground": True}})
    alpha = png_alpha(data)
    assert alpha[10][10] == 0  # the page has no background of its own
    assert alpha[BOX[1] + 10][BOX[0] + 10] == 255  # the red box is opaque
    _, data = await client.completed({"url": url})
    assert png_alpha(data)[10][10] == 255
    output = {"format": "webp", "omitBackground": True}
    _, data = await client.completed({"url": url, "output": output})
    assert is_webp(data) and webp_has_alpha(data)


# --------------------------------------------------------------------------- page emulation


async def test_color_scheme_and_reduced_motion(client: Client, target_site: TargetSite) -> None:
    url = layout(target_site)
    _, dark = await png_of(client, {"url": url, "page": {"colorScheme": "dark"}})
    _, light = await png_of(client, {"url": url, "page": {"colorScheme": "light"}})
    assert near(dark.pixel(10, 10), BLACK) and near(light.pixel(10, 10), WHITE)
    _, reduced = await png_of(client, {"url": url, "page": {"reducedMotion": True}})
    _, moving = await png_of(client, {"url": url, "page": {"reducedMotion": False}})
    assert near(colour_of(reduced, MOTION), MAGENTA)
    assert near(colour_of(moving, MOTION), GREEN)


async def test_css_and_hide_selectors_are_seen_in_pixels(
    client: Client, target_site: TargetSite
) -> None:
    page = {
        "css": "#box { background: rgb(0, 128, 0) !important; }",
        "hideSelectors": [".cookie-banner", "#not-there", "::not-a-selector"],
    }
    _, image = await png_of(client, {"url": layout(target_site), "page": page})
    assert near(colour_of(image, BOX), GREEN)
    assert near(colour_of(image, HIDE), WHITE)
    _, plain = await png_of(client, {"url": layout(target_site)})
    assert near(colour_of(plain, BOX), RED) and near(colour_of(plain, HIDE), BLUE)


async def test_css_reaches_pdf_too(client: Client, target_site: TargetSite, tmp_path: Path) -> None:
    page = {"css": "#footer { display: none; } body { height: 200px !important; }"}
    body = {"url": layout(target_site), "output": {"format": "pdf"}, "page": page}
    _, data = await client.completed(body)
    assert (await pdf_info(data, tmp_path))["Pages"] == "1"


async def test_timezone_locale_and_user_agent_reach_the_page(
    client: Client, target_site: TargetSite
) -> None:
    agent = f"SessionShotProbe/{secrets.token_hex(3)}"
    url = layout(target_site, tz="Asia/Tokyo", locale="fr-FR", ua=agent)
    since = len(target_site.requests)
    page = {"timezoneId": "Asia/Tokyo", "locale": "fr-FR", "userAgent": agent}
    _, image = await png_of(client, {"url": url, "page": page})
    assert near(colour_of(image, PROBE), GREEN)
    document = [r for r in target_site.requests[since:] if r.path == "/opt/layout"]
    assert document and document[0].headers.get("user-agent") == agent
    assert document[0].headers.get("accept-language", "").startswith("fr-FR")
    # The same page without the options sees another zone and agent.
    _, image = await png_of(client, {"url": url})
    assert near(colour_of(image, PROBE), RED)


# --------------------------------------------------------------------------- timing options


async def test_delay_ms_captures_the_later_state(client: Client, target_site: TargetSite) -> None:
    url = layout(target_site, late=1000)
    _, image = await png_of(client, {"url": url, "page": {"delayMs": 4000}})
    assert near(colour_of(image, LATE), BLUE)


async def test_wait_until_networkidle_waits_for_the_fetch_after_load(
    client: Client, target_site: TargetSite
) -> None:
    url = layout(target_site, net=1500)
    _, image = await png_of(client, {"url": url, "page": {"waitUntil": "networkidle"}})
    assert near(colour_of(image, NET), GREEN)


async def test_wait_until_domcontentloaded_does_not_wait_for_load(
    client: Client, target_site: TargetSite
) -> None:
    # The slow image holds the load event far beyond the capture's own wait for it.
    url = layout(target_site, slowimg=40_000)
    page = {"waitUntil": "domcontentloaded"}
    _, image = await png_of(client, {"url": url, "page": page})
    assert near(colour_of(image, LOADED), RED)
    assert near(colour_of(image, BOX), RED)  # the document itself was there


# --------------------------------------------------------------------------- blocked resources


def _requested(site: TargetSite, since: int, path: str, marker: str) -> bool:
    return any(r.path == path and f"m={marker}" in r.query for r in site.requests[since:])


async def test_blocked_resources_are_never_requested(
    client: Client, target_site: TargetSite
) -> None:
    marker = secrets.token_hex(5)
    url = target_site.url(f"/opt/resources?m={marker}")
    since = len(target_site.requests)
    auth = {"headers": {"X-Tenant": f"tenant-{marker}"}}
    await client.completed({"url": url, "page": {"blockResources": ["image"]}, "auth": auth})
    document = [r for r in target_site.requests[since:] if r.path == "/opt/resources"]
    assert document and document[0].headers.get("x-tenant") == f"tenant-{marker}"
    assert not _requested(target_site, since, "/pixel.png", marker)
    assert _requested(target_site, since, "/opt/style.css", marker)
    assert _requested(target_site, since, "/opt/font.woff2", marker)

    marker = secrets.token_hex(5)
    url = target_site.url(f"/opt/resources?m={marker}")
    since = len(target_site.requests)
    await client.completed({"url": url, "page": {"blockResources": ["stylesheet", "font"]}})
    assert _requested(target_site, since, "/pixel.png", marker)
    assert not _requested(target_site, since, "/opt/style.css", marker)
    assert not _requested(target_site, since, "/opt/font.woff2", marker)


# --------------------------------------------------------------------------- PDF


@pytest.mark.parametrize(
    ("pdf", "size"),
    [
        ({}, "595.28 x 841.89 pts (A4)"),
        ({"format": "A4", "landscape": True}, "841.89 x 595.28 pts (A4)"),
        ({"format": "Letter"}, "612 x 792 pts (letter)"),
        ({"format": "A5"}, "419.528 x 595.276 pts (A5)"),
        ({"format": "Legal", "printBackground": False}, "612 x 1008 pts (legal)"),
    ],
)
async def test_pdf_paper_formats(
    client: Client, target_site: TargetSite, tmp_path: Path, pdf: dict[str, Any], size: str
) -> None:
    body = {"url": layout(target_site), "output": {"format": "pdf", "pdf": pdf}}
    status, data = await client.completed(body)
    assert data[:5] == b"%PDF-"
    info = await pdf_info(data, tmp_path)
    assert _same_size(info["Page size"], size), info
    assert int(info["Pages"]) == status["result"]["pages"] >= 2


def _same_size(got: str, want: str) -> bool:
    """``pdfinfo`` sizes within 1.5 pt: Chromium rounds paper sizes to whole CSS pixels."""
    g, w = got.split(), want.split()
    return abs(float(g[0]) - float(w[0])) < 1.5 and abs(float(g[2]) - float(w[2])) < 1.5


async def test_pdf_page_ranges_scale_and_margins(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    url = layout(target_site)
    _, whole = await client.completed({"url": url, "output": {"format": "pdf", "pdf": {}}})
    pages = int((await pdf_info(whole, tmp_path))["Pages"])
    assert pages >= 3
    ranged = {"format": "pdf", "pdf": {"pageRanges": "1, 3"}}
    status, data = await client.completed({"url": url, "output": ranged})
    assert (await pdf_info(data, tmp_path))["Pages"] == "2" and status["result"]["pages"] == 2
    small = {"format": "pdf", "pdf": {"scale": 0.3}}
    _, data = await client.completed({"url": url, "output": small})
    assert int((await pdf_info(data, tmp_path))["Pages"]) < pages
    margins = {"top": "8cm", "bottom": "8cm", "left": "1in", "right": "10mm"}
    wide = {"format": "pdf", "pdf": {"margin": margins}}
    _, data = await client.completed({"url": url, "output": wide})
    assert int((await pdf_info(data, tmp_path))["Pages"]) > pages


async def test_pdf_without_options_keeps_viewport_pages(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    output = {"format": "pdf", "width": 1000, "height": 700}
    _, data = await client.completed({"url": layout(target_site), "output": output})
    info = await pdf_info(data, tmp_path)
    assert _same_size(info["Page size"], "750 x 525 pts"), info  # 1000 x 700 CSS px


async def test_pdf_page_range_beyond_the_document_fails(
    client: Client, target_site: TargetSite
) -> None:
    output = {"format": "pdf", "pdf": {"pageRanges": "900-901"}}
    error = await failed(client, {"url": layout(target_site), "output": output})
    assert error["code"] == "RENDER_FAILED", error


# --------------------------------------------------------------------------- login page


def _login_capture(site: TargetSite, sid: str) -> dict[str, Any]:
    """The documented recipe: wait for an element only a signed-in page has."""
    return {
        "url": site.url("/opt/account"),
        "auth": {"cookies": [{"name": "sid", "value": sid, "domain": "app.test"}]},
        "actions": [{"type": "waitForSelector", "selector": "#account-dashboard", "timeout": 3000}],
    }


async def test_an_expired_session_cookie_fails_instead_of_capturing_the_login_page(
    client: Client, target_site: TargetSite
) -> None:
    error = await failed(client, _login_capture(target_site, "expired-session"))
    assert error["code"] == "SELECTOR_TIMEOUT", error
    assert "expired" not in error["message"], error  # cookie values never show
    status, data = await client.completed(_login_capture(target_site, LOGGED_IN_SID))
    assert png_size(data) == (1280, 800) and status["result"]["format"] == "png"


async def test_result_file_matches_listing_format(client: Client, target_site: TargetSite) -> None:
    status, _ = await client.completed({"url": layout(target_site), "output": {"format": "webp"}})
    response = await client.service.http.get(
        "/api/captures?limit=5", headers=client.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    listed = {c["id"]: c for c in response.json()["captures"]}
    assert listed[status["id"]]["result"]["format"] == "webp"
    assert await download(status["result"]["url"])
