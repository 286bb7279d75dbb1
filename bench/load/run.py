"""Load test: agents and capture clients against two API instances and two workers.

Usage: ``.venv/bin/python bench/load/run.py [--redis single|cluster] [--steps 1,2,3,4,6,8]
[--step-seconds 45] [--think-ms 200] [--capture-clients 1] [--capture-pause-ms 2000]
[--p99-ms 250] [--all-steps] [--hold-quiet] [--records DIR] [--json out.json]``
(``make load`` runs it).

Starts a private Redis (or a three-primary Redis Cluster), two ``sessionshot serve`` and two
``sessionshot worker`` processes and the local HTTPS target site, all on 127.0.0.1; makes a
workspace and key through the admin API; then, for each step, runs Locust headless
(``bench/load/locustfile.py``, a process of its own) with that many agents beside the capture
clients, and reads back every request it made. Stepping stops at the first level that misses
(p99 action round trip over ``--p99-ms`` or any error) unless ``--all-steps``.

After the last step it reconciles (``bench/load/reconcile.py``) and prints the report. Exit
status: 0 when no request failed, no service process logged an error, the run reconciles
and at least the first step held; 1 otherwise. While ``/tmp/bench.quiet`` exists someone is
measuring: the run waits for it to go before starting and before every step; with
``--hold-quiet`` it then holds that file itself until it ends.
"""

from __future__ import annotations

import sys
from pathlib import Path

# As a script, this file's folder leads sys.path: the repository root goes in front of it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

import argparse
import asyncio
import contextlib
import datetime
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from bench.common import loadavg, machine_info, write_json
from bench.load.reconcile import Observed, Reconciliation, ServerView, observed, reconcile
from bench.load.records import ACTIONS_ENDPOINT, read_records
from bench.load.report import (
    StepSummary,
    errors_lines,
    largest_held,
    latency_table,
    steps_table,
    summarise,
)
from bench.load.stack import LoadStack, start_stack

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
QUIET_FILE = Path("/tmp/bench.quiet")
QUIET_POLL_S = 30.0
STOP_TIMEOUT_S = 60
"""Locust lets a user finish its current task (a whole session, a whole capture) this long."""
READ_CONCURRENCY = 8


@dataclass(frozen=True)
class Config:
    """What to run."""

    redis: str
    steps: tuple[int, ...]
    step_seconds: int
    think_ms: float
    capture_clients: int
    capture_pause_ms: float
    p99_ms: float
    all_steps: bool
    hold_quiet: bool
    records_dir: Path | None


# --------------------------------------------------------------------------- Locust


def locust_bin() -> str:
    """The ``locust`` console script next to the running interpreter."""
    return str(Path(sys.executable).parent / "locust")


async def wait_quiet(own: str | None = None) -> None:
    """Wait while someone else measures on this machine (a quiet file that is not ``own``)."""
    while QUIET_FILE.exists():
        with contextlib.suppress(OSError):
            if own is not None and QUIET_FILE.read_text() == own:
                return
        print(f"{QUIET_FILE} exists: waiting for it to go", flush=True)
        await asyncio.sleep(QUIET_POLL_S)


@contextlib.asynccontextmanager
async def quiet_held(hold: bool) -> AsyncIterator[str | None]:
    """With ``hold``: wait for the machine, then hold the quiet file (asking others not to
    start heavy runs) until the block ends; yields what the file says, to know it is ours."""
    await wait_quiet()
    if not hold:
        yield None
        return
    own = f"sessionshot load test, pid {os.getpid()}\n"
    QUIET_FILE.write_text(own)
    try:
        yield own
    finally:
        with contextlib.suppress(OSError):
            if QUIET_FILE.read_text() == own:
                QUIET_FILE.unlink()


