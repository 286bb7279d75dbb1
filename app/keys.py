"""Redis key names of the HTTP edge (tenancy, rate limits, idempotency).

Every key is built from the deployment prefix (``SESSIONSHOT_REDIS_PREFIX``) so several
deployments or test runs can share one Redis. Ids sit in ``{hash tags}`` so the keys one
script or transaction touches share a Redis Cluster slot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppKeys:
    """Key builders bound to one prefix."""

    prefix: str

    def workspaces(self) -> str:
        """Sorted set of workspace ids scored by creation time (ms)."""
        return f"{self.prefix}workspaces"

    def workspace(self, ws_id: str) -> str:
        """Hash: one workspace record (id, name, createdAt)."""
        return f"{self.prefix}ws:{{{ws_id}}}"

    def workspace_keys(self, ws_id: str) -> str:
        """Sorted set of the workspace's API key ids scored by creation time (ms)."""
        return f"{self.prefix}ws:{{{ws_id}}}:keys"

    def workspace_domains(self, ws_id: str) -> str:
        """Hash: domain entry -> JSON ``{"active", "createdAt"}``."""
        return f"{self.prefix}ws:{{{ws_id}}}:domains"

    def api_key(self, key_id: str) -> str:
        """Hash: one API key record; holds only the key's hash, never the key."""
        return f"{self.prefix}key:{{{key_id}}}"

    def rate(self, key_id: str, window: int) -> str:
        """Counter of one key's requests in one fixed window; expires with the window."""
        return f"{self.prefix}rl:{{{key_id}}}:{window}"

    def idempotency(self, key_id: str, scope: str, idem_key: str) -> str:
        """String: JSON of the first response to an ``Idempotency-Key``; 24 h TTL."""
        return f"{self.prefix}idem:{{{key_id}}}:{scope}:{idem_key}"

    def mcp_session(self, mcp_session_id: str) -> str:
        """Hash: one MCP session (``keyId``, ``workspaceId``, ``createdAt`` and ``sessionId``,
        the browser session it drives, once made); sliding TTL :data:`MCP_SESSION_TTL_S`."""
        return f"{self.prefix}mcp:{{{mcp_session_id}}}"


IDEMPOTENCY_TTL_S = 24 * 3600
"""How long an ``Idempotency-Key`` replays its first response."""

MCP_SESSION_TTL_S = 24 * 3600
"""How long an MCP session lives without a request (each request starts it again)."""
