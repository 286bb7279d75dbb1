"""Live sessions over the API against raw Playwright: session create and a click round trip.

Usage: ``.venv/bin/python bench/sessions.py [--samples 200] [--click-samples 500]
[--json out.json]``

The API is a real ``sessionshot serve`` process, as deployed (its own browser, uvloop, log
level INFO), called over one kept-alive HTTP/1.1 connection by a minimal client
(:class:`bench.common.LeanHttp`), so the figure is the service's cost and the wire's, not a
client library's; the click is also sent with httpx, and the service's own time per click is
read from its access log. The raw side is Playwright in the bench process, driving a Chromium
with exactly the service's launch flags. Samples of all sides are interleaved (every order of
the sides in turn) so drifting noise lands on all of them.

* **create** - raw ``new_context()`` + ``new_page()``; ``POST /v1/sessions`` with default
  options (served from the warm pool); and with a non-default viewport (pool bypassed,
  a context made on demand). Closing is not timed. After every sample, whatever its side,
  the bench waits until the pool is full again (``/metrics``), then pauses: no refill runs
  under a sample.
* **click** - one page on ``/form``: ``page.click("#btn")`` against the ``click`` action.

Pauses carry a random extra of up to one frame: see :func:`bench.common.interleave`.

``--breakdown N`` adds a profiling phase (after the measured ones, against a service started
in the bench process, so its instrumentation never touches the reported figures) that times
the service's layers call by call.
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
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from playwright.async_api import BrowserContext, Page

from bench.common import (
    FRAME_S,
    BenchEnv,
    LeanHttp,
    PhaseClock,
    Probe,
    Row,
    Sampler,
    ServeApi,
    ServeEnv,
    Stats,
    Target,
    access_log_ms,
    bench_env,
    interleave,
    layers_table,
    loadavg,
    machine_info,
    machine_lines,
    markdown_table,
    publish,
    ratio_row,
    sample_ms,
    serve_env,
    timed_ms,
)
from sessions import actions
from sessions.elements import ELEMENT_INFO_JS
from tests.support.cluster import Instance
from tests.support.procs import free_port
from tests.support.target_site import TargetSite

WARM_CONTEXTS = 2
DEFAULT_VIEWPORT = {"width": 1280, "height": 800}
"""The service's default viewport; the raw side uses it too, so both pages are alike."""
COLD_BODY: dict[str, Any] = {"viewport": {"width": 1280, "height": 801}}
"""A non-default option: the warm pool cannot serve it."""
CLICK_ACTION: dict[str, Any] = {"type": "click", "payload": {"selector": "#btn"}}

CREATE_PAUSE_MS = 100.0
"""Taken once the pool is full again (so no refill runs under a sample): closed contexts'
renderers wind down before the next sample."""
CLICK_PAUSE_MS = 100.0
"""On 2 cores a click's aftermath (the page repaints) slows a click started within ~40 ms
in the other browser; 100 ms keeps the sides from taxing each other."""
CLICK_SAMPLES = 500
"""A click takes "time to the next frame" plus a constant, so its samples spread evenly over
a 16.7 ms frame: the p50 of 200 samples moves by about 0.4 ms (0.02 in ratio) from run to
run, that of 500 by about 0.25 ms."""
SETTLE_POLL_S = 0.005
SETTLE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Config:
    """How much to measure."""

    samples: int
    click_samples: int
    warmup: int
    create_pause_s: float
    click_pause_s: float
    jitter_s: float
    breakdown: int


# --------------------------------------------------------------------------- sides

PoolSize = Callable[[], Awaitable[int]]
"""How many warm contexts the service holds right now."""


class SessionsApi(Protocol):
    """Create, act and close, whichever client carries them."""

    async def create(self, body: dict[str, Any]) -> str: ...
    async def act(self, session_id: str, action: dict[str, Any]) -> dict[str, Any]: ...
    async def close(self, session_id: str) -> None: ...


class RawSide(Protocol):
    """The test site and the raw browser."""

    @property
    def site(self) -> TargetSite: ...
    async def raw_context(self, **options: Any) -> BrowserContext: ...


def in_process_pool(env: BenchEnv) -> PoolSize:
    """The warm pool of an in-process service, read directly (white-box)."""
    pool = env.service.state.engine._pages.warm

    async def size() -> int:
        return len(pool)

    return size


