"""After the load: every session closed and billed exactly once, every capture final once.

:func:`observed` gathers what the clients saw from the records; the runner reads what the
service holds (each session and capture, the key's active sessions, the workspace's usage
report and its CSV) into a :class:`ServerView`; :func:`reconcile` compares the two. Pure,
so the unit tests drive it with made-up views.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench.load.records import FINAL_CAPTURE_STATES


@dataclass
class Observed:
    """What the load's clients saw, over every step."""

    sessions_created: list[str] = field(default_factory=list)
    sessions_closed: dict[str, int] = field(default_factory=dict)
    """Session id -> the ``billedCredits`` its ``DELETE`` answered."""
    captures_created: list[str] = field(default_factory=list)
    captures_final: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Capture id -> its ``final`` record (status, sessionId, updatedAt)."""


def observed(records: Iterable[dict[str, Any]]) -> Observed:
    """Collect the session and capture events of ``records``."""
    seen = Observed()
    for record in records:
        if record["k"] == "session":
            if record["event"] == "created":
                seen.sessions_created.append(record["id"])
            else:
                seen.sessions_closed[record["id"]] = record["credits"]
        elif record["k"] == "capture":
            if record["event"] == "created":
                seen.captures_created.append(record["id"])
            else:
                seen.captures_final[record["id"]] = record
    return seen


@dataclass
class ServerView:
    """What the service holds after the load, read through its API."""

    sessions: dict[str, dict[str, Any]]
    """Session id -> ``GET /v1/sessions/{id}`` (live ones and the captures' sessions)."""
    captures: dict[str, dict[str, Any]]
    """Capture id -> ``GET /api/captures/{id}``."""
    active: list[str]
    """``GET /v1/sessions?status=active``: ids still open."""
    usage_totals: dict[str, int]
    """``GET /v1/usage``'s ``totals`` over the run's days."""
    usage_csv: str
    """``GET /v1/usage?format=csv`` over the same days."""


@dataclass(frozen=True)
class Reconciliation:
    """The figures compared and every mismatch found (none: the run reconciles)."""

    live_sessions: int
    capture_sessions: int
    credits_billed: int
    """``totals.credits`` of the usage report."""
    credits_sum_sessions: int
    """The sum of ``billedCredits`` over every session the load made."""
    csv_rows: int
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        """True when nothing disagreed."""
        return not self.mismatches


def csv_rows(text: str) -> list[dict[str, str]]:
    """The rows of the usage CSV (its header names the columns)."""
    return list(csv.DictReader(io.StringIO(text)))


def _check_live(seen: Observed, view: ServerView, out: list[str]) -> None:
    if len(set(seen.sessions_created)) != len(seen.sessions_created):
        out.append("a session id was created twice")
    for sid in seen.sessions_created:
        record = view.sessions.get(sid)
        if sid not in seen.sessions_closed:
            out.append(f"session {sid}: its DELETE never answered 200")
        if record is None:
            out.append(f"session {sid}: not readable after the run")
            continue
        if record["status"] != "closed" or record["closeReason"] != "closed":
            out.append(f"session {sid}: {record['status']} / {record['closeReason']}, not closed")
        answered = seen.sessions_closed.get(sid)
        if answered is not None and answered != record["billedCredits"]:
            out.append(
                f"session {sid}: DELETE answered {answered} credits, now {record['billedCredits']}"
            )


def _check_captures(seen: Observed, view: ServerView, out: list[str]) -> list[str]:
    """Check every capture; the ids of their sessions."""
    session_ids = []
    for cid in seen.captures_created:
        final = seen.captures_final.get(cid)
        now = view.captures.get(cid)
        if final is None:
            out.append(f"capture {cid}: never seen in a final state")
        if now is None:
            out.append(f"capture {cid}: not readable after the run")
            continue
        if now["status"] not in FINAL_CAPTURE_STATES:
            out.append(f"capture {cid}: still {now['status']}")
        elif final is not None and (now["status"], now.get("updatedAt")) != (
            final["status"],
            final["updatedAt"],
        ):
            out.append(
                f"capture {cid}: final {final['status']} at {final['updatedAt']}, "
                f"now {now['status']} at {now.get('updatedAt')}"
            )
        sid = now.get("sessionId")
        if sid is None:
            out.append(f"capture {cid}: no session")
            continue
        session_ids.append(sid)
        record = view.sessions.get(sid)
        if record is None or record["status"] != "closed" or record["kind"] != "capture":
            out.append(f"capture {cid}: its session {sid} is not a closed capture session")
    return session_ids


def _check_ledger(
    expected: dict[str, int], capture_count: int, view: ServerView, out: list[str]
) -> int:
    """Compare the usage CSV and totals with ``expected`` (session id -> billedCredits);
    the number of CSV rows."""
    rows = csv_rows(view.usage_csv)
    counts = Counter(row["sessionId"] for row in rows)
    for sid, count in sorted(counts.items()):
        if count > 1:
            out.append(f"session {sid}: billed {count} times in the ledger")
        if sid not in expected:
            out.append(f"session {sid}: billed, but the load never made it")
    for sid in sorted(set(expected) - set(counts)):
        out.append(f"session {sid}: closed but not in the ledger")
    for row in rows:
        want = expected.get(row["sessionId"])
        if want is not None and int(row["credits"]) != want:
            out.append(
                f"session {row['sessionId']}: ledger {row['credits']} credits, session {want}"
            )
    totals = view.usage_totals
    wanted = {
        "sessions": len(expected),
        "captures": capture_count,
        "credits": sum(expected.values()),
    }
    for name, value in wanted.items():
        if totals.get(name) != value:
            out.append(f"usage totals.{name} = {totals.get(name)}, the load made {value}")
    csv_credits = sum(int(row["credits"]) for row in rows)
    if csv_credits != totals.get("credits"):
        out.append(f"usage CSV sums {csv_credits} credits, totals say {totals.get('credits')}")
    return len(rows)


def reconcile(seen: Observed, view: ServerView) -> Reconciliation:
    """Every session made was closed and billed exactly once, every capture reached one
    final state, and the usage report's credits are the sum over the sessions."""
    out: list[str] = []
    _check_live(seen, view, out)
    capture_sessions = _check_captures(seen, view, out)
    if view.active:
        out.append(f"{len(view.active)} sessions still active: {', '.join(view.active[:5])}")
    expected = {
        sid: int(view.sessions[sid]["billedCredits"])
        for sid in [*seen.sessions_created, *capture_sessions]
        if sid in view.sessions
    }
    rows = _check_ledger(expected, len(capture_sessions), view, out)
    return Reconciliation(
        live_sessions=len(seen.sessions_created),
        capture_sessions=len(capture_sessions),
        credits_billed=int(view.usage_totals.get("credits", 0)),
        credits_sum_sessions=sum(expected.values()),
        csv_rows=rows,
        mismatches=out,
    )
