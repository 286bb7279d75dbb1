"""Billing reports: ``GET /v1/usage`` (a workspace) and ``GET /admin/usage`` (all)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from quart import Blueprint, Response
from quart_schema import validate_querystring

from app.middleware import principal
from app.routes.admin import blueprint as admin_blueprint
from app.state import app_state
from sessions.keys import SessionKeys
from sessions.usage import Range, UsageReports

blueprint = Blueprint("usage", __name__, url_prefix="/v1/usage")


class UsageQuery(BaseModel):
    """Query of the usage reports."""

    model_config = ConfigDict(extra="forbid")
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    format: Literal["json", "csv"] = "json"


def reports() -> UsageReports:
    """The report reader of the current app."""
    state = app_state()
    return UsageReports(state.redis, SessionKeys(state.settings.redis_prefix))


def csv_response(rows: AsyncIterator[str]) -> Response:
    """Stream CSV rows as they are read."""
    return Response(
        rows,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="usage.csv"'},
    )


async def admin_document(span: Range, ws_ids: Iterable[str]) -> dict[str, Any]:
    """The ``/admin/usage`` document: totals per workspace."""
    reader = reports()
    return {
        **span.public(),
        "workspaces": [
            {"workspaceId": ws_id, "totals": await reader.totals(ws_id, span)} for ws_id in ws_ids
        ],
    }


@blueprint.get("")
@validate_querystring(UsageQuery)
async def workspace_usage(query_args: UsageQuery) -> Response | dict[str, Any]:
    """The caller's workspace: totals, each UTC day, each key; or the CSV."""
    span = Range.parse(query_args.start, query_args.end)
    ws_id = principal().workspace_id
    if query_args.format == "csv":
        return csv_response(reports().csv_rows([ws_id], span))
    return await reports().workspace(ws_id, span)


# Registered on the admin blueprint, so the admin token check guards it.
@admin_blueprint.get("/usage")
@validate_querystring(UsageQuery)
async def admin_usage(query_args: UsageQuery) -> Response | dict[str, Any]:
    """Every workspace's totals (or every closed session as CSV)."""
    span = Range.parse(query_args.start, query_args.end)
    ws_ids = [ws["id"] for ws in await app_state().tenancy.list_workspaces()]
    if query_args.format == "csv":
        return csv_response(reports().csv_rows(ws_ids, span))
    return await admin_document(span, ws_ids)
