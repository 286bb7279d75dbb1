"""What the engine tells the outside about itself (the app turns it into metrics)."""

from __future__ import annotations

from typing import Protocol


class Observer(Protocol):
    """Receives the engine's events (metrics live in the app)."""

    def session_started(self, kind: str) -> None:
        """A session was created."""

    def session_closed(self, kind: str, credits: int) -> None:
        """A session was closed and billed by this process."""

    def action_done(self, action: str, seconds: float) -> None:
        """An action finished (successfully or not)."""

    def request_routed(self) -> None:
        """A request was forwarded to the session's owner."""


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
