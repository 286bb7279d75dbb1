"""Captures over the API against raw Playwright: latency, formats, throughput, CPU.

Usage: ``.venv/bin/python bench/captures.py [--samples 60] [--formats-samples 30]
[--captures 40] [--blocks 2] [--breakdown 20] [--json out.json]``

Everything runs on one machine and talks over 127.0.0.0/8 only: a private ``redis-server``,
the HTTPS target site (served by this process's event loop, for both sides), a real
``sessionshot serve`` and one real ``sessionshot worker`` process
(``SESSIONSHOT_WORKER_CONCURRENCY=4``), and a raw Playwright Chromium in this process,
launched with the service's own flags plus ``--host-resolver-rules`` for the test names.
The capture is a PNG of ``/form`` at 1280x800, no auth:

* **service** - ``POST /api/captures``, then ``GET statusUrl?wait=30`` until final (checks
  ``completed``, ``png``, 1280x800), over one keep-alive HTTP client;
* **raw** - ``new_context(viewport 1280x800, ignore_https_errors=True)`` + ``new_page`` +
  ``goto(url, wait_until="load")`` + ``page.screenshot(type="png")`` + the bytes written to
  a file in a temporary directory + ``context.close()``.

Phases:

1. **latency** - sequential captures, one side after the other in every order in turn
   (:func:`bench.common.interleave`), a short pause plus a frame of jitter after each;
   p50/p95 and the ratio service/raw (target: p50 <= 1.05 x raw).
2. **formats** - the same sequential, interleaved latency for other outputs of the same
   page, one format after the other (target each: p50 <= 1.05 x raw):

   * full-page PNG - service ``output.fullPage``; raw ``page.screenshot(full_page=True)``;
   * WebP - service ``output.format: "webp"``; raw, as Playwright's screenshot knows no
     WebP, a CDP session's ``Page.captureScreenshot`` with ``format: "webp"`` (no quality:
     the browser's default, as the service's without ``output.quality``);
   * PDF - service ``output.format: "pdf"``; raw ``page.pdf(width/height of the viewport,
     print_background=True)``, what the service prints without ``output.pdf``.

   Every sample's output is checked (magic bytes, pixel size, PDF pages), untimed.
3. **throughput** - per concurrency C (1 and 4): N captures with at most C in flight
   (service: C concurrent POST+wait clients; raw: C concurrent tasks on the one raw
   browser), in alternating blocks raw, service, raw, service...; the median of a side's
   blocks in captures/s (target at every C: service >= 1.0 x raw). Each block also records
   the CPU time every process group spent per capture (from ``/proc``); the CPU rows
   compare, per C, the median of the blocks' CPU milliseconds per capture (target:
   service <= raw). A side's CPU is its own processes plus the bench process, which runs
   the target site for both sides and each side's client (raw: the Playwright calls;
   service: the HTTP client): raw = its browser (driver + Chromium) + the bench process;
   service = API + worker + the worker's browser + Redis + the bench process. The
   browsers alone (raw's against the worker's) are a row without a target.
4. **breakdown** (only when a target is missed, or with ``--force-breakdown``; after the
   measured phases so it never touches their figures) - where a service capture's time
   goes: this process reads Redis ``MONITOR`` (commands with microsecond server times, the
   same clock as ``time.time()``) and places each capture's Redis steps (``XADD``, the
   worker's claim, payload read, session registered, goto and render counted, close,
   final state + ``PUBLISH``) between the client's own timestamps; the raw side times its
   steps one by one. No product code is touched.

Exit status is 0 whether or not the targets are met (the table says pass or fail).
"""

from __future__ import annotations

import sys
from pathlib import Path

# As a script, this file's folder leads sys.path, where the benches' names would shadow the
# `sessions` and `mcp` packages: the repository root takes the folder's place.
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import base64
import os
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
)
from playwright.async_api import Error as PlaywrightError

from app.factory import engine_config
from app.logs import configure_logging
from bench.common import (
    FRAME_S,
    PhaseClock,
    Row,
    Sampler,
    Stats,
    Target,
    interleave,
    layers_table,
    loadavg,
    machine_info,
    machine_lines,
    markdown_table,
    ratio_row,
    start_backing,
    start_capture_services,
    start_raw,
    timed_ms,
    write_json,
)
from sessions.egress import EgressProxy, context_proxy_settings
from sessions.render import image_size, pdf_pages
from tests.support.capture_stack import FINAL, CaptureStack
from tests.support.procs import RedisServer, ServiceProcess, descendants
from tests.support.target_site import TargetSite

WORKER_CONCURRENCY = 4
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PAGE_PATH = "/form"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WAIT_S = 30
"""``GET statusUrl?wait=30``: the long-poll's longest wait."""

LATENCY_PAUSE_MS = 100.0
"""After every latency sample, whatever its side: the contexts just closed wind down and
the worker's warm pool refill finishes before the next sample."""
BLOCK_PAUSE_MS = 1000.0
"""Between throughput blocks: what a block left behind (renderers exiting, the worker's
warm pool refilling) settles before the next one starts."""

PREMADE_REST_S = 0.1
"""Breakdown: a pre-made context rests this long before it is used (a warm one waits)."""

LATENCY_TARGET = Target("p50 <= 1.05 x raw", 1.05)
FORMAT_TARGET = Target("p50 <= 1.05 x raw", 1.05)
THROUGHPUT_FACTOR = 1.0
CPU_TARGET = Target("service <= raw", 1.0)

FULL_PAGE_MIN_HEIGHT = 5000
"""``/form`` holds a 5000 px tall block: a full-page shot is at least that tall."""
PDF_MIN_PAGES = 2
"""``/form`` printed on pages of the viewport's size takes several pages."""


