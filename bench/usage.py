"""Billing reports against ledger size: a 30-day usage report over 10k and 100k sessions.

Usage: ``.venv/bin/python bench/usage.py [--samples 300] [--noon-samples 20] [--csv]
[--json out.json]``

The bench starts its own ``redis-server`` (a temporary directory, loopback only) and fills
two fresh key prefixes, each with one workspace: 10,000 and then 100,000 closed sessions
spread over 30 UTC days. Every session goes through the product's own write path,
``Registry.create`` then ``Registry.close`` (the close scripts write the record, the ledger
entry and the day's totals), with bounded concurrency; nothing is written around it, so
the totals read back are the real ones. The reports are checked against the sums of the
planned sessions before anything is timed.

Then ``UsageReports.workspace`` is timed, alternating the two sizes sample by sample
(every order in turn) so drifting noise lands on both:

* **30 days, dates** (``from=D`` ``to=D+30``): whole days only, read from the per-day
  totals. Target: p50 at 100k <= 1.2 x p50 at 10k (the cost must not grow with sessions).
* **30 days, noon to noon** (informational): 29 whole days plus two half days, which are
  read from the ledger entries themselves, so this one grows with sessions per day.
* **CSV, 30 days** (informational, only with ``--csv``; one pass per size, which also checks
  the row count): every row, streamed in ledger pages.
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
import functools
import json
import math
import random
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bench.common import (
    Row,
    Sampler,
    Stats,
    Target,
    interleave,
    loadavg,
    machine_info,
    markdown_table,
    publish,
    ratio_row,
    timed_ms,
)
from sessions.credits import CreditPolicy
from sessions.keys import SessionKeys
from sessions.registry import CloseReason, Registry, SessionRecord
from sessions.usage import Range, UsageReports
from tests.support.procs import RedisServer

DAYS = 30
FIRST_DAY = date(2026, 10, 1)
FIRST_MS = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) * 1000
DAY_MS = 86_400_000
SIZES = (10_000, 100_000)
KEYS_PER_WORKSPACE = 5
MAX_SESSION_MS = 2 * 3_600_000
REPORT_TARGET = Target("p50 <= 1.20 x 10k", 1.20)
REASONS = list(CloseReason)
COUNTERS = ("sessions", "captures", "durationSeconds", "credits")


@dataclass(frozen=True)
class Config:
    """How much to write and to measure."""

    samples: int
    noon_samples: int
    warmup: int
    csv: bool
    concurrency: int
    seed: int


@dataclass
class Filled:
    """One workspace written under its own prefix, and the totals it must report."""

    size: int
    prefix: str
    workspace_id: str
    expected: dict[str, dict[str, int]]
    write_s: float


def label(size: int) -> str:
    """``10k`` for 10,000."""
    return f"{size // 1000}k"


def planned_session(rng: random.Random, index: int) -> tuple[int, int, str, CloseReason, int]:
    """``(started_ms, closed_ms, kind, reason, key_index)`` of session ``index``."""
    duration = rng.randrange(MAX_SESSION_MS)
    started = FIRST_MS + rng.randrange(DAYS * DAY_MS - duration)
    kind = "capture" if rng.random() < 0.25 else "live"
    return started, started + duration, kind, rng.choice(REASONS), index % KEYS_PER_WORKSPACE


async def fill(redis: Redis, size: int, config: Config) -> Filled:
    """Write ``size`` closed sessions of one new workspace through ``Registry``."""
    prefix = f"bench{secrets.token_hex(4)}:"
    ws_id = f"ws_{secrets.token_hex(8)}"
    key_ids = [f"key_{secrets.token_hex(8)}" for _ in range(KEYS_PER_WORKSPACE)]
    registry = Registry(redis, SessionKeys(prefix), CreditPolicy())
    rng = random.Random(config.seed + size)
    plan = [planned_session(rng, index) for index in range(size)]
    expected = {kind: dict.fromkeys(COUNTERS, 0) for kind in ("dates", "noon")}
    noon_ms = FIRST_MS + DAY_MS // 2  # every session closes before the last day's noon
    for started, closed, kind, _, _ in plan:
        duration_s = math.ceil((closed - started) / 1000)
        for span, totals in expected.items():
            if span == "noon" and closed < noon_ms:
                continue
            totals["sessions"] += 1
            totals["captures"] += kind == "capture"
            totals["durationSeconds"] += duration_s
            totals["credits"] += max(1, math.ceil(duration_s / 60))

    async def worker(first: int) -> None:
        for index in range(first, size, config.concurrency):
            started, closed, kind, reason, key_index = plan[index]
            fields = {
                "id": f"sess_{secrets.token_hex(16)}",
                "keyId": key_ids[key_index],
                "workspaceId": ws_id,
                "owner": "inst_bench",
                "status": "active",
                "kind": kind,
                "createdAt": str(started - 30),
                "startedAt": str(started),
                "expiresAt": str(started + MAX_SESSION_MS),
                "lastActivityAt": str(started),
                "options": json.dumps({"maxTtlSeconds": MAX_SESSION_MS // 1000}),
                "currentUrl": "about:blank",
            }
            if not await registry.create(fields, workspace_limit=10**9):
                raise RuntimeError("the registry refused a session")
            changed, _ = await registry.close(SessionRecord(fields), reason, closed)
            if not changed:
                raise RuntimeError("a session was not closed")

    started_at = time.perf_counter()
    await asyncio.gather(*(worker(first) for first in range(config.concurrency)))
    return Filled(size, prefix, ws_id, expected, round(time.perf_counter() - started_at, 1))


def spans() -> dict[str, Range]:
    """The report ranges measured."""
    last = FIRST_DAY + timedelta(days=DAYS)
    return {
        "dates": Range.parse(FIRST_DAY.isoformat(), last.isoformat()),
        "noon": Range.parse(f"{FIRST_DAY}T12:00:00Z", f"{last}T12:00:00Z"),
    }


async def check(
    reports: dict[int, UsageReports], filled: dict[int, Filled], with_csv: bool
) -> dict[str, list[float]]:
    """Every report must add up to the planned sessions before it is timed.

    With ``with_csv``, also reads each CSV whole to count its rows, and returns that time.
    """
    csv_ms: dict[str, list[float]] = {}
    for size, reader in reports.items():
        target = filled[size]
        for kind, span in spans().items():
            report = await reader.workspace(target.workspace_id, span)
            if report["totals"] != target.expected[kind]:
                raise RuntimeError(f"{size} {kind}: {report['totals']} != {target.expected[kind]}")
            if sum(day["credits"] for day in report["daily"]) != report["totals"]["credits"]:
                raise RuntimeError(f"{size}: {kind} days do not add up to the totals")

        if not with_csv:
            continue
        ms, rows = await timed_ms(functools.partial(csv_row_count, reader, target.workspace_id))
        if rows != size + 1:
            raise RuntimeError(f"{size}: the CSV has {rows - 1} rows")
        csv_ms[label(size)] = [ms]
    return csv_ms


async def csv_row_count(reader: UsageReports, ws_id: str) -> int:
    """Stream a workspace's 30-day CSV; its line count (header included)."""
    rows = 0
    async for _ in reader.csv_rows([ws_id], spans()["dates"]):
        rows += 1
    return rows


