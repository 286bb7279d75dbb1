"""Billing reports: ``GET /v1/usage`` (a workspace) and ``GET /admin/usage`` (all)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from quart import Blueprint, Response
from quart_schema import (
    document_response,
    operation_id,
    security_scheme_blueprint,
    tag,
    tag_blueprint,
    validate_querystring,
)

from app.middleware import principal
from app.openapi import API_KEY_AUTH, api_errors, media, v1_errors
from app.routes.admin import blueprint as admin_blueprint
from app.schemas import Answer, Timestamp
from app.state import app_state
from sessions.keys import SessionKeys
from sessions.usage import CSV_HEADER, MAX_RANGE_DAYS, Range, UsageReports

blueprint = Blueprint("usage", __name__, url_prefix="/v1/usage")
tag_blueprint(blueprint, ["usage"])
security_scheme_blueprint(blueprint, API_KEY_AUTH)

_DAYS = f"at most {MAX_RANGE_DAYS} days"
# An ISO date or datetime (Range.parse reads it); the range's rules stay there.
_INSTANT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$"
)
_INSTANT_RE = re.compile(_INSTANT)


class UsageQuery(BaseModel):
    """Query of the usage reports."""

    model_config = ConfigDict(extra="forbid")
    start: str = Field(
        alias="from",
        json_schema_extra={"pattern": _INSTANT},
        description="Start (inclusive): an ISO date or datetime, UTC unless it has an offset.",
    )
    end: str = Field(
        alias="to",
        json_schema_extra={"pattern": _INSTANT},
        description=f"End (exclusive), after `from` and {_DAYS} later at most.",
    )
    format: Literal["json", "csv"] = Field(
        default="json", description="`csv`: one row per closed session instead."
    )

    @field_validator("start", "end")
    @classmethod
    def _iso_form(cls, value: str) -> str:
        if not _INSTANT_RE.fullmatch(value):
            raise ValueError("expected an ISO date or datetime")
        return value


class Counters(Answer):
    """Closed sessions of both kinds, the captures among them, their seconds and credits."""

    sessions: int = Field(ge=0)
    captures: int = Field(ge=0)
    duration_seconds: int = Field(ge=0)
    credits: int = Field(ge=0)


class DayUsage(Counters):
    """One UTC day of the range (sessions counted by the day they closed)."""

    date: Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


class KeyUsage(Counters):
    """One API key's share of the range."""

    key_id: str


class WorkspaceUsage(Answer):
    """A workspace's usage over the range: totals, each UTC day, each key."""

    workspace_id: str
    start: Timestamp = Field(alias="from")
    end: Timestamp = Field(alias="to")
    totals: Counters
    daily: list[DayUsage]
    by_key: list[KeyUsage]


class WorkspaceTotals(Answer):
    """One workspace's totals."""

    workspace_id: str
    totals: Counters


class UsageReport(Answer):
    """Every workspace's totals over the range."""

    start: Timestamp = Field(alias="from")
    end: Timestamp = Field(alias="to")
    workspaces: list[WorkspaceTotals]


_CSV_HEADER = ",".join(CSV_HEADER)
CSV = media(
    200,
    {"text/csv": {"schema": {"type": "string", "description": f"Header: {_CSV_HEADER}"}}},
    "The report, or with `format=csv` one CSV row per closed session.",
)


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
@document_response(WorkspaceUsage)
@CSV
@v1_errors(400, 401, 429, 503)
@operation_id("getUsage")
async def workspace_usage(query_args: UsageQuery) -> Response | dict[str, Any]:
    """Report your workspace's usage.

    Sessions closed in `[from, to)` (live and capture sessions alike), their durations and
    credits: totals, each UTC day and each API key of the workspace. A malformed date,
    `from` not before `to`, or a range over 366 days answers 400.
    """
    span = Range.parse(query_args.start, query_args.end)
    ws_id = principal().workspace_id
    if query_args.format == "csv":
        return csv_response(reports().csv_rows([ws_id], span))
    return await reports().workspace(ws_id, span)


# Registered on the admin blueprint, so the admin token check guards it.
@admin_blueprint.get("/usage")
@validate_querystring(UsageQuery)
@document_response(UsageReport)
@CSV
@api_errors(400, 401, 404, 503, e404="NOT_FOUND: the admin API is off on this service.")
@tag(["usage"])
@operation_id("adminGetUsage")
async def admin_usage(query_args: UsageQuery) -> Response | dict[str, Any]:
    """Report every workspace's usage.

    Each workspace's totals over `[from, to)`, or with `format=csv` every closed session
    of every workspace. The same rules as the workspace report apply to the range.
    """
    span = Range.parse(query_args.start, query_args.end)
    ws_ids = [ws["id"] for ws in await app_state().tenancy.list_workspaces()]
    if query_args.format == "csv":
        return csv_response(reports().csv_rows(ws_ids, span))
    return await admin_document(span, ws_ids)
