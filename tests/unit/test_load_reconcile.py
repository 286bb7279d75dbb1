"""The load test's reconciliation (bench/load/reconcile.py), on made-up server views.

After a load run every session the clients made must be closed and billed exactly once,
every capture must have reached one final state, and the usage report's credits must be
the sum over the sessions. Each test breaks one of those and expects it named.
"""

from __future__ import annotations

from typing import Any

from bench.load.reconcile import Observed, ServerView, observed, reconcile

CSV_HEADER = "sessionId,kind,keyId,startedAt,closedAt,durationSeconds,credits,closeReason"


def session(sid: str, kind: str = "live", credits: int = 1) -> dict[str, Any]:
    """A closed session as ``GET /v1/sessions/{id}`` answers it (the fields compared)."""
    return {"id": sid, "status": "closed", "closeReason": "closed", "kind": kind,
            "billedCredits": credits}  # fmt: skip


def csv_row(sid: str, kind: str = "live", credits: int = 1) -> str:
    """One ledger row."""
    return f"{sid},{kind},key_1,2026-12-05T10:00:00Z,2026-12-05T10:00:09Z,9,{credits},closed"


def records() -> list[dict[str, Any]]:
    """Two live sessions and one capture, as the scenario records them."""
    return [
        {"k": "session", "event": "created", "id": "sess_a"},
        {"k": "session", "event": "closed", "id": "sess_a", "credits": 1},
        {"k": "session", "event": "created", "id": "sess_b"},
        {"k": "session", "event": "closed", "id": "sess_b", "credits": 2},
        {"k": "capture", "event": "created", "id": "cap_1"},
        {"k": "capture", "event": "final", "id": "cap_1", "status": "completed",
         "sessionId": "sess_c", "updatedAt": "2026-12-05T10:00:01.000Z", "ms": 250.0},
    ]  # fmt: skip


def clean_view() -> ServerView:
    """What the service holds after a run that went right."""
    return ServerView(
        sessions={
            "sess_a": session("sess_a"),
            "sess_b": session("sess_b", credits=2),
            "sess_c": session("sess_c", kind="capture"),
        },
        captures={
            "cap_1": {
                "id": "cap_1",
                "status": "completed",
                "sessionId": "sess_c",
                "updatedAt": "2026-12-05T10:00:01.000Z",
            }
        },
        active=[],
        usage_totals={"sessions": 3, "captures": 1, "durationSeconds": 27, "credits": 4},
        usage_csv="\n".join(
            [
                CSV_HEADER,
                csv_row("sess_a"),
                csv_row("sess_b", credits=2),
                csv_row("sess_c", "capture"),
            ]
        )
        + "\n",
    )


def seen() -> Observed:
    return observed(records())


def test_a_clean_run_reconciles_and_credits_are_the_sum_over_sessions() -> None:
    result = reconcile(seen(), clean_view())
    assert result.mismatches == []
    assert result.ok
    assert (result.live_sessions, result.capture_sessions, result.csv_rows) == (2, 1, 3)
    assert result.credits_billed == result.credits_sum_sessions == 4


def test_a_session_billed_twice_is_named() -> None:
    view = clean_view()
    view.usage_csv += csv_row("sess_a") + "\n"
    view.usage_totals["credits"] = 5
    view.usage_totals["sessions"] = 4
    result = reconcile(seen(), view)
    assert not result.ok
    assert "session sess_a: billed 2 times in the ledger" in result.mismatches
    assert "usage totals.credits = 5, the load made 4" in result.mismatches


def test_a_session_left_open_is_named() -> None:
    view = clean_view()
    view.sessions["sess_b"] = {**session("sess_b", credits=0), "status": "active",
                               "closeReason": None}  # fmt: skip
    view.active = ["sess_b"]
    records_without_close = [r for r in records() if r.get("credits") != 2]
    result = reconcile(observed(records_without_close), view)
    assert "session sess_b: its DELETE never answered 200" in result.mismatches
    assert "session sess_b: active / None, not closed" in result.mismatches
    assert "1 sessions still active: sess_b" in result.mismatches


def test_credits_changed_after_the_close_answered_are_named() -> None:
    view = clean_view()
    view.sessions["sess_a"] = session("sess_a", credits=3)
    result = reconcile(seen(), view)
    assert "session sess_a: DELETE answered 1 credits, now 3" in result.mismatches
    assert "session sess_a: ledger 1 credits, session 3" in result.mismatches


def test_a_capture_that_left_its_final_state_or_never_reached_one_is_named() -> None:
    view = clean_view()
    view.captures["cap_1"] = {**view.captures["cap_1"], "status": "failed",
                              "updatedAt": "2026-12-05T10:00:05.000Z"}  # fmt: skip
    result = reconcile(seen(), view)
    assert any(m.startswith("capture cap_1: final completed at") for m in result.mismatches)

    unfinished = [r for r in records() if r.get("event") != "final"]
    view = clean_view()
    view.captures["cap_1"] = {**view.captures["cap_1"], "status": "processing"}
    result = reconcile(observed(unfinished), view)
    assert "capture cap_1: never seen in a final state" in result.mismatches
    assert "capture cap_1: still processing" in result.mismatches


def test_a_session_billed_that_the_load_never_made_is_named() -> None:
    view = clean_view()
    view.usage_csv += csv_row("sess_x") + "\n"
    result = reconcile(seen(), view)
    assert "session sess_x: billed, but the load never made it" in result.mismatches
    assert "usage CSV sums 5 credits, totals say 4" in result.mismatches
