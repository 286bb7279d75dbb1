"""The sessions engine's settings, as the engine sees them (no app import)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessions.credits import CreditPolicy
from sessions.egress import EgressPolicy
from sessions.errors import InvalidRequest
from sessions.models import SessionOptions


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs from settings (no app import)."""

    instance_id: str
    chromium_path: str
    prefix: str
    egress: EgressPolicy
    max_sessions: int = 50
    session_max_ttl_s: int = 3600
    workspace_max_sessions: int = 20
    warm_contexts: int = 2
    connect_warm: int = 1
    """Connect browsers kept launched for default-option connect sessions."""
    public_url: str = ""
    """The service's public base URL: ``connectUrl`` is built on it."""
    internal_url: str = ""
    """Where other instances reach this one (announced in the heartbeat)."""
    ignore_https_errors: bool = False
    max_content_bytes: int = 2 * 1024 * 1024
    link_ttl_s: int = 600
    credits: CreditPolicy = field(default_factory=CreditPolicy)
    ledger_retention_s: int = 400 * 86400

    def check(self, options: SessionOptions) -> None:
        """Refuse options this service cannot honour (:class:`InvalidRequest`)."""
        if options.max_ttl_seconds > self.session_max_ttl_s:
            limit = self.session_max_ttl_s
            raise InvalidRequest(f"maxTtlSeconds: at most {limit} on this service.")
        if options.proxy and not self.egress.upstream_proxy:
            raise InvalidRequest("proxy: no upstream proxy is configured on this service.")