@dataclass(frozen=True)
class Format:
    """One output of the formats phase."""

    label: str
    output: dict[str, Any]
    """The service's ``output`` besides the viewport's width and height."""
    extension: str


FORMATS: dict[str, Format] = {
    "png-full": Format("full-page PNG", {"format": "png", "fullPage": True}, "png"),
    "webp": Format("WebP", {"format": "webp"}, "webp"),
    "pdf": Format("PDF", {"format": "pdf"}, "pdf"),
}


@dataclass(frozen=True)
class Config:
    """How much to measure."""

    samples: int
    warmup: int
    formats: tuple[str, ...]
    formats_samples: int
    formats_warmup: int
    pause_s: float
    jitter_s: float
    captures: int
    blocks: int
    concurrencies: tuple[int, ...]
    block_pause_s: float
    breakdown: int
    force_breakdown: bool


# --------------------------------------------------------------------------- environment


@dataclass
class CaptureEnv:
    """Everything the bench talks to; built by :func:`capture_env`."""

    workdir: Path
    services: CaptureStack
    worker: ServiceProcess
    redis_port: int
    site: TargetSite
    playwright: Playwright
    raw: Browser
    api_key: str
    raw_dir: Path

    @property
    def url(self) -> str:
        """The captured page."""
        return self.site.url(PAGE_PATH)


@asynccontextmanager
async def capture_env(concurrency: int) -> AsyncIterator[CaptureEnv]:
    """Redis, the sites, ``sessionshot serve`` + one worker, a raw Chromium; all closed on exit."""
    configure_logging("WARNING")
    async with AsyncExitStack() as stack:
        backing = await start_backing(stack, prefix="ssbench-cap-")
        workdir, redis, site, canary = backing.workdir, backing.redis, backing.site, backing.canary
        assert isinstance(redis, RedisServer)  # the default: one redis-server, on a port
        services, worker, api_key = await start_capture_services(
            stack, backing, "bcap", concurrency
        )
        playwright, raw = await start_raw(stack, services.settings.chromium_path, site, canary)
        raw_dir = workdir / "raw"
        raw_dir.mkdir()
        yield CaptureEnv(
            workdir, services, worker, redis.port, site, playwright, raw, api_key, raw_dir
        )


# --------------------------------------------------------------------------- the two sides


class RawSide:
    """The capture in process, on the shared raw browser."""

    def __init__(self, env: CaptureEnv, proxy: EgressProxy | None = None) -> None:
        self._browser = env.raw
        self._url = env.url
        self._dir = env.raw_dir
        self._proxy = proxy

    async def capture(self) -> bytes:
        """Context, page, goto (load), PNG screenshot, file written, context closed."""
        context = await self._browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)
        try:
            page = await context.new_page()
            await page.goto(self._url, wait_until="load")
            data = await page.screenshot(type="png")
            (self._dir / f"{uuid.uuid4().hex}.png").write_bytes(data)
        finally:
            await context.close()
        return data

    async def capture_as(self, fmt: str) -> bytes:
        """Context, page, goto (load), the format's render, file written, context closed."""
        context = await self._browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)
        try:
            page = await context.new_page()
            await page.goto(self._url, wait_until="load")
            data = await RAW_RENDERS[fmt](page)
            (self._dir / f"{uuid.uuid4().hex}.{FORMATS[fmt].extension}").write_bytes(data)
        finally:
            await context.close()
        return data

    async def _new_page(self, **options: Any) -> tuple[BrowserContext, Page]:
        context = await self._browser.new_context(
            viewport=VIEWPORT, ignore_https_errors=True, **options
        )
        return context, await context.new_page()

    async def capture_steps(
        self, premade: bool = False, refill: bool = False, proxied: bool = False
    ) -> dict[str, float]:
        """The same capture, every step timed (ms); for the breakdown.

        ``premade``: the context and its blank page are made (untimed) beforehand, as the
        service's warm pool does. ``refill``: a new context + page is made alongside the
        capture, as the warm pool refills itself right after a context is taken.
        ``proxied`` (with ``premade``): the context has the service's options and goes
        through an egress proxy endpoint (the service's own class, run in this process).
        """
        steps: dict[str, float] = {}
        made = None
        tag = f"bench-{uuid.uuid4().hex}"
        if premade:
            options: dict[str, Any] = {}
            if proxied and self._proxy is not None:
                endpoint = await self._proxy.open_endpoint(tag)
                options = {
                    "proxy": context_proxy_settings(endpoint),
                    "service_workers": "block",
                    "accept_downloads": False,
                }
            made = await self._new_page(**options)
            await asyncio.sleep(PREMADE_REST_S)
        clock = time.perf_counter
        began = last = clock()

        def lap(name: str) -> None:
            nonlocal last
            now = clock()
            steps[name] = (now - last) * 1000
            last = now

        refilling = asyncio.ensure_future(self._new_page()) if refill else None
        if made is None:
            context = await self._browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)
            lap("new_context")
            try:
                page = await context.new_page()
            except BaseException:
                await context.close()
                raise
            lap("new_page")
        else:
            context, page = made
        try:
            await page.goto(self._url, wait_until="load")
            lap("goto (load)")
            data = await page.screenshot(type="png")
            lap("screenshot")
            (self._dir / f"{uuid.uuid4().hex}.png").write_bytes(data)
            lap("write file")
        finally:
            await context.close()
            if self._proxy is not None:
                await self._proxy.close_endpoint(tag)
            lap("context.close")
            steps["total"] = (clock() - began) * 1000
            if refilling is not None:
                await (await refilling)[0].close()
        check_png(data)
        return steps


