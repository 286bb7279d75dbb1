"""Routing: one action's round trip on the owner, through another instance, and raw Playwright.

Usage: ``.venv/bin/python bench/routing.py [--samples 300] [--action evaluate|query]
[--json out.json]``

Two real ``sessionshot serve`` processes, ``a`` and ``b``, share a private redis-server (SPEC
section 4, "Routing between instances"). One session lives in ``a``'s browser on ``/form``;
a raw Playwright Chromium (the service's launch flags) has a page on the same URL. Sides,
interleaved in every order in turn (:func:`bench.common.interleave`):

* **raw** - ``page.evaluate("1")`` (or ``page.query_selector("#btn")``) in process;
* **owner-direct** - the action over HTTP/1.1 keep-alive to ``a``;
* **routed** - the same over HTTP to ``b``, which forwards it to ``a`` through Redis (``a``'s
  inbox list, a reply list) and answers as if local.

The figure of interest is the routed hop: routed p50 minus owner-direct p50 (target: at most
3 ms). A second phase, after the measured one so it never touches the figures, times from
this process the Redis round trips a forwarded request makes (``sessions/router.py``:
``ZSCORE`` of the owner's heartbeat, the ``RPUSH``+``EXPIRE`` pipeline, a ``BLPOP`` woken
by a push, the reply) and the HTTP floor of both instances, to show where the hop goes.
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
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aredis
from playwright.async_api import Browser, Page, ViewportSize

from bench.common import (
    FRAME_S,
    Row,
    Sampler,
    Stats,
    Target,
    exit_status,
    interleave,
    layers_table,
    loadavg,
    machine_info,
    machine_lines,
    markdown_table,
    ratio_row,
    sample_ms,
    serve_env,
    write_json,
)
from sessions.keys import INBOX_TTL_S, SessionKeys
from sessions.redis_types import text
from tests.support.cluster import Cluster, Instance
from tests.support.target_site import TargetSite

HOP_TARGET_MS = 3.0
HOP_TARGET = Target(f"p50 <= owner-direct + {HOP_TARGET_MS:g} ms", 1.0, HOP_TARGET_MS)
DEFAULT_VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
ACTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "evaluate": ({"type": "evaluate", "payload": {"expression": "1"}}, 'evaluate "1"'),
    "query": ({"type": "query", "payload": {"selector": "#btn"}}, "query #btn"),
}


@dataclass(frozen=True)
class Config:
    """How much to measure."""

    samples: int
    warmup: int
    pause_s: float
    jitter_s: float
    action: str
    breakdown: int


# --------------------------------------------------------------------------- environment


@dataclass
class RoutingEnv:
    """Everything the bench talks to; built by :func:`routing_env`."""

    cluster: Cluster
    a: Instance
    b: Instance
    site: TargetSite
    raw: Browser
    key: str

    @property
    def headers(self) -> dict[str, str]:
        """The API key's ``Authorization`` header."""
        return {"Authorization": f"Bearer {self.key}"}


@asynccontextmanager
async def routing_env() -> AsyncIterator[RoutingEnv]:
    """Redis, the sites, ``sessionshot serve`` ``a`` and ``b``, a raw Chromium; all closed
    on exit."""
    async with serve_env(["a", "b"], warm_contexts=1) as env:
        a, b = env.instances["a"], env.instances["b"]
        yield RoutingEnv(env.cluster, a, b, env.site, env.raw, env.api_key)


# --------------------------------------------------------------------------- round trip


@dataclass
class Targets:
    """A raw page and a session owned by ``a``, both on ``/form``."""

    page: Page
    session_id: str


async def open_targets(env: RoutingEnv) -> Targets:
    """Navigate both to ``/form`` (the session through its owner)."""
    url = env.site.url("/form")
    context = await env.raw.new_context(ignore_https_errors=True, viewport=DEFAULT_VIEWPORT)
    page = await context.new_page()
    await page.goto(url)
    created = await env.a.http.post("/v1/sessions", headers=env.headers, json={})
    if created.status_code != 201 or created.headers.get("X-Session-Owner") != "a":
        raise RuntimeError(f"create on a answered {created.status_code}: {created.text}")
    session_id: str = created.json()["id"]
    goto = await post_action(env, env.a, session_id, {"type": "goto", "payload": {"url": url}})
    if goto.get("status") != 200:
        raise RuntimeError(f"goto answered {goto}")
    return Targets(page, session_id)


