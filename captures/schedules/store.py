"""Schedule records in Redis: create, read, change, and the atomic claim of a due time."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from captures.models import CaptureRequest
from captures.schedules.cron import next_due_ms
from captures.schedules.keys import MAX_SCHEDULES, RECENT_RUNS, ScheduleKeys
from captures.schedules.models import SchedulePatch, ScheduleRequest
from sessions.crypto import PayloadBox
from sessions.redis_types import RedisClient, fields, text, text_dict
from sessions.timefmt import iso_ms, now_ms

# KEYS: schedule; ARGV: due ms, next due ms, now ms. Takes the due time for the caller when
# it is still the schedule's next run and the schedule runs: of any number of instances
# reading the same due time, exactly one gets 1.
_CLAIM = """
if redis.call('HGET', KEYS[1], 'paused') ~= '0' then return 0 end
if redis.call('HGET', KEYS[1], 'nextRunMs') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'nextRunMs', ARGV[2], 'lastRunMs', ARGV[3])
return 1
"""

# KEYS: schedule; ARGV: field/value pairs. Changes a schedule that still exists.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
return 1
"""


class TooManySchedules(Exception):
    """The workspace holds :data:`MAX_SCHEDULES` schedules already."""


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule as stored (every field a string)."""

    raw: dict[str, str]

    @property
    def id(self) -> str:
        """``sch_…``."""
        return self.raw["id"]

    @property
    def workspace_id(self) -> str:
        """The workspace it belongs to."""
        return self.raw["workspaceId"]

    @property
    def key_id(self) -> str:
        """The key that made it: its captures belong to that key."""
        return self.raw["keyId"]

    @property
    def paused(self) -> bool:
        """True while it creates no captures."""
        return self.raw.get("paused") != "0"

    @property
    def next_run_ms(self) -> int:
        """Its next due time (Unix ms); 0 while paused."""
        return int(self.raw.get("nextRunMs") or 0)

    def public(self) -> dict[str, Any]:
        """The schedule object of the API (never its capture body)."""
        raw = self.raw
        last = int(raw.get("lastRunMs") or 0)
        return {
            "id": raw["id"],
            "name": raw["name"],
            "cron": raw["cron"],
            "timezone": raw["timezone"],
            "keyId": raw["keyId"],
            "createdAt": iso_ms(int(raw["createdAt"])),
            "updatedAt": iso_ms(int(raw["updatedAt"])),
            "nextRunAt": None if self.paused else iso_ms(self.next_run_ms),
            "lastRunAt": iso_ms(last) if last else None,
            "paused": self.paused,
            "pausedReason": raw.get("pausedReason") or None,
        }


class ScheduleStore:
    """Schedules of every workspace, their capture bodies sealed."""

    def __init__(self, redis: RedisClient, prefix: str, box: PayloadBox) -> None:
        self._redis = redis
        self.keys = ScheduleKeys(prefix)
        self._box = box

    async def create(self, ws_id: str, key_id: str, request: ScheduleRequest) -> ScheduleRecord:
        """Store a new schedule (its capture body sealed) and index its next due time."""
        if await self._redis.zcard(self.keys.index(ws_id)) >= MAX_SCHEDULES:
            raise TooManySchedules()
        schedule_id = f"sch_{uuid.uuid4().hex}"
        stamp = now_ms()
        body = request.capture.model_dump_json(by_alias=True, exclude_unset=True)
        sealed = self._box.seal(schedule_id, body.encode())
        next_ms = 0 if request.paused else next_due_ms(request.cron, request.timezone, stamp)
        raw = {
            "id": schedule_id,
            "workspaceId": ws_id,
            "keyId": key_id,
            "name": request.name,
            "cron": request.cron,
            "timezone": request.timezone,
            "createdAt": str(stamp),
            "updatedAt": str(stamp),
            "paused": "1" if request.paused else "0",
            "pausedReason": "",
            "nextRunMs": str(next_ms),
            "lastRunMs": "0",
            "capture": base64.b64encode(sealed).decode(),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.schedule(ws_id, schedule_id), mapping=fields(raw))
            pipe.zadd(self.keys.index(ws_id), {schedule_id: stamp})
            await pipe.execute()
        record = ScheduleRecord(raw)
        await self._index_due(record)
        return record

    async def get(self, ws_id: str, schedule_id: str) -> ScheduleRecord | None:
        """The schedule, or None (unknown, deleted, another workspace's)."""
        if not schedule_id.startswith("sch_") or len(schedule_id) > 40:
            return None
        raw = text_dict(await self._redis.hgetall(self.keys.schedule(ws_id, schedule_id)))
        return ScheduleRecord(raw) if raw.get("id") == schedule_id else None

    async def list_for(self, ws_id: str) -> list[ScheduleRecord]:
        """The workspace's schedules, oldest first."""
        out = []
        for schedule_id in await self._redis.zrange(self.keys.index(ws_id), 0, -1):
            record = await self.get(ws_id, text(schedule_id))
            if record is not None:
                out.append(record)
        return out

    async def delete(self, ws_id: str, schedule_id: str) -> bool:
        """Remove the schedule, its runs and its due entry; False when there was none."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.schedule(ws_id, schedule_id))
            pipe.delete(self.keys.runs(ws_id, schedule_id))
            pipe.zrem(self.keys.index(ws_id), schedule_id)
            deleted, *_ = await pipe.execute()
        await self._redis.zrem(self.keys.due(), f"{ws_id} {schedule_id}")
        return bool(deleted)

    async def patch(self, record: ScheduleRecord, change: SchedulePatch) -> ScheduleRecord | None:
        """Apply a caller's change; the new record, or None when it was deleted meanwhile.

        A new cron or time zone, or a resume, counts the next due time from now: runs missed
        while paused are not made up.
        """
        raw = dict(record.raw)
        for name in ("name", "cron", "timezone"):
            value = getattr(change, name)
            if value is not None:
                raw[name] = value
        if change.paused is not None:
            raw["paused"] = "1" if change.paused else "0"
            raw["pausedReason"] = ""
        stamp = now_ms()
        raw["updatedAt"] = str(stamp)
        rescheduled = change.cron is not None or change.timezone is not None
        if raw["paused"] == "1":
            raw["nextRunMs"] = "0"
        elif rescheduled or record.paused:
            raw["nextRunMs"] = str(next_due_ms(raw["cron"], raw["timezone"], stamp))
        changed = {k: v for k, v in raw.items() if record.raw.get(k) != v}
        if not await self._update(record, changed):
            return None
        updated = ScheduleRecord(raw)
        await self._index_due(updated)
        return updated

    async def pause(self, record: ScheduleRecord, reason: str) -> None:
        """The schedule pauses itself, saying why."""
        values = {"paused": "1", "pausedReason": reason, "nextRunMs": "0"}
        values["updatedAt"] = str(now_ms())
        await self._update(record, values)
        await self._redis.zrem(self.keys.due(), f"{record.workspace_id} {record.id}")

    async def _update(self, record: ScheduleRecord, values: dict[str, str]) -> bool:
        key = self.keys.schedule(record.workspace_id, record.id)
        flat = [item for pair in values.items() for item in pair]
        return bool(await self._redis.eval(_UPDATE, 1, key, *flat))

    # The scheduler's side.

    async def due(self, now: int, limit: int = 50) -> list[tuple[str, str, int]]:
        """``(workspace, schedule id, due ms)`` of the entries due by ``now``."""
        rows: list[Any] = await self._redis.zrangebyscore(
            self.keys.due(), "-inf", now, start=0, num=limit, withscores=True
        )
        out = []
        for member, score in rows:
            ws_id, _, schedule_id = text(member).partition(" ")
            out.append((ws_id, schedule_id, int(score)))
        return out

    async def next_wake_ms(self) -> int | None:
        """The earliest due time in the index, or None when it is empty."""
        rows: list[Any] = await self._redis.zrange(self.keys.due(), 0, 0, withscores=True)
        return int(rows[0][1]) if rows else None

    async def _index_due(self, record: ScheduleRecord) -> None:
        member = f"{record.workspace_id} {record.id}"
        if record.paused or not record.next_run_ms:
            await self._redis.zrem(self.keys.due(), member)
        else:
            await self._redis.zadd(self.keys.due(), {member: record.next_run_ms})

    async def drop_due(self, ws_id: str, schedule_id: str) -> None:
        """Forget a due entry whose schedule is gone or paused."""
        await self._redis.zrem(self.keys.due(), f"{ws_id} {schedule_id}")

    async def reindex(self, record: ScheduleRecord) -> None:
        """Put the schedule's due entry where its record says."""
        await self._index_due(record)

    async def claim(self, record: ScheduleRecord, now: int) -> int | None:
        """Take the schedule's current due time for this process; the next due time (after
        ``now``: one catch-up run at most, never a burst) when taken, else None."""
        next_ms = next_due_ms(record.raw["cron"], record.raw["timezone"], now)
        key = self.keys.schedule(record.workspace_id, record.id)
        args = (str(record.next_run_ms), str(next_ms), str(now))
        if not await self._redis.eval(_CLAIM, 1, key, *args):
            return None
        record.raw["nextRunMs"] = str(next_ms)
        await self._index_due(record)
        return next_ms

    def capture_request(self, record: ScheduleRecord) -> CaptureRequest:
        """The schedule's capture body, opened in memory and checked again."""
        sealed = base64.b64decode(record.raw["capture"])
        return CaptureRequest.model_validate_json(self._box.open(record.id, sealed))

    async def add_run(self, record: ScheduleRecord, capture_id: str, created_ms: int) -> None:
        """Remember a capture the schedule made (the latest :data:`RECENT_RUNS`)."""
        key = self.keys.runs(record.workspace_id, record.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, f"{capture_id} {created_ms}")
            pipe.ltrim(key, 0, RECENT_RUNS - 1)
            await pipe.execute()

    async def runs(self, record: ScheduleRecord) -> list[tuple[str, int]]:
        """``(capture id, created ms)`` of its latest captures, newest first."""
        rows = await self._redis.lrange(self.keys.runs(record.workspace_id, record.id), 0, -1)
        out = []
        for row in rows:
            capture_id, _, created = text(row).partition(" ")
            out.append((capture_id, int(created or 0)))
        return out
