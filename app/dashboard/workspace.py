"""What the dashboard shows of a workspace, read through the services the API uses.

Captures and sessions are indexed per API key; a workspace's list is its keys' lists merged,
newest first. Nothing here reads a capture's or session's request payload (sealed; never
shown), and the session's current URL is shown without its query or fragment, which may
carry credentials.
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from app.state import AppState
from captures.records import CaptureRecord
from sessions.keys import SessionKeys
from sessions.registry import SessionRecord, Status
from sessions.timefmt import now_ms
from sessions.usage import Range, UsageReports

LIST_SIZE = 50
"""Rows a captures or recent-sessions table shows (the newest)."""
USAGE_DAYS = 30


def usage_range(today: datetime | None = None) -> Range:
    """The last :data:`USAGE_DAYS` UTC days, today included."""
    day = (today or datetime.now(UTC)).date()
    start = day - timedelta(days=USAGE_DAYS - 1)
    return Range.parse(start.isoformat(), (day + timedelta(days=1)).isoformat())


async def usage(state: AppState, ws_id: str, span: Range) -> dict[str, Any]:
    """The ``GET /v1/usage`` document of the workspace over ``span``."""
    reader = UsageReports(state.redis, SessionKeys(state.settings.redis_prefix))
    return await reader.workspace(ws_id, span)


async def key_ids(state: AppState, ws_id: str) -> list[str]:
    """Every key id of the workspace, revoked ones included (their data stays listed)."""
    return [key["id"] for key in await state.tenancy.list_keys(ws_id)]


async def captures(state: AppState, ws_id: str) -> list[dict[str, Any]]:
    """The workspace's newest captures, as listed by ``GET /api/captures`` (no links)."""
    pages = []
    for key_id in await key_ids(state, ws_id):
        listed, _ = await state.captures.list(key_id, None, LIST_SIZE, None)
        pages.append([{**capture, "keyId": key_id} for capture in listed])
    merged = heapq.merge(*pages, key=lambda c: c["createdAt"], reverse=True)
    return list(merged)[:LIST_SIZE]


async def capture_of(state: AppState, ws_id: str, capture_id: str) -> CaptureRecord | None:
    """One capture of the workspace (any of its keys'), or None."""
    if not capture_id.startswith("cap_") or len(capture_id) > 64:
        return None
    record = await state.captures.store.get(capture_id)
    return record if record is not None and record.workspace_id == ws_id else None


async def sessions(
    state: AppState, ws_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The workspace's active sessions and its most recently created closed ones."""
    registry = state.engine.registry
    active: list[list[SessionRecord]] = []
    closed: list[list[SessionRecord]] = []
    for key_id in await key_ids(state, ws_id):
        active.append((await registry.page_for_key(ws_id, key_id, Status.ACTIVE, 100, None))[0])
        closed.append(
            (await registry.page_for_key(ws_id, key_id, Status.CLOSED, LIST_SIZE, None))[0]
        )
    return _rows(active, 500), _rows(closed, LIST_SIZE)


def _rows(pages: list[list[SessionRecord]], limit: int) -> list[dict[str, Any]]:
    merged = heapq.merge(*pages, key=lambda r: r.ms("createdAt") or 0, reverse=True)
    return [session_row(record) for record in list(merged)[:limit]]


def session_row(record: SessionRecord) -> dict[str, Any]:
    """A session as its table row shows it."""
    body = record.public()
    return {
        **body,
        "keyId": record.key_id,
        "page": _page(body.get("currentUrl")),
        "expiresInSeconds": record.expires_in(now_ms()),
    }


def _page(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else ""


async def session_of(state: AppState, ws_id: str, session_id: str) -> SessionRecord | None:
    """One session of the workspace, or None."""
    if not session_id.startswith("sess_") or len(session_id) > 64:
        return None
    record = await state.engine.registry.get(session_id)
    return record if record is not None and record.workspace_id == ws_id else None
