"""The MCP server against Playwright MCP: an agent's loop, tool by tool, and snapshot size.

Usage: ``.venv/bin/python bench/mcp.py [--rounds 40] [--click-samples 200] [--json out.json]``
(``make bench`` installs Playwright MCP first: ``npm ci`` in ``bench/mcp/``).

Both sides are driven by the official MCP Python client over Streamable HTTP, each with one
client session kept for the run:

* **ours** - ``/mcp`` of a real ``sessionshot serve`` process (its own browser, uvloop);
* **Playwright MCP** - ``@playwright/mcp`` (pinned in ``bench/mcp/package-lock.json``) as
  an HTTP server on 127.0.0.1, headless, on the same ``/usr/bin/chromium`` with the
  service's launch flags (its config file's ``launchOptions.args``), isolated profile,
  everything else at its defaults.

Every round runs the loop *navigate to /form, snapshot, click the button by its ref, read
the page's text* on each side, sides interleaved in every order in turn; each tool call is
timed on its own (the text is ``browser_get_content`` with ``format: text`` on ours,
``browser_evaluate`` of ``document.body.innerText`` on theirs, which has no text tool).
Targets: each of our tools' p50 at most 1.0 x theirs, and our ``browser_snapshot`` text no
longer than theirs for the same page. A third measure holds the REST API's ``click`` by
``ref`` to the same click by ``selector`` (within 1.05 x at p50).

While ``/tmp/bench.quiet`` exists someone else is measuring: the bench waits for it to go,
then holds it itself until it is done.
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
import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx2
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

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
    loadavg,
    machine_info,
    machine_lines,
    markdown_table,
    publish,
    ratio_row,
    sample_ms,
    serve_env,
)
from sessions.browser import chromium_args
from tests.support.hosts import chromium_host_resolver_rules
from tests.support.procs import free_port

HERE = Path(__file__).resolve().parent
PLAYWRIGHT_MCP = HERE / "mcp" / "node_modules" / "@playwright" / "mcp" / "cli.js"
QUIET = Path("/tmp/bench.quiet")
WARM_CONTEXTS = 2
TOOLS = ("navigate", "snapshot", "click", "text")
PAUSE_S = 0.05
"""After every tool call, whatever its side: the other browser's aftermath settles."""
CLICK_PAUSE_S = 0.1

TOOL_TARGET = Target("p50 <= 1.0 x Playwright MCP", 1.0)
SIZE_TARGET = "ours <= theirs"
REF_TARGET = Target("p50 <= 1.05 x by selector", 1.05)


@dataclass(frozen=True)
class Config:
    """How much to measure."""

    rounds: int
    warmup: int
    click_samples: int
    jitter_s: float


# --------------------------------------------------------------------------- the quiet file