async def _raw_png_full(page: Page) -> bytes:
    return await page.screenshot(type="png", full_page=True)


async def _raw_webp(page: Page) -> bytes:
    cdp = await page.context.new_cdp_session(page)
    try:
        try:
            shot = await cdp.send("Page.captureScreenshot", {"format": "webp"})
        except PlaywrightError as err:
            # Now and then right after a navigation (no frame to copy yet): once more after
            # the next frame, as the service does.
            if "Unable to capture screenshot" not in err.message:
                raise
            await page.evaluate("() => new Promise((done) => requestAnimationFrame(done))")
            shot = await cdp.send("Page.captureScreenshot", {"format": "webp"})
    finally:
        await cdp.detach()
    return base64.b64decode(shot["data"])


async def _raw_pdf(page: Page) -> bytes:
    return await page.pdf(
        width=f"{VIEWPORT['width']}px", height=f"{VIEWPORT['height']}px", print_background=True
    )


RAW_RENDERS: dict[str, Callable[[Page], Awaitable[bytes]]] = {
    "png-full": _raw_png_full,
    "webp": _raw_webp,
    "pdf": _raw_pdf,
}
"""The raw side's render per format, as a hand-written Playwright user would write it."""


class ServiceSide:
    """The capture over the API: POST, then long-poll the status URL until final."""

    def __init__(self, env: CaptureEnv, output: dict[str, Any] | None = None) -> None:
        self._http: httpx.AsyncClient = env.services.http
        self._headers = {"Authorization": f"Bearer {env.api_key}"}
        self._body: dict[str, Any] = {
            "url": env.url,
            "output": {
                "width": VIEWPORT["width"],
                "height": VIEWPORT["height"],
                **(output or {"format": "png"}),
            },
        }

    async def create(self) -> dict[str, Any]:
        """``POST /api/captures``; the 202 body."""
        response = await self._http.post("/api/captures", headers=self._headers, json=self._body)
        if response.status_code != 202:
            raise RuntimeError(f"POST answered {response.status_code}: {response.text}")
        body: dict[str, Any] = response.json()
        return body

    async def final(self, status_url: str) -> dict[str, Any]:
        """``GET status_url?wait=30`` until the capture is final; the last body."""
        while True:
            response = await self._http.get(
                status_url, headers=self._headers, params={"wait": str(WAIT_S)}
            )
            if response.status_code != 200:
                raise RuntimeError(f"GET answered {response.status_code}: {response.text}")
            body: dict[str, Any] = response.json()
            if body["status"] in FINAL:
                return body

    async def get(self, status_url: str) -> dict[str, Any]:
        """``GET status_url`` without waiting (the HTTP floor of a status read)."""
        response = await self._http.get(status_url, headers=self._headers)
        body: dict[str, Any] = response.json()
        return body

    async def capture(self) -> dict[str, Any]:
        """POST and wait until final."""
        created = await self.create()
        return await self.final(created["statusUrl"])


def check_png(data: bytes) -> None:
    """The raw side's output is a 1280x800 PNG."""
    if not data.startswith(PNG_SIGNATURE) or image_size(data) != (1280, 800):
        raise RuntimeError("raw capture is not a 1280x800 PNG")


def check_completed(body: dict[str, Any]) -> None:
    """The service's capture completed as a 1280x800 PNG."""
    result = body.get("result") or {}
    if body.get("status") != "completed" or (
        result.get("format"),
        result.get("width"),
        result.get("height"),
    ) != ("png", 1280, 800):
        raise RuntimeError(f"capture did not complete as a 1280x800 PNG: {body}")


def check_output(fmt: str, data: bytes) -> None:
    """A file of the formats phase (either side's) is what ``fmt`` asks for."""
    if fmt == "pdf":
        if not data.startswith(b"%PDF-") or pdf_pages(data) < PDF_MIN_PAGES:
            raise RuntimeError(f"not a PDF of at least {PDF_MIN_PAGES} pages")
        return
    if fmt == "webp":
        if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or image_size(data) != (1280, 800):
            raise RuntimeError("not a 1280x800 WebP")
        return
    if not data.startswith(PNG_SIGNATURE):
        raise RuntimeError("not a PNG")
    width, height = image_size(data)
    if width != 1280 or height < FULL_PAGE_MIN_HEIGHT:
        raise RuntimeError(f"full-page PNG is {width}x{height}, not 1280 x the whole page")


def check_completed_as(fmt: str, body: dict[str, Any]) -> None:
    """The service's capture of the formats phase completed as ``fmt`` asks."""
    result = body.get("result") or {}
    facts = (result.get("format"), result.get("width"), result.get("height"))
    if body.get("status") != "completed":
        raise RuntimeError(f"capture did not complete: {body}")
    if fmt == "pdf":
        ok = facts == ("pdf", 1280, 800) and (result.get("pages") or 0) >= PDF_MIN_PAGES
    elif fmt == "webp":
        ok = facts == ("webp", 1280, 800)
    else:
        ok = facts[:2] == ("png", 1280) and (facts[2] or 0) >= FULL_PAGE_MIN_HEIGHT
    if not ok:
        raise RuntimeError(f"capture is not the {FORMATS[fmt].label} asked for: {result}")


async def checked_raw(raw: RawSide) -> float:
    """One raw capture's wall time (ms), its output checked untimed."""
    ms, data = await timed_ms(raw.capture)
    check_png(data)
    return ms


async def checked_service(service: ServiceSide) -> float:
    """One service capture's wall time (ms), its result checked untimed."""
    ms, body = await timed_ms(service.capture)
    check_completed(body)
    return ms


