"""Billing reports against the ledger the registry writes, as properties (SPEC section 6).

The sessions are created and closed by ``sessions.registry.Registry`` (the engine's own write
path: the record, the ledger entry and the day totals) on the run's real ``redis-server``,
each example under a fresh key prefix. The reports are read back with
``sessions.usage.UsageReports`` and compared with a model computed here from the plan alone.

Hypothesis examples run synchronously; each async phase gets a new event loop of its own
(and a Redis client created inside it), never the suite's session loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from sessions.credits import CreditPolicy
from sessions.keys import SessionKeys
from sessions.registry import CloseReason, Registry, SessionRecord
from sessions.usage import BadRange, Range, UsageReports
from tests.support.procs import RedisServer

T = TypeVar("T")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WINDOW_START = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW_START_MS = int((WINDOW_START - EPOCH).total_seconds()) * 1000
DAY_MS = 86_400_000
WINDOW_DAYS = 10
HEADER = [
    "sessionId",
    "kind",
    "keyId",
    "startedAt",
    "closedAt",
    "durationSeconds",
    "credits",
    "closeReason",
]
COUNTERS = ("sessions", "captures", "durationSeconds", "credits")
OWNER = "inst_usage_property"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` in a new event loop of its own (never the suite's session loop)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def moment(ms: int) -> datetime:
    """An epoch-millisecond instant as an aware UTC datetime (exact, no float)."""
    return EPOCH + timedelta(milliseconds=ms)


def iso(ms: int) -> str:
    """The API's timestamp format: ``2026-11-03T10:15:00.123Z``."""
    return moment(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day_of(ms: int) -> date:
    """The UTC day of an instant."""
    return moment(ms).date()


def expected_bill(started_ms: int, closed_ms: int) -> tuple[int, int]:
    """``(durationSeconds, billedCredits)`` by the default policy (1 credit min, 60 s each)."""
    duration_s = -(-(closed_ms - started_ms) // 1000)
    return duration_s, max(1, -(-duration_s // 60))


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Close:
    """One ``Registry.close`` call: its reason and how long after the session's end it runs."""

    reason: CloseReason
    delay_ms: int


@dataclass(frozen=True)
class PlannedSession:
    """A session to create; ``closes`` empty means it stays active (and is never billed)."""

    workspace: int
    key: int
    kind: str
    started_offset_ms: int
    duration_ms: int
    closes: tuple[Close, ...]


@dataclass(frozen=True)
class Plan:
    """Workspaces (each with its number of keys) and sessions."""

    keys_per_workspace: tuple[int, ...]
    sessions: tuple[PlannedSession, ...]


reasons = st.sampled_from(list(CloseReason))
one_close = st.builds(Close, reasons, st.integers(0, 2_000))
closes = st.lists(one_close, min_size=0, max_size=3).map(tuple)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """1-3 workspaces of 1-3 keys, 1-40 sessions over a 10-day window."""
    keys_per_workspace = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    sessions = []
    for _ in range(draw(st.integers(1, 40))):
        workspace = draw(st.integers(0, len(keys_per_workspace) - 1))
        sessions.append(
            PlannedSession(
                workspace=workspace,
                key=draw(st.integers(0, keys_per_workspace[workspace] - 1)),
                kind=draw(st.sampled_from(["live", "capture"])),
                started_offset_ms=draw(st.sampled_from(range(WINDOW_DAYS))) * DAY_MS
                + draw(st.integers(0, DAY_MS - 1)),
                duration_ms=draw(st.integers(0, 5_000_000)),
                closes=draw(closes),
            )
        )
    return Plan(keys_per_workspace, tuple(sessions))


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    """What was written: ids, final records, and each closed session's winning close."""

    prefix: str
    workspaces: list[str]
    keys: list[list[str]]
    records: dict[str, dict[str, str]] = field(default_factory=dict)
    winners: dict[str, tuple[int, CloseReason]] = field(default_factory=dict)
    started: dict[str, int] = field(default_factory=dict)

    def closed(self) -> list[dict[str, str]]:
        """Every closed record."""
        return [r for r in self.records.values() if r["status"] == "closed"]

    def covered(self, ws_id: str, start_ms: int, end_ms: int) -> list[dict[str, str]]:
        """Closed records of ``ws_id`` with ``start_ms <= closedAt < end_ms``."""
        return [
            r
            for r in self.closed()
            if r["workspaceId"] == ws_id and start_ms <= int(r["closedAt"]) < end_ms
        ]


def engine_fields(
    session_id: str, key_id: str, ws_id: str, kind: str, started_ms: int
) -> dict[str, str]:
    """The fields ``SessionEngine.create`` writes for a new session."""
    return {
        "id": session_id,
        "keyId": key_id,
        "workspaceId": ws_id,
        "owner": OWNER,
        "status": "active",
        "kind": kind,
        "createdAt": str(started_ms - 40),
        "startedAt": str(started_ms),
        "expiresAt": str(started_ms + 3_600_000),
        "lastActivityAt": str(started_ms),
        "options": json.dumps(
            {
                "maxTtlSeconds": 3600,
                "idleTimeoutSeconds": None,
                "proxy": False,
                "bypassBotDetection": False,
            }
        ),
        "currentUrl": "about:blank",
    }


def new_world(plan: Plan) -> World:
    """Fresh random ids (and prefix) for a plan."""
    return World(
        prefix=f"up{secrets.token_hex(5)}:",
        workspaces=[f"ws_{secrets.token_hex(8)}" for _ in plan.keys_per_workspace],
        keys=[[f"key_{secrets.token_hex(8)}" for _ in range(n)] for n in plan.keys_per_workspace],
    )


def open_redis(url: str) -> Redis:
    """A client like the product's (decoded strings)."""
    return Redis.from_url(url, decode_responses=True)


async def populate(url: str, plan: Plan) -> World:
    """Create every planned session, then run every planned close concurrently."""
    world = new_world(plan)
    redis = open_redis(url)
    try:
        registry = Registry(redis, SessionKeys(world.prefix), CreditPolicy())
        created: list[tuple[PlannedSession, SessionRecord]] = []
        for planned in plan.sessions:
            session_id = f"sess_{uuid.uuid4()}"
            started_ms = WINDOW_START_MS + planned.started_offset_ms
            fields = engine_fields(
                session_id,
                world.keys[planned.workspace][planned.key],
                world.workspaces[planned.workspace],
                planned.kind,
                started_ms,
            )
            assert await registry.create(fields, workspace_limit=10**6)
            record = await registry.get(session_id)
            assert record is not None and record.raw == fields
            world.started[session_id] = started_ms
            created.append((planned, record))

        async def close_all(planned: PlannedSession, record: SessionRecord) -> None:
            end_ms = world.started[record.id] + planned.duration_ms
            calls = [(c.reason, end_ms + c.delay_ms) for c in planned.closes]
            results = await asyncio.gather(
                *(registry.close(record, reason, at) for reason, at in calls)
            )
            changed = [index for index, (now, _) in enumerate(results) if now]
            assert len(changed) == 1, f"{len(calls)} concurrent closes, {len(changed)} closed it"
            finals = [final.raw for _, final in results]
            assert all(final == finals[0] for final in finals), "every caller sees one record"
            world.winners[record.id] = (calls[changed[0]][1], calls[changed[0]][0])

        await asyncio.gather(*(close_all(p, r) for p, r in created if p.closes))
        for _, record in created:
            final = await registry.get(record.id)
            assert final is not None
            world.records[record.id] = final.raw
    finally:
        await redis.aclose()
    return world


async def drop_prefix(url: str, prefix: str) -> None:
    """Delete an example's keys."""
    redis = open_redis(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


# --------------------------------------------------------------------------- the model


def counters(records: list[dict[str, str]]) -> dict[str, int]:
    """The four report counters of a set of closed records."""
    return {
        "sessions": len(records),
        "captures": sum(r["kind"] == "capture" for r in records),
        "durationSeconds": sum(int(r["durationSeconds"]) for r in records),
        "credits": sum(int(r["billedCredits"]) for r in records),
    }


def only_counters(entry: dict[str, Any]) -> dict[str, int]:
    """An entry of ``daily`` or ``byKey`` without its label."""
    return {name: entry[name] for name in COUNTERS}


def summed(entries: list[dict[str, Any]]) -> dict[str, int]:
    """The counters of several report entries added up."""
    return {name: sum(entry[name] for entry in entries) for name in COUNTERS}


def days_touched(start_ms: int, end_ms: int) -> list[str]:
    """Every UTC day ``[start_ms, end_ms)`` touches, in order."""
    day, last = day_of(start_ms), day_of(end_ms - 1)
    out = []
    while day <= last:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV document."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows, "the CSV has at least its header"
    header, body = rows[0], rows[1:]
    return header, [dict(zip(header, row, strict=True)) for row in body]


def csv_row_of(record: dict[str, str]) -> dict[str, str]:
    """The CSV row SPEC section 6 prescribes for a closed record."""
    return {
        "sessionId": record["id"],
        "kind": record["kind"],
        "keyId": record["keyId"],
        "startedAt": iso(int(record["startedAt"])),
        "closedAt": iso(int(record["closedAt"])),
        "durationSeconds": record["durationSeconds"],
        "credits": record["billedCredits"],
        "closeReason": record["closeReason"],
    }


async def read_csv(reports: UsageReports, ws_ids: list[str], span: Range) -> str:
    """The whole CSV the product streams."""
    return "".join([row async for row in reports.csv_rows(ws_ids, span)])


def check_records(world: World) -> None:
    """Each record: closed exactly by its winning close and billed by the default policy."""
    for session_id, record in world.records.items():
        if session_id not in world.winners:
            assert record["status"] == "active", record
            for name in ("closedAt", "closeReason", "billedCredits", "durationSeconds"):
                assert not record.get(name), (name, record)
            continue
        closed_ms, reason = world.winners[session_id]
        duration_s, credits = expected_bill(world.started[session_id], closed_ms)
        assert record["status"] == "closed"
        assert record["closeReason"] == reason.value
        assert int(record["closedAt"]) == closed_ms
        assert int(record["durationSeconds"]) == duration_s
        assert int(record["billedCredits"]) == credits


async def check_report(
    world: World, reports: UsageReports, ws_id: str, span: Range, start_ms: int, end_ms: int
) -> None:
    """One workspace's JSON report and CSV over ``[start_ms, end_ms)`` against the model."""
    covered = world.covered(ws_id, start_ms, end_ms)
    report = await reports.workspace(ws_id, span)
    assert report["workspaceId"] == ws_id
    assert (report["from"], report["to"]) == (iso(start_ms), iso(end_ms))
    assert report["totals"] == counters(covered)

    assert [entry["date"] for entry in report["daily"]] == days_touched(start_ms, end_ms)
    for entry in report["daily"]:
        on_day = [r for r in covered if day_of(int(r["closedAt"])).isoformat() == entry["date"]]
        assert only_counters(entry) == counters(on_day), entry["date"]
    assert summed(report["daily"]) == report["totals"]

    key_ids = [entry["keyId"] for entry in report["byKey"]]
    assert len(key_ids) == len(set(key_ids)), "one byKey entry per key"
    reported = {e["keyId"]: only_counters(e) for e in report["byKey"] if e["sessions"]}
    expected = {
        key_id: counters([r for r in covered if r["keyId"] == key_id])
        for key_id in {r["keyId"] for r in covered}
    }
    assert reported == expected
    assert summed(report["byKey"]) == report["totals"]
    assert set(key_ids) <= set(world.keys[world.workspaces.index(ws_id)])

    header, rows = parse_csv(await read_csv(reports, [ws_id], span))
    assert header == HEADER
    ids = [row["sessionId"] for row in rows]
    assert len(ids) == len(set(ids)), "one row per session"
    assert set(ids) == {r["id"] for r in covered}
    for row in rows:
        assert row == csv_row_of(world.records[row["sessionId"]])
    others = {r["id"] for r in world.closed() if r["workspaceId"] != ws_id}
    assert not others & set(ids), "another workspace's sessions leaked into the CSV"


# --------------------------------------------------------------------------- report ranges


OFFSETS = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]


@st.composite
def bound(draw: st.DrawFn, edges: list[int]) -> tuple[str, int]:
    """A report bound as text and as the epoch milliseconds it means.

    A date (midnight UTC), a millisecond datetime in the window written ``Z``, without an
    offset or with one, or a datetime right at (or 1 ms beside) some session's ``closedAt``.
    """
    choice = draw(st.sampled_from(["date", "datetime", "edge"] if edges else ["date", "datetime"]))
    day_ms = WINDOW_START_MS + draw(st.sampled_from(range(-1, WINDOW_DAYS + 2))) * DAY_MS
    if choice == "date":
        return day_of(day_ms).isoformat(), day_ms
    if choice == "datetime":
        ms = day_ms + draw(st.integers(0, DAY_MS - 1))
    else:
        ms = draw(st.sampled_from(edges)) + draw(st.sampled_from([-1, 0, 1]))
    style = draw(st.sampled_from(["Z", "naive", "offset"]))
    instant = moment(ms)
    if style == "Z":
        return iso(ms), ms
    if style == "naive":
        return instant.replace(tzinfo=None).isoformat(timespec="milliseconds"), ms
    offset = draw(st.sampled_from(OFFSETS))
    return instant.astimezone(offset).isoformat(timespec="milliseconds"), ms


def close_instants(plan: Plan) -> list[int]:
    """Every instant a planned close may stamp (from the plan alone, so draws are stable)."""
    return sorted(
        {
            WINDOW_START_MS + s.started_offset_ms + s.duration_ms + c.delay_ms
            for s in plan.sessions
            for c in s.closes
        }
    )


# --------------------------------------------------------------------------- the properties


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans(), data=st.data())
def test_reports_equal_the_sum_of_the_closed_sessions(
    redis_server: RedisServer, plan: Plan, data: st.DataObject
) -> None:
    world = run(populate(redis_server.url, plan))
    try:
        check_records(world)
        edges = close_instants(plan)
        ranges = [
            (data.draw(bound(edges), label="from"), data.draw(bound(edges), label="to"))
            for _ in range(data.draw(st.integers(1, 6), label="ranges"))
        ]
        run(check_ranges(redis_server.url, world, ranges))
    finally:
        run(drop_prefix(redis_server.url, world.prefix))


async def check_ranges(
    url: str, world: World, ranges: list[tuple[tuple[str, int], tuple[str, int]]]
) -> None:
    """Every workspace's report over every range, and over the whole window."""
    redis = open_redis(url)
    try:
        reports = UsageReports(redis, SessionKeys(world.prefix))
        window = (
            (WINDOW_START.date().isoformat(), WINDOW_START_MS),
            (
                (WINDOW_START.date() + timedelta(days=WINDOW_DAYS + 1)).isoformat(),
                WINDOW_START_MS + (WINDOW_DAYS + 1) * DAY_MS,
            ),
        )
        for (start_text, start_ms), (end_text, end_ms) in [*ranges, window]:
            if start_ms >= end_ms:
                with pytest.raises(BadRange):
                    Range.parse(start_text, end_text)
                continue
            span = Range.parse(start_text, end_text)
            for ws_id in world.workspaces:
                await check_report(world, reports, ws_id, span, start_ms, end_ms)
            _, rows = parse_csv(await read_csv(reports, world.workspaces, span))
            assert sorted(row["sessionId"] for row in rows) == sorted(
                r["id"] for ws in world.workspaces for r in world.covered(ws, start_ms, end_ms)
            ), "the all-workspace CSV (/admin/usage) is the union"

        span = Range.parse(window[0][0], window[1][0])
        total = sum(int(r["billedCredits"]) for r in world.closed())
        reported = [(await reports.totals(ws, span))["credits"] for ws in world.workspaces]
        assert sum(reported) == total, "totals equal the sum of every billedCredits"
    finally:
        await redis.aclose()


# --------------------------------------------------------------------------- day boundaries


DAY = date(2026, 11, 5)
DAY_START_MS = WINDOW_START_MS + (DAY - WINDOW_START.date()).days * DAY_MS


@dataclass
class Edges:
    """Sessions closed right at the edges of ``DAY``."""

    reports: UsageReports
    ws_id: str
    key_id: str
    ids: dict[str, str]

    async def report(self, start: str, end: str) -> dict[str, Any]:
        return await self.reports.workspace(self.ws_id, Range.parse(start, end))

    async def csv_ids(self, start: str, end: str) -> set[str]:
        _, rows = parse_csv(await read_csv(self.reports, [self.ws_id], Range.parse(start, end)))
        return {row["sessionId"] for row in rows}

    def named(self, *names: str) -> set[str]:
        return {self.ids[name] for name in names}


EDGE_CLOSES = {
    "day_before_last_ms": DAY_START_MS - 1,
    "first_ms": DAY_START_MS,
    "last_ms": DAY_START_MS + DAY_MS - 1,
    "next_first_ms": DAY_START_MS + DAY_MS,
}


@pytest.fixture
async def edges(redis_server: RedisServer, prefix: str) -> Any:
    redis = open_redis(redis_server.url)
    keys = SessionKeys(prefix)
    registry = Registry(redis, keys, CreditPolicy())
    ws_id, key_id = f"ws_{secrets.token_hex(8)}", f"key_{secrets.token_hex(8)}"
    ids = {}
    for name, closed_ms in EDGE_CLOSES.items():
        session_id = f"sess_{uuid.uuid4()}"
        fields = engine_fields(session_id, key_id, ws_id, "capture", closed_ms - 61_500)
        assert await registry.create(fields, workspace_limit=10**6)
        record = await registry.get(session_id)
        assert record is not None
        changed, final = await registry.close(record, CloseReason.CLOSED, closed_ms)
        assert changed and final.ms("closedAt") == closed_ms
        assert final.raw["durationSeconds"] == "62" and final.raw["billedCredits"] == "2"
        ids[name] = session_id
    yield Edges(UsageReports(redis, keys), ws_id, key_id, ids)
    await redis.aclose()


def one_day(sessions: int) -> dict[str, int]:
    """The counters of ``sessions`` edge sessions (captures of 62 s, 2 credits each)."""
    return {
        "sessions": sessions,
        "captures": sessions,
        "durationSeconds": 62 * sessions,
        "credits": 2 * sessions,
    }


async def test_a_session_closed_at_the_last_millisecond_belongs_to_that_day(
    edges: Edges,
) -> None:
    today, tomorrow = DAY.isoformat(), (DAY + timedelta(days=1)).isoformat()
    day_after = (DAY + timedelta(days=2)).isoformat()

    whole = await edges.report(today, tomorrow)  # a whole day: read from the day's totals
    assert whole["totals"] == one_day(2)
    assert [(d["date"], only_counters(d)) for d in whole["daily"]] == [(today, one_day(2))]
    assert await edges.csv_ids(today, tomorrow) == edges.named("first_ms", "last_ms")

    nxt = await edges.report(tomorrow, day_after)
    assert nxt["totals"] == one_day(1)
    assert await edges.csv_ids(tomorrow, day_after) == edges.named("next_first_ms")

    # Noon to noon: two partial days, read from the ledger entries themselves.
    noon = await edges.report(f"{today}T12:00:00Z", f"{tomorrow}T12:00:00Z")
    assert [(d["date"], only_counters(d)) for d in noon["daily"]] == [
        (today, one_day(1)),
        (tomorrow, one_day(1)),
    ]
    assert await edges.csv_ids(f"{today}T12:00:00Z", f"{tomorrow}T12:00:00Z") == edges.named(
        "last_ms", "next_first_ms"
    )

    two = await edges.report(today, day_after)
    assert [only_counters(d) for d in two["daily"]] == [one_day(2), one_day(1)]
    assert two["byKey"] == [{"keyId": edges.key_id, **one_day(3)}]


@pytest.mark.parametrize(
    ("start", "end", "names"),
    [
        # ``from`` is inclusive, ``to`` exclusive, to the millisecond.
        ("2026-11-05T23:59:59.999Z", "2026-11-06", {"last_ms"}),
        ("2026-11-05", "2026-11-05T23:59:59.999Z", {"first_ms"}),
        ("2026-11-05", "2026-11-06T00:00:00.001Z", {"first_ms", "last_ms", "next_first_ms"}),
        (
            "2026-11-04T23:59:59.999Z",
            "2026-11-05T00:00:00.001Z",
            {"day_before_last_ms", "first_ms"},
        ),
        ("2026-11-05T00:00:00.001Z", "2026-11-05T23:59:59.999Z", set()),
        ("2026-11-04T23:59:59.999", "2026-11-05", {"day_before_last_ms"}),
        # The same instants written with offsets.
        ("2026-11-06T01:59:59.999+02:00", "2026-11-06T02:00:00+02:00", {"last_ms"}),
        ("2026-11-05T18:30:00-05:30", "2026-11-05T18:30:00.001-05:30", {"next_first_ms"}),
    ],
)
async def test_bounds_are_exact_to_the_millisecond(
    edges: Edges, start: str, end: str, names: set[str]
) -> None:
    report = await edges.report(start, end)
    assert report["totals"] == one_day(len(names))
    assert summed(report["daily"]) == report["totals"]
    assert await edges.csv_ids(start, end) == edges.named(*names)


@pytest.mark.parametrize(
    ("start", "end", "names"),
    [
        # first_ms closed at 00:00:00.000, before a ``from`` of 00:00:00.0005.
        ("2026-11-05T00:00:00.000500Z", "2026-11-06", {"last_ms"}),
        # last_ms closed at 23:59:59.999, before a ``to`` of 23:59:59.9995.
        ("2026-11-05T12:00:00Z", "2026-11-05T23:59:59.999500Z", {"last_ms"}),
    ],
)
async def test_sub_millisecond_bounds_are_refused_or_exact(
    edges: Edges, start: str, end: str, names: set[str]
) -> None:
    """A bound finer than a millisecond is either refused (400) or applied exactly."""
    try:
        span = Range.parse(start, end)
    except BadRange:
        return
    report = await edges.reports.workspace(edges.ws_id, span)
    assert await edges.csv_ids(start, end) == edges.named(*names)
    assert report["totals"] == one_day(len(names))
