"""The read pages: usage, captures (with "open"), sessions (with close and live view)."""

from __future__ import annotations

from quart import Response, request

from app.dashboard import workspace
from app.dashboard.chart import bar_chart
from app.dashboard.web import blueprint, page, problem, signed_in, signin, to
from app.routes.live import _live_link
from app.state import app_state, session_service
from sessions.errors import SessionError
from sessions.registry import Status
from sessions.timefmt import now_ms

LIVE_LINK_TTL_S = 600
"""How long a live view opened from the dashboard works."""
_NOTICES = {
    "closed": "Session closed and billed.",
}


@blueprint.get("/usage")
@signed_in
async def usage_page() -> Response:
    """Credits and sessions per day over the last 30 days, with totals."""
    span = workspace.usage_range()
    report = await workspace.usage(app_state(), signin().workspace_id, span)
    days = [day["date"] for day in report["daily"]]
    charts = [
        bar_chart("Credits per day", days, [day["credits"] for day in report["daily"]]),
        bar_chart("Sessions per day", days, [day["sessions"] for day in report["daily"]]),
    ]
    return await page("usage.html", report=report, charts=charts, nav="usage")


@blueprint.get("/captures")
@signed_in
async def captures_page() -> Response:
    """The workspace's newest captures."""
    rows = await workspace.captures(app_state(), signin().workspace_id)
    return await page("captures.html", captures=rows, limit=workspace.LIST_SIZE, nav="captures")


@blueprint.get("/captures/<capture_id>/open")
@signed_in
async def open_capture(capture_id: str) -> Response:
    """Mint a fresh signed link to the capture's file and go there."""
    state = app_state()
    record = await workspace.capture_of(state, signin().workspace_id, capture_id)
    if record is None:
        return await problem(404, "Capture not found", "No capture of this workspace has that id.")
    body = await state.captures.public(record)
    url = body.get("result", {}).get("url")
    if not url:
        return await problem(409, "No file yet", f"This capture is {record.status.value}.")
    return to(url)


@blueprint.get("/sessions")
@signed_in
async def sessions_page() -> Response:
    """Active sessions and the most recent closed ones."""
    active, closed = await workspace.sessions(app_state(), signin().workspace_id)
    notice = _NOTICES.get(request.args.get("done", ""), "")
    return await page("sessions.html", active=active, closed=closed, notice=notice, nav="sessions")


@blueprint.post("/sessions/<session_id>/close")
@signed_in
async def close_session(session_id: str) -> Response:
    """Close a session of the workspace (billed once, as a DELETE of the API would)."""
    record = await workspace.session_of(app_state(), signin().workspace_id, session_id)
    if record is None:
        return await problem(404, "Session not found", "No session of this workspace has that id.")
    try:
        await session_service().close(record.key_id, record.id)
    except SessionError as err:
        return await problem(503, "Not closed", err.message)
    return to("/dashboard/sessions?done=closed")


@blueprint.post("/sessions/<session_id>/live")
@signed_in
async def live_view(session_id: str) -> Response:
    """Open a view-only live view of an active session (a link valid for 10 minutes)."""
    state = app_state()
    record = await workspace.session_of(state, signin().workspace_id, session_id)
    if record is None or record.status is not Status.ACTIVE:
        return await problem(404, "No such active session", "The session is closed or unknown.")
    link = _live_link(state, record, "live-view", now_ms() + LIVE_LINK_TTL_S * 1000)
    return to(link["url"])
