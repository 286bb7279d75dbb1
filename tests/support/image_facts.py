"""Facts of rendered images read independently of the product's own readers: the alpha
channel of a PNG, and the size and alpha flag of a WebP (RIFF container, VP8/VP8L/VP8X)."""

from __future__ import annotations

import struct
import zlib

from tests.support.png import _CHANNELS, SIGNATURE, PngError, _chunks, _unfilter


def png_alpha(data: bytes) -> list[bytes]:
    """The alpha value of every pixel, row by row (255 everywhere without an alpha channel)."""
    if data[:8] != SIGNATURE:
        raise PngError("not a PNG")
    chunks = _chunks(data)
    width, height, depth, colour, _comp, _filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour not in _CHANNELS or interlace != 0:
        raise PngError(f"unsupported PNG: depth={depth} colour={colour} interlace={interlace}")
    channels = _CHANNELS[colour]
    if colour not in (4, 6):
        return [bytes([255]) * width for _ in range(height)]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, prior, channels)
        prior = bytes(line)
        rows.append(prior[channels - 1 :: channels])
    return rows


def is_webp(data: bytes) -> bool:
    """``RIFF<size>WEBP`` with the RIFF size matching the data."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    return int.from_bytes(data[4:8], "little") + 8 == len(data)


def webp_size(data: bytes) -> tuple[int, int]:
    """Canvas width and height of a WebP."""
    kind = data[12:16]
    if kind == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if kind == b"VP8L":
        if data[20] != 0x2F:
            raise ValueError("bad VP8L signature")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise ValueError("bad VP8 start code")
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise ValueError(f"unknown WebP chunk {kind!r}")


def webp_has_alpha(data: bytes) -> bool:
    """Whether the WebP says it carries alpha (VP8X flag, or an ALPH chunk)."""
    if data[12:16] == b"VP8X" and data[20] & 0x10:
        return True
    return b"ALPH" in data[12:]