def locust_env(env: LoadStack, config: Config, records: Path) -> dict[str, str]:
    """The Locust process's environment: the scenario's settings, no ``SESSIONSHOT_``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONSHOT_")}
    return {
        **base,
        "LOAD_HOSTS": ",".join(f"{name}={url}" for name, url in env.hosts.items()),
        "LOAD_API_KEY": env.api_key,
        "LOAD_TARGET_URL": env.target_url,
        "LOAD_RECORDS": str(records),
        "LOAD_THINK_MS": str(config.think_ms),
        "LOAD_CAPTURE_CLIENTS": str(config.capture_clients),
        "LOAD_CAPTURE_PAUSE_MS": str(config.capture_pause_ms),
    }


async def run_locust(env: LoadStack, config: Config, agents: int) -> list[dict[str, Any]]:
    """One step: Locust headless with ``agents`` agents and the capture clients; its records."""
    step_dir = env.workdir / f"step-{agents}"
    step_dir.mkdir()
    records = step_dir / "records.jsonl"
    users = agents + config.capture_clients
    classes = ["Agent"] + (["CaptureClient"] if config.capture_clients else [])
    args = [
        "-f", str(LOCUSTFILE), "--headless", "--only-summary", "--loglevel", "WARNING",
        "--host", next(iter(env.hosts.values())),
        "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{config.step_seconds}s", "--stop-timeout", str(STOP_TIMEOUT_S),
        "--exit-code-on-error", "0", *classes,
    ]  # fmt: skip
    log = step_dir / "locust.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            locust_bin(), *args, env=locust_env(env, config, records), stdout=out, stderr=out
        )
        try:
            code = await asyncio.wait_for(proc.wait(), config.step_seconds + STOP_TIMEOUT_S + 60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"locust did not end: {log.read_text()[-3000:]}") from None
    if code != 0 or not records.exists():
        raise RuntimeError(f"locust exited {code}: {log.read_text()[-3000:]}")
    if config.records_dir is not None:
        config.records_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(records, config.records_dir / f"step-{agents}.jsonl")
    return read_records(records.read_text().splitlines())


# --------------------------------------------------------------------------- reconciliation


async def read_server(env: LoadStack, seen: Observed, day_from: str, day_to: str) -> ServerView:
    """Every session and capture the load made, the key's active sessions, the usage report."""
    base = next(iter(env.hosts.values()))
    headers = {"Authorization": f"Bearer {env.api_key}"}
    limit = asyncio.Semaphore(READ_CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:

        async def read(path: str) -> tuple[str, dict[str, Any] | None]:
            async with limit:
                answer = await http.get(path)
            return path.rsplit("/", 1)[-1], answer.json() if answer.status_code == 200 else None

        captures = dict(
            await asyncio.gather(*(read(f"/api/captures/{c}") for c in seen.captures_created))
        )
        capture_sessions = [c["sessionId"] for c in captures.values() if c and c.get("sessionId")]
        ids = [*seen.sessions_created, *capture_sessions]
        sessions = dict(await asyncio.gather(*(read(f"/v1/sessions/{s}") for s in ids)))
        active = (await http.get("/v1/sessions", params={"status": "active"})).json()
        span = {"from": day_from, "to": day_to}
        totals = (await http.get("/v1/usage", params=span)).json()["totals"]
        csv = (await http.get("/v1/usage", params={**span, "format": "csv"})).text
    return ServerView(
        sessions={k: v for k, v in sessions.items() if v is not None},
        captures={k: v for k, v in captures.items() if v is not None},
        active=[s["id"] for s in active["sessions"]],
        usage_totals=totals,
        usage_csv=csv,
    )


# --------------------------------------------------------------------------- the run


async def run(config: Config) -> dict[str, Any]:
    """Start everything, step the load, reconcile, stop everything; the results."""
    steps: list[StepSummary] = []
    every: list[dict[str, Any]] = []
    async with AsyncExitStack() as stack:
        own = await stack.enter_async_context(quiet_held(config.hold_quiet))
        started = time.perf_counter()
        day_from = datetime.datetime.now(datetime.UTC).date()
        env = await start_stack(stack, config.redis)
        info = machine_info(await chromium_version())
        for agents in config.steps:
            await wait_quiet(own)
            records = await run_locust(env, config, agents)
            every += records
            steps.append(summarise(records, agents, config.capture_clients, config.p99_ms))
            print(progress_line(steps[-1]), flush=True)
            if not steps[-1].held and not config.all_steps:
                break
        day_to = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)
        seen = observed(every)
        view = await read_server(env, seen, day_from.isoformat(), day_to.isoformat())
        logged = {p.name: p.error_lines() for p in env.processes()}
    info["loadavg_end"] = loadavg()
    return {
        "machine": info,
        "config": {**asdict(config), "records_dir": str(config.records_dir or "")},
        "steps": steps,
        "reconciliation": reconcile(seen, view),
        "service_log_errors": {name: lines for name, lines in logged.items() if lines},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


async def chromium_version() -> str:
    """``chromium --version`` (for the report)."""
    proc = await asyncio.create_subprocess_exec(
        "/usr/bin/chromium",
        "--version",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    return out.decode().strip()


# --------------------------------------------------------------------------- report


def progress_line(step: StepSummary) -> str:
    """One step's outcome, printed as the run goes."""
    return (
        f"{step.agents} agents: {step.requests_per_s:.1f} requests/s, p99 action round trip "
        f"{step.action_p99} ms, {sum(step.errors.values())} errors: "
        f"{'held' if step.held else 'not held'}"
    )


def passed(result: dict[str, Any]) -> bool:
    """No failed request, no service error, the run reconciles, the first step held."""
    steps: list[StepSummary] = result["steps"]
    rec: Reconciliation = result["reconciliation"]
    errors = any(s.errors for s in steps)
    return (
        bool(steps) and steps[0].held and not errors and rec.ok and not result["service_log_errors"]
    )


def report(result: dict[str, Any]) -> str:
    """The Markdown report."""
    config: dict[str, Any] = result["config"]
    steps: list[StepSummary] = result["steps"]
    rec: Reconciliation = result["reconciliation"]
    info = result["machine"]
    best = largest_held(steps)
    same = "equal" if rec.credits_billed == rec.credits_sum_sessions else "**DIFFERENT**"
    text = [
        f"## Load: {'one Redis' if config['redis'] == 'single' else 'Redis Cluster (3 primaries)'}",
        "",
        f"- date: {info['date']}; nproc {info['nproc']} ({info['cpu'] or 'unknown CPU'}); "
        f"load avg at start {' '.join(map(str, info['loadavg']))}, "
        f"at end {' '.join(map(str, info['loadavg_end']))}",
        f"- {info['chromium']}, Python {info['python']}",
        "- two `sessionshot serve`, two `sessionshot worker`, the HTTPS site, all on 127.0.0.1; "
        f"agents think {config['think_ms']:g} ms between actions; "
        f"{config['capture_clients']} capture client(s) pausing "
        f"{config['capture_pause_ms']:g} ms between captures; "
        f"{config['step_seconds']} s per step; run time {result['elapsed_s']} s",
        "",
        steps_table(steps),
        "",
    ]
    if best is None:
        text.append(
            f"**No step held** (p99 action round trip <= {config['p99_ms']:g} ms, no error)."
        )
    else:
        rtt = best.endpoints[ACTIONS_ENDPOINT]
        text += [
            f"**Largest load held: {best.agents} concurrent agents** (+ {best.capture_clients} "
            f"capture client(s)): p99 action round trip {rtt.p99:.1f} ms <= "
            f"{config['p99_ms']:g} ms, no error; {best.requests_per_s:.1f} requests/s, "
            f"{best.sessions_per_min:.1f} sessions/min, {best.captures_per_min:.1f} captures/min.",
            "",
            f"### Per endpoint at {best.agents} agents",
            "",
            latency_table(best),
        ]
    text += ["", "### Errors by kind", "", errors_lines(steps), "", "### Reconciliation", ""]
    text += [
        f"- live sessions {rec.live_sessions}, capture sessions {rec.capture_sessions}, "
        f"ledger rows {rec.csv_rows}",
        f"- credits billed (usage totals) {rec.credits_billed}, sum over the sessions "
        f"{rec.credits_sum_sessions}: {same}",
        f"- {'reconciles' if rec.ok else '**MISMATCHES**:'}",
        *(f"  - {m}" for m in rec.mismatches[:50]),
    ]
    for name, lines in result["service_log_errors"].items():
        text.append(f"- **{name} logged {len(lines)} error line(s)**, first: {lines[0]}")
    return "\n".join(text)


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis", choices=["single", "cluster"], default="single")
    parser.add_argument("--steps", default="1,2,3,4,6,8", help="agents per step (1,2,3,4,6,8)")
    parser.add_argument("--step-seconds", type=int, default=45, help="each step's run time (45)")
    parser.add_argument("--think-ms", type=float, default=200, help="pause between actions")
    parser.add_argument("--capture-clients", type=int, default=1, help="capture clients (1)")
    parser.add_argument("--capture-pause-ms", type=float, default=2000, help="between captures")
    parser.add_argument("--p99-ms", type=float, default=250, help="p99 action round trip bound")
    parser.add_argument("--all-steps", action="store_true", help="go on after a missed step")
    parser.add_argument(
        "--hold-quiet",
        action="store_true",
        help=f"hold {QUIET_FILE} while running (others hold off: for figures to publish)",
    )
    parser.add_argument("--records", type=Path, help="keep each step's raw records here")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    steps = tuple(int(n) for n in args.steps.split(","))
    if not steps or min(steps) < 1:
        parser.error("--steps: positive numbers of agents, comma-separated")
    config = Config(
        redis=args.redis,
        steps=steps,
        step_seconds=args.step_seconds,
        think_ms=args.think_ms,
        capture_clients=args.capture_clients,
        capture_pause_ms=args.capture_pause_ms,
        p99_ms=args.p99_ms,
        all_steps=args.all_steps,
        hold_quiet=args.hold_quiet,
        records_dir=args.records,
    )
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    """Run the load; exit status 1 on any error or mismatch."""
    config, json_path = parse_args(argv)
    result = asyncio.run(run(config))
    print(report(result))
    if json_path is not None:
        best = largest_held(result["steps"])
        write_json(
            json_path,
            {
                **result,
                "steps": [asdict(s) for s in result["steps"]],
                "largest_held_agents": None if best is None else best.agents,
                "reconciliation": asdict(result["reconciliation"]),
                "passed": passed(result),
            },
        )
    return 0 if passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())
