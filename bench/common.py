"""What every benchmark shares: the loopback environment, timing statistics and the report.

A bench starts everything it measures itself, inside one event loop, and closes it again:
a private ``redis-server`` in a temporary directory, throwaway TLS material, the HTTPS
target site and the canary (127.0.0.1 / 127.0.0.2), the API (real HTTP on 127.0.0.1 with
its own Chromium) and a *raw* Playwright Chromium launched with the service's own flags.
All traffic stays on 127.0.0.0/8.

A bench runs as a script (``.venv/bin/python bench/<name>.py``) and must first put the
repository root ahead of ``bench/`` on ``sys.path`` (see ``bench/sessions.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import json
import math
import os
import platform
import random
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

from app.logs import configure_logging
from sessions.browser import chromium_args
from tests.support.canary_site import CanarySite
from tests.support.capture_stack import CaptureStack
from tests.support.cluster import Cluster, Instance
from tests.support.hosts import chromium_host_resolver_rules, host_map
from tests.support.procs import RedisServer, ServiceProcess
from tests.support.service import Service, settings_for_tests, start_service
from tests.support.target_site import TargetSite
from tests.support.tls import generate_tls_material

T = TypeVar("T")

DEFAULT_CHROMIUM = "/usr/bin/chromium"
BENCH_RATE_LIMIT = "1000000/minute"
"""A bench sends far more than the default 600/minute; the limiter still runs (and costs)."""
BENCH_DOMAINS = ("app.test",)
"""Hosts the bench workspace may browse."""


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating between closest ranks like numpy."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Stats:
    """Summary of one side's samples, in milliseconds."""

    n: int
    p50: float
    p90: float
    p95: float
    mean: float
    min: float
    max: float
    p99: float = math.nan

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Stats:
        """Summarise ``samples_ms``."""
        return cls(
            n=len(samples_ms),
            p50=percentile(samples_ms, 50),
            p90=percentile(samples_ms, 90),
            p95=percentile(samples_ms, 95),
            mean=sum(samples_ms) / len(samples_ms),
            min=min(samples_ms),
            max=max(samples_ms),
            p99=percentile(samples_ms, 99),
        )


async def timed_ms(run: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    """Await ``run()``; its wall time in milliseconds and its result."""
    started = time.perf_counter()
    result = await run()
    return (time.perf_counter() - started) * 1000, result


async def sample_ms(run: Callable[[], Awaitable[object]]) -> float:
    """Await ``run()``; its wall time in milliseconds."""
    ms, _ = await timed_ms(run)
    return ms


class PhaseClock:
    """Wall time of a run's phases, for the report (``lap`` closes the current phase)."""

    def __init__(self) -> None:
        self._started = self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """End phase ``name`` now."""
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 1)
        self._last = now

    def total(self) -> float:
        """Seconds since the clock was made."""
        return round(time.perf_counter() - self._started, 1)


def balanced_order(names: Sequence[str], round_no: int) -> list[str]:
    """The sides' order for round ``round_no``: every permutation in turn.

    Over a multiple of ``len(names)!`` rounds each side runs first, last, and right after
    every other side equally often, so whatever one side leaves behind (a refill, a
    renderer exiting) is spread evenly over the others.
    """
    orders = list(itertools.permutations(names))
    return list(orders[round_no % len(orders)])


Sampler = Callable[[], Awaitable[float]]
"""Takes one sample and returns it in milliseconds (cleaning up untimed)."""


FRAME_S = 1 / 60
"""One frame of Chromium's 60 Hz clock: what pause jitter must span (see :func:`interleave`)."""


async def interleave(
    samplers: dict[str, Sampler],
    samples: int,
    warmup: int,
    *,
    pause_s: float = 0.0,
    settle: Callable[[], Awaitable[None]] | None = None,
    jitter_s: float = FRAME_S,
    seed: int = 1,
) -> dict[str, list[float]]:
    """Rounds of one sample per side in :func:`balanced_order`; ``warmup`` rounds dropped.

    After every sample, whatever its side: ``settle()`` (if given), then ``pause_s`` plus a
    random ``0..jitter_s``. The jitter matters: anything that waits for animation frames
    (a click's actionability checks) takes "time to the next frame" plus a constant, and a
    fixed pause phase-locks the samples to the frame clock, so a side can look faster or
    slower than it is by up to a frame. Jitter spanning a frame makes every side start at
    a uniformly random phase, as real requests do.
    """
    rng = random.Random(seed)
    names = list(samplers)
    results: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(warmup + samples):
        for name in balanced_order(names, round_no):
            ms = await samplers[name]()
            if round_no >= warmup:
                results[name].append(ms)
            if settle is not None:
                await settle()
            await asyncio.sleep(pause_s + rng.uniform(0, jitter_s))
    return results


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Row:
    """One line of the report: a side, its figures and, when it has one, its target."""

    measure: str
    side: str
    stats: Stats
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None

    def as_json(self) -> dict[str, Any]:
        """The row for ``--json`` output (its stats made JSON by :func:`write_json`)."""
        return {"measure": self.measure, "side": self.side, "stats": self.stats,
                "ratio": self.ratio, "target": self.target, "passed": self.passed}  # fmt: skip


