"""Connect sessions against launching a browser, and what the CDP relay adds to a round trip.

Usage: ``.venv/bin/python bench/connect.py [--flow-samples 30] [--cdp-samples 600]
[--json out.json]``

Two real ``sessionshot serve`` processes, ``a`` and ``b``, share a private redis-server; each
keeps ``connect_warm=1`` default connect browser launched (SPEC section 12). The bench's own
Playwright plays the client and launches the raw browsers, with the service's flags
(``chromium_args()``). Two measures, each with its sides interleaved in every order in turn:

* **connect flow** - create a connect session on ``a``, ``connect_over_cdp`` to its
  ``connectUrl``, ``goto`` the target site's ``/`` on the session's page, disconnect and
  ``DELETE`` the session; against raw Playwright: ``chromium.launch``, ``new_page``, the same
  ``goto``, ``close``. Paced: a pause after every sample, long enough for the background
  launch that refills the warm pool to finish, as a client that does not open sessions
  back to back sees it (target: p50 at most 0.5 x raw). Then connect sessions back to back
  without a pause, which outrun the refill (no target). The service's log tells which
  sessions found a warm browser.
* **CDP round trip** - ``Runtime.evaluate {"expression": "1"}`` on a page, over a bare
  WebSocket (no compression, as CDP clients connect): direct to the DevTools endpoint of a
  raw Chromium launched the way the service launches a connect browser (persistent
  profile, ``--remote-debugging-port=0``, its ``DevToolsActivePort`` read); through the
  relay on the owner ``a``; through ``b``, which relays to ``a``. Targets: the owner's relay
  adds at most 1 ms at p50, the routed one at most 3 ms.

Holds ``/tmp/bench.quiet`` while it runs, once the 1-minute load average is below 1.5.
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
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from playwright.async_api import Response
from websockets.asyncio.client import ClientConnection, connect

from bench.common import (
    FRAME_S,
    PhaseClock,
    Row,
    Sampler,
    ServeApi,
    ServeEnv,
    Stats,
    Target,
    interleave,
    launch_raw_chromium,
    layers_table,
    loadavg,
    machine_info,
    machine_lines,
    markdown_table,
    publish,
    quiet_machine,
    ratio_row,
    sample_ms,
    serve_env,
)
from sessions.browser import chromium_args
from sessions.connect import DEBUGGING_FLAGS, PORT_FILE
from tests.support.cluster import Instance
from tests.support.hosts import chromium_host_resolver_rules

CONNECT_WARM = 1
MAX_LOAD = 1.5
FLOW_TARGET = Target("p50 <= 0.5 x raw launch", 0.5)
RELAY_TARGET = Target("p50 <= direct + 1 ms", 1.0, 1.0)
ROUTED_TARGET = Target("p50 <= direct + 3 ms", 1.0, 3.0)
EVALUATE = {"expression": "1"}
SETTLE_S = 2.0
"""Between phases: the last samples' browsers exit and the warm pool refills."""


@dataclass(frozen=True)
class Config:
    """How much to measure."""

    flow_samples: int
    flow_warmup: int
    pause_s: float
    burst_samples: int
    cdp_samples: int
    cdp_warmup: int
    cdp_pause_s: float
    jitter_s: float


# --------------------------------------------------------------------------- connect flow


@dataclass
class Flow:
    """The two sides of the connect flow; remembers the connect sessions it opened."""

    env: ServeEnv
    api: ServeApi
    url: str
    rules: str
    session_ids: list[str] = field(default_factory=list)
    steps: dict[str, list[dict[str, float]]] = field(
        default_factory=lambda: {"connect": [], "raw": []}
    )

    async def connect(self) -> float:
        """Create, connect over CDP, ``goto``, disconnect and ``DELETE``; milliseconds."""
        laps = Laps()
        session = await self.api.open({"connect": True})
        laps.lap("create")
        client = await self.env.playwright.chromium.connect_over_cdp(
            session["connectUrl"], headers=self.env.headers
        )
        laps.lap("connect_over_cdp")
        try:
            _loaded(await client.contexts[0].pages[0].goto(self.url))
            laps.lap("goto")
        finally:
            await client.close()  # the client's connection; the session is closed below
        laps.lap("disconnect")
        await self.api.close(session["id"])
        laps.lap("DELETE")
        self.session_ids.append(session["id"])
        self.steps["connect"].append(laps.ms)
        return laps.total()

    async def raw(self) -> float:
        """Launch a browser, open a page, ``goto``, close the browser; milliseconds."""
        laps = Laps()
        path = self.env.cluster.settings.chromium_path
        browser = await launch_raw_chromium(self.env.playwright, path, self.rules)
        laps.lap("launch")
        try:
            page = await browser.new_page(ignore_https_errors=True)
            laps.lap("new_page")
            _loaded(await page.goto(self.url))
            laps.lap("goto")
        finally:
            await browser.close()
        laps.lap("close")
        self.steps["raw"].append(laps.ms)
        return laps.total()


