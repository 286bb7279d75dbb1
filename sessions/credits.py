"""Credits for a session's duration (SPEC section 6): pure arithmetic."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class CreditPolicy:
    """``SESSIONSHOT_CREDITS_MIN`` and ``SESSIONSHOT_CREDIT_SECONDS``."""

    min_credits: int = 1
    credit_seconds: int = 60

    def bill(self, started_ms: int, closed_ms: int) -> tuple[int, int]:
        """``(durationSeconds, billedCredits)`` for a session open over that span."""
        duration_s = max(0, math.ceil((closed_ms - started_ms) / 1000))
        credits = max(self.min_credits, math.ceil(duration_s / self.credit_seconds))
        return duration_s, credits


def utc_day(ms: int) -> str:
    """The UTC date (``YYYY-MM-DD``) of a millisecond timestamp."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")