async def checked_raw_as(raw: RawSide, fmt: str) -> float:
    """One raw capture as ``fmt``: its wall time (ms), its output checked untimed."""
    ms, data = await timed_ms(lambda: raw.capture_as(fmt))
    check_output(fmt, data)
    return ms


async def checked_service_as(service: ServiceSide, fmt: str) -> float:
    """One service capture as ``fmt``: its wall time (ms), its result checked untimed."""
    ms, body = await timed_ms(service.capture)
    check_completed_as(fmt, body)
    return ms


async def check_stored_as(env: CaptureEnv, service: ServiceSide, fmt: str) -> None:
    """Once per format, untimed: the signed link serves the file announced, as ``fmt``."""
    body = await service.capture()
    check_completed_as(fmt, body)
    file = await env.services.http.get(body["result"]["url"])
    if file.status_code != 200 or len(file.content) != body["result"]["bytes"]:
        raise RuntimeError(f"stored {fmt} file not served: {file.status_code}")
    check_output(fmt, file.content)


async def check_stored_file(env: CaptureEnv, service: ServiceSide) -> None:
    """Once, untimed: the service's signed link serves the PNG it announced."""
    body = await service.capture()
    check_completed(body)
    file = await env.services.http.get(body["result"]["url"])
    if file.status_code != 200 or len(file.content) != body["result"]["bytes"]:
        raise RuntimeError(f"stored file not served: {file.status_code}")
    check_png(file.content)


# --------------------------------------------------------------------------- CPU accounting


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system time of ``pid`` and its reaped children (s); 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / CLOCK_TICKS


def _tree_cpu_s(pid: int) -> float:
    return sum(_cpu_s(p) for p in {pid, *descendants(pid)})


BENCH_CPU = "bench process (site, clients, raw calls)"
RAW_BROWSER_CPU = "raw browser (driver + Chromium)"
WORKER_BROWSER_CPU = "worker browser (driver + Chromium)"
SERVICE_CPU = ("worker python", WORKER_BROWSER_CPU, "API (serve + its idle Chromium)", "redis")
"""The service's own process groups (besides the bench process, which both sides count)."""


class CpuMeter:
    """CPU seconds spent so far per process group (live processes plus the reaped ones)."""

    def __init__(self, env: CaptureEnv, redis_pid: int) -> None:
        self._api = env.services.api.proc.pid
        self._worker = env.worker.proc.pid
        self._redis = redis_pid

    def snapshot(self) -> dict[str, float]:
        """Seconds per group."""
        me = os.getpid()
        children = _children(me)
        service = {self._api, self._worker, self._redis}
        worker_children = _children(self._worker)
        return {
            BENCH_CPU: _own_cpu_s(me),
            RAW_BROWSER_CPU: sum(_tree_cpu_s(p) for p in children if p not in service),
            "worker python": _own_cpu_s(self._worker),
            WORKER_BROWSER_CPU: sum(_tree_cpu_s(p) for p in worker_children),
            "API (serve + its idle Chromium)": _tree_cpu_s(self._api),
            "redis": _cpu_s(self._redis),
        }


