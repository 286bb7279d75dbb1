"""Redis keys and lifetimes of the dashboard's sign-in state.

Cookie values and sign-in link tokens are credentials: Redis holds only their SHA-256, so a
copy of the data cannot be replayed as a cookie or a link. Every key holds one hash tag, so a
Redis Cluster serves each from one slot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SESSION_TTL_S = 12 * 3600
"""How long a dashboard sign-in lasts (from sign-in; it is not extended by use)."""

LINK_TTL_S = 600
"""How long a one-time sign-in link printed by ``sessionshot admin dashboard-link`` works."""


def digest(secret: str) -> str:
    """The hex SHA-256 of a cookie value or link token, as its Redis key names it."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class DashboardKeys:
    """Key builders bound to one deployment prefix."""

    prefix: str

    def session(self, cookie_value: str) -> str:
        """Hash: one signed-in browser (``workspaceId``, ``keyId``, ``csrf``, ``createdAt``,
        ``via``); expires after :data:`SESSION_TTL_S`."""
        return f"{self.prefix}dash:{{{digest(cookie_value)}}}"

    def link(self, token: str) -> str:
        """String: the workspace id a one-time sign-in link opens; deleted when used,
        expires after :data:`LINK_TTL_S`."""
        return f"{self.prefix}dashlink:{{{digest(token)}}}"
