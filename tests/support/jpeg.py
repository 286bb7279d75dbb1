"""A small JPEG decoder for tests: baseline (SOF0/SOF1), Huffman-coded, one scan.

That covers what Chromium's screenshots are (libjpeg's defaults), so pixels of a JPEG render
can be checked like a PNG's (``png.py``), with no third-party imaging library: segments are
read with ``struct``, the entropy-coded data bit by bit, and each 8x8 block goes through a
plain inverse DCT before YCbCr becomes RGB.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.support.png import Image

_ZIGZAG = (
    *(0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5),
    *(12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28),
    *(35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51),
    *(58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63),
)
_COS = [
    [
        (math.sqrt(0.5) if u == 0 else 1.0) * math.cos((2 * x + 1) * u * math.pi / 16) / 2
        for u in range(8)
    ]
    for x in range(8)
]


@dataclass
class _Component:
    ident: int
    h: int
    v: int
    table: int
    dc: int = 0
    ac: int = 0
    plane: bytearray | None = None
    stride: int = 0


@dataclass
class _Jpeg:
    width: int = 0
    height: int = 0
    components: list[_Component] = field(default_factory=list)
    quant: dict[int, list[int]] = field(default_factory=dict)
    huffman: dict[tuple[int, int], dict[tuple[int, int], int]] = field(default_factory=dict)
    restart: int = 0


class _Bits:
    """MSB-first bit reader over one entropy-coded segment (stuffing already removed)."""

    def __init__(self, data: bytes) -> None:
        self.bits = "".join(format(b, "08b") for b in data)
        self.pos = 0

    def read(self, n: int) -> int:
        if n == 0:
            return 0
        chunk = self.bits[self.pos : self.pos + n]
        self.pos += n
        return int(chunk.ljust(n, "1"), 2)

    def huffman(self, table: dict[tuple[int, int], int]) -> int:
        code = 0
        for length in range(1, 17):
            code = (code << 1) | self.read(1)
            symbol = table.get((length, code))
            if symbol is not None:
                return symbol
        raise ValueError("bad Huffman code")

    def extend(self, size: int) -> int:
        value = self.read(size)
        return value - (1 << size) + 1 if size and value < (1 << (size - 1)) else value


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the JPEG's SOF segment."""
    info = _parse_jpeg_header(data)[0]
    return info.width, info.height


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """``(marker, start of payload, end of payload)`` for each segment up to and with SOS."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos = 2
    while pos < len(data):
        while data[pos] == 0xFF and data[pos + 1] == 0xFF:
            pos += 1
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        yield marker, pos + 4, pos + 2 + length
        if marker == 0xDA:
            return
        pos += 2 + length


def _read_sof(info: _Jpeg, body: bytes) -> None:
    info.height, info.width = struct.unpack(">HH", body[1:5])
    for i in range(body[5]):
        ident, hv, table = body[6 + 3 * i : 9 + 3 * i]
        info.components.append(_Component(ident, hv >> 4, hv & 15, table))


def _read_dqt(info: _Jpeg, body: bytes) -> None:
    pos = 0
    while pos < len(body):
        precision, ident = body[pos] >> 4, body[pos] & 15
        size = 128 if precision else 64
        raw = body[pos + 1 : pos + 1 + size]
        info.quant[ident] = list(struct.unpack(">64H", raw) if precision else raw)
        pos += 1 + size


def _read_dht(info: _Jpeg, body: bytes) -> None:
    pos = 0
    while pos < len(body):
        klass, ident = body[pos] >> 4, body[pos] & 15
        counts = body[pos + 1 : pos + 17]
        symbols = iter(body[pos + 17 : pos + 17 + sum(counts)])
        table: dict[tuple[int, int], int] = {}
        code = 0
        for length in range(1, 17):
            for _ in range(counts[length - 1]):
                table[(length, code)] = next(symbols)
                code += 1
            code <<= 1
        info.huffman[(klass, ident)] = table
        pos += 17 + sum(counts)


def _parse_jpeg_header(data: bytes) -> tuple[_Jpeg, list[tuple[_Component, int, int]], int]:
    info = _Jpeg()
    scan: list[tuple[_Component, int, int]] = []
    entropy_start = -1
    for marker, start, end in _segments(data):
        body = data[start:end]
        if marker in (0xC0, 0xC1):
            _read_sof(info, body)
        elif 0xC2 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            raise ValueError(f"unsupported JPEG process SOF{marker - 0xC0}")
        elif marker == 0xDB:
            _read_dqt(info, body)
        elif marker == 0xC4:
            _read_dht(info, body)
        elif marker == 0xDD:
            (info.restart,) = struct.unpack(">H", body[:2])
        elif marker == 0xDA:
            by_id = {c.ident: c for c in info.components}
            for i in range(body[0]):
                ident, tables = body[1 + 2 * i : 3 + 2 * i]
                scan.append((by_id[ident], tables >> 4, tables & 15))
            entropy_start = end
    if not info.width or entropy_start < 0:
        raise ValueError("no SOF0/SOS")
    return info, scan, entropy_start


def _entropy_segments(data: bytes, start: int) -> list[bytes]:
    """The entropy-coded data split at restart markers, byte stuffing removed."""
    segments: list[bytes] = []
    current = bytearray()
    pos = start
    while pos < len(data):
        byte = data[pos]
        if byte != 0xFF:
            current.append(byte)
            pos += 1
            continue
        follower = data[pos + 1]
        if follower == 0x00:
            current.append(0xFF)
        elif 0xD0 <= follower <= 0xD7:
            segments.append(bytes(current))
            current = bytearray()
        else:
            break
        pos += 2
    segments.append(bytes(current))
    return segments


def _idct_into(coef: list[int], plane: bytearray, stride: int, x0: int, y0: int) -> None:
    if not any(coef[1:]):
        value = min(255, max(0, round(coef[0] / 8 + 128)))
        for y in range(8):
            base = (y0 + y) * stride + x0
            plane[base : base + 8] = bytes([value]) * 8
        return
    rows = [
        [sum(_COS[x][u] * coef[v * 8 + u] for u in range(8)) for x in range(8)] for v in range(8)
    ]
    for y in range(8):
        base = (y0 + y) * stride + x0
        cy = _COS[y]
        for x in range(8):
            sample = sum(cy[v] * rows[v][x] for v in range(8)) + 128
            plane[base + x] = min(255, max(0, round(sample)))


def decode_jpeg(data: bytes) -> Image:
    """Decode a baseline (SOF0/SOF1), single-scan, Huffman JPEG, as libjpeg writes by default."""
    info, scan, start = _parse_jpeg_header(data)
    hmax = max(c.h for c in info.components)
    vmax = max(c.v for c in info.components)
    if len(scan) != len(info.components):
        raise ValueError("progressive or multi-scan JPEGs are not supported")
    if len(scan) == 1:
        hmax = vmax = scan[0][0].h = scan[0][0].v = 1
    mcux = -(-info.width // (8 * hmax))
    mcuy = -(-info.height // (8 * vmax))
    for comp, dc, ac in scan:
        comp.dc, comp.ac = dc, ac
        comp.stride = mcux * comp.h * 8
        comp.plane = bytearray(comp.stride * mcuy * comp.v * 8)
    segments = iter(_entropy_segments(data, start))
    bits = _Bits(next(segments))
    preds = {c.ident: 0 for c, _, _ in scan}
    for mcu in range(mcux * mcuy):
        if info.restart and mcu and mcu % info.restart == 0:
            bits = _Bits(next(segments))
            preds = dict.fromkeys(preds, 0)
        my, mx = divmod(mcu, mcux)
        for comp, _, _ in scan:
            q = info.quant[comp.table]
            dc_table = info.huffman[(0, comp.dc)]
            ac_table = info.huffman[(1, comp.ac)]
            for by in range(comp.v):
                for bx in range(comp.h):
                    coef = [0] * 64
                    preds[comp.ident] += bits.extend(bits.huffman(dc_table))
                    coef[0] = preds[comp.ident] * q[0]
                    k = 1
                    while k < 64:
                        rs = bits.huffman(ac_table)
                        run, size = rs >> 4, rs & 15
                        if size == 0:
                            if run != 15:
                                break
                            k += 16
                            continue
                        k += run
                        coef[_ZIGZAG[k]] = bits.extend(size) * q[k]
                        k += 1
                    assert comp.plane is not None
                    x0 = (mx * comp.h + bx) * 8
                    y0 = (my * comp.v + by) * 8
                    _idct_into(coef, comp.plane, comp.stride, x0, y0)
    return _to_rgb_image(info, hmax, vmax)


def _to_rgb_image(info: _Jpeg, hmax: int, vmax: int) -> Image:
    comps = info.components
    rows: list[bytes] = []
    for y in range(info.height):
        row = bytearray(info.width * 3)
        lines = [(c.plane, (y * c.v // vmax) * c.stride, c.h) for c in comps if c.plane is not None]
        for x in range(info.width):
            samples = [plane[base + x * h // hmax] for plane, base, h in lines]
            if len(samples) == 1:
                row[3 * x : 3 * x + 3] = bytes(samples * 3)
                continue
            luma, cb, cr = samples[0], samples[1] - 128, samples[2] - 128
            rgb = (luma + 1.402 * cr, luma - 0.344136 * cb - 0.714136 * cr, luma + 1.772 * cb)
            row[3 * x : 3 * x + 3] = bytes(min(255, max(0, round(c))) for c in rgb)
        rows.append(bytes(row))
    return Image(width=info.width, height=info.height, rows=rows)
