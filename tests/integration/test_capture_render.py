"""Captures rendered for real (SPEC section 3): auth state, result fields, actions, redaction.

Everything goes through the public HTTP API of the in-process ``browser_service`` and a real
``sessionshot worker`` process; files are downloaded through their signed links and checked
with independent tools: ``pdftotext``/``pdfinfo`` for PDFs, the stdlib PNG decoder of
``tests.support.png`` and the small baseline JPEG decoder below for pixels.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.support.png import Image, decode_png, png_size
from tests.support.procs import ServiceProcess
from tests.support.redaction_pages import REDACT_TRICKY_SECRETS
from tests.support.service import Service
from tests.support.target_site import TargetSite

FINAL = ("completed", "failed")
WAIT_S = 25
SECRET_A = "CARD 4242 4242 4242 4242"
SECRET_B = "CARD 9999 1111 2222 3333"
# /redact-fixed lays its private slots out at fixed CSS pixels (device scale factor 1).
CARD_BOX = (96, 192, 416, 64)  # left, top, width, height
LATE_BOX = (96, 320, 416, 64)
SMALL_VIEWPORT = {"width": 640, "height": 480}


# --------------------------------------------------------------------------- API client


@dataclass
class Client:
    """One API key of its own, talking to the service over HTTP."""

    service: Service
    worker: ServiceProcess
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.service.http.post("/api/captures", headers=self.headers, json=body)
        assert response.status_code == 202, response.text
        created: dict[str, Any] = response.json()
        return created

    async def get(self, status_url: str, wait: int = 0) -> dict[str, Any]:
        response = await self.service.http.get(
            f"{status_url}?wait={wait}", headers=self.headers, timeout=WAIT_S + 15
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def finish(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a capture and long-poll until it is final."""
        created = await self.create(body)
        for _ in range(4):
            status = await self.get(created["statusUrl"], wait=WAIT_S)
            if status["status"] in FINAL:
                return status
        raise AssertionError(f"capture never finished: {status}; {self.diagnostics()}")

    async def completed(self, body: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """A completed capture and its downloaded file."""
        status = await self.finish(body)
        assert status["status"] == "completed", (status, self.diagnostics())
        data = await download(status["result"]["url"])
        return status, data

    def diagnostics(self) -> str:
        return self.worker.stderr[-3000:]


async def fetch_file(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    return response


async def download(url: str) -> bytes:
    return (await fetch_file(url)).content


@pytest.fixture
async def client(browser_service: Service, capture_worker: ServiceProcess) -> Client:
    _, key = await browser_service.new_key(("app.test",))
    return Client(browser_service, capture_worker, key)


# --------------------------------------------------------------------------- PDF tools


async def _run(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, (argv, err.decode(errors="replace"))
    return out.decode("utf-8", errors="replace")


async def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text layer, as ``pdftotext`` extracts it."""
    path = tmp_path / f"{secrets.token_hex(4)}.pdf"
    path.write_bytes(data)
    return await _run("pdftotext", "-enc", "UTF-8", str(path), "-")


async def pdf_info(data: bytes, tmp_path: Path) -> dict[str, str]:
    """``pdfinfo``'s fields (``Pages``, ``Page size``...)."""
    path = tmp_path / f"{secrets.token_hex(4)}.pdf"
    path.write_bytes(data)
    out = await _run("pdfinfo", str(path))
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def squash(text: str) -> str:
    """Text without any whitespace (``pdftotext`` may break lines anywhere)."""
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------- JPEG decoding

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
            value = sum(cy[v] * rows[v][x] for v in range(8)) + 128
            plane[base + x] = min(255, max(0, round(value)))


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


# --------------------------------------------------------------------------- pixel maths


def luma(pixel: tuple[int, int, int]) -> float:
    r, g, b = pixel
    return 0.299 * r + 0.587 * g + 0.114 * b


def variance(image: Image, box: tuple[int, int, int, int]) -> float:
    values = [luma(p) for p in image.region(*box)]
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def sharpest_step(image: Image, box: tuple[int, int, int, int]) -> float:
    """Largest luma step between neighbouring pixels: text strokes have hard edges."""
    left, top, width, height = box
    lumas = [
        [luma(image.pixel(x, y)) for x in range(left, left + width)]
        for y in range(top, top + height)
    ]
    steps = [abs(row[i] - row[i + 1]) for row in lumas for i in range(width - 1)]
    steps += [
        abs(a - b)
        for upper, lower in itertools.pairwise(lumas)
        for a, b in zip(upper, lower, strict=True)
    ]
    return max(steps)


def spread(image: Image, box: tuple[int, int, int, int]) -> int:
    """Largest difference of any channel between any two pixels of the box."""
    pixels = image.region(*box)
    return max(max(p[c] for p in pixels) - min(p[c] for p in pixels) for c in range(3))


def max_difference(a: Image, b: Image, box: tuple[int, int, int, int]) -> int:
    return max(
        abs(pa[c] - pb[c])
        for pa, pb in zip(a.region(*box), b.region(*box), strict=True)
        for c in range(3)
    )


def inset(box: tuple[int, int, int, int], by: int) -> tuple[int, int, int, int]:
    left, top, width, height = box
    return left + by, top + by, width - 2 * by, height - 2 * by


# --------------------------------------------------------------------------- request bodies


def auth_state(marker: str) -> dict[str, Any]:
    return {
        "cookies": [{"name": "sid", "value": f"cookie-{marker}", "domain": "app.test"}],
        "localStorage": [{"key": "lsToken", "value": f"ls-{marker}"}],
        "headers": {"X-Tenant": f"tenant-{marker}"},
    }


def fixed_page(target_site: TargetSite, secret: str = SECRET_A) -> str:
    return target_site.url(f"/redact-fixed?secret={quote(secret)}")


REVEAL = [{"type": "click", "selector": "#reveal"}]


# --------------------------------------------------------------------------- 1. auth + fields


def _document_request(target_site: TargetSite, since: int, path: str, marker: str) -> Any:
    matching = [
        r
        for r in target_site.requests[since:]
        if r.path == path
        and r.hostname == "app.test"
        and r.cookies.get("sid") == f"cookie-{marker}"
    ]
    assert matching, [(r.hostname, r.path, r.cookies) for r in target_site.requests[since:]]
    return matching[0]


def _check_link(result: dict[str, Any]) -> None:
    parts = urlsplit(result["url"])
    assert parts.scheme in ("http", "https") and parts.netloc, result["url"]
    expires = datetime.fromisoformat(result["expiresAt"].replace("Z", "+00:00"))
    assert expires > datetime.now(UTC), result["expiresAt"]


@pytest.mark.parametrize("fmt", ["png", "jpeg", "pdf"])
async def test_auth_state_reaches_the_page_and_result_fields_are_true(
    client: Client, target_site: TargetSite, tmp_path: Path, fmt: str
) -> None:
    marker = secrets.token_hex(6)
    output: dict[str, Any] = {"format": fmt, "width": 1000, "height": 700}
    if fmt == "jpeg":
        output["quality"] = 70
    since = len(target_site.requests)
    status, data = await client.completed(
        {"url": target_site.url("/echo"), "output": output, "auth": auth_state(marker)}
    )

    document = _document_request(target_site, since, "/echo", marker)
    assert document.headers.get("x-tenant") == f"tenant-{marker}", document.headers

    result = status["result"]
    _check_link(result)
    assert result["format"] == fmt
    assert result["bytes"] == len(data)
    mime = {"png": "image/png", "jpeg": "image/jpeg", "pdf": "application/pdf"}[fmt]
    assert (await fetch_file(result["url"])).headers["content-type"].startswith(mime)
    assert (result["width"], result["height"]) == (1000, 700)
    if fmt == "png":
        assert png_size(data) == (1000, 700)
        assert decode_png(data).height == 700  # a complete, valid PNG
        assert "pages" not in result
    elif fmt == "jpeg":
        assert data[:2] == b"\xff\xd8"
        assert jpeg_size(data) == (1000, 700)
        assert "pages" not in result
    else:
        assert data.startswith(b"%PDF-")
        info = await pdf_info(data, tmp_path)
        assert result["pages"] >= 1
        assert result["pages"] == int(info["Pages"]), info
        # 1000 x 700 CSS px printed at 96 dpi is 750 x 525 pt (Chromium rounds a little).
        size = re.fullmatch(r"([\d.]+) x ([\d.]+) pts.*", info["Page size"])
        assert size, info
        assert abs(float(size[1]) - 750) < 1 and abs(float(size[2]) - 525) < 1, info
        text = squash(await pdf_text(data, tmp_path))
        # /echo shows what the server saw (the cookie; its one-line header dump runs off the
        # page) and localStorage twice: as the first script saw it (#ls-at-start) and at the end.
        assert f"cookie-{marker}" in text
        assert text.count(f'"lsToken":"ls-{marker}"') == 2, text


async def test_local_storage_is_in_place_before_the_first_script(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    marker = secrets.token_hex(6)
    _, data = await client.completed(
        {
            "url": target_site.url("/ls-first"),
            "output": {"format": "pdf"},
            "auth": {"localStorage": [{"key": "lsToken", "value": f"ls-{marker}"}]},
        }
    )
    text = squash(await pdf_text(data, tmp_path))
    assert f'FIRSTSCRIPT{{"lsToken":"ls-{marker}"}}' in text, text


async def test_lower_jpeg_quality_gives_fewer_bytes(
    client: Client, target_site: TargetSite
) -> None:
    sizes = {}
    for quality in (95, 20):
        status, data = await client.completed(
            {
                "url": target_site.url("/redact-fixed"),
                "output": {"format": "jpeg", "quality": quality, **SMALL_VIEWPORT},
            }
        )
        assert status["result"]["bytes"] == len(data)
        assert jpeg_size(data) == (640, 480)
        sizes[quality] = len(data)
    assert sizes[20] < sizes[95], sizes


async def test_result_url_is_absolute_and_minted_afresh_on_each_get(
    client: Client, target_site: TargetSite
) -> None:
    status, data = await client.completed({"url": target_site.url("/form")})
    first = status["result"]
    await asyncio.sleep(1.1)  # expiries have whole-second resolution
    second = (await client.get(f"/api/captures/{status['id']}"))["result"]
    for result in (first, second):
        _check_link(result)
    assert first["url"] != second["url"]
    assert await download(second["url"]) == data
    assert {k: v for k, v in first.items() if k not in ("url", "expiresAt")} == {
        k: v for k, v in second.items() if k not in ("url", "expiresAt")
    }


# --------------------------------------------------------------------------- 2. header scoping


async def test_custom_headers_reach_only_the_target_host(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    marker = secrets.token_hex(6)
    since = len(target_site.requests)
    _, data = await client.completed(
        {
            "url": target_site.url("/third-party"),
            "output": {"format": "pdf"},
            "auth": {"headers": {"X-Tenant": f"tenant-{marker}"}},
            "actions": [{"type": "waitForSelector", "selector": "#status:has-text('done')"}],
        }
    )
    seen = target_site.requests[since:]
    first_party = [r for r in seen if r.hostname == "app.test"]
    third_party = [r for r in seen if r.hostname == "thirdparty.test"]
    assert first_party and all(
        r.headers.get("x-tenant") == f"tenant-{marker}" for r in first_party
    ), [(r.path, r.headers) for r in first_party]
    assert {r.path for r in third_party} >= {"/pixel.png", "/api"}, [
        (r.method, r.path) for r in third_party
    ]
    leaked = [(r.method, r.path) for r in third_party if "x-tenant" in r.headers]
    assert not leaked, leaked
    # The page's own view agrees: /api on the third party echoes no X-Tenant.
    assert f"tenant-{marker}" not in await pdf_text(data, tmp_path)


async def test_custom_headers_do_not_follow_redirects_to_third_parties(
    client: Client, target_site: TargetSite
) -> None:
    """First-party URLs that redirect to a third party (a CDN, a tracker) are common."""
    marker = secrets.token_hex(6)
    since = len(target_site.requests)
    await client.completed(
        {
            "url": target_site.url("/third-party-redirect"),
            "auth": {"headers": {"X-Tenant": f"tenant-{marker}"}},
            "actions": [{"type": "waitForSelector", "selector": "#status:has-text('done')"}],
        }
    )
    seen = target_site.requests[since:]
    hops = [r for r in seen if r.hostname == "app.test" and r.path == "/redirect"]
    assert len(hops) == 2 and all(r.headers.get("x-tenant") for r in hops), hops
    third_party = [r for r in seen if r.hostname == "thirdparty.test"]
    assert {r.path for r in third_party} >= {"/pixel.png", "/api"}, third_party
    leaked = [(r.path, r.headers["x-tenant"]) for r in third_party if "x-tenant" in r.headers]
    assert not leaked, f"X-Tenant sent to thirdparty.test: {leaked}"


async def test_custom_headers_do_not_follow_the_document_to_another_host(
    browser_service: Service, capture_worker: ServiceProcess, target_site: TargetSite
) -> None:
    """The target redirects to another (allowed) host: that host is not the target's own."""
    _, key = await browser_service.new_key(("app.test", "other.test"))
    client = Client(browser_service, capture_worker, key)
    marker = secrets.token_hex(6)
    since = len(target_site.requests)
    to = quote(target_site.url("/echo", host="other.test"), safe="")
    await client.completed(
        {
            "url": target_site.url(f"/redirect?to={to}"),
            "auth": {"headers": {"X-Tenant": f"tenant-{marker}"}},
        }
    )
    seen = target_site.requests[since:]
    first = [r for r in seen if r.hostname == "app.test" and r.path == "/redirect"]
    assert first and first[0].headers.get("x-tenant") == f"tenant-{marker}", first
    landed = [r for r in seen if r.hostname == "other.test" and r.path == "/echo"]
    assert landed, [(r.hostname, r.path) for r in seen]
    assert "x-tenant" not in landed[0].headers, landed[0].headers


# --------------------------------------------------------------------------- 3. actions


async def test_actions_run_in_order_before_the_render(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    _, data = await client.completed(
        {
            "url": target_site.url("/form"),
            "output": {"format": "pdf"},
            "actions": [
                {"type": "click", "selector": "#btn"},
                {"type": "click", "selector": "#btn"},
                {"type": "type", "selector": "#name", "text": "abc"},
                {"type": "waitForSelector", "selector": "#delayed"},
            ],
        }
    )
    text = await pdf_text(data, tmp_path)
    assert "clicked 2" in text, text
    assert "Delayed content" in text, text


async def test_failing_action_fails_the_capture_with_a_safe_error(
    client: Client, target_site: TargetSite
) -> None:
    status = await client.finish(
        {
            "url": target_site.url("/form"),
            "actions": [
                {"type": "click", "selector": "#btn"},
                {"type": "waitForSelector", "selector": "#missing", "timeout": 500},
            ],
        }
    )
    assert status["status"] == "failed", status
    assert "result" not in status
    error = status["error"]
    assert error["code"] == "SELECTOR_TIMEOUT", error
    message = error["message"]
    assert isinstance(message, str) and message
    for internal in ("Traceback", 'File "', ".py", "playwright", "Call log", "\n    at "):
        assert internal.lower() not in message.lower(), message


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
async def test_full_page_renders_the_whole_scroll_height(
    client: Client, target_site: TargetSite, fmt: str
) -> None:
    status, data = await client.completed(
        {"url": target_site.url("/form"), "output": {"format": fmt, "fullPage": True}}
    )
    width, height = png_size(data) if fmt == "png" else jpeg_size(data)
    assert width == 1280
    assert height > 5000  # the page has a 5000 px tall block, far beyond the 800 px viewport
    assert (status["result"]["width"], status["result"]["height"]) == (width, height)


# --------------------------------------------------------------------------- 4. redaction: PDF


async def test_secret_page_unredacted_shows_every_secret(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    """Control for the PDF redaction tests: without redaction both secrets are in the text."""
    _, data = await client.completed(
        {"url": target_site.url("/secret"), "output": {"format": "pdf"}, "actions": REVEAL}
    )
    text = await pdf_text(data, tmp_path)
    assert "4242" in text and "LATE SECRET 9999" in text and "Public text 12345" in text, text


@pytest.mark.parametrize("mode", ["block", "blur"])
async def test_pdf_redaction_leaves_no_text_including_elements_added_by_actions(
    client: Client, target_site: TargetSite, tmp_path: Path, mode: str
) -> None:
    _, data = await client.completed(
        {
            "url": target_site.url("/secret"),
            "output": {"format": "pdf"},
            "actions": REVEAL,
            "redaction": {"selectors": [".private"], "mode": mode},
        }
    )
    text = await pdf_text(data, tmp_path)
    assert "Public text 12345" in text, text
    assert "4242" not in text, text
    assert "LATE SECRET" not in text and "9999" not in text, text  # matched only after the click


async def test_tricky_page_unredacted_shows_every_secret(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    """Control: each secret of /redact-tricky is in the PDF text layer when not redacted."""
    _, data = await client.completed(
        {"url": target_site.url("/redact-tricky"), "output": {"format": "pdf"}}
    )
    text = await pdf_text(data, tmp_path)
    missing = [s for s in REDACT_TRICKY_SECRETS if s not in text]
    assert not missing, (missing, text)


@pytest.mark.parametrize("mode", ["block", "blur"])
async def test_pdf_redaction_covers_text_that_is_not_a_plain_text_node(
    client: Client, target_site: TargetSite, tmp_path: Path, mode: str
) -> None:
    _, data = await client.completed(
        {
            "url": target_site.url("/redact-tricky"),
            "output": {"format": "pdf"},
            "redaction": {"selectors": [".private"], "mode": mode},
        }
    )
    text = await pdf_text(data, tmp_path)
    assert "Public text 12345" in text, text
    # Any fragment counts: each secret has a unique number, and they all say SECRET.
    leaked = [s for s in REDACT_TRICKY_SECRETS if s.rsplit("-", 1)[1] in text]
    assert not leaked and "SECRET" not in text, (leaked, text)


async def test_pdf_of_a_tall_page_has_every_page_and_redacts_below_the_fold(
    client: Client, target_site: TargetSite, tmp_path: Path
) -> None:
    status, data = await client.completed(
        {
            "url": target_site.url("/form"),
            "output": {"format": "pdf"},
            "redaction": {"selectors": ["#bottom"]},
        }
    )
    info = await pdf_info(data, tmp_path)
    # /form is over 5000 px tall; pages are 800 px: at least 7 of them.
    assert status["result"]["pages"] == int(info["Pages"]) >= 7, (status["result"], info)
    text = await pdf_text(data, tmp_path)
    assert "Tall content" in text and "Form page" in text, text
    assert "Bottom of the page" not in text, text


async def test_invalid_redaction_selector_never_yields_an_unredacted_file(
    client: Client, target_site: TargetSite
) -> None:
    body = {
        "url": target_site.url("/secret"),
        "output": {"format": "pdf"},
        "redaction": {"selectors": [".private", "div[["]},
    }
    response = await client.service.http.post("/api/captures", headers=client.headers, json=body)
    if response.status_code == 400:  # refusing it up front is fine too
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        return
    assert response.status_code == 202, response.text
    status = await client.get(response.json()["statusUrl"], wait=WAIT_S)
    assert status["status"] == "failed", status
    assert "result" not in status
    assert status["error"]["code"] == "RENDER_FAILED", status["error"]
    assert "div[[" not in status["error"]["message"]  # no browser exception text echoed


# --------------------------------------------------------------------------- 4. redaction: PNG


async def _png(client: Client, url: str, redaction: dict[str, Any] | None) -> Image:
    body: dict[str, Any] = {
        "url": url,
        "output": {"format": "png", **SMALL_VIEWPORT},
        "actions": REVEAL,
    }
    if redaction is not None:
        body["redaction"] = redaction
    status, data = await client.completed(body)
    image = decode_png(data)
    assert (image.width, image.height) == (640, 480)
    assert (status["result"]["width"], status["result"]["height"]) == (640, 480)
    return image


async def test_png_block_redaction_is_one_opaque_colour_over_each_element(
    client: Client, target_site: TargetSite
) -> None:
    plain = await _png(client, fixed_page(target_site), None)
    redacted = await _png(
        client, fixed_page(target_site), {"selectors": [".private"], "mode": "block"}
    )
    for box in (CARD_BOX, LATE_BOX):  # LATE_BOX: an element that exists only after the click
        assert spread(plain, box) > 100, box  # text: dark strokes on white
        assert spread(redacted, box) == 0, (box, set(redacted.region(*box)))
        assert redacted.pixel(box[0], box[1]) != (255, 255, 255)  # not just blanked out


async def test_png_blur_redaction_carries_no_information_about_the_text(
    client: Client, target_site: TargetSite
) -> None:
    blur = {"selectors": [".private"], "mode": "blur"}
    plain_a = await _png(client, fixed_page(target_site, SECRET_A), None)
    plain_b = await _png(client, fixed_page(target_site, SECRET_B), None)
    blurred_a = await _png(client, fixed_page(target_site, SECRET_A), blur)
    blurred_b = await _png(client, fixed_page(target_site, SECRET_B), blur)

    # Control: the two pages really differ where the secret is.
    assert max_difference(plain_a, plain_b, CARD_BOX) > 100
    assert variance(blurred_a, CARD_BOX) < 0.2 * variance(plain_a, CARD_BOX)
    for box in (CARD_BOX, LATE_BOX):  # LATE_BOX: an element that exists only after the click
        assert sharpest_step(plain_a, box) > 128, box  # crisp glyph edges
        assert sharpest_step(blurred_a, box) <= 16, (box, sharpest_step(blurred_a, box))
    # Strong check: the blurred output is the same whatever the secret says.
    assert max_difference(blurred_a, blurred_b, CARD_BOX) <= 8


# --------------------------------------------------------------------------- 4. redaction: JPEG


async def _jpeg(client: Client, url: str, redaction: dict[str, Any] | None) -> Image:
    body: dict[str, Any] = {
        "url": url,
        "output": {"format": "jpeg", "quality": 90, **SMALL_VIEWPORT},
        "actions": REVEAL,
    }
    if redaction is not None:
        body["redaction"] = redaction
    _, data = await client.completed(body)
    image = decode_jpeg(data)
    assert (image.width, image.height) == (640, 480)
    return image


async def test_jpeg_decoder_agrees_with_png(client: Client, target_site: TargetSite) -> None:
    """Sanity of the test's own JPEG decoder: the same page as PNG and JPEG q=90 match."""
    png = await _png(client, fixed_page(target_site), None)
    jpeg = await _jpeg(client, fixed_page(target_site), None)
    diffs = [
        abs(a[c] - b[c])
        for a, b in zip(png.region(0, 0, 640, 480), jpeg.region(0, 0, 640, 480), strict=True)
        for c in range(3)
    ]
    assert sum(diffs) / len(diffs) < 3, sum(diffs) / len(diffs)


async def test_jpeg_block_redaction_is_uniform_within_jpeg_noise(
    client: Client, target_site: TargetSite
) -> None:
    plain = await _jpeg(client, fixed_page(target_site), None)
    redacted = await _jpeg(
        client, fixed_page(target_site), {"selectors": [".private"], "mode": "block"}
    )
    for box in (CARD_BOX, LATE_BOX):
        inner = inset(box, 4)  # JPEG rings a few pixels around a hard edge
        assert spread(plain, inner) > 100, box
        assert spread(redacted, inner) <= 4, (box, spread(redacted, inner))


async def test_jpeg_blur_redaction_carries_no_information_about_the_text(
    client: Client, target_site: TargetSite
) -> None:
    blur = {"selectors": [".private"], "mode": "blur"}
    blurred_a = await _jpeg(client, fixed_page(target_site, SECRET_A), blur)
    blurred_b = await _jpeg(client, fixed_page(target_site, SECRET_B), blur)
    assert max_difference(blurred_a, blurred_b, CARD_BOX) <= 8


# --------------------------------------------------------------------------- re-rendering pages


@pytest.mark.parametrize("mode", ["block", "blur"])
async def test_pdf_redaction_holds_while_the_page_re_renders(
    client: Client, target_site: TargetSite, tmp_path: Path, mode: str
) -> None:
    """/redact-rerender re-creates its .private element continuously, as busy apps do.

    The element that is in the DOM when the PDF is printed matches the selector, so it must
    be redacted like any other (SPEC: "Redaction leaks nothing ... in every format").
    """
    _, data = await client.completed(
        {
            "url": target_site.url("/redact-rerender"),
            "output": {"format": "pdf", **SMALL_VIEWPORT},
            "redaction": {"selectors": [".private"], "mode": mode},
        }
    )
    text = await pdf_text(data, tmp_path)
    assert "Public text 12345" in text, text
    assert "4242" not in text, text


@pytest.mark.parametrize("mode", ["block", "blur"])
async def test_png_redaction_holds_while_the_page_re_renders(
    client: Client, target_site: TargetSite, mode: str
) -> None:
    _, data = await client.completed(
        {
            "url": target_site.url("/redact-rerender"),
            "output": {"format": "png", **SMALL_VIEWPORT},
            "redaction": {"selectors": [".private"], "mode": mode},
        }
    )
    image = decode_png(data)
    if mode == "block":
        assert spread(image, CARD_BOX) == 0, set(image.region(*CARD_BOX))
    else:
        step = sharpest_step(image, CARD_BOX)
        assert step <= 16, f"sharp glyph edges (step {step}) in the blurred region"