def exit_status(rows: Sequence[Row]) -> int:
    """1 when a row missed its target, else 0."""
    return 0 if all(r.passed is not False for r in rows) else 1


@dataclass(frozen=True)
class Target:
    """A bound on a side's p50 against the baseline's: ``p50 <= factor * base + slack_ms``."""

    text: str
    factor: float
    slack_ms: float = 0.0
    strict: bool = False

    def met(self, p50: float, base_p50: float) -> bool:
        """Whether ``p50`` is within the bound."""
        bound = self.factor * base_p50 + self.slack_ms
        return p50 < bound if self.strict else p50 <= bound


def ratio_row(measure: str, side: str, stats: Stats, base: Stats, target: Target) -> Row:
    """A row compared with ``base`` at p50 and checked against ``target``."""
    ratio = stats.p50 / base.p50
    return Row(measure, side, stats, ratio, target.text, target.met(stats.p50, base.p50))


def markdown_table(rows: Sequence[Row], tail: str = "p95", digits: int = 1) -> str:
    """The rows as a Markdown table (ratios against each measure's baseline); ``tail`` is
    the high percentile shown beside p50 (``"p90"`` or ``"p95"``), ``digits`` the
    milliseconds' decimals."""
    lines = [
        f"| measure | side | n | p50 ms | {tail} ms | ratio (p50) | target | result |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        result = "" if row.passed is None else ("pass" if row.passed else "**FAIL**")
        high = getattr(row.stats, tail)
        lines.append(
            f"| {row.measure} | {row.side} | {row.stats.n} | {row.stats.p50:.{digits}f} "
            f"| {high:.{digits}f} | {ratio} | {row.target} | {result} |"
        )
    return "\n".join(lines)


def layers_table(parts: dict[str, dict[str, Stats]]) -> str:
    """Per-phase layer timings as Markdown (leading spaces in a label show nesting)."""
    lines = ["| phase | layer | n | p50 ms | p95 ms | mean ms |", "|---|---|---:|---:|---:|---:|"]
    for phase, layers in parts.items():
        for layer, s in layers.items():
            name = layer.replace("  ", "&nbsp;&nbsp;")
            lines.append(f"| {phase} | {name} | {s.n} | {s.p50:.2f} | {s.p95:.2f} | {s.mean:.2f} |")
    return "\n".join(lines)


def machine_info(chromium_version: str) -> dict[str, Any]:
    """Where and when the figures were taken."""
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "loadavg": loadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "chromium": chromium_version,
    }


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine skews figures)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine_lines(info: dict[str, Any]) -> str:
    """Machine info as a short Markdown list."""
    return "\n".join(
        [
            f"- date: {info['date']}",
            f"- nproc: {info['nproc']} ({info['cpu'] or 'unknown CPU'}), "
            f"load avg at start: {' '.join(str(x) for x in info['loadavg'])}"
            + (
                f", at end: {' '.join(str(x) for x in info['loadavg_end'])}"
                if "loadavg_end" in info
                else ""
            ),
            f"- Chromium {info['chromium']}, Python {info['python']}, {info['platform']}",
        ]
    )


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON."""
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")


def publish(text: str, rows: Sequence[Row], result: dict[str, Any], json_path: Path | None) -> int:
    """Print a bench's report, write its raw figures and rows where asked; the exit status
    (1 when a row missed its target)."""
    print(text)
    if json_path is not None:
        result["rows"] = [r.as_json() for r in rows]
        write_json(json_path, result)
    return exit_status(rows)


def _jsonable(value: object) -> object:
    if isinstance(value, Stats):
        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------- a quiet machine

QUIET = Path("/tmp/bench.quiet")
"""While this file exists someone is measuring: nobody else starts a browser or heavy work."""


@contextlib.contextmanager
def quiet_machine(
    owner: str, max_load: float | None = None, poll_s: float = 15.0
) -> Iterator[None]:
    """Wait while someone else measures (:data:`QUIET` exists), then hold the file, and
    with ``max_load`` wait until the 1-minute load average is below it (work that sees
    the file pauses) before measuring; the file goes at the end."""
    while QUIET.exists():
        print(f"waiting: {QUIET} exists (someone is measuring)", file=sys.stderr)
        time.sleep(poll_s)
    QUIET.write_text(f"{owner} pid {os.getpid()}\n")
    try:
        while max_load is not None and os.getloadavg()[0] >= max_load:
            print(f"waiting: load average {loadavg()}, above {max_load}", file=sys.stderr)
            time.sleep(poll_s)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            QUIET.unlink()


# --------------------------------------------------------------------------- probes


@dataclass
class Probe:
    """Wall-time instrumentation of a few awaitables, patched on objects for a while.

    For finding where the time of a slow side goes without touching service code:
    ``probe.wrap(engine.registry, "count_action")`` records every call's duration under
    that label until :meth:`restore`. Only for short, separate profiling phases: the
    wrapper itself costs a few microseconds per call.
    """

    samples: dict[str, list[float]] = field(default_factory=dict)
    _undo: list[Callable[[], None]] = field(default_factory=list)

    def wrap(
        self,
        owner: object,
        attr: str,
        label: str | None = None,
        when: Callable[..., bool] | None = None,
    ) -> None:
        """Time every call of the coroutine function ``owner.attr`` (those ``when`` accepts).

        ``owner`` may be an instance, a class (then ``when`` sees ``self`` first) or a module.
        """
        original = getattr(owner, attr)
        sink = self.samples.setdefault(label or attr, [])

        async def timed(*args: Any, **kwargs: Any) -> Any:
            if when is not None and not when(*args, **kwargs):
                return await original(*args, **kwargs)
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                sink.append((time.perf_counter() - started) * 1000)

        had_own = attr in vars(owner) if hasattr(owner, "__dict__") else False
        setattr(owner, attr, timed)
        if had_own:
            self._undo.append(lambda: setattr(owner, attr, original))
        else:
            self._undo.append(lambda: delattr(owner, attr))

    def restore(self) -> None:
        """Put every wrapped attribute back."""
        while self._undo:
            self._undo.pop()()

    def clear(self) -> None:
        """Forget the samples taken so far (keep the wraps)."""
        for sink in self.samples.values():
            sink.clear()

    def stats(self) -> dict[str, Stats]:
        """Per-label statistics of what was recorded."""
        return {label: Stats.of(s) for label, s in self.samples.items() if s}


# --------------------------------------------------------------------------- environment


@dataclass
class BenchEnv:
    """Everything a bench talks to; built by :func:`bench_env`."""

    workdir: Path
    service: Service
    site: TargetSite
    canary: CanarySite
    playwright: Playwright
    raw: Browser
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        """The API key's ``Authorization`` header."""
        return {"Authorization": f"Bearer {self.api_key}"}

    async def raw_context(self, **options: Any) -> BrowserContext:
        """A context in the raw browser, accepting the throwaway certificates."""
        return await self.raw.new_context(ignore_https_errors=True, **options)


