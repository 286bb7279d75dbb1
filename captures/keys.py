"""Redis key names of the captures pipeline, all under the deployment prefix."""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "workers"
"""The consumer group every worker joins."""


@dataclass(frozen=True)
class CaptureKeys:
    """Key builders bound to one prefix."""

    prefix: str

    def capture(self, capture_id: str) -> str:
        """Hash: the capture record (status, times, session, result; nothing secret)."""
        return f"{self.prefix}cap:{{{capture_id}}}"

    def payload(self, capture_id: str) -> str:
        """String: the AES-GCM sealed request (url, auth, actions); deleted at the end."""
        return f"{self.prefix}cap:{{{capture_id}}}:payload"

    def key_captures(self, key_id: str) -> str:
        """Sorted set: one API key's capture ids scored by creation time (ms), for its list.
        In the key's slot, never the captures': it is written in commands of its own."""
        return f"{self.prefix}capkey:{{{key_id}}}"

    def stream(self) -> str:
        """Stream of capture jobs (``captureId`` fields), read by the consumer group."""
        return f"{self.prefix}captures:jobs"

    def done_channel(self) -> str:
        """Pub/sub channel: a capture id is published when it reaches a final state."""
        return f"{self.prefix}captures:done"

    def stats(self) -> str:
        """Hash: final-state counters and latency sums for ``/metrics``."""
        return f"{self.prefix}captures:stats"


CAPTURE_RECORD_TTL_S = 7 * 24 * 3600
"""How long a final capture record stays readable."""

CAPTURE_INDEX_TTL_S = 30 * 24 * 3600
"""How long a key's capture list keeps an entry (and lives after the key's latest capture):
well past the week a final record stays readable."""