def samplers(
    reports: dict[int, UsageReports], filled: dict[int, Filled], kind: str
) -> dict[str, Sampler]:
    """One sampler per size for a report kind (``dates`` or ``noon``)."""
    out: dict[str, Sampler] = {}
    for size, reader in reports.items():
        ws_id = filled[size].workspace_id
        out[label(size)] = _sampler(reader, ws_id, kind)
    return out


def _sampler(reader: UsageReports, ws_id: str, kind: str) -> Sampler:
    span = spans()[kind]

    async def sample() -> float:
        ms, _ = await timed_ms(lambda: reader.workspace(ws_id, span))
        return ms

    return sample


async def run(config: Config) -> dict[str, Any]:
    """Start Redis, fill, check, measure; the raw figures."""
    started = time.perf_counter()
    info = machine_info("")
    info.pop("chromium", None)
    with tempfile.TemporaryDirectory(prefix="bench-usage-") as workdir:
        server = RedisServer(Path(workdir) / "redis")
        server.start()
        redis = Redis.from_url(server.url, decode_responses=True)
        try:
            info["redis"] = (await redis.info("server"))["redis_version"]
            filled = {}
            for size in SIZES:
                filled[size] = await fill(redis, size, config)
            reports = {
                size: UsageReports(redis, SessionKeys(f.prefix)) for size, f in filled.items()
            }
            csv_ms = await check(reports, filled, config.csv)
            samples = {
                "dates": await interleave(
                    samplers(reports, filled, "dates"),
                    config.samples,
                    config.warmup,
                    pause_s=0.0,
                    jitter_s=0.0,
                ),
                "noon": await interleave(
                    samplers(reports, filled, "noon"),
                    config.noon_samples,
                    2,
                    pause_s=0.0,
                    jitter_s=0.0,
                ),
            }
            if csv_ms:
                samples["csv"] = csv_ms
            info["redis_used_memory"] = (await redis.info("memory"))["used_memory_human"]
        finally:
            await redis.aclose()
            server.stop()
    info["loadavg_end"] = loadavg()
    return {
        "machine": info,
        "config": asdict(config),
        "fill": {label(s): {"sessions": f.size, "write_s": f.write_s} for s, f in filled.items()},
        "expected": {label(s): f.expected for s, f in filled.items()},
        "samples_ms": samples,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


MEASURES = {
    "dates": "30-day report, dates (day totals)",
    "noon": "30-day report, noon to noon (29 days + 2 halves)",
    "csv": "CSV, 30 days (every row)",
}


def rows(samples: dict[str, dict[str, list[float]]]) -> list[Row]:
    """Each measure at 10k, then at 100k against 10k; only the dates report has a target."""
    small, large = label(SIZES[0]), label(SIZES[1])
    out = []
    for kind, measure in MEASURES.items():
        if kind not in samples:
            continue
        base = Stats.of(samples[kind][small])
        stats = Stats.of(samples[kind][large])
        out.append(Row(measure, f"{small} sessions", base))
        if kind == "dates":
            out.append(ratio_row(measure, f"{large} sessions", stats, base, REPORT_TARGET))
        else:
            out.append(Row(measure, f"{large} sessions", stats, stats.p50 / base.p50))
    return out


def report(result: dict[str, Any]) -> tuple[str, list[Row]]:
    """The Markdown report."""
    info, config, fill_info = result["machine"], result["config"], result["fill"]
    table_rows = rows(result["samples_ms"])
    writes = ", ".join(
        f"{name}: {f['sessions']:,} sessions in {f['write_s']} s "
        f"({f['sessions'] / max(f['write_s'], 0.001):,.0f}/s)"
        for name, f in fill_info.items()
    )
    text = [
        "## Usage reports: 30-day report over 10k and 100k closed sessions",
        "",
        f"- date: {info['date']}",
        f"- nproc: {info['nproc']} ({info['cpu'] or 'unknown CPU'}), load avg at start: "
        f"{' '.join(str(x) for x in info['loadavg'])}, at end: "
        f"{' '.join(str(x) for x in info['loadavg_end'])}",
        f"- redis-server {info['redis']} (private, loopback), Python {info['python']}, "
        f"{info['platform']}; Redis memory after filling: {info['redis_used_memory']}",
        f"- written through Registry.create + Registry.close, {config['concurrency']} at once: "
        f"{writes}; one workspace per size, {KEYS_PER_WORKSPACE} keys, over {DAYS} UTC days; "
        "report totals checked against the plan before timing",
        f"- {config['samples']} samples per size after {config['warmup']} warm-up rounds "
        f"({config['noon_samples']} after 2 for noon to noon"
        + ("; one pass for the CSV), " if config["csv"] else "), ")
        + "sizes alternated (every order in turn)",
        f"- run time: {result['elapsed_s']} s",
        "",
        markdown_table(table_rows),
    ]
    return "\n".join(text), table_rows


def parse_args(argv: list[str] | None = None) -> tuple[Config, Path | None]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=300, help="samples per size (300)")
    parser.add_argument("--warmup", type=int, default=20, help="rounds dropped first (20)")
    parser.add_argument(
        "--noon-samples", type=int, default=20, help="noon-to-noon samples per size (20)"
    )
    parser.add_argument(
        "--csv", action="store_true", help="also time one full CSV pass per size (slow)"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="sessions written at once (64)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sessions' plan (1)")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args(argv)
    config = Config(
        samples=args.samples,
        warmup=args.warmup,
        noon_samples=args.noon_samples,
        csv=args.csv,
        concurrency=args.concurrency,
        seed=args.seed,
    )
    return config, args.json


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit status 1 when the target is missed."""
    config, json_path = parse_args(argv)
    result = asyncio.run(run(config))
    text, table_rows = report(result)
    return publish(text, table_rows, result, json_path)


if __name__ == "__main__":
    sys.exit(main())