class Laps:
    """Milliseconds of a sample's steps, in order."""

    def __init__(self) -> None:
        self._started = self._last = time.perf_counter()
        self.ms: dict[str, float] = {}

    def lap(self, step: str) -> None:
        """End ``step`` now."""
        now = time.perf_counter()
        self.ms[step] = (now - self._last) * 1000
        self._last = now

    def total(self) -> float:
        """Milliseconds since the first step began."""
        return (self._last - self._started) * 1000


def _loaded(response: Response | None) -> None:
    if response is None or not response.ok:
        raise RuntimeError(f"the page did not load: {response}")


def cold_launches(owner: Instance) -> set[str]:
    """Sessions for which the owner launched a browser (no warm one was ready), from its
    log (``connect_launched`` events; warm browsers are tagged ``cwarm-``)."""
    found = set()
    for line in owner.logs().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            tag = str(entry.get("tag", ""))
            if entry.get("event") == "connect_launched" and not tag.startswith("cwarm-"):
                found.add(tag)
    return found


async def bench_flow(env: ServeEnv, config: Config) -> dict[str, Any]:
    """Paced rounds of both sides, then connect sessions back to back."""
    lean = env.lean("a")
    rules = chromium_host_resolver_rules(env.site, env.backing.canary)
    flow = Flow(env, ServeApi(lean), env.site.url("/"), rules)
    try:
        samplers: dict[str, Sampler] = {"connect": flow.connect, "raw": flow.raw}
        paced = await interleave(
            samplers, config.flow_samples, config.flow_warmup,
            pause_s=config.pause_s, jitter_s=config.jitter_s,
        )  # fmt: skip
        paced_ids = flow.session_ids[config.flow_warmup :]
        await asyncio.sleep(config.pause_s)
        first_burst = len(flow.session_ids)
        burst = await interleave({"connect": flow.connect}, config.burst_samples, 0, jitter_s=0)
        burst_ids = flow.session_ids[first_burst:]
    finally:
        await lean.aclose()
    cold = cold_launches(env.instances["a"])
    warm = config.flow_warmup
    return {
        "connect_paced": paced["connect"],
        "raw_paced": paced["raw"],
        "connect_back_to_back": burst["connect"],
        "cold_paced": sum(sid in cold for sid in paced_ids),
        "cold_back_to_back": sum(sid in cold for sid in burst_ids),
        "steps": {
            "raw, paced": flow.steps["raw"][warm:],
            "connect, paced": flow.steps["connect"][warm:first_burst],
            "connect, back to back": flow.steps["connect"][first_burst:],
        },
    }


def step_stats(steps: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, Stats]]:
    """Per side, per step: statistics of the step's milliseconds."""
    return {
        side: {step: Stats.of([s[step] for s in samples]) for step in samples[0]}
        for side, samples in steps.items()
        if samples
    }


# --------------------------------------------------------------------------- CDP round trip


class BareCdp:
    """A CDP client on one WebSocket: numbered calls, answers by id, events dropped."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._next = 0

    @classmethod
    async def open(cls, url: str, headers: dict[str, str] | None = None) -> BareCdp:
        """Connect to ``url`` as CDP clients do (no compression)."""
        ws = await connect(url, additional_headers=headers, max_size=None, compression=None)
        return cls(ws)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """One call; its ``result`` (raises on an error answer)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        await self.ws.send(json.dumps(message))
        while True:
            answer = json.loads(await self.ws.recv())
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result

    async def attach_page(self) -> str:
        """Attach to the browser's first page; the flat session id."""
        targets = (await self.call("Target.getTargets"))["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        attached = await self.call(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
        )
        session: str = attached["sessionId"]
        return session


