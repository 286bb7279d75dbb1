"""A small PNG decoder for tests: 8-bit greyscale/RGB/RGBA (+alpha), non-interlaced.

That covers what Chromium's screenshots are. No third-party imaging library is needed:
chunks are read with ``struct``, IDAT is inflated with ``zlib`` and the five scanline
filters are undone row by row.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel


class PngError(ValueError):
    """Not a PNG this decoder supports."""


@dataclass(frozen=True)
class Image:
    """Decoded pixels, always as RGB rows (alpha dropped, grey expanded)."""

    width: int
    height: int
    rows: list[bytes]  # each ``width * 3`` bytes, R G B per pixel

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The RGB value at (x, y)."""
        row = self.rows[y]
        return row[3 * x], row[3 * x + 1], row[3 * x + 2]

    def region(self, left: int, top: int, width: int, height: int) -> list[tuple[int, int, int]]:
        """Every RGB pixel of a rectangle, row by row."""
        return [
            self.pixel(x, y) for y in range(top, top + height) for x in range(left, left + width)
        ]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk."""
    if data[:8] != SIGNATURE or data[12:16] != b"IHDR":
        raise PngError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:8] != SIGNATURE:
        raise PngError("not a PNG")
    out: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise PngError(f"bad CRC in {kind!r}")
        out.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    return out


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(kind: int, line: bytearray, prior: bytes, bpp: int) -> None:
    """Undo one scanline filter in place (``prior`` is the previous reconstructed line)."""
    n = len(line)
    if kind == 0:
        return
    if kind == 1:
        for i in range(bpp, n):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        for i in range(n):
            line[i] = (line[i] + prior[i]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            left = line[i - bpp] if i >= bpp else 0
            up_left = prior[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + _paeth(left, prior[i], up_left)) & 0xFF
    else:
        raise PngError(f"unknown filter type {kind}")


def _to_rgb(line: bytes, channels: int) -> bytes:
    if channels == 3:
        return bytes(line)
    if channels == 4:
        out = bytearray(len(line) // 4 * 3)
        out[0::3], out[1::3], out[2::3] = line[0::4], line[1::4], line[2::4]
        return bytes(out)
    grey = line[0::channels]
    out = bytearray(len(grey) * 3)
    out[0::3] = out[1::3] = out[2::3] = grey
    return bytes(out)


def decode_png(data: bytes) -> Image:
    """Decode an 8-bit, non-interlaced greyscale/RGB/RGBA PNG (alpha is dropped)."""
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"IHDR":
        raise PngError("IHDR must come first")
    width, height, depth, colour, _comp, _filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour not in _CHANNELS or interlace != 0:
        raise PngError(f"unsupported PNG: depth={depth} colour={colour} interlace={interlace}")
    channels = _CHANNELS[colour]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise PngError("IDAT size does not match the header")
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, prior, channels)
        prior = bytes(line)
        rows.append(_to_rgb(prior, channels))
    return Image(width=width, height=height, rows=rows)