def served_pool(instance: Instance) -> PoolSize:
    """The warm pool of a ``sessionshot serve`` process, read from its ``/metrics``."""

    async def size() -> int:
        text = (await instance.http.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith("sessionshot_warm_contexts "):
                return int(float(line.split()[1]))
        raise RuntimeError("no sessionshot_warm_contexts in /metrics")

    return size


async def pool_refilled(size: PoolSize) -> bool:
    """Wait until the service's warm pool is full; whether there was anything to wait for."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    waited = False
    while await size() < WARM_CONTEXTS:
        waited = True
        if time.monotonic() > deadline:
            raise RuntimeError("the warm pool did not refill")
        await asyncio.sleep(SETTLE_POLL_S)
    return waited


# --------------------------------------------------------------------------- create


class CreateBench:
    """One sample of each create side; closing is done, untimed, before returning.

    The pool is full before every sample (see :meth:`settle`), so a warm sample never finds
    it empty; nothing is asked of the service right before a sample.
    """

    def __init__(self, env: ServeEnv, api: SessionsApi, pool: PoolSize) -> None:
        self._env = env
        self._api = api
        self._pool = pool
        self.settle_waits = 0

    async def _raw_context(self) -> BrowserContext:
        context = await self._env.raw_context(viewport=DEFAULT_VIEWPORT)
        await context.new_page()
        return context

    async def raw(self) -> float:
        """``new_context()`` + ``new_page()`` in the raw browser."""
        ms, context = await timed_ms(self._raw_context)
        await context.close()
        return ms

    async def api_warm(self) -> float:
        """``POST /v1/sessions`` with ``{}`` (the warm pool's options)."""
        ms, session_id = await timed_ms(lambda: self._api.create({}))
        await self._api.close(session_id)
        return ms

    async def api_cold(self) -> float:
        """``POST /v1/sessions`` with a non-default viewport (bypasses the pool)."""
        ms, session_id = await timed_ms(lambda: self._api.create(COLD_BODY))
        await self._api.close(session_id)
        return ms

    async def settle(self) -> None:
        """Wait until the warm pool is full again, so no refill runs under the next sample."""
        if await pool_refilled(self._pool):
            self.settle_waits += 1

    def sides(self) -> dict[str, Sampler]:
        """Side name to sampler."""
        return {"raw": self.raw, "api warm": self.api_warm, "api cold": self.api_cold}


async def bench_create(
    env: ServeEnv, api: SessionsApi, pool: PoolSize, config: Config
) -> tuple[dict[str, list[float]], int]:
    """Create samples per side; settle waits."""
    bench = CreateBench(env, api, pool)
    await bench.settle()
    results = await interleave(
        bench.sides(),
        config.samples,
        config.warmup,
        pause_s=config.create_pause_s,
        settle=bench.settle,
        jitter_s=config.jitter_s,
    )
    return results, bench.settle_waits


# --------------------------------------------------------------------------- click


@dataclass
class ClickTargets:
    """A raw page and an API session, both on ``/form``."""

    context: BrowserContext
    page: Page
    session_id: str

    @classmethod
    async def open(cls, env: RawSide, api: SessionsApi) -> ClickTargets:
        """Open both and navigate them to ``/form``."""
        url = env.site.url("/form")
        context = await env.raw_context(viewport=DEFAULT_VIEWPORT)
        page = await context.new_page()
        await page.goto(url)
        session_id = await api.create({})
        await api.act(session_id, {"type": "goto", "payload": {"url": url}})
        return cls(context, page, session_id)

    async def clicks(self, api: SessionsApi) -> tuple[int, int]:
        """How many clicks each page counted (``window.clicks``)."""
        raw = int(await self.page.evaluate("window.clicks"))
        body = await api.act(
            self.session_id, {"type": "evaluate", "payload": {"expression": "window.clicks"}}
        )
        return raw, int(body["result"])

    async def aclose(self, api: SessionsApi) -> None:
        """Close both."""
        await self.context.close()
        await api.close(self.session_id)


def httpx_click(instance: Instance, headers: dict[str, str], session_id: str) -> Sampler:
    """The click action sent with httpx (a common Python client) instead of the lean one."""

    async def click() -> None:
        response = await instance.http.post(
            f"/v1/sessions/{session_id}/actions", headers=headers, json=CLICK_ACTION
        )
        if response.status_code != 200:
            raise RuntimeError(f"click answered {response.status_code}: {response.text}")
        response.json()

    return lambda: sample_ms(click)


async def bench_click(
    env: ServeEnv, api: SessionsApi, config: Config
) -> tuple[dict[str, list[float]], list[float]]:
    """Click samples per side, and the service's own time for each API click (access log);
    checks that every click landed."""
    instance = env.instances["a"]
    targets = await ClickTargets.open(env, api)
    await pool_refilled(served_pool(instance))
    logged_before = len(access_log_ms(instance, "/actions"))
    try:
        samplers: dict[str, Sampler] = {
            "raw": lambda: sample_ms(lambda: targets.page.click("#btn")),
            "api": lambda: sample_ms(lambda: api.act(targets.session_id, CLICK_ACTION)),
            "api httpx": httpx_click(instance, env.headers, targets.session_id),
        }
        results = await interleave(
            samplers,
            config.click_samples,
            config.warmup,
            pause_s=config.click_pause_s,
            jitter_s=config.jitter_s,
        )
        expected = config.warmup + config.click_samples
        counted = await targets.clicks(api)
        if counted != (expected, 2 * expected):
            raise RuntimeError(f"clicks counted {counted}, expected {expected}, {2 * expected}")
        server_ms = access_log_ms(instance, "/actions")[logged_before:]
        server_ms = server_ms[2 * config.warmup : 2 * expected]  # the measured clicks only
    finally:
        await targets.aclose(api)
    return results, server_ms


# --------------------------------------------------------------------------- breakdown


def _instrument(env: BenchEnv, probe: Probe) -> None:
    state = env.service.state
    engine = state.engine
    probe.wrap(state.admission, "admit", "key check + rate limit (redis)")
    probe.wrap(engine, "create", "engine.create")
    probe.wrap(engine._pages._factory, "make", "  context+page (factory.make)")
    probe.wrap(engine._proxy, "open_endpoint", "    egress open_endpoint")
    probe.wrap(engine._pages.host, "new_context", "    browser new_context")
    service_browser = engine._pages.host._browser
    probe.wrap(
        BrowserContext,
        "new_page",
        "    context.new_page",
        when=lambda context: context.browser is service_browser,
    )
    probe.wrap(engine.registry, "create", "  registry.create (redis)")
    probe.wrap(engine.registry, "get", "  registry.get (redis; create and delete)")
    probe.wrap(engine, "act", "engine.act")
    probe.wrap(actions, "run", "  actions.run (playwright)")
    probe.wrap(engine.registry, "count_action", "  registry.count_action (redis, after the answer)")


async def breakdown(env: BenchEnv, api: ServeApi, rounds: int) -> dict[str, dict[str, Stats]]:
    """Where the API's time goes, layer by layer, for cold creates and clicks.

    Beside the API, the raw browser runs what the service asks of Chromium: a context with
    the service's options, and the click action's two steps (element info, then click).
    """
    probe = Probe()
    _instrument(env, probe)
    try:
        create = await _create_breakdown(env, api, probe, rounds)
        probe.clear()
        click = await _click_breakdown(env, api, probe, rounds)
    finally:
        probe.restore()
    return {"api cold create": create, "api click": click}


async def _create_breakdown(
    env: BenchEnv, api: ServeApi, probe: Probe, rounds: int
) -> dict[str, Stats]:
    # The proxy is never dialled: nothing navigates. Chromium only needs a value.
    service_options = {
        "proxy": {"server": f"http://127.0.0.1:{free_port()}", "bypass": "<-loopback>"},
        "service_workers": "block",
        "accept_downloads": False,
    }

    async def raw_create(**options: Any) -> float:
        async def make() -> BrowserContext:
            context = await env.raw_context(viewport=DEFAULT_VIEWPORT, **options)
            await context.new_page()
            return context

        ms, context = await timed_ms(make)
        await context.close()
        return ms

    async def api_cold() -> float:
        ms, session_id = await timed_ms(lambda: api.create(COLD_BODY))
        await api.close(session_id)
        return ms

    async def settle() -> None:
        await pool_refilled(in_process_pool(env))

    samplers: dict[str, Sampler] = {
        "API cold: HTTP total (client)": api_cold,
        "raw: new_context+new_page": raw_create,
        "raw: the same with the service's context options": lambda: raw_create(**service_options),
    }
    totals = await interleave(samplers, rounds, 0, pause_s=CREATE_PAUSE_MS / 1000, settle=settle)
    probe_stats = probe.stats()
    first, *raw_sides = samplers
    return {
        first: Stats.of(totals[first]),
        **probe_stats,
        **{name: Stats.of(totals[name]) for name in raw_sides},
    }


async def _click_breakdown(
    env: BenchEnv, api: ServeApi, probe: Probe, rounds: int
) -> dict[str, Stats]:
    targets = await ClickTargets.open(env, api)
    locator = targets.page.locator("#btn").first
    session_url = f"/v1/sessions/{targets.session_id}"

    async def info_then_click() -> None:
        await locator.evaluate(ELEMENT_INFO_JS)
        await locator.click()

    await pool_refilled(in_process_pool(env))  # the session took a warm context
    samplers: dict[str, Sampler] = {
        "API click: HTTP total (client)": lambda: sample_ms(
            lambda: api.act(targets.session_id, CLICK_ACTION)
        ),
        "API GET session (HTTP floor)": lambda: sample_ms(
            lambda: api.http.request("GET", session_url)
        ),
        "raw: page.click": lambda: sample_ms(lambda: targets.page.click("#btn")),
        "raw: element info evaluate": lambda: sample_ms(lambda: locator.evaluate(ELEMENT_INFO_JS)),
        "raw: element info + click (the action's steps)": lambda: sample_ms(info_then_click),
    }
    probe.clear()
    try:
        totals = await interleave(samplers, rounds, 0, pause_s=CLICK_PAUSE_MS / 1000)
    finally:
        await targets.aclose(api)
    probe_stats = probe.stats()
    first, *rest = samplers
    return {
        first: Stats.of(totals[first]),
        **probe_stats,
        **{name: Stats.of(totals[name]) for name in rest},
    }


# --------------------------------------------------------------------------- report


COLD_TARGET = Target("p50 <= 1.10 x raw + 10 ms", 1.10, 10.0)
WARM_TARGET = Target("p50 < 0.30 x raw", 0.30, strict=True)
CLICK_TARGET = Target("p50 <= 1.15 x raw", 1.15)


def rows(
    create: dict[str, list[float]], click: dict[str, list[float]], server_ms: list[float]
) -> list[Row]:
    """The report's rows, ratios against the raw side, targets checked at p50."""
    raw = Stats.of(create["raw"])
    cold = Stats.of(create["api cold"])
    warm = Stats.of(create["api warm"])
    raw_click = Stats.of(click["raw"])
    api_click = Stats.of(click["api"])
    httpx_stats = Stats.of(click["api httpx"])
    server = Stats.of(server_ms)
    return [
        Row("create", "raw new_context+new_page", raw),
        ratio_row("create", "API cold (viewport 1280x801)", cold, raw, COLD_TARGET),
        ratio_row("create", "API warm (default, pool)", warm, raw, WARM_TARGET),
        Row("click", "raw page.click", raw_click),
        ratio_row("click", "API click action", api_click, raw_click, CLICK_TARGET),
        Row("click", "API click, sent with httpx", httpx_stats, httpx_stats.p50 / raw_click.p50),
        Row("click", "API click, the service's own time (access log)", server,
            server.p50 / raw_click.p50),
    ]  # fmt: skip


async def run(config: Config) -> dict[str, Any]:
    """Start everything, measure, close everything; the raw figures and report pieces."""
    clock = PhaseClock()
    async with serve_env(["a"], WARM_CONTEXTS, log_level="INFO") as env:
        lean = env.lean("a")
        api = ServeApi(lean)
        info = machine_info(env.raw.version)
        clock.lap("setup")
        try:
            create, settle_waits = await bench_create(
                env, api, served_pool(env.instances["a"]), config
            )
            clock.lap("create")
            click, server_ms = await bench_click(env, api, config)
            clock.lap("click")
        finally:
            await lean.aclose()
    clock.lap("teardown")
    parts: dict[str, dict[str, Stats]] = {}
    if config.breakdown:
        async with bench_env(warm_contexts=WARM_CONTEXTS) as in_process:
            port = int(in_process.service.base_url.rsplit(":", 1)[1])
            in_process_http = LeanHttp(port, in_process.api_key)
            try:
                parts = await breakdown(in_process, ServeApi(in_process_http), config.breakdown)
            finally:
                await in_process_http.aclose()
        clock.lap("breakdown")
    info["loadavg_end"] = loadavg()
    return {
        "machine": info,
        "config": {**asdict(config), "warm_contexts": WARM_CONTEXTS},
        "create_ms": create,
        "click_ms": click,
        "click_server_ms": server_ms,
        "settle_waits": settle_waits,
        "breakdown": parts,
        "phases_s": clock.laps,
        "elapsed_s": clock.total(),
    }


def report(result: dict[str, Any]) -> tuple[str, list[Row]]:
    """The Markdown report."""
    config = result["config"]
    table_rows = rows(result["create_ms"], result["click_ms"], result["click_server_ms"])
    text = [
        "## Sessions: API against raw Playwright",
        "",
        machine_lines(result["machine"]),
        "- API: a real `sessionshot serve` process (its own browser, uvloop, log level INFO), "
        "called over one kept-alive HTTP/1.1 connection by a minimal client; the click is also "
        "sent with httpx, and the service's own time is read from its access log",
        "- raw: Playwright in the bench process (default asyncio loop), a Chromium with the "
        "service's flags",
        f"- {config['samples']} create and {config['click_samples']} click samples per side "
        f"after {config['warmup']} warm-up rounds, "
        "interleaved (every order of the sides in turn)",
        "- after each sample, whatever its side: create - wait until the warm pool is full "
        f"({result['settle_waits']} waits), then {config['create_pause_s'] * 1000:.0f} ms; "
        f"click - {config['click_pause_s'] * 1000:.0f} ms; both plus a random 0-"
        f"{config['jitter_s'] * 1000:.1f} ms so no side is phase-locked to the 60 Hz frame clock",
        f"- warm_contexts={config['warm_contexts']}",
        f"- run time: {result['elapsed_s']} s ("
        + ", ".join(f"{name} {secs} s" for name, secs in result["phases_s"].items())
        + ")",
        "",
        markdown_table(table_rows),
    ]
    if result["breakdown"]:
        text += [
            "",
            "### Breakdown (instrumented, separate phase, the API served in the bench process)",
            "",
        ]
        text.append(layers_table(result["breakdown"]))
    return "\n".join(text), table_rows


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=200, help="create samples per side (200)")
    parser.add_argument(
        "--click-samples",
        type=int,
        default=CLICK_SAMPLES,
        help=f"click samples per side ({CLICK_SAMPLES})",
    )
    parser.add_argument("--warmup", type=int, default=10, help="rounds dropped first (10)")
    parser.add_argument(
        "--create-pause-ms",
        type=float,
        default=CREATE_PAUSE_MS,
        help=f"pause after a create sample ({CREATE_PAUSE_MS:g})",
    )
    parser.add_argument(
        "--click-pause-ms",
        type=float,
        default=CLICK_PAUSE_MS,
        help=f"pause after a click sample ({CLICK_PAUSE_MS:g})",
    )
    parser.add_argument(
        "--jitter-ms",
        type=float,
        default=FRAME_S * 1000,
        help="random extra pause, 0..this (one 60 Hz frame); 0 phase-locks clicks to frames",
    )
    parser.add_argument(
        "--breakdown", type=int, default=0, metavar="N", help="add a profiling phase of N rounds"
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args(argv)
    config = Config(
        samples=args.samples,
        click_samples=args.click_samples,
        warmup=args.warmup,
        create_pause_s=args.create_pause_ms / 1000,
        click_pause_s=args.click_pause_ms / 1000,
        jitter_s=args.jitter_ms / 1000,
        breakdown=args.breakdown,
    )
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit status 1 when a target is missed."""
    config, json_path = parse_args(argv)
    result = asyncio.run(run(config))
    text, table_rows = report(result)
    return publish(text, table_rows, result, json_path)


if __name__ == "__main__":
    sys.exit(main())