async def bench_cdp(env: ServeEnv, config: Config) -> dict[str, list[float]]:
    """``Runtime.evaluate`` round trips: direct, through the owner, through ``b``."""
    url = env.site.url("/")
    rules = chromium_host_resolver_rules(env.site, env.backing.canary)
    with tempfile.TemporaryDirectory(prefix="ssbench-devtools-") as profile:
        direct = await env.playwright.chromium.launch_persistent_context(
            profile,
            executable_path=env.cluster.settings.chromium_path,
            headless=True,
            chromium_sandbox=False,
            args=[*chromium_args(), f"--host-resolver-rules={rules}", *DEBUGGING_FLAGS],
            ignore_https_errors=True,
        )
        api = ServeApi(env.lean("a"))
        try:
            _loaded(await direct.pages[0].goto(url))
            port, path = (Path(profile) / PORT_FILE).read_text().split()[:2]
            sid = await api.create({"connect": True})
            try:
                await api.act(sid, {"type": "goto", "payload": {"url": url}})
                urls = {
                    "direct": f"ws://127.0.0.1:{int(port)}{path}",
                    "owner": f"ws://127.0.0.1:{env.instances['a'].port}/v1/sessions/{sid}/cdp",
                    "routed": f"ws://127.0.0.1:{env.instances['b'].port}/v1/sessions/{sid}/cdp",
                }
                return await _round_trips(urls, env.headers, config)
            finally:
                await api.close(sid)
        finally:
            await api.http.aclose()
            await direct.close()


async def _round_trips(
    urls: dict[str, str], headers: dict[str, str], config: Config
) -> dict[str, list[float]]:
    """Interleaved round trips, one bare CDP connection per side (the key on the relayed
    ones)."""
    clients = {
        name: await BareCdp.open(url, None if name == "direct" else headers)
        for name, url in urls.items()
    }
    try:
        samplers = {name: await _round_trip(cdp) for name, cdp in clients.items()}
        return await interleave(
            samplers, config.cdp_samples, config.cdp_warmup,
            pause_s=config.cdp_pause_s, jitter_s=config.jitter_s,
        )  # fmt: skip
    finally:
        for cdp in clients.values():
            await cdp.ws.close()


async def _round_trip(cdp: BareCdp) -> Sampler:
    page = await cdp.attach_page()
    return lambda: sample_ms(lambda: cdp.call("Runtime.evaluate", EVALUATE, page))


# --------------------------------------------------------------------------- report


async def run(config: Config) -> dict[str, Any]:
    """Start everything, measure, close everything; the raw figures."""
    clock = PhaseClock()
    async with serve_env(["a", "b"], 1, "INFO", connect_warm=CONNECT_WARM) as env:
        info = machine_info(env.raw.version)
        await asyncio.sleep(SETTLE_S)  # the instances' first warm browsers
        clock.lap("setup")
        flow = await bench_flow(env, config)
        clock.lap("connect flow")
        await asyncio.sleep(SETTLE_S)
        cdp = await bench_cdp(env, config)
        clock.lap("CDP round trip")
    info["loadavg_end"] = loadavg()
    return {
        "machine": info,
        "config": asdict(config),
        "connect_warm": CONNECT_WARM,
        "flow_ms": flow,
        "cdp_ms": cdp,
        "phases_s": clock.laps,
        "elapsed_s": clock.total(),
    }


def flow_rows(flow: dict[str, Any]) -> list[Row]:
    """Raw launch, paced connect sessions (target), back-to-back ones (no target)."""
    raw = Stats.of(flow["raw_paced"])
    paced = Stats.of(flow["connect_paced"])
    burst = Stats.of(flow["connect_back_to_back"])
    measure = "open, goto /, close"
    return [
        Row(measure, "raw Playwright: launch + new_page", raw),
        ratio_row(measure, "connect session, paced", paced, raw, FLOW_TARGET),
        Row(measure, "connect session, back to back (no target)", burst, burst.p50 / raw.p50),
    ]


