"""The pure parts of the captures service: a record's fields and its API shapes, the stored
file's facts, the moves between states, and the figures read for /metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from captures.errors import IllegalTransition
from captures.keys import GROUP
from captures.records import (
    ALLOWED,
    CaptureRecord,
    CaptureStatus,
    check_transition,
)
from captures.results import ResultFile
from captures.service import queue_figures
from sessions.render import Rendered

CREATED_MS = 1_782_987_300_123  # 2026-07-02T10:15:00.123Z
CREATED_ISO = "2026-07-02T10:15:00.123Z"


def test_a_new_record_is_queued_with_no_attempt_yet() -> None:
    record = CaptureRecord.queued("cap_1", "key_1", "ws_1", None, CREATED_MS)
    assert record.raw == {
        "id": "cap_1",
        "status": "queued",
        "keyId": "key_1",
        "workspaceId": "ws_1",
        "createdAt": str(CREATED_MS),
        "updatedAt": str(CREATED_MS),
        "attempts": "0",
    }
    assert record.status is CaptureStatus.QUEUED
    assert (record.key_id, record.workspace_id, record.created_ms) == ("key_1", "ws_1", CREATED_MS)
    assert record.session_id is None and record.previous_worker is None
    assert record.result_file() is None


def test_the_accepted_answer_echoes_metadata_only_when_sent() -> None:
    bare = CaptureRecord.queued("cap_1", "key_1", "ws_1", None, CREATED_MS)
    assert bare.accepted() == {
        "id": "cap_1",
        "status": "queued",
        "createdAt": CREATED_ISO,
        "statusUrl": "/api/captures/cap_1",
    }
    for metadata in ({"order": 42, "tags": ["a", "é"]}, {}):
        sent = CaptureRecord.queued("cap_2", "key_1", "ws_1", metadata, CREATED_MS)
        assert sent.accepted()["metadata"] == metadata
        assert sent.public()["metadata"] == metadata


def test_the_public_form_of_a_queued_record() -> None:
    record = CaptureRecord.queued("cap_1", "key_1", "ws_1", None, CREATED_MS)
    assert record.public() == {
        "id": "cap_1",
        "status": "queued",
        "createdAt": CREATED_ISO,
        "updatedAt": CREATED_ISO,
        "statusUrl": "/api/captures/cap_1",
    }


def test_the_public_form_of_a_failed_record_shows_its_error_and_nothing_internal() -> None:
    raw = CaptureRecord.queued("cap_1", "key_1", "ws_1", None, CREATED_MS).raw
    error = {"code": "CAPTURE_TIMEOUT", "message": "Too slow."}
    raw.update(
        status="failed",
        updatedAt=str(CREATED_MS + 5000),
        completedAt=str(CREATED_MS + 5000),
        sessionId="sess_9",
        worker="worker_a",
        previousWorker="worker_b",
        attempts="2",
        error=json.dumps(error),
    )
    record = CaptureRecord(raw)
    assert record.public() == {
        "id": "cap_1",
        "status": "failed",
        "createdAt": CREATED_ISO,
        "updatedAt": "2026-07-02T10:15:05.123Z",
        "completedAt": "2026-07-02T10:15:05.123Z",
        "sessionId": "sess_9",
        "error": error,
        "statusUrl": "/api/captures/cap_1",
    }
    assert (record.session_id, record.previous_worker) == ("sess_9", "worker_b")


def _png(width: int = 1280, height: int = 4820) -> Rendered:
    return Rendered(data=b"x" * 482113, format="png", width=width, height=height)


def test_a_stored_file_keeps_the_stored_form_records_already_hold() -> None:
    file = ResultFile.of(_png(), "ws_1/captures/cap_1-ab12cd34.png", "cap_1.png")
    stored = file.to_json()
    assert json.loads(stored) == {
        "key": "ws_1/captures/cap_1-ab12cd34.png",
        "filename": "cap_1.png",
        "contentType": "image/png",
        "format": "png",
        "bytes": 482113,
        "width": 1280,
        "height": 4820,
    }
    assert " " not in stored, "compact, as written before"
    assert ResultFile.from_json(stored) == file


def test_a_pdf_file_has_pages_in_every_form() -> None:
    rendered = Rendered(data=b"%PDF", format="pdf", width=1280, height=800, pages=3)
    file = ResultFile.of(rendered, "ws_1/captures/cap_1-00.pdf", "cap_1.pdf")
    assert ResultFile.from_json(file.to_json()) == file
    assert json.loads(file.to_json())["contentType"] == "application/pdf"
    expires = datetime(2026, 7, 2, 10, 25, 0, 500_000, tzinfo=UTC)
    assert file.public("https://files/x", expires) == {
        "url": "https://files/x",
        "expiresAt": "2026-07-02T10:25:00.500Z",
        "format": "pdf",
        "bytes": 4,
        "width": 1280,
        "height": 800,
        "pages": 3,
    }


def test_a_completed_record_gives_its_file_and_the_result_hides_where_it_is_stored() -> None:
    file = ResultFile.of(_png(), "ws_1/captures/cap_1-ab12cd34.png", "cap_1.png")
    raw = CaptureRecord.queued("cap_1", "key_1", "ws_1", None, CREATED_MS).raw
    raw.update(status="completed", completedAt=str(CREATED_MS + 1), result=file.to_json())
    record = CaptureRecord(raw)
    assert record.result_file() == file
    assert "result" not in record.public(), "the link is minted per read, not stored"
    public = file.public("https://files/x", datetime(2026, 7, 2, tzinfo=UTC))
    assert set(public) == {"url", "expiresAt", "format", "bytes", "width", "height"}


MOVES = [(a, b) for a in CaptureStatus for b in CaptureStatus]
LEGAL = {
    ("queued", "processing"),
    ("queued", "failed"),
    ("processing", "processing"),
    ("processing", "completed"),
    ("processing", "failed"),
}


@pytest.mark.parametrize(("current", "new"), MOVES)
def test_only_the_documented_moves_are_legal(current: CaptureStatus, new: CaptureStatus) -> None:
    """``queued → processing → completed | failed``, a retry stays ``processing``, a
    final state never changes."""
    if (current.value, new.value) in LEGAL:
        check_transition(current, new)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, new)


def test_final_states_are_exactly_those_with_no_way_out() -> None:
    assert {s for s in CaptureStatus if s.final} == {s for s in CaptureStatus if not ALLOWED[s]}


def _group(name: str, lag: int | None, pending: int) -> dict[str, Any]:
    return {"name": name, "consumers": 1, "pending": pending, "lag": lag}


def test_figures_from_redis_replies() -> None:
    stats = {"completed": "7", "failed": "2", "latencyMsSum": "12500"}
    groups = [_group("other", 50, 50), _group(GROUP, 3, 2)]
    figures = queue_figures(stats, groups)
    assert figures.finals == {"completed": 7, "failed": 2}
    assert figures.latency_s_sum == 12.5
    assert figures.depth == 5, "waiting for a worker + running"


def test_figures_where_redis_has_nothing_yet() -> None:
    empty = queue_figures({}, [_group(GROUP, None, 0)])
    assert empty.finals == {"completed": 0, "failed": 0}
    assert (empty.latency_s_sum, empty.depth) == (0, 0)
    # No stream yet: XINFO answers an error, which leaves the depth unknown.
    unknown = queue_figures(Exception("ERR no such key"), Exception("ERR no such key"))
    assert (unknown.finals, unknown.latency_s_sum, unknown.depth) == (None, None, None)