async def launch_raw_chromium(
    playwright: Playwright, executable_path: str, resolver_rules: str
) -> Browser:
    """A Chromium with exactly the service's flags, names pinned by ``resolver_rules``."""
    return await playwright.chromium.launch(
        executable_path=executable_path,
        headless=True,
        chromium_sandbox=False,
        args=[*chromium_args(), f"--host-resolver-rules={resolver_rules}"],
    )


async def start_raw(
    stack: AsyncExitStack, chromium_path: str | None, site: TargetSite, canary: CanarySite
) -> tuple[Playwright, Browser]:
    """Playwright and the raw Chromium (the service's flags, the sites' names pinned), both
    stopped by ``stack``."""
    playwright = await async_playwright().start()
    stack.push_async_callback(playwright.stop)
    raw = await launch_raw_chromium(
        playwright, chromium_path or DEFAULT_CHROMIUM, chromium_host_resolver_rules(site, canary)
    )
    stack.push_async_callback(raw.close)
    return playwright, raw


@dataclass
class Backing:
    """What every benchmark stands on: a work dir, a private Redis and the HTTPS sites."""

    workdir: Path
    redis: LocalRedis
    site: TargetSite
    canary: CanarySite


class LocalRedis(Protocol):
    """A private Redis a bench starts: one ``redis-server``, or a Redis Cluster."""

    url: str

    def start(self) -> None:
        """Start and wait until it answers."""

    def stop(self) -> None:
        """Stop it."""


