"""Captures (SPEC §3, §13): the request body of ``POST /api/captures`` and what comes back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from sessionshot_client.models.base import RequestModel, ResponseModel

CaptureStatus = Literal["queued", "processing", "completed", "failed"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed"})
OutputFormat = Literal["png", "jpeg", "pdf", "webp"]
WaitUntil = Literal["load", "domcontentloaded", "networkidle"]
PaperFormat = Literal["A4", "A3", "A5", "Letter", "Legal", "Tabloid"]
ResourceType = Literal["image", "media", "font", "stylesheet"]


class Cookie(RequestModel):
    """A cookie put in place before the first navigation (``domain`` is required)."""

    name: str
    value: str
    domain: str
    path: str | None = None
    expires: float | None = None
    http_only: bool | None = None
    secure: bool | None = None
    same_site: Literal["Strict", "Lax", "None"] | None = None


class StorageEntry(RequestModel):
    """A localStorage entry of the target origin, set before the page's own scripts run."""

    key: str
    value: str


class AuthState(RequestModel):
    """Logged-in state: cookies, localStorage, extra headers, or a saved profile (§16)."""

    cookies: list[Cookie] | None = None
    local_storage: list[StorageEntry] | None = None
    headers: dict[str, str] | None = None
    profile: str | None = None


class Clip(RequestModel):
    """A rectangle of the page in CSS pixels."""

    x: float
    y: float
    width: float
    height: float


class PdfMargin(RequestModel):
    """PDF margins as CSS lengths (``"1cm"``, ``"10px"``)."""

    top: str | None = None
    right: str | None = None
    bottom: str | None = None
    left: str | None = None


class PdfOptions(RequestModel):
    """Paper options of a PDF render (only with ``format="pdf"``)."""

    format: PaperFormat | None = None
    landscape: bool | None = None
    print_background: bool | None = None
    scale: float | None = None
    margin: PdfMargin | None = None
    page_ranges: str | None = None


class Output(RequestModel):
    """What to render: format, viewport size, full page, one element or a clip."""

    format: OutputFormat | None = None
    full_page: bool | None = None
    width: int | None = None
    height: int | None = None
    quality: int | None = None
    device_scale_factor: float | None = None
    selector: str | None = None
    clip: Clip | None = None
    omit_background: bool | None = None
    pdf: PdfOptions | None = None


class PageOptions(RequestModel):
    """How the page is loaded and dressed before the render (§13)."""

    wait_until: WaitUntil | None = None
    delay_ms: int | None = None
    color_scheme: Literal["light", "dark"] | None = None
    reduced_motion: bool | None = None
    timezone_id: str | None = None
    locale: str | None = None
    user_agent: str | None = None
    css: str | None = None
    hide_selectors: list[str] | None = None
    block_resources: list[ResourceType] | None = None


class Redaction(RequestModel):
    """Elements masked before rendering: opaque boxes (``block``) or a heavy ``blur``."""

    selectors: list[str] | None = None
    mode: Literal["block", "blur"] | None = None


class WaitForSelectorStep(RequestModel):
    """Capture step: wait until ``selector`` is there (``timeout`` ≤ 15000 ms)."""

    type: Literal["waitForSelector"] = "waitForSelector"
    selector: str
    timeout: int | None = None


class ClickStep(RequestModel):
    """Capture step: click ``selector``."""

    type: Literal["click"] = "click"
    selector: str


class TypeStep(RequestModel):
    """Capture step: type ``text`` into ``selector``."""

    type: Literal["type"] = "type"
    selector: str
    text: str


class ScrollStep(RequestModel):
    """Capture step: scroll to ``y``."""

    type: Literal["scroll"] = "scroll"
    y: int


class WaitStep(RequestModel):
    """Capture step: wait ``ms`` milliseconds."""

    type: Literal["wait"] = "wait"
    ms: int


CaptureStep = Annotated[
    WaitForSelectorStep | ClickStep | TypeStep | ScrollStep | WaitStep,
    Field(discriminator="type"),
]


class CaptureRequest(RequestModel):
    """The body of ``POST /api/captures``."""

    url: str
    output: Output | None = None
    auth: AuthState | None = None
    actions: list[CaptureStep] | None = None
    redaction: Redaction | None = None
    page: PageOptions | None = None
    metadata: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The body; every step keeps its ``type`` (a default, yet required by the API)."""
        data = super().to_json()
        if self.actions is not None:
            data["actions"] = [step.model_dump(mode="json", by_alias=True) for step in self.actions]
            for step in data["actions"]:
                for name in [key for key, value in step.items() if value is None]:
                    del step[name]
        return data


class CaptureBatch(RequestModel):
    """The body of ``POST /api/captures/batch``: partial bodies merged onto ``defaults``."""

    captures: list[dict[str, Any]]
    defaults: dict[str, Any] | None = None


class CaptureAccepted(ResponseModel):
    """The 202 answer to a new capture."""

    id: str
    status: CaptureStatus
    created_at: datetime
    status_url: str
    metadata: dict[str, Any] | None = None


class ListedCaptureFile(ResponseModel):
    """The rendered file, as a list shows it (no link)."""

    format: str
    bytes: int
    width: int
    height: int
    pages: int | None = None


class CaptureFile(ListedCaptureFile):
    """The rendered file with a freshly signed, short-lived link."""

    url: str
    expires_at: datetime


class CaptureError(ResponseModel):
    """Why a capture failed: a safe code and message."""

    code: str
    message: str


class ListedCapture(ResponseModel):
    """A capture as a list shows it."""

    id: str
    status: CaptureStatus
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    status_url: str
    session_id: str | None = None
    result: ListedCaptureFile | None = None
    error: CaptureError | None = None
    metadata: dict[str, Any] | None = None

    @property
    def is_final(self) -> bool:
        """``completed`` or ``failed``: the status will not change any more."""
        return self.status in FINAL_STATUSES


class Capture(ListedCapture):
    """``GET /api/captures/{id}``: the capture, with a signed link once completed."""

    result: CaptureFile | None = None


class CaptureList(ResponseModel):
    """One page of ``GET /api/captures``, newest first."""

    captures: list[ListedCapture]
    next_cursor: str | None = None


class BatchItemQueued(ResponseModel):
    """A batch item that was queued."""

    id: str
    status: CaptureStatus


class BatchItemRefused(ResponseModel):
    """A batch item that was refused, with the error it would have had alone."""

    error: CaptureError


class CaptureBatchAccepted(ResponseModel):
    """The 202 answer to a batch, item by item in order."""

    captures: list[BatchItemQueued | BatchItemRefused]