@contextlib.contextmanager
def quiet_machine(poll_s: float = 60.0) -> Any:
    """Wait while someone else measures (``/tmp/bench.quiet``), then hold the file."""
    while QUIET.exists():
        print(f"waiting: {QUIET} exists (someone is measuring)", file=sys.stderr)
        time.sleep(poll_s)
    QUIET.write_text(f"bench/mcp.py pid {os.getpid()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            QUIET.unlink()


# --------------------------------------------------------------------------- the sides


@dataclass
class Side:
    """One MCP server, its client session, and how it reads a page's text."""

    name: str
    session: ClientSession
    text_call: tuple[str, dict[str, Any]]
    target: str
    """The name of a click's element argument (``ref``; Playwright MCP's is ``target``)."""

    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """A tool call that must succeed."""
        result = await self.session.call_tool(tool, arguments)
        if result.is_error:
            raise RuntimeError(f"{self.name} {tool}: {texts(result)[:1]}")
        return result


def texts(result: types.CallToolResult) -> list[str]:
    """The text blocks of a result."""
    return [block.text for block in result.content if isinstance(block, types.TextContent)]


def button_ref(result: types.CallToolResult) -> str:
    """The ref of the "Click me" button in a snapshot result (whatever its wrapping)."""
    whole = "\n".join(texts(result)).replace('\\"', '"')
    found = re.search(r'button "Click me"[^\n]*?\[ref=(\w+)\]', whole)
    if not found:
        raise RuntimeError(f"no button ref in: {whole[:2000]}")
    return found[1]


@contextlib.asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    """An initialised official MCP client session on ``url``."""
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120))
    async with (
        http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def playwright_mcp(env: ServeEnv) -> AsyncIterator[str]:
    """Playwright MCP as an HTTP server; its ``/mcp`` URL."""
    if not PLAYWRIGHT_MCP.exists():
        raise SystemExit("Playwright MCP is not installed: run `npm ci` in bench/mcp/")
    port = free_port()
    workdir = env.backing.workdir / "playwright-mcp"
    workdir.mkdir()
    rules = chromium_host_resolver_rules(env.site, env.backing.canary)
    executable = env.cluster.settings.chromium_path or "/usr/bin/chromium"
    config = {
        "browser": {
            "browserName": "chromium",
            "isolated": True,
            "launchOptions": {
                "executablePath": executable,
                "headless": True,
                "chromiumSandbox": False,
                "args": [*chromium_args(), f"--host-resolver-rules={rules}"],
            },
            "contextOptions": {"ignoreHTTPSErrors": True},
        },
    }
    (workdir / "config.json").write_text(json.dumps(config))
    log = (workdir / "out.log").open("wb")
    proc = subprocess.Popen(
        ["node", str(PLAYWRIGHT_MCP), "--config", str(workdir / "config.json"),
         "--host", "127.0.0.1", "--port", str(port), "--headless", "--isolated",
         "--executable-path", executable,
         "--ignore-https-errors", "--output-dir", str(workdir / "output")],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await _wait_listening(port, proc, workdir / "out.log")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Playwright MCP exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("Playwright MCP did not listen within 60 s")


# --------------------------------------------------------------------------- measures


async def bench_loop(
    sides: list[Side], url: str, config: Config
) -> tuple[dict[str, dict[str, list[float]]], dict[str, int]]:
    """Per side, per tool: milliseconds of each call; and each side's snapshot length."""
    times: dict[str, dict[str, list[float]]] = {s.name: {t: [] for t in TOOLS} for s in sides}
    sizes: dict[str, int] = {}

    def loop(side: Side) -> Callable[[], Awaitable[float]]:
        async def run() -> float:
            steps: dict[str, float] = {}
            steps["navigate"] = await sample_ms(lambda: side.call("browser_navigate", {"url": url}))
            await asyncio.sleep(PAUSE_S)
            started = time.perf_counter()
            snap = await side.call("browser_snapshot", {})
            steps["snapshot"] = (time.perf_counter() - started) * 1000
            sizes[side.name] = sum(len(t) for t in texts(snap))
            await asyncio.sleep(PAUSE_S)
            ref = button_ref(snap)
            click = {side.target: ref}
            steps["click"] = await sample_ms(lambda: side.call("browser_click", click))
            await asyncio.sleep(PAUSE_S)
            steps["text"] = await sample_ms(lambda: side.call(*side.text_call))
            if not warming[0]:
                for tool, ms in steps.items():
                    times[side.name][tool].append(ms)
            return sum(steps.values())

        return run

    warming = [True]
    samplers = {side.name: loop(side) for side in sides}
    await interleave(samplers, config.warmup, 0, pause_s=PAUSE_S, jitter_s=config.jitter_s)
    warming[0] = False
    await interleave(samplers, config.rounds, 0, pause_s=PAUSE_S, jitter_s=config.jitter_s)
    return times, sizes


async def bench_ref_click(env: ServeEnv, config: Config) -> dict[str, list[float]]:
    """REST ``click`` by ref against the same click by selector, on one session."""
    lean = env.lean("a")
    api = ServeApi(lean)
    try:
        session_id = await api.create({})
        await api.act(session_id, {"type": "goto", "payload": {"url": env.site.url("/form")}})
        snap = await api.act(session_id, {"type": "snapshot", "payload": {"mode": "ai"}})
        found = re.search(r'button "Click me"[^\n]*?\[ref=(\w+)\]', snap["snapshot"])
        if not found:
            raise RuntimeError(f"no button ref in: {snap['snapshot'][:2000]}")
        by_ref = {"type": "click", "payload": {"ref": found[1]}}
        by_selector = {"type": "click", "payload": {"selector": "#btn"}}
        samplers: dict[str, Sampler] = {
            "by ref": lambda: sample_ms(lambda: api.act(session_id, by_ref)),
            "by selector": lambda: sample_ms(lambda: api.act(session_id, by_selector)),
        }
        result = await interleave(
            samplers, config.click_samples, 10, pause_s=CLICK_PAUSE_S, jitter_s=config.jitter_s
        )
        await api.close(session_id)
        return result
    finally:
        await lean.aclose()


async def run(config: Config) -> dict[str, Any]:
    """Start everything, measure, close everything; the raw figures."""
    clock = PhaseClock()
    async with serve_env(["a"], WARM_CONTEXTS) as env, playwright_mcp(env) as theirs_url:
        info = machine_info(env.raw.version)
        ours_url = f"{env.instances['a'].base_url}/mcp"
        clock.lap("setup")
        async with (
            mcp_session(ours_url, env.headers) as ours,
            mcp_session(theirs_url, {}) as theirs,
        ):
            sides = [
                Side("ours", ours, ("browser_get_content", {"format": "text"}), "ref"),
                Side(
                    "Playwright MCP",
                    theirs,
                    ("browser_evaluate", {"function": "() => document.body.innerText"}),
                    "target",
                ),
            ]
            times, sizes = await bench_loop(sides, env.site.url("/form"), config)
        clock.lap("loop")
        ref_click = await bench_ref_click(env, config)
        clock.lap("ref click")
    info["loadavg_end"] = loadavg()
    return {
        "machine": info,
        "config": asdict(config),
        "tool_ms": times,
        "snapshot_chars": sizes,
        "ref_click_ms": ref_click,
        "phases_s": clock.laps,
        "elapsed_s": clock.total(),
    }


# --------------------------------------------------------------------------- report


def rows(result: dict[str, Any]) -> list[Row]:
    """Per tool, ours against theirs; the snapshot sizes; ref against selector."""
    out: list[Row] = []
    for tool in TOOLS:
        theirs = Stats.of(result["tool_ms"]["Playwright MCP"][tool])
        ours = Stats.of(result["tool_ms"]["ours"][tool])
        out.append(Row(tool, "Playwright MCP", theirs))
        out.append(ratio_row(tool, "ours (/mcp)", ours, theirs, TOOL_TARGET))
    loops = {side: [sum(step) for step in zip(*tools.values(), strict=True)]
             for side, tools in result["tool_ms"].items()}  # fmt: skip
    theirs_loop = Stats.of(loops["Playwright MCP"])
    ours_loop = Stats.of(loops["ours"])
    out.append(Row("whole loop (no target)", "Playwright MCP", theirs_loop))
    out.append(
        Row("whole loop (no target)", "ours (/mcp)", ours_loop, ours_loop.p50 / theirs_loop.p50)
    )
    sizes = result["snapshot_chars"]
    one = Stats.of([float(sizes["Playwright MCP"])])
    mine = Stats.of([float(sizes["ours"])])
    out.append(Row("snapshot text (chars, not ms)", "Playwright MCP", one))
    out.append(
        Row("snapshot text (chars, not ms)", "ours (/mcp)", mine, mine.p50 / one.p50,
            SIZE_TARGET, mine.p50 <= one.p50)
    )  # fmt: skip
    by_selector = Stats.of(result["ref_click_ms"]["by selector"])
    by_ref = Stats.of(result["ref_click_ms"]["by ref"])
    out.append(Row("REST click", "by selector", by_selector))
    out.append(ratio_row("REST click", "by ref", by_ref, by_selector, REF_TARGET))
    return out


def report(result: dict[str, Any]) -> tuple[str, list[Row]]:
    """The Markdown report."""
    config = result["config"]
    table_rows = rows(result)
    text = [
        "## MCP: /mcp against Playwright MCP",
        "",
        machine_lines(result["machine"]),
        "- both sides driven by the official MCP Python client over Streamable HTTP, one "
        "client session each; ours: a real `sessionshot serve` process; theirs: "
        "`@playwright/mcp` 0.0.86, headless, isolated, on the same Chromium with the "
        "service's launch flags, its other options at their defaults",
        f"- {config['rounds']} rounds after {config['warmup']} warm-up rounds of the loop "
        "navigate, snapshot, click by ref, read the text; sides interleaved (every order in "
        f"turn), {PAUSE_S * 1000:.0f} ms plus a random 0-{config['jitter_s'] * 1000:.1f} ms "
        "after every call",
        f"- REST click: {config['click_samples']} samples per side on one session, "
        f"{CLICK_PAUSE_S * 1000:.0f} ms apart",
        f"- run time: {result['elapsed_s']} s ("
        + ", ".join(f"{name} {secs} s" for name, secs in result["phases_s"].items())
        + ")",
        "",
        markdown_table(table_rows),
    ]
    return "\n".join(text), table_rows


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=40, help="measured loop rounds (40)")
    parser.add_argument("--warmup", type=int, default=3, help="loop rounds dropped first (3)")
    parser.add_argument(
        "--click-samples", type=int, default=200, help="REST click samples per side (200)"
    )
    parser.add_argument(
        "--jitter-ms", type=float, default=FRAME_S * 1000, help="random extra pause, 0..this"
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args(argv)
    config = Config(args.rounds, args.warmup, args.click_samples, args.jitter_ms / 1000)
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit status 1 when a target is missed."""
    config, json_path = parse_args(argv)
    with quiet_machine():
        result = asyncio.run(run(config))
    text, table_rows = report(result)
    return publish(text, table_rows, result, json_path)


if __name__ == "__main__":
    sys.exit(main())
