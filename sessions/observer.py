"""What the engine tells the outside about itself (the app turns it into metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sessions.registry import SessionRecord


class Counters(Protocol):
    """Receives the engine's events that are counted (metrics live in the app)."""

    def session_started(self, kind: str) -> None:
        """A session was created."""

    def session_closed(self, kind: str, credits: int) -> None:
        """A session was closed and billed by this process."""

    def action_done(self, action: str, seconds: float) -> None:
        """An action finished (successfully or not)."""

    def request_routed(self) -> None:
        """A request was forwarded to the session's owner."""


class Observer(Counters, Protocol):
    """Receives the engine's events: the counted ones, and each session's final record."""

    async def session_final(self, record: SessionRecord) -> None:
        """A session was closed and billed by this process: its final record, once."""


class NoObserver:
    """Ignores every event (the capture worker's engine keeps no metrics)."""

    def session_started(self, kind: str) -> None:
        pass

    def session_closed(self, kind: str, credits: int) -> None:
        pass

    def action_done(self, action: str, seconds: float) -> None:
        pass

    def request_routed(self) -> None:
        pass

    async def session_final(self, record: SessionRecord) -> None:
        pass