def _own_cpu_s(pid: int) -> float:
    """User + system time of ``pid`` alone (s)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        found: list[int] = []
        for task in tasks:
            found += [int(x) for x in (task / "children").read_text().split()]
    except OSError:
        return []
    return found


def cpu_delta(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """CPU milliseconds per capture per group."""
    return {k: round((after[k] - before[k]) * 1000 / n, 1) for k in before}


# --------------------------------------------------------------------------- phases


async def bench_latency(
    raw: RawSide, service: ServiceSide, config: Config
) -> dict[str, list[float]]:
    """Sequential captures, interleaved (every order in turn); ms per side."""
    samplers: dict[str, Sampler] = {
        "raw": lambda: checked_raw(raw),
        "service": lambda: checked_service(service),
    }
    return await interleave(
        samplers, config.samples, config.warmup, pause_s=config.pause_s, jitter_s=config.jitter_s
    )


def _sampler_as(side: RawSide | ServiceSide, fmt: str) -> Sampler:
    if isinstance(side, RawSide):
        return lambda: checked_raw_as(side, fmt)
    return lambda: checked_service_as(side, fmt)


async def bench_formats(
    env: CaptureEnv, raw: RawSide, config: Config
) -> dict[str, dict[str, list[float]]]:
    """Per format, one after the other: sequential captures, interleaved; ms per side."""
    found: dict[str, dict[str, list[float]]] = {}
    for fmt in config.formats:
        service = ServiceSide(env, FORMATS[fmt].output)
        await check_stored_as(env, service, fmt)
        found[fmt] = await interleave(
            {"raw": _sampler_as(raw, fmt), "service": _sampler_as(service, fmt)},
            config.formats_samples,
            config.formats_warmup,
            pause_s=config.pause_s,
            jitter_s=config.jitter_s,
        )
    return found


@dataclass
class Block:
    """One throughput block: N captures with at most C in flight."""

    side: str
    concurrency: int
    captures: int
    elapsed_s: float
    per_s: float
    latency_ms: list[float]
    cpu_ms_per_capture: dict[str, float] = field(default_factory=dict)


async def run_block(
    side: str,
    capture: Callable[[], Awaitable[float]],
    n: int,
    concurrency: int,
    meter: CpuMeter | None,
) -> Block:
    """``n`` captures by ``concurrency`` clients pulling from one queue."""
    remaining = iter(range(n))
    latencies: list[float] = []

    async def client() -> None:
        for _ in remaining:
            latencies.append(await capture())

    before = meter.snapshot() if meter else None
    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(client())
    elapsed = time.perf_counter() - started
    cpu = cpu_delta(before, meter.snapshot(), n) if meter and before else {}
    return Block(side, concurrency, n, round(elapsed, 3), round(n / elapsed, 3), latencies, cpu)


async def bench_throughput(
    raw: RawSide, service: ServiceSide, meter: CpuMeter, config: Config
) -> list[Block]:
    """Per concurrency: an untimed warm-up, then alternating raw and service blocks."""
    sides: dict[str, Callable[[], Awaitable[float]]] = {
        "raw": lambda: checked_raw(raw),
        "service": lambda: checked_service(service),
    }
    blocks: list[Block] = []
    for concurrency in config.concurrencies:
        for name, capture in sides.items():  # warm-up: as many renderers as C needs
            await run_block(name, capture, 2 * concurrency, concurrency, None)
            await asyncio.sleep(config.block_pause_s)
        for _ in range(config.blocks):
            for name, capture in sides.items():
                blocks.append(await run_block(name, capture, config.captures, concurrency, meter))
                await asyncio.sleep(config.block_pause_s)
    return blocks


# --------------------------------------------------------------------------- breakdown

_MONITOR_LINE = re.compile(rb"^\+(\d+\.\d+) \[\d+ ([^\]]+)\] (.*)$")
_MONITOR_ARG = re.compile(rb'"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class RedisEvent:
    """One command as ``MONITOR`` showed it."""

    ts: float
    client: str
    args: list[str]

    @property
    def cmd(self) -> str:
        """The command name, upper case."""
        return self.args[0].upper() if self.args else ""

    def script(self) -> tuple[list[str], list[str]] | None:
        """``(keys, argv)`` of an EVAL/EVALSHA, else None."""
        if self.cmd not in ("EVAL", "EVALSHA") or len(self.args) < 3:
            return None
        numkeys = int(self.args[2])
        return self.args[3 : 3 + numkeys], self.args[3 + numkeys :]


class RedisMonitor:
    """``MONITOR`` on its own connection; keeps the commands naming a capture or a session."""

    def __init__(self, port: int) -> None:
        self._port = port
        self.events: list[RedisEvent] = []
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        """Connect and start monitoring."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self._port, limit=1 << 22)
        self._writer = writer
        writer.write(b"MONITOR\r\n")
        await writer.drain()
        if (await reader.readline()).strip() != b"+OK":
            raise RuntimeError("MONITOR refused")
        self._task = asyncio.get_running_loop().create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            if b"cap_" not in line and b"sess_" not in line:
                continue
            match = _MONITOR_LINE.match(line.rstrip(b"\r\n"))
            if match is None:
                continue
            args = [a.decode("utf-8", "replace") for a in _MONITOR_ARG.findall(match.group(3))]
            self.events.append(RedisEvent(float(match.group(1)), match.group(2).decode(), args))

    async def aclose(self) -> None:
        """Stop monitoring."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()
            with suppress(OSError):
                await self._writer.wait_closed()


RAW_VARIANTS: dict[str, tuple[bool, bool, bool]] = {
    "raw": (False, False, False),
    "raw, pre-made context+page (warm pool's way)": (True, False, False),
    "raw, pre-made + a refill new_context+new_page alongside": (True, True, False),
    "raw, pre-made via egress proxy (in this process) + refill alongside": (True, True, True),
}
"""Breakdown's raw sides: name to ``(premade, refill, proxied)`` of
:meth:`RawSide.capture_steps`."""

SERVICE_STEPS = (
    "POST -> queued (API: auth, validate, seal, HSET+XADD)",
    "queue pickup (XADD -> worker's claim script)",
    "claim -> payload read (record, sealed payload)",
    "payload -> session registered (decrypt, context from pool/new, registry)",
    "goto (load, through the egress proxy) + counted",
    "render (screenshot) + counted",
    "storage write (local file)",
    "close session (bill, context.close) + final state/PUBLISH",
    "wake-up: PUBLISH -> client has the final answer",
)


def _mark(event: RedisEvent, capture_id: str, session_id: str) -> str | None:
    """Which step of the capture ``event`` marks, if any."""
    cap_key = f"cap:{{{capture_id}}}"
    if event.cmd == "XADD" and capture_id in event.args:
        return "xadd"
    if event.cmd == "GET" and event.args[1].endswith(f"{cap_key}:payload"):
        return "payload"
    if event.cmd == "HGETALL" and event.args[1].endswith(cap_key):
        return "read"
    script = event.script()
    if script is None:
        return None
    keys, argv = script
    first = keys[0] if keys else ""
    action = argv[0] if argv else ""
    marks = {
        (True, 1, ""): "claim",
        (True, 2, ""): "finish",
        (False, 4, ""): "session",
        (False, 1, "goto"): "goto",
        (False, 1, "screenshot"): "render",
    }
    if first.endswith(cap_key):
        return marks.get((True, len(keys), ""))
    if session_id in first:
        return marks.get((False, len(keys), action if len(keys) == 1 else ""))
    return None


def service_timeline(
    events: list[RedisEvent], capture_id: str, session_id: str, t_post: float, t_done: float
) -> dict[str, float] | None:
    """One service capture's steps (ms) from the Redis commands that name it.

    ``close`` is the first command naming the session after the render was counted
    (the worker's ``engine.close`` reading the record): what lies between is the storage
    write. ``read`` is every ``HGETALL`` of the capture record (the API's long-poll reads).
    """
    marks: dict[str, float] = {}
    reads: list[float] = []
    for event in events:
        joined = " ".join(event.args)
        if event.client == "lua" or (capture_id not in joined and session_id not in joined):
            continue
        mark = _mark(event, capture_id, session_id)
        if mark == "read":
            reads.append(event.ts)
        elif mark is not None:
            marks.setdefault(mark, event.ts)
        elif "render" in marks and session_id in joined:
            marks.setdefault("close", event.ts)
    needed = ("xadd", "claim", "payload", "session", "goto", "render", "close", "finish")
    if any(k not in marks for k in needed):
        return None
    points = [t_post, *(marks[k] for k in needed), t_done]
    steps = {
        name: (b - a) * 1000
        for name, a, b in zip(SERVICE_STEPS, points[:-1], points[1:], strict=True)
    }
    steps["total (client)"] = (t_done - t_post) * 1000
    late = [t for t in reads if t >= marks["finish"]]
    steps["  of which PUBLISH -> API's final re-read"] = (
        (max(late) - marks["finish"]) * 1000 if late else float("nan")
    )
    return steps


async def breakdown(
    env: CaptureEnv, raw: RawSide, service: ServiceSide, config: Config
) -> dict[str, dict[str, Stats]]:
    """Instrumented sequential captures, raw and service interleaved; steps per side."""
    policy = engine_config(env.services.settings, "bench-raw").egress
    async with EgressProxy(policy) as proxy:
        return await _breakdown(env, RawSide(env, proxy), service, config)


async def _breakdown(
    env: CaptureEnv, raw: RawSide, service: ServiceSide, config: Config
) -> dict[str, dict[str, Stats]]:
    monitor = RedisMonitor(env.redis_port)
    await monitor.start()
    service_steps: list[dict[str, float]] = []
    raw_steps: dict[str, list[dict[str, float]]] = {name: [] for name in RAW_VARIANTS}
    floors: dict[str, list[float]] = {"POST round trip": [], "GET of a final capture": []}
    last_status = ""

    async def service_sample() -> float:
        nonlocal last_status
        t_post = time.time()
        created = await service.create()
        floors["POST round trip"].append((time.time() - t_post) * 1000)
        body = await service.final(created["statusUrl"])
        t_done = time.time()
        check_completed(body)
        last_status = created["statusUrl"]
        await asyncio.sleep(0.05)  # let MONITOR catch up
        steps = service_timeline(monitor.events, body["id"], body["sessionId"], t_post, t_done)
        if steps is not None:
            service_steps.append(steps)
        monitor.events.clear()
        floor_ms, _ = await timed_ms(lambda: service.get(last_status))
        floors["GET of a final capture"].append(floor_ms)
        return (t_done - t_post) * 1000

    def raw_sampler(name: str, premade: bool, refill: bool, proxied: bool) -> Sampler:
        async def sample() -> float:
            steps = await raw.capture_steps(premade=premade, refill=refill, proxied=proxied)
            raw_steps[name].append(steps)
            return steps["total"]

        return sample

    try:
        await interleave(
            {
                "service": service_sample,
                **{name: raw_sampler(name, *how) for name, how in RAW_VARIANTS.items()},
            },
            config.breakdown,
            0,
            pause_s=config.pause_s,
            jitter_s=config.jitter_s,
        )
    finally:
        await monitor.aclose()
    return {
        f"service ({len(service_steps)} timelines)": _step_stats(service_steps),
        "service HTTP floor": {k: Stats.of(v) for k, v in floors.items()},
        **{name: _step_stats(rows) for name, rows in raw_steps.items()},
    }


def _step_stats(rows: list[dict[str, float]]) -> dict[str, Stats]:
    if not rows:
        return {}
    return {
        name: Stats.of([r[name] for r in rows if r[name] == r[name]])  # drop NaN
        for name in rows[0]
        if any(r[name] == r[name] for r in rows)
    }


# --------------------------------------------------------------------------- run


async def run(config: Config) -> dict[str, Any]:
    """Start everything, measure, close everything; the raw figures."""
    clock = PhaseClock()
    async with capture_env(WORKER_CONCURRENCY) as env:
        info = machine_info(env.raw.version)
        redis_pid = int((await env.services.redis.info("server"))["process_id"])
        meter = CpuMeter(env, redis_pid)
        raw = RawSide(env)
        service = ServiceSide(env)
        await check_stored_file(env, service)
        check_png(await raw.capture())
        clock.lap("setup")
        latency = await bench_latency(raw, service, config)
        clock.lap("latency")
        formats = await bench_formats(env, raw, config)
        clock.lap("formats")
        blocks = await bench_throughput(raw, service, meter, config)
        clock.lap("throughput")
        png_rows = [
            *latency_rows(latency),
            *throughput_rows(throughput_summary(blocks, config)),
            *cpu_rows(blocks, config),
        ]
        missed = not all(r.passed is not False for r in png_rows)
        parts: dict[str, dict[str, Stats]] = {}
        if config.breakdown and (missed or config.force_breakdown):
            parts = await breakdown(env, raw, service, config)
        clock.lap("breakdown")
        settings = env.services.settings
        service_config = {
            "worker_concurrency": WORKER_CONCURRENCY,
            "warm_contexts": settings.warm_contexts,
            "log_level": settings.log_level,
        }
    clock.lap("teardown")
    info["loadavg_end"] = loadavg()
    return {
        "machine": info,
        "config": asdict(config),
        "service": service_config,
        "latency_ms": latency,
        "formats_ms": formats,
        "blocks": [asdict(b) for b in blocks],
        "breakdown": parts,
        "phases_s": clock.laps,
        "elapsed_s": clock.total(),
    }


# --------------------------------------------------------------------------- report


def latency_rows(latency: dict[str, list[float]]) -> list[Row]:
    """The latency rows, service against raw at p50."""
    raw = Stats.of(latency["raw"])
    service = Stats.of(latency["service"])
    return [
        Row("latency (c=1)", "raw Playwright capture", raw),
        ratio_row("latency (c=1)", "service POST -> completed", service, raw, LATENCY_TARGET),
    ]


def format_rows(formats: dict[str, dict[str, list[float]]]) -> list[Row]:
    """Per format: raw's row, then the service's against it at p50."""
    rows: list[Row] = []
    for fmt, samples in formats.items():
        raw = Stats.of(samples["raw"])
        measure = f"latency {FORMATS[fmt].label} (c=1)"
        rows += [
            Row(measure, "raw Playwright capture", raw),
            ratio_row(
                measure,
                "service POST -> completed",
                Stats.of(samples["service"]),
                raw,
                FORMAT_TARGET,
            ),
        ]
    return rows


def throughput_rows(summary: list[dict[str, Any]]) -> list[Row]:
    """Per concurrency: the sides' blocks as wall ms per capture; the ratio and the target
    are of the median captures/s (service / raw)."""
    rows: list[Row] = []
    for e in summary:
        stats = Stats.of([1000 / r for r in e["rates"]])
        rows.append(
            Row(
                f"throughput (c={e['concurrency']}), wall ms per capture",
                e["side"],
                stats,
                e["ratio"],
                e["target"],
                e["passed"],
            )
        )
    return rows


def _cpu_totals(blocks: list[dict[str, Any]], groups: tuple[str, ...]) -> list[float]:
    return [sum(b["cpu_ms_per_capture"][g] for g in groups) for b in blocks]


def cpu_rows(
    blocks: list[Block] | list[dict[str, Any]], config: Config | dict[str, Any]
) -> list[Row]:
    """Per concurrency: CPU ms per capture, the median of a side's blocks; the service's
    own processes against raw's (each with the bench process), then the browsers alone."""
    concurrencies = (
        config.concurrencies if isinstance(config, Config) else tuple(config["concurrencies"])
    )
    rows: list[Row] = []
    for c in concurrencies:
        raw_blocks = _blocks_of(blocks, "raw", c)
        service_blocks = _blocks_of(blocks, "service", c)
        if not raw_blocks or not service_blocks or not raw_blocks[0]["cpu_ms_per_capture"]:
            continue
        measure = f"CPU ms per capture (c={c})"
        raw = Stats.of(_cpu_totals(raw_blocks, (RAW_BROWSER_CPU, BENCH_CPU)))
        service = Stats.of(_cpu_totals(service_blocks, (*SERVICE_CPU, BENCH_CPU)))
        raw_browser = Stats.of(_cpu_totals(raw_blocks, (RAW_BROWSER_CPU,)))
        worker_browser = Stats.of(_cpu_totals(service_blocks, (WORKER_BROWSER_CPU,)))
        rows += [
            Row(measure, "raw: browser + bench process", raw),
            ratio_row(
                measure,
                "service: API + worker + its browser + Redis + bench process",
                service,
                raw,
                CPU_TARGET,
            ),
            Row(measure, "raw browser alone", raw_browser),
            Row(
                measure,
                "worker browser alone",
                worker_browser,
                worker_browser.p50 / raw_browser.p50,
            ),
        ]
    return rows


def _blocks_of(blocks: list[Block] | list[dict[str, Any]], side: str, c: int) -> list[Any]:
    found = []
    for b in blocks:
        data = asdict(b) if isinstance(b, Block) else b
        if data["side"] == side and data["concurrency"] == c:
            found.append(data)
    return found


def throughput_summary(
    blocks: list[Block] | list[dict[str, Any]], config: Config | dict[str, Any]
) -> list[dict[str, Any]]:
    """Per concurrency and side: blocks' captures/s, their median, ratio and target."""
    concurrencies = (
        config.concurrencies if isinstance(config, Config) else tuple(config["concurrencies"])
    )
    summary = []
    for c in concurrencies:
        medians: dict[str, float] = {}
        for side in ("raw", "service"):
            mine = _blocks_of(blocks, side, c)
            rates = [b["per_s"] for b in mine]
            medians[side] = statistics.median(rates)
            latencies = [ms for b in mine for ms in b["latency_ms"]]
            cpu = {
                k: statistics.median(b["cpu_ms_per_capture"][k] for b in mine)
                for k in mine[0]["cpu_ms_per_capture"]
            }
            entry: dict[str, Any] = {
                "concurrency": c,
                "side": side,
                "rates": rates,
                "median": medians[side],
                "latency": Stats.of(latencies),
                "cpu_ms_per_capture": cpu,
                "ratio": None,
                "target": "",
                "passed": None,
            }
            if side == "service":
                entry["ratio"] = medians["service"] / medians["raw"]
                entry["target"] = f">= {THROUGHPUT_FACTOR:.2f} x raw"
                entry["passed"] = entry["ratio"] >= THROUGHPUT_FACTOR
            summary.append(entry)
    return summary


def throughput_table(summary: list[dict[str, Any]]) -> str:
    """Throughput as Markdown."""
    lines = [
        "| measure | side | blocks (captures/s) | median captures/s | latency p50 ms "
        "| latency p95 ms | ratio (median) | target | result |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for e in summary:
        ratio = "" if e["ratio"] is None else f"{e['ratio']:.2f}"
        result = "" if e["passed"] is None else ("pass" if e["passed"] else "**FAIL**")
        rates = ", ".join(f"{r:.2f}" for r in e["rates"])
        lines.append(
            f"| throughput (c={e['concurrency']}) | {e['side']} | {rates} | {e['median']:.2f} "
            f"| {e['latency'].p50:.1f} | {e['latency'].p95:.1f} | {ratio} | {e['target']} "
            f"| {result} |"
        )
    return "\n".join(lines)


def cpu_table(summary: list[dict[str, Any]]) -> str:
    """CPU milliseconds per capture per process group (median of a side's blocks)."""
    groups = list(summary[0]["cpu_ms_per_capture"])
    head = "| c | side | " + " | ".join(groups) + " | total |"
    lines = [head, "|---|---|" + "---:|" * (len(groups) + 1)]
    for e in summary:
        cpu = e["cpu_ms_per_capture"]
        cells = " | ".join(f"{cpu[g]:.1f}" for g in groups)
        lines.append(f"| {e['concurrency']} | {e['side']} | {cells} | {sum(cpu.values()):.1f} |")
    return "\n".join(lines)


def report(result: dict[str, Any]) -> str:
    """The Markdown report."""
    config = result["config"]
    rows = latency_rows(result["latency_ms"]) + format_rows(result["formats_ms"])
    summary = throughput_summary(result["blocks"], config)
    cpu = cpu_rows(result["blocks"], config)
    service = result["service"]
    text = [
        "## Captures: service (serve + worker) against raw Playwright",
        "",
        machine_lines(result["machine"]),
        f"- capture: PNG of {PAGE_PATH} at 1280x800, no auth; service = real `sessionshot serve`"
        f" + one `sessionshot worker` (concurrency {service['worker_concurrency']}, "
        f"warm_contexts {service['warm_contexts']}, log level {service['log_level']}), "
        "POST then GET ?wait=30 until final",
        f"- latency: {config['samples']} sequential samples per side after {config['warmup']} "
        f"warm-up rounds, interleaved (every order in turn), {config['pause_s'] * 1000:.0f} ms "
        f"+ 0-{config['jitter_s'] * 1000:.1f} ms pause after each",
        (
            f"- formats ({', '.join(FORMATS[f].label for f in config['formats'])}; same page): "
            f"{config['formats_samples']} sequential samples per side and format after "
            f"{config['formats_warmup']} warm-up rounds, interleaved like the latency"
            if config["formats"]
            else "- formats: skipped"
        ),
        f"- throughput: {config['captures']} captures per block, {config['blocks']} blocks per "
        f"side per concurrency, alternating raw/service, {config['block_pause_s'] * 1000:.0f} ms "
        "between blocks; median of the blocks",
        f"- run time: {result['elapsed_s']} s ("
        + ", ".join(f"{name} {secs} s" for name, secs in result["phases_s"].items())
        + ")",
        "",
        markdown_table(rows),
        "",
        throughput_table(summary),
        "",
        "### CPU per capture in the throughput blocks (ms, median of blocks)",
        "",
        "The bench process serves the target site for both sides and runs both clients: "
        "each side's total counts it in its own blocks.",
        "",
        markdown_table(cpu, tail="max"),
        "",
        cpu_table(summary),
    ]
    if result["breakdown"]:
        text += [
            "",
            "### Breakdown (Redis MONITOR timeline, separate sequential phase)",
            "",
            layers_table(result["breakdown"]),
        ]
    return "\n".join(text)


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=60, help="latency samples per side (60)")
    parser.add_argument("--warmup", type=int, default=4, help="latency rounds dropped first (4)")
    parser.add_argument(
        "--formats",
        nargs="*",
        choices=list(FORMATS),
        default=list(FORMATS),
        help="outputs of the formats phase (all; none: skip the phase)",
    )
    parser.add_argument(
        "--formats-samples", type=int, default=30, help="formats samples per side and format (30)"
    )
    parser.add_argument(
        "--formats-warmup", type=int, default=2, help="formats rounds dropped first (2)"
    )
    parser.add_argument(
        "--pause-ms",
        type=float,
        default=LATENCY_PAUSE_MS,
        help=f"pause after a sequential sample ({LATENCY_PAUSE_MS:g})",
    )
    parser.add_argument(
        "--jitter-ms", type=float, default=FRAME_S * 1000, help="random extra pause, 0..this"
    )
    parser.add_argument("--captures", type=int, default=40, help="captures per block (40)")
    parser.add_argument("--blocks", type=int, default=2, help="blocks per side and C (2)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 4], help="throughput C values (1 4)"
    )
    parser.add_argument(
        "--block-pause-ms",
        type=float,
        default=BLOCK_PAUSE_MS,
        help=f"pause between throughput blocks ({BLOCK_PAUSE_MS:g})",
    )
    parser.add_argument(
        "--breakdown",
        type=int,
        default=20,
        metavar="N",
        help="rounds of the instrumented phase, run when a target is missed (20; 0: never)",
    )
    parser.add_argument(
        "--force-breakdown", action="store_true", help="run the breakdown even if all targets pass"
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args(argv)
    config = Config(
        samples=args.samples,
        warmup=args.warmup,
        formats=tuple(args.formats),
        formats_samples=args.formats_samples,
        formats_warmup=args.formats_warmup,
        pause_s=args.pause_ms / 1000,
        jitter_s=args.jitter_ms / 1000,
        captures=args.captures,
        blocks=args.blocks,
        concurrencies=tuple(args.concurrency),
        block_pause_s=args.block_pause_ms / 1000,
        breakdown=args.breakdown,
        force_breakdown=args.force_breakdown,
    )
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the report; exit status 0 even when a target is missed."""
    config, json_path = parse_args(argv)
    result = asyncio.run(run(config))
    print(report(result))
    if json_path is not None:
        summary = throughput_summary(result["blocks"], config)
        rows = [
            *latency_rows(result["latency_ms"]),
            *format_rows(result["formats_ms"]),
            *throughput_rows(summary),
            *cpu_rows(result["blocks"], config),
        ]
        result["rows"] = [r.as_json() for r in rows]
        result["throughput"] = summary
        write_json(json_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
