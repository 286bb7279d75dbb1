"""The scheduler loop every API process runs: no leader, one atomic claim per due time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from captures.models import CaptureRequest
from captures.schedules.store import ScheduleRecord, ScheduleStore
from sessions.domains import host_matches
from sessions.supervisor import is_outage
from sessions.timefmt import now_ms

log = logging.getLogger(__name__)

MAX_SLEEP_S = 1.0
"""Longest wait between looks at the due index: a schedule made or resumed on another
instance is seen within it (one made here wakes the loop at once)."""
MIN_SLEEP_S = 0.05
"""Shortest wait, while another instance finishes a claim it took."""


@dataclass(frozen=True)
class Tenants:
    """What the scheduler asks of tenancy, profiles and captures (no app import)."""

    key_active: Callable[[str, str], Awaitable[bool]]
    """``(workspace, key id)``: the key exists and is not revoked."""
    domains: Callable[[str], Awaitable[list[str]]]
    """A workspace's active allowed domains."""
    profile_exists: Callable[[str, str], Awaitable[bool]]
    """``(workspace, profile id)``."""
    submit: Callable[[str, str, CaptureRequest], Awaitable[dict[str, Any]]]
    """Queue a capture as ``POST /api/captures`` does: ``(key id, workspace, request)``."""


class Scheduler:
    """Creates the captures of due schedules; any number of processes run one each."""

    def __init__(self, store: ScheduleStore, tenants: Tenants) -> None:
        self.store = store
        self._tenants = tenants
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """Look at the due index now (a schedule was made or changed here)."""
        self._wake.set()

    async def run(self) -> None:
        """Wake at the next due time (or within :data:`MAX_SLEEP_S`), run what is due."""
        while True:
            self._wake.clear()
            now = now_ms()
            for ws_id, schedule_id, _ in await self.store.due(now):
                await self._run_one(ws_id, schedule_id, now)
            wake_ms = await self.store.next_wake_ms()
            delay = MAX_SLEEP_S
            if wake_ms is not None:
                delay = min(MAX_SLEEP_S, max(MIN_SLEEP_S, (wake_ms - now_ms()) / 1000))
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    async def _run_one(self, ws_id: str, schedule_id: str, now: int) -> None:
        try:
            await self.tick(ws_id, schedule_id, now)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if is_outage(err):
                raise  # Redis is away: the loop group waits for it, then starts over
            log.error(
                "scheduled capture not created",
                extra={"event": "schedule_failed", "scheduleId": schedule_id, "error": repr(err)},
            )

    async def tick(self, ws_id: str, schedule_id: str, now: int) -> str | None:
        """Run the schedule if it is due and this process claims the due time; the id of
        the capture made, if any."""
        record = await self.store.get(ws_id, schedule_id)
        if record is None or record.paused:
            await self.store.drop_due(ws_id, schedule_id)
            return None
        if record.next_run_ms > now:
            await self.store.reindex(record)  # the index lagged behind the record
            return None
        if await self.store.claim(record, now) is None:
            return None  # another process took this due time
        return await self._create(record, now)

    async def _create(self, record: ScheduleRecord, now: int) -> str | None:
        tenants = self._tenants
        ws_id = record.workspace_id
        if not await tenants.key_active(ws_id, record.key_id):
            await self._pause(record, "KEY_REVOKED")
            return None
        request = self.store.capture_request(record)
        host = urlsplit(request.url).hostname or ""
        if not host_matches(host, await tenants.domains(ws_id)):
            await self._pause(record, "DOMAIN_NOT_ALLOWED")
            return None
        profile = request.auth.profile if request.auth is not None else None
        if profile is not None and not await tenants.profile_exists(ws_id, profile):
            await self._pause(record, "PROFILE_NOT_FOUND")
            return None
        accepted = await tenants.submit(record.key_id, ws_id, request)
        await self.store.add_run(record, accepted["id"], now)
        log.info(
            "scheduled capture created",
            extra={"event": "schedule_run", "scheduleId": record.id, "captureId": accepted["id"]},
        )
        return str(accepted["id"])

    async def _pause(self, record: ScheduleRecord, reason: str) -> None:
        await self.store.pause(record, reason)
        log.warning(
            "schedule paused itself",
            extra={"event": "schedule_paused", "scheduleId": record.id, "reason": reason},
        )