async def start_backing(
    stack: AsyncExitStack,
    prefix: str = "ssbench-",
    redis_of: Callable[[Path], LocalRedis] = RedisServer,
) -> Backing:
    """Start a private Redis (``redis_of`` its folder) and the target and canary sites on
    ``stack``."""
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    redis = redis_of(workdir / "redis")
    stack.callback(redis.stop)
    redis.start()
    tls_dir = workdir / "tls"
    tls_dir.mkdir()
    tls = generate_tls_material(tls_dir)
    canary = CanarySite(tls)
    await canary.start()
    stack.push_async_callback(canary.aclose)
    site = TargetSite(tls, canary.port)
    await site.start()
    stack.push_async_callback(site.aclose)
    return Backing(workdir, redis, site, canary)


async def start_capture_services(
    stack: AsyncExitStack, backing: Backing, prefix: str, concurrency: int = 4
) -> tuple[CaptureStack, ServiceProcess, str]:
    """A real ``sessionshot serve`` and one ``sessionshot worker`` (``concurrency`` captures
    at once) browsing the backing's sites, stopped by ``stack``; with an API key allowed
    on the bench domains: ``(services, worker, api_key)``."""
    redis = backing.redis
    assert isinstance(redis, RedisServer)  # the default: one redis-server, on a port
    services = await CaptureStack.start(
        redis.url,
        f"{prefix}{secrets.token_hex(4)}:",
        backing.workdir / "procs",
        host_map=host_map(backing.site, backing.canary),
        target_allow_cidrs="127.0.0.1/32",
        ignore_https_errors=True,
        storage_dir=str(backing.workdir / "storage"),
        rate_limit=BENCH_RATE_LIMIT,
        worker_concurrency=concurrency,
    )
    stack.push_async_callback(services.aclose)
    worker = await services.start_worker("bench", SESSIONSHOT_WORKER_CONCURRENCY=str(concurrency))
    _, api_key = await services.new_key(BENCH_DOMAINS)
    return services, worker, api_key


@asynccontextmanager
async def bench_env(warm_contexts: int = 2, **overrides: Any) -> AsyncIterator[BenchEnv]:
    """Start Redis, the sites, the API and a raw Chromium; close them all on exit."""
    configure_logging(overrides.pop("log_level", "WARNING"))
    async with AsyncExitStack() as stack:
        backing = await start_backing(stack)
        workdir, redis, site, canary = backing.workdir, backing.redis, backing.site, backing.canary
        values: dict[str, Any] = {
            "host_map": host_map(site, canary),
            "target_allow_cidrs": "127.0.0.1/32",
            "ignore_https_errors": True,
            "storage_dir": str(workdir / "storage"),
            "warm_contexts": warm_contexts,
            "rate_limit": BENCH_RATE_LIMIT,
        }
        values.update(overrides)
        settings = settings_for_tests(redis.url, f"bench{secrets.token_hex(4)}:", **values)
        service = await start_service(settings)
        stack.push_async_callback(service.aclose)
        _, api_key = await service.new_key(BENCH_DOMAINS)
        playwright, raw = await start_raw(stack, settings.chromium_path, site, canary)
        yield BenchEnv(workdir, service, site, canary, playwright, raw, api_key)


# --------------------------------------------------------------------------- real processes


