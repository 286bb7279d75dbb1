"""Error type shared by the egress guard."""

from __future__ import annotations


class EgressBlocked(Exception):
    """A request target was refused by the egress guard.

    ``host`` is the (canonicalised when possible) target host or the URL whose
    scheme was refused; ``reason`` is a short machine-readable code such as
    ``"private_address"``, ``"scheme"``, ``"resolve_failed"``, ``"bad_port"``,
    ``"bad_host"`` or ``"no_upstream"``.
    """

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"egress blocked: {reason} ({host})")
        self.host = host
        self.reason = reason
