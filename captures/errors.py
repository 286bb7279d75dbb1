"""The captures package's exception tree; ``app/`` maps it to HTTP by class.

A failed capture shows ``error: {code, message}`` (SPEC section 3). Its code is the code of
an error class: one of this tree, or an engine error about the page (an action that failed,
a domain refused); anything else, ours or unknown, is ``INTERNAL`` with a fixed message.
"""

from __future__ import annotations

from sessions.errors import ActionError, DomainRefused


class CaptureError(Exception):
    """Base of every captures error; ``code`` is the documented error code."""

    code: str = "INTERNAL"
    default_message: str = "The capture failed because of an internal error."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class IllegalTransition(CaptureError):
    """A state change the table of ``captures/records.py`` does not allow."""


class CaptureFailed(CaptureError):
    """A capture that failed for good, with the code and message its record shows."""

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @classmethod
    def of(cls, err: BaseException) -> CaptureFailed:
        """The failure ``err`` ends a capture with: its own code and message when it is about
        the page (SPEC section 3 lists them), else ``INTERNAL``. An engine error about the
        session itself (closed, not found, no capacity) is, inside a capture, our fault."""
        if isinstance(err, CaptureFailed):
            return err
        if isinstance(err, ActionError | DomainRefused):
            return cls(err.message, code=err.code)
        return cls()

    def public(self) -> dict[str, str]:
        """The ``error`` object of a failed capture."""
        return {"code": self.code, "message": self.message}


class CaptureTimeout(CaptureFailed):
    """The capture did not finish within ``SESSIONSHOT_CAPTURE_TIMEOUT``."""

    code, default_message = (
        "CAPTURE_TIMEOUT",
        "The capture did not finish within its time budget.",
    )


class AuthRefused(CaptureFailed):
    """The browser refused the capture's auth cookies; no retry can help."""

    code, default_message = (
        "ACTION_FAILED",
        "The browser refused the capture's auth cookies (check their fields).",
    )
