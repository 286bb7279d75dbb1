"""The sessions engine's exception tree; ``app/`` maps it to HTTP by class."""

from __future__ import annotations

from typing import Any


class SessionError(Exception):
    """Base of every engine error; ``code`` is the documented error code."""

    code = "INTERNAL"
    default_message = "Internal error."

    def __init__(self, message: str | None = None, **context: Any) -> None:
        self.message = message or self.default_message
        self.context = context
        super().__init__(self.message)


class InvalidRequest(SessionError):
    """Options or a payload that break a documented rule the models cannot express."""

    code, default_message = "VALIDATION_ERROR", "Invalid request."


class SessionNotFound(SessionError):
    """Unknown session, or one owned by another key."""

    code, default_message = "NOT_FOUND", "Session not found."


class SessionClosed(SessionError):
    """The session is closed; carries the final record."""

    code, default_message = "SESSION_CLOSED", "Session is closed."


class DomainRefused(SessionError):
    """A ``goto`` to a host that is not allowed, refused before navigating (403)."""

    code = "DOMAIN_NOT_ALLOWED"
    default_message = (
        "The host is not on this workspace's allowed domains; an administrator can add it."
    )


class CapacityExceeded(SessionError):
    """No instance has room for another session."""

    code, default_message = "CAPACITY", "No capacity for a new session."


class ConcurrencyLimited(SessionError):
    """The workspace is at its active-session limit."""

    code, default_message = "CONCURRENCY_LIMIT", "Too many active sessions for this workspace."


class OwnerUnavailable(SessionError):
    """The instance owning the session does not answer."""

    code, default_message = "OWNER_UNAVAILABLE", "The session's owner is unavailable."


class ActionError(SessionError):
    """An action that ran and failed (422)."""

    code, default_message = "ACTION_FAILED", "Action failed."


class SelectorTimeout(ActionError):
    """The selector did not reach the wanted state in time."""

    code, default_message = "SELECTOR_TIMEOUT", "Timed out waiting for the selector."


class NavigationTimeout(ActionError):
    """A navigation did not finish in time."""

    code, default_message = "NAVIGATION_TIMEOUT", "Navigation timed out."


class NavigationFailed(ActionError):
    """DNS, TLS, connection failure or HTTP >= 400 on the main document."""

    code, default_message = "NAVIGATION_FAILED", "Navigation failed."


class TargetBlocked(ActionError):
    """The egress guard refused the main document's target."""

    code, default_message = "TARGET_BLOCKED", "The target address is not reachable."


class LeftAllowedDomains(ActionError):
    """The main frame sits on a host that is not allowed (after a click or a redirect)."""

    code, default_message = "DOMAIN_NOT_ALLOWED", "The page left the allowed domains."


class PageCrashed(ActionError):
    """The page's renderer crashed."""

    code, default_message = "PAGE_CRASHED", "The page crashed."


class RenderFailed(ActionError):
    """The screenshot or PDF could not be produced."""

    code, default_message = "RENDER_FAILED", "Rendering failed."


class BrowserUnavailable(SessionError):
    """The browser is down (relaunching)."""

    code, default_message = "INTERNAL", "Browser unavailable."
