"""What the HTTP API answers, as pydantic models: the responses of ``/openapi.json``.

The hot routes build their JSON directly (:mod:`app.responses`) and only document these
models; the admin routes validate their answers with them. The test suite holds every
answer of a running instance to them (``tests/integration/test_openapi_conformance.py``).
Docstrings and descriptions here are read by API users, in ``/docs``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
"""ISO 8601 in UTC with milliseconds, as every timestamp of the API: ``…T10:15:00.000Z``."""


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(description: str | None = None) -> Any:
    """A field left out of the answer (never sent as null) where it does not apply."""
    return Field(default=None, description=description, json_schema_extra=_no_default)


class Answer(BaseModel):
    """Base of the answer models: camelCase on the wire, nothing undocumented."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
    )


# Errors -------------------------------------------------------------------------------


class ErrorDetail(Answer):
    """A documented error code and a message for people."""

    code: str = Field(description="A stable code such as VALIDATION_ERROR or NOT_FOUND.")
    message: str = Field(description="What went wrong; never holds secrets or internals.")


class ErrorResponse(Answer):
    """An error of `/api/` or `/admin/`."""

    error: ErrorDetail


# Sessions -----------------------------------------------------------------------------


class SessionOptionsView(Answer):
    """The options a session was created with."""

    max_ttl_seconds: int = Field(ge=1)
    idle_timeout_seconds: int | None = Field(ge=1)
    proxy: bool
    bypass_bot_detection: bool
    connect: bool = Field(description="A browser of its own, driven over CDP at `connectUrl`.")


class ActionTally(Answer):
    """Actions of one type: how many ran, succeeded and failed."""

    total: int = Field(ge=0)
    success: int = Field(ge=0)
    error: int = Field(ge=0)


CloseReason = Literal[
    "closed", "expired", "idle_timeout", "browser_crashed", "instance_lost", "shutdown"
]


class SessionObject(Answer):
    """A live or capture session. Once closed, its counters no longer change."""

    id: str = Field(pattern=r"^sess_", examples=["sess_0b6f3c1e-5a8d-4c57-9d3e-2f1a7c9b8e21"])
    status: Literal["active", "closed"]
    close_reason: CloseReason | None = Field(description="Why it closed; null while active.")
    created_at: Timestamp
    started_at: Timestamp
    expires_at: Timestamp = Field(description="startedAt + maxTtlSeconds.")
    closed_at: Timestamp | None
    duration_seconds: int = Field(ge=0, description="Whole seconds, rounded up, once closed.")
    billed_credits: int = Field(ge=0, description="Credits charged at close (0 while active).")
    action_count: int = Field(ge=0)
    action_success_count: int = Field(ge=0)
    action_error_count: int = Field(ge=0)
    action_breakdown: dict[str, ActionTally] = Field(description="Counters by action type.")
    options: SessionOptionsView
    kind: Literal["live", "capture"]
    current_url: str | None = Field(description="The page's URL after the latest action.")
    metadata: dict[str, Any] | SkipJsonSchema[None] = omittable("As sent at creation.")
    capture_id: str | SkipJsonSchema[None] = omittable("The capture a capture session ran.")
    connect_url: str | SkipJsonSchema[None] = omittable(
        "A connect session's CDP endpoint (`ws://` or `wss://`): give it to Playwright's "
        "`connect_over_cdp` or Puppeteer's `connect` with the API key, or add `?token=` "
        "with a `cdp` token."
    )


class Session(SessionObject):
    """A session and the whole seconds it has left."""

    expires_in_seconds: int = Field(ge=0, description="0 once closed.")


NextCursor = Annotated[
    str | None,
    Field(
        description="Pass as `cursor` for the next page; null on the last page. A page "
        "can hold fewer than `limit` items and still have a next one (a status filter that "
        "skipped many): only null means the end."
    ),
]


class SessionList(Answer):
    """A page of the caller's sessions, newest first."""

    sessions: list[Session]
    next_cursor: NextCursor


class V1Error(Answer):
    """An error of `/v1/`; `session` and `expiresInSeconds` come with errors about a session
    that exists (a closed one answers 409 `SESSION_CLOSED` with its final state)."""

    success: Literal[False]
    error: str = Field(description="What went wrong; never holds secrets or internals.")
    code: str = Field(description="A stable code such as NOT_FOUND or SELECTOR_TIMEOUT.")
    expires_in_seconds: int | SkipJsonSchema[None] = omittable()
    session: SessionObject | SkipJsonSchema[None] = omittable()


# Actions ------------------------------------------------------------------------------


class Point(Answer):
    """A point in CSS pixels of the viewport."""

    x: float
    y: float


class BoundingBox(Answer):
    """An element's box in CSS pixels of the viewport."""

    x: float
    y: float
    width: float
    height: float


