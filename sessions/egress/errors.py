"""Error type shared by the egress guard."""

from __future__ import annotations

from sessions.errors import TargetBlocked


class EgressBlocked(TargetBlocked):
    """A request target was refused by the egress guard.

    ``host`` is the (canonicalised when possible) target host or the URL whose
    scheme was refused; ``reason`` is a short machine-readable code such as
    ``"private_address"``, ``"scheme"``, ``"resolve_failed"``, ``"bad_port"``,
    ``"bad_host"`` or ``"no_upstream"``. Its ``message`` (what a caller could see) is
    :class:`~sessions.errors.TargetBlocked`'s and names neither; ``str()`` is for logs.
    """

    def __init__(self, host: str, reason: str) -> None:
        super().__init__()
        self.host = host
        self.reason = reason

    def __str__(self) -> str:
        return f"egress blocked: {self.reason} ({self.host})"