async def post_action(
    env: RoutingEnv, inst: Instance, session_id: str, action: dict[str, Any]
) -> dict[str, Any]:
    """One action through ``inst``; its body (raises unless 200 from owner ``a``)."""
    response = await inst.http.post(
        f"/v1/sessions/{session_id}/actions", headers=env.headers, json=action
    )
    if response.status_code != 200 or response.headers.get("X-Session-Owner") != "a":
        raise RuntimeError(f"{inst.id} answered {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def raw_call(page: Page, action: str) -> Callable[[], Awaitable[object]]:
    """What the raw side runs for ``action``."""
    if action == "evaluate":
        return lambda: page.evaluate("1")
    return lambda: page.query_selector("#btn")


async def bench_round_trip(
    env: RoutingEnv, targets: Targets, config: Config
) -> dict[str, list[float]]:
    """Interleaved samples per side; checks every action was counted on the session."""
    action, _ = ACTIONS[config.action]
    sid = targets.session_id
    raw = raw_call(targets.page, config.action)
    samplers: dict[str, Sampler] = {
        "raw": lambda: sample_ms(raw),
        "direct": lambda: sample_ms(lambda: post_action(env, env.a, sid, action)),
        "routed": lambda: sample_ms(lambda: post_action(env, env.b, sid, action)),
    }
    before = await session_actions(env, sid)
    results = await interleave(
        samplers, config.samples, config.warmup, pause_s=config.pause_s, jitter_s=config.jitter_s
    )
    counted = await session_actions(env, sid) - before
    expected = 2 * (config.samples + config.warmup)
    if counted != expected:
        raise RuntimeError(f"the session counted {counted} actions, expected {expected}")
    return results


async def session_actions(env: RoutingEnv, session_id: str) -> int:
    """The session's ``actionCount`` (read through ``b``)."""
    response = await env.b.http.get(f"/v1/sessions/{session_id}", headers=env.headers)
    count: int = response.json()["actionCount"]
    return count


# --------------------------------------------------------------------------- breakdown


async def redis_breakdown(env: RoutingEnv, session_id: str, rounds: int) -> dict[str, Stats]:
    """The Redis round trips of one forwarded request, timed from this process.

    Two connections play the two instances: the forwarder pushes to an inbox a blocked
    ``BLPOP`` is waiting on, the "owner" pops it and pushes a reply the forwarder is
    blocked on, as ``sessions/router.py`` does (same keys' shapes, same pipeline).
    """
    keys = SessionKeys(env.cluster.prefix)
    forwarder = aredis.Redis.from_url(env.cluster.settings.redis_url, decode_responses=True)
    owner = aredis.Redis.from_url(env.cluster.settings.redis_url, decode_responses=True)
    inbox = keys.inbox(f"bench-{secrets.token_hex(3)}")
    payload = '{"id":"x","op":"act","key_id":"k","session_id":"s","action":{"type":"evaluate"}}'
    stop = asyncio.Event()

    async def serve_inbox() -> None:  # the owner's loop: pop, answer on the reply list
        while not stop.is_set():
            got = await owner.blpop([inbox], timeout=0.2)
            if got is None:
                continue
            reply = keys.reply(text(got[1]))
            async with owner.pipeline(transaction=False) as pipe:
                pipe.rpush(reply, "{}")
                pipe.expire(reply, INBOX_TTL_S)
                await pipe.execute()

    async def push() -> None:
        async with forwarder.pipeline(transaction=False) as pipe:
            pipe.rpush(inbox, payload)
            pipe.expire(inbox, INBOX_TTL_S)
            await pipe.execute()

    async def forward() -> None:  # push a message id, wait for its reply
        message = uuid.uuid4().hex
        async with forwarder.pipeline(transaction=False) as pipe:
            pipe.rpush(inbox, message)
            pipe.expire(inbox, INBOX_TTL_S)
            await pipe.execute()
        got = await forwarder.blpop([keys.reply(message)], timeout=5)
        if got is None:
            raise RuntimeError("no reply in the simulated forward")

    ws_id = text(await forwarder.get(keys.session_workspace(session_id)))
    samplers: dict[str, Sampler] = {
        "PING": lambda: sample_ms(forwarder.ping),
        "ZSCORE heartbeat (forward: owner alive?)": lambda: sample_ms(
            lambda: forwarder.zscore(keys.instances(), "a")
        ),
        "HGETALL session (routed: record, owner)": lambda: sample_ms(
            lambda: forwarder.hgetall(keys.session(ws_id, session_id))
        ),
    }
    try:
        results = await interleave(samplers, rounds, 5, pause_s=0.002, jitter_s=0.001)
        pushes = await _timed_rounds(push, rounds)
        await owner.delete(inbox)
        server = asyncio.get_running_loop().create_task(serve_inbox())
        await asyncio.sleep(0.3)
        handoffs = await _timed_rounds(forward, rounds)
        stop.set()
        await server
    finally:
        await owner.delete(inbox)
        await forwarder.aclose()
        await owner.aclose()
    out = {name: Stats.of(v) for name, v in results.items()}
    out["RPUSH+EXPIRE pipeline (one push)"] = Stats.of(pushes)
    out["push -> BLPOP wakes -> reply pipeline -> BLPOP wakes"] = Stats.of(handoffs)
    return out


async def _timed_rounds(run: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        samples.append(await sample_ms(run))
        await asyncio.sleep(0.002)
    return samples


async def http_floor(env: RoutingEnv, session_id: str, rounds: int) -> dict[str, Stats]:
    """``GET /v1/sessions/{id}`` on each instance: HTTP, auth, rate limit, one ``HGETALL``;
    no browser and no routing (answered from Redis wherever it lands)."""
    path = f"/v1/sessions/{session_id}"

    def get_on(inst: Instance) -> Sampler:
        return lambda: sample_ms(lambda: inst.http.get(path, headers=env.headers))

    samplers = {f"GET session on {inst.id}": get_on(inst) for inst in (env.a, env.b)}
    results = await interleave(samplers, rounds, 5, pause_s=0.005, jitter_s=FRAME_S)
    return {name: Stats.of(v) for name, v in results.items()}


# --------------------------------------------------------------------------- report


def paired_hop(results: dict[str, list[float]]) -> Stats:
    """Per round, routed minus owner-direct (the same round ran both)."""
    return Stats.of([r - d for r, d in zip(results["routed"], results["direct"], strict=True)])


def rows(results: dict[str, list[float]], label: str) -> list[Row]:
    """Raw, owner-direct (ratio against raw) and routed (against owner-direct, with target)."""
    raw = Stats.of(results["raw"])
    direct = Stats.of(results["direct"])
    routed = Stats.of(results["routed"])
    return [
        Row(label, "raw Playwright in process", raw),
        Row(label, "API owner-direct (HTTP to a)", direct, direct.p50 / raw.p50),
        ratio_row(label, "API routed (HTTP to b, owner a)", routed, direct, HOP_TARGET),
    ]


async def run(config: Config) -> dict[str, Any]:
    """Start everything, measure, close everything; the raw figures and report pieces."""
    started = time.perf_counter()
    async with routing_env() as env:
        info = machine_info(env.raw.version)
        targets = await open_targets(env)
        results = await bench_round_trip(env, targets, config)
        parts: dict[str, dict[str, Stats]] = {}
        if config.breakdown:
            parts["redis, from the bench process"] = await redis_breakdown(
                env, targets.session_id, config.breakdown
            )
            parts["HTTP floor"] = await http_floor(env, targets.session_id, config.breakdown)
    info["loadavg_end"] = loadavg()
    return {
        "machine": info,
        "config": asdict(config),
        "round_trip_ms": results,
        "breakdown": parts,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def report(result: dict[str, Any]) -> tuple[str, list[Row]]:
    """The Markdown report."""
    config = result["config"]
    results = result["round_trip_ms"]
    _, label = ACTIONS[config["action"]]
    table_rows = rows(results, label)
    direct, routed = table_rows[1].stats, table_rows[2].stats
    hop = routed.p50 - direct.p50
    paired = paired_hop(results)
    verdict = "pass" if hop <= HOP_TARGET_MS else "**FAIL**"
    text = [
        "## Routing: owner-direct against routed against raw Playwright",
        "",
        machine_lines(result["machine"]),
        f"- {config['samples']} samples per side after {config['warmup']} warm-up rounds, "
        "interleaved (every order of the sides in turn); after each sample "
        f"{config['pause_s'] * 1000:.0f} ms plus a random 0-{config['jitter_s'] * 1000:.1f} ms",
        "- two `sessionshot serve` processes (`a` owns the session, `b` forwards through "
        "Redis), one private redis-server, HTTP/1.1 keep-alive; ratios: owner-direct against "
        "raw, routed against owner-direct",
        f"- run time: {result['elapsed_s']} s",
        "",
        markdown_table(table_rows),
        "",
        f"**routed hop adds {hop:.2f} ms at p50** (p95: {routed.p95 - direct.p95:.2f} ms; "
        f"median of per-round differences {paired.p50:.2f} ms) - target <= "
        f"{HOP_TARGET_MS:g} ms: {verdict}",
    ]
    if result["breakdown"]:
        text += ["", "### Where a hop goes (separate phase, after the measured one)", ""]
        text.append(layers_table(result["breakdown"]))
        text += ["", hop_note(result["breakdown"], hop)]
    return "\n".join(text), table_rows


def hop_note(parts: dict[str, dict[str, Stats]], hop: float) -> str:
    """The hop against the Redis work a forwarded request adds (p50s)."""
    redis = parts["redis, from the bench process"]
    extra = [
        "HGETALL session (routed: record, owner)",
        "ZSCORE heartbeat (forward: owner alive?)",
        "push -> BLPOP wakes -> reply pipeline -> BLPOP wakes",
    ]
    redis_ms = sum(redis[name].p50 for name in extra)
    ping = redis["PING"].p50
    return (
        f"A routed action adds, over an owner-direct one, about {redis_ms:.2f} ms of Redis "
        f"at p50 from this process (HGETALL + ZSCORE + the push/pop/reply/pop chain; one PING "
        f"is {ping:.2f} ms); the rest of the {hop:.2f} ms hop is the two processes' own work "
        "(JSON and pydantic on both sides, a task per forwarded request, event-loop wake-ups) "
        "and waiting for a core on a shared machine."
    )


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=300, help="samples per side (300)")
    parser.add_argument("--warmup", type=int, default=20, help="rounds dropped first (20)")
    parser.add_argument("--action", choices=sorted(ACTIONS), default="evaluate")
    parser.add_argument("--pause-ms", type=float, default=5, help="pause after a sample (5)")
    parser.add_argument(
        "--jitter-ms", type=float, default=FRAME_S * 1000, help="random extra pause, 0..this"
    )
    parser.add_argument(
        "--breakdown",
        type=int,
        default=200,
        metavar="N",
        help="rounds of the where-does-the-hop-go phase (200; 0 = skip it)",
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args(argv)
    config = Config(
        samples=args.samples,
        warmup=args.warmup,
        pause_s=args.pause_ms / 1000,
        jitter_s=args.jitter_ms / 1000,
        action=args.action,
        breakdown=args.breakdown,
    )
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit status 1 when the hop misses its target."""
    config, json_path = parse_args(argv)
    result = asyncio.run(run(config))
    text, table_rows = report(result)
    print(text)
    if json_path is not None:
        direct, routed = table_rows[1].stats, table_rows[2].stats
        result["rows"] = [r.as_json() for r in table_rows]
        result["hop_p50_ms"] = routed.p50 - direct.p50
        result["hop_paired_median_ms"] = paired_hop(result["round_trip_ms"]).p50
        write_json(json_path, result)
    return exit_status(table_rows)


if __name__ == "__main__":
    sys.exit(main())