class LeanHttp:
    """A minimal HTTP/1.1 keep-alive client for one ``sessionshot serve`` and one key.

    It costs what a request costs the service and the wire, and next to nothing on the
    client's side (httpx spends about 1 ms of Python per request on this machine); the
    benches time both. JSON bodies only (every answer of the service has a Content-Length);
    a new connection when the server closes one (Hypercorn does after 1000 requests).
    """

    def __init__(self, port: int, api_key: str) -> None:
        self._port = port
        self._auth = f"Authorization: Bearer {api_key}\r\n"
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request on the kept-alive connection; ``(status, parsed JSON body)``."""
        data = b"" if body is None else json.dumps(body).encode()
        if self._conn is None:
            self._conn = await asyncio.open_connection("127.0.0.1", self._port)
        reader, writer = self._conn
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self._port}\r\n{self._auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" not in fields:
            raise RuntimeError(f"no Content-Length in {head[0]!r}")
        payload = await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":  # the server's request cap
            await self.aclose()
        return int(head[0].split()[1]), json.loads(payload) if payload else None

    async def aclose(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn[1].close()
            await self._conn[1].wait_closed()
            self._conn = None


class ServeApi:
    """Sessions through the API over a :class:`LeanHttp` client, asserting success."""

    def __init__(self, http: LeanHttp) -> None:
        self.http = http

    async def open(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a session; its object."""
        status, answer = await self.http.request("POST", "/v1/sessions", body)
        if status != 201:
            raise RuntimeError(f"create answered {status}: {answer}")
        session: dict[str, Any] = answer
        return session

    async def create(self, body: dict[str, Any]) -> str:
        """Create a session; its id."""
        session_id: str = (await self.open(body))["id"]
        return session_id

    async def act(self, session_id: str, action: dict[str, Any]) -> dict[str, Any]:
        """Run one action; its body."""
        status, answer = await self.http.request(
            "POST", f"/v1/sessions/{session_id}/actions", action
        )
        if status != 200:
            raise RuntimeError(f"{action['type']} answered {status}: {answer}")
        body: dict[str, Any] = answer
        return body

    async def close(self, session_id: str) -> None:
        """Close a session."""
        status, answer = await self.http.request("DELETE", f"/v1/sessions/{session_id}")
        if status != 200:
            raise RuntimeError(f"delete answered {status}: {answer}")


@dataclass
class ServeEnv:
    """Real ``sessionshot serve`` processes on the bench's Redis, and a raw Chromium."""

    backing: Backing
    cluster: Cluster
    instances: dict[str, Instance]
    raw: Browser
    api_key: str
    playwright: Playwright
    """The bench's own Playwright (its driver runs the raw browser)."""

    @property
    def site(self) -> TargetSite:
        """The HTTPS test site both sides load."""
        return self.backing.site

    @property
    def headers(self) -> dict[str, str]:
        """The API key's ``Authorization`` header."""
        return {"Authorization": f"Bearer {self.api_key}"}

    async def raw_context(self, **options: Any) -> BrowserContext:
        """A context in the raw browser, accepting the throwaway certificates."""
        return await self.raw.new_context(ignore_https_errors=True, **options)

    def lean(self, instance_id: str) -> LeanHttp:
        """A new lean client for one instance (closed by the caller)."""
        return LeanHttp(self.instances[instance_id].port, self.api_key)


@asynccontextmanager
async def serve_env(
    ids: Sequence[str], warm_contexts: int, log_level: str = "WARNING", **overrides: Any
) -> AsyncIterator[ServeEnv]:
    """Redis, the sites, one ``sessionshot serve`` per id (each with its own browser) and a
    raw Chromium with the service's flags; all stopped on exit. ``overrides`` are further
    settings of every instance."""
    configure_logging("WARNING")
    async with AsyncExitStack() as stack:
        backing = await start_backing(stack)
        site, canary = backing.site, backing.canary
        cluster = Cluster(
            backing.redis.url,
            f"bench{secrets.token_hex(4)}:",
            backing.workdir / "instances",
            host_map=host_map(site, canary),
            target_allow_cidrs="127.0.0.1/32",
            ignore_https_errors=True,
            storage_dir=str(backing.workdir / "storage"),
            warm_contexts=warm_contexts,
            rate_limit=BENCH_RATE_LIMIT,
            log_level=log_level,
            **overrides,
        )
        stack.push_async_callback(cluster.aclose)
        started = await cluster.start(*ids)
        _, api_key = await cluster.new_key(BENCH_DOMAINS)
        playwright, raw = await start_raw(stack, cluster.settings.chromium_path, site, canary)
        yield ServeEnv(backing, cluster, {i.id: i for i in started}, raw, api_key, playwright)


def access_log_ms(instance: Instance, path_part: str) -> list[float]:
    """Server-side times (``ms`` of the access log, needs log level INFO) of the requests
    whose path contains ``path_part``."""
    found = []
    for line in instance.logs().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("message") == "request" and path_part in entry.get("path", ""):
            found.append(float(entry["ms"]))
    return found
