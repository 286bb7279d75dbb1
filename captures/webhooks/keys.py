"""Redis key names of webhooks, all under the deployment prefix.

Cluster-safe: an endpoint, its deliveries and its delivery log share the workspace's hash
tag, so one script can change them together; the schedule is one key of its own tag.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebhookKeys:
    """Key builders bound to one prefix."""

    prefix: str

    def endpoints(self, ws_id: str) -> str:
        """Hash: endpoint id -> the endpoint as JSON (its secrets sealed)."""
        return f"{self.prefix}wh:{{{ws_id}}}:endpoints"

    def delivery(self, ws_id: str, delivery_id: str) -> str:
        """Hash: one delivery (event, status, attempts, last answer, next attempt)."""
        return f"{self.prefix}wh:{{{ws_id}}}:d:{delivery_id}"

    def log(self, ws_id: str, endpoint_id: str) -> str:
        """List: the endpoint's latest delivery ids, newest first, trimmed to the log size."""
        return f"{self.prefix}wh:{{{ws_id}}}:log:{endpoint_id}"

    def schedule(self) -> str:
        """Sorted set: ``<workspace> <delivery id>`` scored by when it is due (ms). A claimed
        delivery is pushed one lease ahead, so a process that dies leaves it due again."""
        return f"{self.prefix}wh:{{schedule}}:due"


MAX_ENDPOINTS = 20
"""Endpoints per workspace."""
LOG_SIZE = 100
"""Deliveries kept in an endpoint's log."""
DELIVERY_TTL_S = 8 * 24 * 3600
"""How long a delivery record stays readable after its last change."""
ROTATION_OVERLAP_MS = 24 * 3600 * 1000
"""After a rotation, how long the previous secret keeps signing beside the new one."""