class ActionResult(Answer):
    """A successful action. Besides `success`, `expiresInSeconds` and `url`, the fields of
    the action's type are present: `status` (goto); element info (`matched`, `visible`,
    `elementText`, `tagName`, `attributes`, `boundingBox`) for element actions, with
    `clickedPoint`, `hoveredPoint` or `selected`; `scrollX`/`scrollY` (scroll); `content`
    and `truncated` (content); `snapshot`, `truncated` and `refCount` (snapshot); `result`
    (evaluate, screenshot, pdf)."""

    success: Literal[True]
    expires_in_seconds: int = Field(ge=0)
    url: str = Field(description="The page's URL after the action.")
    status: int | SkipJsonSchema[None] = omittable("HTTP status of the document (goto).")
    matched: bool | SkipJsonSchema[None] = omittable("False when no element matched.")
    visible: bool | SkipJsonSchema[None] = omittable()
    element_text: str | None = omittable("Trimmed and capped text of the element.")
    tag_name: str | None = omittable("Lower case.")
    attributes: dict[str, str] | SkipJsonSchema[None] = omittable()
    bounding_box: BoundingBox | None = omittable()
    clicked_point: Point | SkipJsonSchema[None] = omittable()
    hovered_point: Point | SkipJsonSchema[None] = omittable()
    selected: list[str] | SkipJsonSchema[None] = omittable("The values now selected.")
    scroll_x: float | SkipJsonSchema[None] = omittable()
    scroll_y: float | SkipJsonSchema[None] = omittable()
    content: str | SkipJsonSchema[None] = omittable("HTML, text or Markdown, capped.")
    truncated: bool | SkipJsonSchema[None] = omittable(
        "True when content, snapshot or result was cut."
    )
    snapshot: str | SkipJsonSchema[None] = omittable(
        "The ARIA snapshot as text; in `ai` mode with element refs (`[ref=e12]`)."
    )
    ref_count: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = omittable(
        "snapshot: the refs of the whole snapshot, cut or not (0 in `default` mode)."
    )
    result: Any = omittable(
        "evaluate: the value as JSON. screenshot and pdf: the file, as `format`, `bytes`, "
        "`width`, `height` (and `pages` for a PDF) with a signed link `url` valid until "
        "`expiresAt`, or with `inline` its bytes in base64 as `data`."
    )


# Captures -----------------------------------------------------------------------------


class CaptureError(Answer):
    """Why a capture failed: a safe code and a message."""

    code: Literal[
        "NAVIGATION_TIMEOUT",
        "NAVIGATION_FAILED",
        "SELECTOR_TIMEOUT",
        "ACTION_FAILED",
        "DOMAIN_NOT_ALLOWED",
        "TARGET_BLOCKED",
        "RENDER_FAILED",
        "CAPTURE_TIMEOUT",
        "PAGE_CRASHED",
        "INTERNAL",
    ]
    message: str


class ListedCaptureFile(Answer):
    """The facts of a capture's rendered file; in lists, without a link (read the capture
    to get one)."""

    format: Literal["png", "jpeg", "webp", "pdf"]
    bytes: int = Field(ge=0)
    width: int = Field(ge=0, description="Pixels; for a PDF, the viewport's CSS width.")
    height: int = Field(ge=0, description="Pixels; for a PDF, the viewport's CSS height.")
    pages: int | SkipJsonSchema[None] = omittable("Pages of a PDF.")


class CaptureFile(ListedCaptureFile):
    """The rendered file of a completed capture, behind a link minted on every read."""

    url: str = Field(description="Signed, short-lived link to the file.")
    expires_at: Timestamp


class CaptureAccepted(Answer):
    """The capture is queued; poll `statusUrl` (with `?wait=`) for its outcome."""

    id: str = Field(pattern=r"^cap_")
    status: Literal["queued"]
    created_at: Timestamp
    status_url: str
    metadata: dict[str, Any] | SkipJsonSchema[None] = omittable("Echoed when sent.")


class ListedCapture(Answer):
    """A capture as `GET /api/captures/{id}` answers it, but with no signed link."""

    id: str = Field(pattern=r"^cap_")
    status: Literal["queued", "processing", "completed", "failed"]
    created_at: Timestamp
    updated_at: Timestamp
    status_url: str
    completed_at: Timestamp | SkipJsonSchema[None] = omittable("Set in a final state.")
    session_id: str | SkipJsonSchema[None] = omittable("The session that rendered it.")
    result: ListedCaptureFile | SkipJsonSchema[None] = omittable()
    error: CaptureError | SkipJsonSchema[None] = omittable()
    metadata: dict[str, Any] | SkipJsonSchema[None] = omittable("As sent at creation.")


class Capture(ListedCapture):
    """A capture and its outcome: `result` once completed, `error` once failed."""

    result: CaptureFile | SkipJsonSchema[None] = omittable()


# Connect, live view, scoped tokens ------------------------------------------------------

TokenScope = Literal["cdp", "live-view", "live-interact"]
Lifetime = Annotated[int, Field(ge=60, le=3600, description="Seconds, 60 to 3600.")]


