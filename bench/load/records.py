"""What the Locust scenario writes and the runner reads: one JSON object per line.

Shared by ``locustfile.py`` (inside the Locust process) and the runner, so it imports
nothing but the standard library: the Locust process must not load the service's packages,
and the runner must never load Locust (it monkey-patches the standard library with gevent).

Record kinds (``"k"``):

* ``req`` - one HTTP request: ``name`` (the endpoint, ids replaced by ``{id}``), ``action``
  (the action type, for ``POST .../actions``), ``start`` (epoch s), ``ms``, ``status`` (0 when
  no answer came), ``error`` (``None`` or the kind from :func:`error_kind`) and ``routed``
  (for requests about one session: whether the instance asked was not the session's owner);
* ``session`` - ``event`` ``created`` or ``closed`` of a live session ``id``; a close carries
  the ``credits`` the ``DELETE`` answered;
* ``capture`` - ``event`` ``created`` or ``final`` of capture ``id``; a final one carries
  ``status``, ``sessionId``, ``updatedAt`` and ``ms`` (POST to the final state, end to end).
"""

from __future__ import annotations

import json
from typing import Any

ACTIONS_ENDPOINT = "POST /v1/sessions/{id}/actions"
"""The name of the action round trip in the records and the report."""
CAPTURE_E2E = "capture end to end (POST -> final)"
"""A pseudo-endpoint: a capture's POST to the long-poll read that saw it final."""

FINAL_CAPTURE_STATES = ("completed", "failed")


def error_kind(status: int, expected: int, body: str, failure: str | None) -> str | None:
    """``None`` when ``status`` is the ``expected`` one, else a short kind for the report.

    ``"503 OWNER_UNAVAILABLE"`` for an answer in either documented error shape (the ``/v1``
    one carries ``code``, the ``/api`` one ``error.code``), ``"500"`` for one without a
    code, and the client's failure (``"ConnectionRefusedError"``, ``"timeout"``) when no
    answer came (``status`` 0).
    """
    if status == expected:
        return None
    if status == 0:
        return failure or "no answer"
    code = _error_code(body)
    return f"{status} {code}" if code else str(status)


def _error_code(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    code = parsed.get("code")
    error = parsed.get("error")
    if code is None and isinstance(error, dict):
        code = error.get("code")
    return code if isinstance(code, str) else None


def read_records(lines: list[str]) -> list[dict[str, Any]]:
    """The records of a file's lines (blank lines skipped)."""
    return [json.loads(line) for line in lines if line.strip()]
