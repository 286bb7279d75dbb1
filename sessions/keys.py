"""Redis key names of the sessions engine, all under the deployment prefix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionKeys:
    """Key builders bound to one prefix."""

    prefix: str

    def session(self, ws_id: str, session_id: str) -> str:
        """Hash: one session record (SPEC section 4 fields, counters, owner)."""
        return f"{self.prefix}ws:{{{ws_id}}}:sess:{session_id}"

    def session_workspace(self, session_id: str) -> str:
        """String: the workspace of a session, so its record can be found by id alone."""
        return f"{self.prefix}sess:{{{session_id}}}"

    # Keys of one workspace share its slot, so billing and reservations are atomic there.

    def key_sessions(self, ws_id: str, key_id: str) -> str:
        """Sorted set: every session of one API key, scored by creation time (ms)."""
        return f"{self.prefix}ws:{{{ws_id}}}:keysess:{key_id}"

    def key_active(self, ws_id: str, key_id: str) -> str:
        """Set: the active sessions of one API key."""
        return f"{self.prefix}ws:{{{ws_id}}}:keyactive:{key_id}"

    def workspace_active(self, ws_id: str) -> str:
        """Set: the active sessions of one workspace (for its concurrency limit)."""
        return f"{self.prefix}ws:{{{ws_id}}}:active"

    def usage_days(self, ws_id: str) -> str:
        """SCAN pattern of every per-day totals hash of a workspace."""
        return f"{self.prefix}ws:{{{ws_id}}}:usage:*"

    def instance_sessions(self, instance_id: str) -> str:
        """Set: the active sessions owned by one instance (left once billed)."""
        return f"{self.prefix}inst:{{{instance_id}}}:sessions"

    def ledger(self, ws_id: str) -> str:
        """Sorted set: closed sessions of a workspace scored by ``closedAt`` (ms)."""
        return f"{self.prefix}ws:{{{ws_id}}}:ledger"

    def usage_day(self, ws_id: str, day: str) -> str:
        """Hash: one UTC day's totals of a workspace, and per key (``key:<id>:<field>``)."""
        return f"{self.prefix}ws:{{{ws_id}}}:usage:{day}"

    def instances(self) -> str:
        """Sorted set: every known instance scored by its last heartbeat (ms)."""
        return f"{self.prefix}instances"

    def instance(self, instance_id: str) -> str:
        """Hash: one instance's heartbeat facts (role, load, capacity, draining)."""
        return f"{self.prefix}inst:{{{instance_id}}}"

    def inbox(self, instance_id: str) -> str:
        """List: requests forwarded to an instance (pydantic JSON), popped by its owner."""
        return f"{self.prefix}inst:{{{instance_id}}}:inbox"

    def reply(self, message_id: str) -> str:
        """List: the one reply to a forwarded request; expires if nobody reads it."""
        return f"{self.prefix}reply:{{{message_id}}}"


INBOX_TTL_S = 60
"""An inbox or reply nobody reads disappears after this long (its instance is gone)."""
