"""The ``screenshot`` and ``pdf`` actions of a live session with the options of SPEC
section 13, flat in the payload; the page goes on unchanged after a scaled or transparent
shot."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.integration.sessions_helpers import Client, new_client
from tests.integration.test_capture_render import download, pdf_info
from tests.support.image_facts import is_webp, png_alpha, webp_size
from tests.support.option_pages import BLUE, BOX, HIDE, RED
from tests.support.png import decode_png, png_size
from tests.support.service import Service
from tests.support.target_site import TargetSite


@pytest.fixture
async def client(browser_service: Service) -> Client:
    return await new_client(browser_service)


async def _on_layout(client: Client, site: TargetSite) -> str:
    session = await client.create()
    await client.ok(session["id"], "goto", url=site.url("/opt/layout"))
    return str(session["id"])


async def _inline(
    client: Client, sid: str, kind: str, **payload: Any
) -> tuple[dict[str, Any], bytes]:
    body = await client.ok(sid, kind, inline=True, **payload)
    result: dict[str, Any] = body["result"]
    return result, base64.b64decode(result["data"])


async def test_screenshot_webp_scale_clip_and_transparency(
    client: Client, target_site: TargetSite
) -> None:
    sid = await _on_layout(client, target_site)
    result, data = await _inline(client, sid, "screenshot", format="webp", quality=50)
    assert is_webp(data) and webp_size(data) == (1280, 800) and result["format"] == "webp"

    result, data = await _inline(client, sid, "screenshot", deviceScaleFactor=2)
    assert png_size(data) == (2560, 1600) and (result["width"], result["height"]) == (2560, 1600)

    clip = {"x": HIDE[0], "y": HIDE[1], "width": HIDE[2], "height": HIDE[3]}
    _, data = await _inline(client, sid, "screenshot", clip=clip, deviceScaleFactor=3)
    image = decode_png(data)
    assert (image.width, image.height) == (300, 300) and image.pixel(150, 150) == BLUE

    _, data = await _inline(client, sid, "screenshot", selector="#box", deviceScaleFactor=2)
    image = decode_png(data)
    assert (image.width, image.height) == (2 * BOX[2], 2 * BOX[3])
    assert image.pixel(10, 10) == RED

    _, data = await _inline(client, sid, "screenshot", omitBackground=True)
    assert png_alpha(data)[10][10] == 0

    # The page goes on as before: viewport size, device scale, opaque background.
    _, data = await _inline(client, sid, "screenshot")
    assert png_size(data) == (1280, 800) and png_alpha(data)[10][10] == 255
    ratio = await client.ok(sid, "evaluate", expression="window.devicePixelRatio")
    assert ratio["result"] == 1


async def test_screenshot_stored_webp_link(client: Client, target_site: TargetSite) -> None:
    sid = await _on_layout(client, target_site)
    body = await client.ok(sid, "screenshot", format="webp", fullPage=True)
    data = await download(body["result"]["url"])
    assert is_webp(data) and webp_size(data)[1] == 3000


async def test_pdf_action_takes_the_paper_options(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    sid = await _on_layout(client, target_site)
    _, data = await _inline(client, sid, "pdf", format="Letter", landscape=True)
    info = await pdf_info(data, tmp_path)
    assert info["Page size"].startswith(("792", "793")) and "letter" in info["Page size"], info
    result, data = await _inline(client, sid, "pdf", format="A4", pageRanges="2")
    assert (await pdf_info(data, tmp_path))["Pages"] == "1" and result["pages"] == 1
    _, whole = await _inline(client, sid, "pdf", format="A4")
    _, rest = await _inline(client, sid, "pdf", format="A4", pageRanges="2-")
    pages = int((await pdf_info(whole, tmp_path))["Pages"])
    assert int((await pdf_info(rest, tmp_path))["Pages"]) == pages - 1
    _, data = await _inline(client, sid, "pdf")
    info = await pdf_info(data, tmp_path)
    assert info["Page size"].startswith("960 x 600"), info  # the viewport, as before


@pytest.mark.parametrize(
    ("kind", "payload", "named"),
    [
        ("screenshot", {"format": "png", "quality": 50}, "quality"),
        ("screenshot", {"format": "jpeg", "omitBackground": True}, "omitBackground"),
        ("screenshot", {"fullPage": True, "selector": "#box"}, "selector and fullPage"),
        ("screenshot", {"clip": {"x": 0, "y": 0, "width": 5, "height": 5}, "ref": "e1"}, "clip"),
        ("screenshot", {"deviceScaleFactor": 4}, "deviceScaleFactor"),
        ("screenshot", {"clip": {"x": -1, "y": 0, "width": 5, "height": 5}}, "clip"),
        ("screenshot", {"format": "gif"}, "format"),
        ("pdf", {"format": "B5"}, "format"),
        ("pdf", {"scale": 3}, "scale"),
        ("pdf", {"margin": {"top": "1 furlong"}}, "margin"),
        ("pdf", {"pageRanges": "one"}, "pageRanges"),
        ("pdf", {"landscape": "yes"}, "landscape"),
    ],
)
async def test_bad_render_options_are_400s_naming_the_field(
    client: Client, target_site: TargetSite, kind: str, payload: dict[str, Any], named: str
) -> None:
    session = await client.create()
    response = await client.act(session["id"], kind, **payload)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and named in body["error"], body
    assert (await client.get(session["id"]))["actionCount"] == 0


async def test_clip_off_the_page_is_a_render_failure(
    client: Client, target_site: TargetSite
) -> None:
    sid = await _on_layout(client, target_site)
    clip = {"x": 0, "y": 2990, "width": 10, "height": 50}
    response = await client.act(sid, "screenshot", clip=clip)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "RENDER_FAILED"
    assert "outside the page" in response.json()["error"]