def cdp_rows(cdp: dict[str, list[float]]) -> list[Row]:
    """Direct, through the owner's relay, routed (both against direct)."""
    direct = Stats.of(cdp["direct"])
    measure = 'Runtime.evaluate "1"'
    return [
        Row(measure, "direct to the browser's DevTools", direct),
        ratio_row(measure, "relay on the owner", Stats.of(cdp["owner"]), direct, RELAY_TARGET),
        ratio_row(
            measure, "relay through another instance", Stats.of(cdp["routed"]), direct,
            ROUTED_TARGET,
        ),
    ]  # fmt: skip


def report(result: dict[str, Any]) -> tuple[str, list[Row]]:
    """The Markdown report and its rows."""
    config, flow = result["config"], result["flow_ms"]
    flows, cdps = flow_rows(flow), cdp_rows(result["cdp_ms"])
    direct = cdps[0].stats.p50
    added = [f"{row.side}: {row.stats.p50 - direct:+.2f} ms" for row in cdps[1:]]
    pace = f"{config['pause_s'] * 1000:.0f} ms plus a random 0-{config['jitter_s'] * 1000:.1f} ms"
    text = [
        "## Connect: sessions against a browser launch, and the CDP relay",
        "",
        machine_lines(result["machine"]),
        f"- two `sessionshot serve` processes (`a` owns the sessions), connect_warm="
        f"{result['connect_warm']}; the client is the bench's Playwright",
        f"- run time: {result['elapsed_s']} s ("
        + ", ".join(f"{name} {secs} s" for name, secs in result["phases_s"].items()) + ")",
        "",
        f"### Connect flow ({config['flow_samples']} samples per side after "
        f"{config['flow_warmup']} warm-up rounds; paced: {pace} after every sample)",
        "",
        markdown_table(flows, tail="p90"),
        "",
        f"Sessions that found no warm browser: {flow['cold_paced']} of "
        f"{len(flow['connect_paced'])} paced, {flow['cold_back_to_back']} of "
        f"{len(flow['connect_back_to_back'])} back to back. Where the time goes:",
        "",
        layers_table(step_stats(flow["steps"])),
        "",
        f"### CDP round trip ({config['cdp_samples']} samples per side after "
        f"{config['cdp_warmup']} warm-up rounds, "
        f"{config['cdp_pause_s'] * 1000:.0f} ms plus a random 0-"
        f"{config['jitter_s'] * 1000:.1f} ms apart)",
        "",
        markdown_table(cdps, tail="p90", digits=2),
        "",
        f"Added at p50 against direct: {'; '.join(added)}.",
    ]  # fmt: skip
    return "\n".join(text), [*flows, *cdps]


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add = parser.add_argument
    add("--flow-samples", type=int, default=30, help="connect flow, per side (30)")
    add("--flow-warmup", type=int, default=2, help="connect flow rounds dropped first (2)")
    add("--pause-ms", type=float, default=1000, help="pause after a flow sample (1000)")
    add("--burst-samples", type=int, default=16, help="back-to-back connect sessions (16)")
    add("--cdp-samples", type=int, default=600, help="CDP round trips, per side (600)")
    add("--cdp-warmup", type=int, default=30, help="CDP rounds dropped first (30)")
    add("--cdp-pause-ms", type=float, default=2, help="pause after a round trip (2)")
    add("--jitter-ms", type=float, default=FRAME_S * 1000, help="random extra pause, 0..this")
    add("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args(argv)
    config = Config(
        args.flow_samples, args.flow_warmup, args.pause_ms / 1000, args.burst_samples,
        args.cdp_samples, args.cdp_warmup, args.cdp_pause_ms / 1000, args.jitter_ms / 1000,
    )  # fmt: skip
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit status 1 when a target is missed."""
    config, json_path = parse_args(argv)
    with quiet_machine("bench/connect.py", MAX_LOAD):
        result = asyncio.run(run(config))
    text, table_rows = report(result)
    return publish(text, table_rows, result, json_path)


if __name__ == "__main__":
    sys.exit(main())
