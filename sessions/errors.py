"""The sessions engine's exception tree; ``app/`` maps it to HTTP by class.

Every error the package raises for a caller is a :class:`SessionError`: its class gives the
documented ``code`` and a ``message`` safe to show, and optional fields say what it is about
(the session's record, how long it has left, the page, the selector). Errors that cross
instances (a forwarded request, ``sessions/router.py``) travel as their kind and code and come
back as the class of this tree that has both (:func:`error_class`).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from sessions.registry import SessionRecord


class Kind(StrEnum):
    """What sort of failure an error is; the edge answers each kind with one HTTP status.

    It travels with a forwarded error's code because some codes are shared by errors of
    different kinds (``DOMAIN_NOT_ALLOWED``: refused before a ``goto``, or left during an
    action; ``INTERNAL``: a fault, or the browser being relaunched).
    """

    INTERNAL = "internal"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    REFUSED = "refused"
    CLOSED = "closed"
    LIMITED = "limited"
    UNAVAILABLE = "unavailable"
    ACTION = "action"


class SessionError(Exception):
    """Base of every engine error; ``code`` is the documented error code."""

    code: str = "INTERNAL"
    default_message: str = "Internal error."
    kind: ClassVar[Kind] = Kind.INTERNAL

    def __init__(
        self,
        message: str | None = None,
        *,
        record: SessionRecord | None = None,
        expires_in: int | None = None,
        url: str | None = None,
        selector: str | None = None,
        page_status: int | None = None,
        owner: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.record = record
        """The session the error is about, when the caller may see it."""
        self.expires_in = expires_in
        """Seconds the session has left, as its owner counted them."""
        self.url = url
        """The page's URL after a failed action."""
        self.selector = selector
        """The selector that timed out."""
        self.page_status = page_status
        """The main document's HTTP status when it failed with one."""
        self.owner = owner
        """The instance that raised it, for a forwarded error."""
        super().__init__(self.message)


class InvalidRequest(SessionError):
    """Options or a payload that break a documented rule the models cannot express."""

    code, default_message = "VALIDATION_ERROR", "Invalid request."
    kind = Kind.INVALID


class SessionNotFound(SessionError):
    """Unknown session, or one owned by another key."""

    code, default_message = "NOT_FOUND", "Session not found."
    kind = Kind.NOT_FOUND


class SessionClosed(SessionError):
    """The session is closed; carries the final record."""

    code, default_message = "SESSION_CLOSED", "Session is closed."
    kind = Kind.CLOSED


class DomainRefused(SessionError):
    """A ``goto`` to a host that is not allowed, refused before navigating (403)."""

    code = "DOMAIN_NOT_ALLOWED"
    default_message = (
        "The host is not on this workspace's allowed domains; an administrator can add it."
    )
    kind = Kind.REFUSED


class CapacityExceeded(SessionError):
    """No instance has room for another session."""

    code, default_message = "CAPACITY", "No capacity for a new session."
    kind = Kind.UNAVAILABLE


class ConcurrencyLimited(SessionError):
    """The workspace is at its active-session limit."""

    code, default_message = "CONCURRENCY_LIMIT", "Too many active sessions for this workspace."
    kind = Kind.LIMITED


class OwnerUnavailable(SessionError):
    """The instance owning the session does not answer."""

    code, default_message = "OWNER_UNAVAILABLE", "The session's owner is unavailable."
    kind = Kind.UNAVAILABLE


class ActionError(SessionError):
    """An action that ran and failed (422)."""

    code, default_message = "ACTION_FAILED", "Action failed."
    kind = Kind.ACTION


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


class RefNotFound(ActionError):
    """A ref the session's latest ``"ai"`` snapshot does not hold, or whose element is gone."""

    code = "REF_NOT_FOUND"
    default_message = (
        "The ref is not in the latest ai snapshot, or its element is gone; take a new snapshot."
    )


class BrowserUnavailable(SessionError):
    """The browser is down (relaunching)."""

    code, default_message = "INTERNAL", "Browser unavailable."
    kind = Kind.UNAVAILABLE


def tree() -> Iterator[type[SessionError]]:
    """Every class of the tree (those of imported modules), each before its subclasses."""
    pending: list[type[SessionError]] = [SessionError]
    while pending:
        cls = pending.pop(0)
        yield cls
        pending.extend(cls.__subclasses__())


def error_class(kind: Kind, code: str) -> type[SessionError]:
    """The most general class with ``kind`` and ``code``, to re-raise a forwarded error.

    A code this instance does not know (a newer owner's) gets the most general class of its
    kind, so its HTTP status is still the owner's; the caller sets the code on the instance.
    """
    same_kind = [cls for cls in tree() if cls.kind is kind]
    exact = [cls for cls in same_kind if cls.code == code]
    return (exact or same_kind or [SessionError])[0]
