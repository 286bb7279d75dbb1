"""Redis key names of schedules, all under the deployment prefix.

Cluster-safe: a schedule's record, its recent runs and the workspace's index share the
workspace's hash tag, so one script claims a due time and another pauses atomically; the
due index (which schedule wakes next, across workspaces) is one key of its own tag. The
truth about a schedule's next run is its record's ``nextRunMs``; the due index only says
when to look.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleKeys:
    """Key builders bound to one prefix."""

    prefix: str

    def schedule(self, ws_id: str, schedule_id: str) -> str:
        """Hash: one schedule (its fields, the sealed capture body, ``nextRunMs``)."""
        return f"{self.prefix}sch:{{{ws_id}}}:s:{schedule_id}"

    def runs(self, ws_id: str, schedule_id: str) -> str:
        """List: ``<capture id> <created ms>`` of its latest captures, newest first."""
        return f"{self.prefix}sch:{{{ws_id}}}:runs:{schedule_id}"

    def index(self, ws_id: str) -> str:
        """Sorted set: the workspace's schedule ids by creation time (ms)."""
        return f"{self.prefix}sch:{{{ws_id}}}:index"

    def due(self) -> str:
        """Sorted set: ``<workspace> <schedule id>`` scored by its next due time (ms)."""
        return f"{self.prefix}sch:{{due}}:next"


RECENT_RUNS = 20
"""Captures a schedule remembers (``recentCaptures``)."""
MAX_SCHEDULES = 200
"""Schedules per workspace."""