class Strict(BaseModel):
    """A request body: documented camelCase names only, no loose types."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_alias=True, extra="forbid", strict=True
    )


class TokenRequest(Strict):
    """Body of `POST /v1/sessions/{id}/tokens`."""

    scope: TokenScope = Field(
        description="`cdp`: `?token=` on the CDP endpoint; `live-view` / `live-interact`: "
        "`?token=` on `GET /v1/sessions/{id}/live`, which opens a live view of that mode."
    )
    ttl_seconds: Lifetime = 600


class ScopedToken(Answer):
    """A short-lived credential for one session and one scope."""

    token: str
    scope: TokenScope
    expires_at: Timestamp


class LiveRequest(Strict):
    """Body of `POST /v1/sessions/{id}/live`."""

    mode: Literal["view", "interact"] = Field(
        description="`view`: watch only; `interact`: clicks, wheel and keys reach the page."
    )
    ttl_seconds: Lifetime = 600


class LiveLink(Answer):
    """A live view link: the link itself is the credential."""

    url: str = Field(description="An HTML page on this service; no API key needed.")
    mode: Literal["view", "interact"]
    expires_at: Timestamp


# Lists and batches --------------------------------------------------------------------


class CaptureList(Answer):
    """A page of the caller's captures, newest first."""

    captures: list[ListedCapture]
    next_cursor: NextCursor


class BatchItemQueued(Answer):
    """An item of the batch, queued as one capture."""

    id: str = Field(pattern=r"^cap_")
    status: Literal["queued"]


class BatchItemRefused(Answer):
    """An item of the batch that was refused, alone: VALIDATION_ERROR (the message names
    the field) or DOMAIN_NOT_ALLOWED. Nothing was queued for it."""

    error: ErrorDetail


class CaptureBatchAccepted(Answer):
    """One answer per item of the batch, in the same order."""

    captures: list[BatchItemQueued | BatchItemRefused]


# Webhooks -----------------------------------------------------------------------------

WebhookEvent = Literal["capture.completed", "capture.failed", "session.closed"]


class WebhookEndpoint(Answer):
    """A webhook endpoint of the workspace (its secret is shown only when made)."""

    id: str = Field(pattern=r"^wh_")
    url: str = Field(description="Where deliveries are POSTed.")
    events: list[WebhookEvent]
    created_at: Timestamp


class WebhookWithSecret(WebhookEndpoint):
    """A webhook endpoint with its signing secret: shown only here, keep it."""

    secret: str = Field(
        pattern=r"^whsec_",
        description="Verify deliveries with it (Standard Webhooks). After a rotation the "
        "previous secret also signs for 24 h: `webhook-signature` then holds both.",
    )


class WebhookList(Answer):
    """The workspace's webhook endpoints, oldest first."""

    webhooks: list[WebhookEndpoint]


class WebhookDelivery(Answer):
    """One event sent (or being sent) to an endpoint; every attempt has the same
    `webhook-id`, this `id`."""

    id: str = Field(pattern=r"^msg_")
    event: Literal["capture.completed", "capture.failed", "session.closed", "webhook.test"]
    status: Literal["pending", "succeeded", "failed"]
    attempts: int = Field(ge=0, description="Attempts made so far (7 at most).")
    last_status_code: int | None = Field(
        description="The HTTP status of the last answer; null before any, or when the last "
        "attempt got none (timeout, connection refused, address refused by the egress guard)."
    )
    next_attempt_at: Timestamp | None = Field(description="Null once final.")


class WebhookDeliveries(Answer):
    """The endpoint's last 100 deliveries, newest first."""

    deliveries: list[WebhookDelivery]


class Profile(Answer):
    """A saved profile: a session's cookies and localStorage, sealed at rest and never
    returned; only what they cover is shown."""

    id: str = Field(pattern=r"^prof_")
    name: str
    created_at: Timestamp
    updated_at: Timestamp = Field(description="When the state was last saved or written back.")
    cookie_count: int = Field(ge=0)
    origins: list[str] = Field(description="The origins with localStorage entries.")
    domains: list[str] = Field(description="The cookies' domains.")


class ProfileList(Answer):
    """The workspace's profiles, oldest first."""

    profiles: list[Profile]


class ScheduleRun(Answer):
    """A capture a schedule created."""

    id: str = Field(pattern=r"^cap_")
    status: Literal["queued", "processing", "completed", "failed"]
    created_at: Timestamp


class Schedule(Answer):
    """A scheduled capture: one capture per due time of `cron` in `timezone`."""

    id: str = Field(pattern=r"^sch_")
    name: str
    cron: str = Field(description="Five fields: minute hour day-of-month month day-of-week.")
    timezone: str = Field(description="IANA time zone the cron expression is read in.")
    key_id: str = Field(description="The key that made it; its captures belong to that key.")
    created_at: Timestamp
    updated_at: Timestamp
    next_run_at: Timestamp | None = Field(description="Null while paused.")
    last_run_at: Timestamp | None
    paused: bool
    paused_reason: str | None = Field(
        description="Why the schedule paused itself (`KEY_REVOKED`, `DOMAIN_NOT_ALLOWED`); "
        "null when it runs or was paused by a caller."
    )


class ScheduleDetail(Schedule):
    """A schedule with its last 20 captures, newest first."""

    recent_captures: list[ScheduleRun]


class ScheduleList(Answer):
    """The workspace's schedules, oldest first."""

    schedules: list[Schedule]
