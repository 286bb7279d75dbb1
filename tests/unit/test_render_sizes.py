"""``image_size`` reads the pixel size of every image format a render gives, WebP's three
bitstreams included (RIFF container; VP8, VP8L and VP8X headers as RFC 9649 lays them out),
and the render options' combinations are refused by name."""

from __future__ import annotations

import struct

import pytest
from pydantic import ValidationError

from sessions.action_models import PdfPayload, ScreenshotPayload
from sessions.render import Rendered, image_size
from tests.support.image_facts import webp_size


def _riff(chunk: bytes, body: bytes) -> bytes:
    payload = b"WEBP" + chunk + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def vp8(width: int, height: int) -> bytes:
    frame_tag = b"\x10\x02\x00"  # a key frame
    return _riff(
        b"VP8 ", frame_tag + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + bytes(8)
    )


def vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return _riff(b"VP8L", b"\x2f" + struct.pack("<I", bits) + bytes(8))


def vp8x(width: int, height: int) -> bytes:
    body = (
        b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    return _riff(b"VP8X", body)


@pytest.mark.parametrize("make", [vp8, vp8l, vp8x])
@pytest.mark.parametrize("size", [(1, 1), (1280, 800), (2560, 9000), (16383, 16383)])
def test_webp_sizes(make: object, size: tuple[int, int]) -> None:
    assert callable(make)
    data = make(*size)
    assert image_size(data) == size == webp_size(data)


def test_webp_facts() -> None:
    rendered = Rendered(data=vp8(10, 20), format="webp", width=10, height=20)
    assert rendered.content_type == "image/webp" and rendered.extension == "webp"
    assert Rendered(data=b"", format="jpeg", width=1, height=1).extension == "jpg"


def test_not_an_image() -> None:
    with pytest.raises(ValueError, match="not a PNG, JPEG or WebP"):
        image_size(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(20))


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"format": "webp", "quality": 10, "omitBackground": True}, None),
        ({"format": "png", "quality": 10}, "quality"),
        ({"format": "jpeg", "omitBackground": True}, "omitBackground"),
        (
            {"selector": "#a", "clip": {"x": 0, "y": 0, "width": 1, "height": 1}},
            "selector and clip",
        ),
        ({"ref": "e2", "fullPage": True}, "selector and fullPage"),
        ({"deviceScaleFactor": 3.01}, "deviceScaleFactor"),
        ({"deviceScaleFactor": "2"}, "deviceScaleFactor"),
        ({"clip": {"x": 0, "y": 0, "width": 1, "height": 1, "scale": 2}}, "scale"),
    ],
)
def test_screenshot_payloads(payload: dict[str, object], named: str | None) -> None:
    if named is None:
        ScreenshotPayload.model_validate(payload)
        return
    with pytest.raises(ValidationError, match=named):
        ScreenshotPayload.model_validate(payload)


def test_pdf_payload_options_only_when_given() -> None:
    assert PdfPayload.model_validate({"inline": True}).options() is None
    options = PdfPayload.model_validate({"landscape": True, "inline": True}).options()
    assert options is not None and options.landscape and options.format == "A4"
    assert options.print_background is True
